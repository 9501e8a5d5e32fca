"""Reachability verdicts: the article's three stages judged before deploying, and the
component refusing a network in which the function would time out."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.checks.reachability import PathVerdict, assess, blocked
from components.model import network_rules
from components.model.args import Settings
from components.model.network_rules import Endpoint, NetworkFacts, Rule, network_facts, planned_rules
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import AwsMocks, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

ARTICLE_RULES = (
    Rule("lambda-sg", "egress", 3306, peer_group="rds-sg"),
    Rule("lambda-sg", "egress", 443, peer_group="endpoint-sg"),
    Rule("rds-sg", "ingress", 3306, peer_group="lambda-sg"),
    Rule("endpoint-sg", "ingress", 443, peer_group="lambda-sg"),
)
SNS_ENDPOINT = Endpoint("sns", private_dns=True, subnets=("subnet-a", "subnet-b"), security_groups=("endpoint-sg",))
SECRETS_ENDPOINT = dataclasses.replace(SNS_ENDPOINT, service="secretsmanager")


def facts(**changes: Any) -> NetworkFacts:
    base = NetworkFacts(
        function_attached=True,
        function_security_groups=("lambda-sg",),
        database_security_groups=("rds-sg",),
        database_port=3306,
        rules=ARTICLE_RULES,
        endpoints=(SNS_ENDPOINT,),
        services=("sns",),  # the article's function reads no secret
    )
    return dataclasses.replace(base, **changes)


def by_path(verdicts: list[PathVerdict]) -> dict[str, PathVerdict]:
    return {v.path: v for v in verdicts}


def test_stage_1_function_not_attached_database_times_out_sns_works() -> None:
    verdicts = by_path(assess(facts(function_attached=False, function_security_groups=(), endpoints=())))
    assert not verdicts["database"].reachable
    assert verdicts["database"].reason == (
        "function not attached to the VPC: the database in private subnets is unreachable, connections time out")
    assert verdicts["sns"].reachable and verdicts["sns"].via == "internet"
    assert verdicts["sns"].reason == "function outside the VPC uses Lambda's own internet access"


def test_stage_2_attached_without_endpoint_database_works_sns_times_out() -> None:
    verdicts = by_path(assess(facts(endpoints=())))
    assert verdicts["database"].reachable
    assert not verdicts["sns"].reachable
    assert verdicts["sns"].reason == "no NAT egress and no interface endpoint for sns: publish times out"


def test_stage_3_attached_with_endpoint_both_work() -> None:
    verdicts = assess(facts())
    assert blocked(verdicts) == []
    assert by_path(verdicts)["sns"].via == "endpoint"


def test_endpoint_group_that_admits_nothing_from_the_function() -> None:
    rules = tuple(r for r in ARTICLE_RULES if r.group != "endpoint-sg")
    verdict = by_path(assess(facts(rules=rules)))["sns"]
    assert not verdict.reachable
    assert verdict.reason == "endpoint-sg admits no TCP 443 from lambda-sg: publish times out"


def test_function_group_without_egress_to_the_endpoint() -> None:
    rules = tuple(r for r in ARTICLE_RULES if r.peer_group != "endpoint-sg")
    assert by_path(assess(facts(rules=rules)))["sns"].reason == (
        "lambda-sg allows no TCP 443 to endpoint-sg: publish times out")


def test_database_rules_checked_both_ways() -> None:
    no_egress = tuple(r for r in ARTICLE_RULES if r.peer_group != "rds-sg")
    assert by_path(assess(facts(rules=no_egress)))["database"].reason == (
        "lambda-sg allows no TCP 3306 to rds-sg: connections time out")
    no_ingress = tuple(r for r in ARTICLE_RULES if r.group != "rds-sg")
    assert by_path(assess(facts(rules=no_ingress)))["database"].reason == (
        "rds-sg admits no TCP 3306 from lambda-sg: connections time out")
    wrong_port = facts(database_port=3307)
    assert not by_path(assess(wrong_port))["database"].reachable


def test_endpoint_without_private_dns_is_useless_without_nat() -> None:
    no_dns = dataclasses.replace(SNS_ENDPOINT, private_dns=False)
    verdict = by_path(assess(facts(endpoints=(no_dns,))))["sns"]
    assert not verdict.reachable and "private DNS off" in verdict.reason


def test_nat_egress_needs_an_https_rule_to_the_internet() -> None:
    assert not by_path(assess(facts(endpoints=(), nat_egress=True)))["sns"].reachable
    with_rule = facts(endpoints=(), nat_egress=True, rules=(*ARTICLE_RULES, Rule("lambda-sg", "egress", 443,
                                                                                 cidr="0.0.0.0/0")))
    verdict = by_path(assess(with_rule))["sns"]
    assert verdict.reachable and verdict.via == "nat"


def test_every_api_the_function_calls_gets_a_verdict() -> None:
    verdicts = assess(facts(services=("sns", "secretsmanager")))
    assert [v.path for v in verdicts] == ["database", "sns", "secretsmanager"]
    assert [v.path for v in blocked(verdicts)] == ["secretsmanager"]
    assert str(blocked(verdicts)[0]) == ("secretsmanager: BLOCKED (no NAT egress and no interface endpoint for "
                                         "secretsmanager: reading the database secret times out)")
    assert blocked(assess(facts(services=("sns", "secretsmanager"),
                                endpoints=(SNS_ENDPOINT, SECRETS_ENDPOINT)))) == []


def test_all_traffic_rules_count() -> None:
    everything = (Rule("lambda-sg", "egress", 0, peer_group="rds-sg", protocol="-1"),
                  Rule("rds-sg", "ingress", 3000, peer_group="lambda-sg", to_port=4000))
    assert by_path(assess(facts(rules=everything)))["database"].reachable


def test_the_components_own_network_is_fully_reachable() -> None:
    settings = Settings(vpc_id="vpc-1", private_subnet_ids=["subnet-a", "subnet-b"])
    plan = network_facts(settings)
    assert set(plan.rules) == set(ARTICLE_RULES), "the component's table is the article's, written out here"
    assert len(network_rules.ARTICLE_RULES) == len(ARTICLE_RULES)
    assert plan.services == ("sns", "secretsmanager")
    assert blocked(assess(plan)) == []


def test_component_refuses_no_endpoints_without_nat_naming_both_apis() -> None:
    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {
            "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"], "interface_endpoints": []}),
            mocks=mocks)
    exact_words(caught.value)
    assert caught.value.arguments == {"interface_endpoints"}
    sns, secretsmanager = caught.value.problems
    assert sns.message.startswith("sns is unreachable: no NAT egress and no interface endpoint for sns: "
                                  "publish times out")
    assert secretsmanager.message.startswith(
        "secretsmanager is unreachable: no NAT egress and no interface endpoint for secretsmanager")
    assert mocks.registered == []


def test_component_refuses_a_missing_secretsmanager_endpoint() -> None:
    with pytest.raises(ArgumentError, match="secretsmanager is unreachable") as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {
            "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"], "interface_endpoints": ["sns"]}))
    assert "sns is unreachable" not in refusal(caught.value)
    assert caught.value.arguments == {"interface_endpoints"}


def test_component_with_nat_egress_builds_without_endpoints() -> None:
    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", {
        "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"],
        "interface_endpoints": [], "nat_egress": True}).outputs())
    assert run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    cidr_rules = [r.inputs for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                  if "cidrIpv4" in r.inputs]
    assert len(cidr_rules) == 1
    assert cidr_rules[0]["cidrIpv4"] == "0.0.0.0/0" and cidr_rules[0]["fromPort"] == 443
    assert cidr_rules[0]["securityGroupId"] == run.value["security_group_ids"]["lambda-sg"]
    assert run.value["endpoint_ids"] == {}


def test_nat_egress_with_all_endpoints_adds_no_cidr_rule() -> None:
    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", {
        "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"], "nat_egress": True}))
    rules = run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert all("cidrIpv4" not in r.inputs for r in rules)
    assert len(run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")) == 2


def test_verdicts_are_exposed_on_the_component() -> None:
    captured: dict[str, Any] = {}

    def program() -> None:
        captured["c"] = VpcLambdaWithPrivateServices("svc", {"vpc_id": "vpc-0a1b",
                                                             "private_subnet_ids": ["subnet-0a", "subnet-0b"]})

    run_program(program)
    assert [(v.path, v.reachable, v.via) for v in captured["c"].verdicts] == [
        ("database", True, "vpc"), ("sns", True, "endpoint"), ("secretsmanager", True, "endpoint")]


# ------------------------------------------------------------------ with db_proxy

PROXY_RULES = (
    Rule("lambda-sg", "egress", 3306, peer_group="proxy-sg"),
    Rule("proxy-sg", "ingress", 3306, peer_group="lambda-sg"),
    Rule("proxy-sg", "egress", 3306, peer_group="rds-sg"),
    Rule("rds-sg", "ingress", 3306, peer_group="proxy-sg"),
)
MIGRATION_RULES = (
    Rule("migration-sg", "egress", 3306, peer_group="rds-sg"),
    Rule("rds-sg", "ingress", 3306, peer_group="migration-sg"),
)


def proxy_plan(**extra: Any) -> NetworkFacts:
    return network_facts(Settings(vpc_id="vpc-1", private_subnet_ids=["subnet-a", "subnet-b"], db_proxy=True,
                                  **extra))


def test_with_the_proxy_the_job_reaches_the_database_through_it_and_the_migration_directly() -> None:
    plan = proxy_plan()
    https = {r for r in ARTICLE_RULES if r.port == 443}
    assert set(plan.rules) == https | set(PROXY_RULES) | set(MIGRATION_RULES)
    assert (plan.function_security_groups, plan.proxy_security_groups, plan.migration_security_groups) == (
        ("lambda-sg",), ("proxy-sg",), ("lambda-sg", "migration-sg"))
    verdicts = assess(plan)
    assert [(v.path, v.reachable, v.via) for v in verdicts] == [
        ("database", True, "proxy"), ("migration-database", True, "vpc"), ("sns", True, "endpoint"),
        ("secretsmanager", True, "endpoint")]
    assert verdicts[0].reason == "TCP 3306 from lambda-sg to proxy-sg, TCP 3306 from proxy-sg to rds-sg"


def test_with_the_proxy_the_database_admits_the_proxy_and_the_migration_and_nothing_else() -> None:
    settings = Settings(vpc_id="vpc-1", private_subnet_ids=["subnet-a", "subnet-b"], db_proxy=True)
    admitted = {r.peer for r in planned_rules(settings) if r.group == "rds-sg" and r.direction == "ingress"}
    assert admitted == {"proxy-sg", "migration-sg"}
    reached_from = {r.group for r in planned_rules(settings) if r.peer == "rds-sg" and r.direction == "egress"}
    assert reached_from == {"proxy-sg", "migration-sg"}
    # Judged as if the job went to the database itself: no rule lets it.
    direct = dataclasses.replace(proxy_plan(), proxy_security_groups=())
    assert by_path(assess(direct))["database"].reason == "lambda-sg allows no TCP 3306 to rds-sg: connections time out"


@pytest.mark.parametrize(("removed", "reason"), [
    (PROXY_RULES[0], "lambda-sg allows no TCP 3306 to proxy-sg: connections to the proxy time out"),
    (PROXY_RULES[1], "proxy-sg admits no TCP 3306 from lambda-sg: connections to the proxy time out"),
    (PROXY_RULES[2], "proxy-sg allows no TCP 3306 to rds-sg: the proxy cannot reach the database, connections "
                     "through it fail"),
    (PROXY_RULES[3], "rds-sg admits no TCP 3306 from proxy-sg: the proxy cannot reach the database, connections "
                     "through it fail"),
])
def test_each_of_the_proxys_four_rules_is_needed(removed: Rule, reason: str) -> None:
    plan = proxy_plan()
    verdicts = by_path(assess(dataclasses.replace(plan, rules=tuple(r for r in plan.rules if r != removed))))
    assert (verdicts["database"].reachable, verdicts["database"].reason) == (False, reason)
    assert verdicts["migration-database"].reachable


@pytest.mark.parametrize("removed", MIGRATION_RULES)
def test_the_migrations_own_path_is_judged(removed: Rule) -> None:
    plan = proxy_plan()
    verdicts = by_path(assess(dataclasses.replace(plan, rules=tuple(r for r in plan.rules if r != removed))))
    assert not verdicts["migration-database"].reachable and verdicts["database"].reachable
    assert "the migration's connections time out" in verdicts["migration-database"].reason


def test_the_secret_is_judged_from_the_migrations_groups() -> None:
    plan = proxy_plan()
    # Without lambda-sg the migration keeps its path to the database, but not to the endpoints.
    alone = dataclasses.replace(plan, migration_security_groups=("migration-sg",))
    verdicts = by_path(assess(alone))
    assert verdicts["migration-database"].reachable and verdicts["sns"].reachable
    assert verdicts["secretsmanager"].reason == ("migration-sg allows no TCP 443 to endpoint-sg: reading the database "
                                                 "secret times out")


def test_the_proxy_listens_on_3306_whatever_the_database_port() -> None:
    plan = proxy_plan(db_port=3310)
    assert {(r.group, r.direction, r.port, r.peer_group) for r in plan.rules if r.port != 443} == {
        ("lambda-sg", "egress", 3306, "proxy-sg"), ("proxy-sg", "ingress", 3306, "lambda-sg"),
        ("proxy-sg", "egress", 3310, "rds-sg"), ("rds-sg", "ingress", 3310, "proxy-sg"),
        ("migration-sg", "egress", 3310, "rds-sg"), ("rds-sg", "ingress", 3310, "migration-sg")}
    assert blocked(assess(plan)) == []


def test_a_gateway_endpoint_without_an_egress_rule_to_its_prefix_list_times_out() -> None:
    s3 = Endpoint("s3", private_dns=False, subnets=("subnet-a",), security_groups=(), kind="gateway")
    to_s3 = Rule("lambda-sg", "egress", 443, prefix_list="s3")
    reached = by_path(assess(facts(endpoints=(SNS_ENDPOINT, s3), services=("sns", "s3"),
                                   rules=(*ARTICLE_RULES, to_s3))))["s3"]
    assert (reached.reachable, reached.via) == (True, "gateway")
    blocked_s3 = by_path(assess(facts(endpoints=(SNS_ENDPOINT, s3), services=("sns", "s3"))))["s3"]
    assert (blocked_s3.reachable, blocked_s3.reason) == (
        False, "lambda-sg allows no TCP 443 to the prefix list of the s3 gateway endpoint: calling s3 times out")
    other = by_path(assess(facts(endpoints=(SNS_ENDPOINT, s3), services=("sns", "s3"),
                                 rules=(*ARTICLE_RULES, Rule("lambda-sg", "egress", 443, prefix_list="dynamodb")))))
    assert other["s3"].reachable is False, "a rule to another service's prefix list does not open this one"


def test_an_interface_endpoint_in_no_subnet_times_out() -> None:
    nowhere = dataclasses.replace(SNS_ENDPOINT, subnets=())
    verdict = by_path(assess(facts(endpoints=(nowhere,))))["sns"]
    assert (verdict.reachable, verdict.reason) == (
        False, "the interface endpoint for sns is in no subnet: publish times out")
