"""Several services in one VPC share one set of interface endpoints (`PrivateServiceEndpoints`),
and an existing VPC is checked at preview: DNS on, subnets in it, no endpoint already taking a
private DNS name the component would need."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import PrivateServiceEndpoints, VpcLambdaWithPrivateServices
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

VPC = "vpc-0a1b2c3d"
SUBNETS = ["subnet-0a", "subnet-0b"]
SG = "aws:ec2/securityGroup:SecurityGroup"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CONSUMER = "vpclambda:index:VpcLambdaWithPrivateServices"
SHARED = "vpclambda:index:PrivateServiceEndpoints"


def two_services(services: list[str] | None = None, **consumer: Any) -> ProgramRun:
    def program() -> dict[str, Any]:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC, "subnet_ids": SUBNETS,
                                                    **({"services": services} if services else {})})
        a = VpcLambdaWithPrivateServices("orders", {"vpc_id": VPC, "private_subnet_ids": SUBNETS, "endpoints": shared,
                                                    **consumer})
        b = VpcLambdaWithPrivateServices("billing", {"vpc_id": VPC, "private_subnet_ids": SUBNETS,
                                                     "endpoints": shared, **consumer})
        return {"shared_sg": shared.security_group_id, "a": a.outputs(), "b": b.outputs()}

    return run_program(program)


def refused(program: Any, mocks: AwsMocks | None = None) -> str:
    mocks = mocks or AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(program, mocks=mocks)
    exact_words(caught.value)
    assert [r.name for r in mocks.registered if r.id is not None] == [], "refused before any cloud resource"
    return refusal(caught.value)


def test_two_services_share_one_endpoint_per_service() -> None:
    run = two_services()
    endpoints = run.of_type(ENDPOINT)
    assert sorted(e.inputs["serviceName"] for e in endpoints) == [
        "com.amazonaws.us-east-1.secretsmanager", "com.amazonaws.us-east-1.sns"]
    assert {e.parent_type for e in endpoints} == {SHARED}
    assert all(e.inputs["privateDnsEnabled"] is True and e.inputs["subnetIds"] == SUBNETS for e in endpoints)
    shared_sg = run.value["shared_sg"]
    assert {g for e in endpoints for g in e.inputs["securityGroupIds"]} == {shared_sg}
    endpoint_groups = [g for g in run.of_type(SG) if g.id == shared_sg]
    assert len(endpoint_groups) == 1 and endpoint_groups[0].parent_type == SHARED
    for consumer in ("a", "b"):
        assert run.value[consumer]["endpoint_ids"] == {e.inputs["serviceName"].rsplit(".", 1)[1]: e.id
                                                       for e in endpoints}
        assert run.value[consumer]["security_group_ids"]["endpoint-sg"] == shared_sg


def test_each_consumer_owns_its_two_group_to_group_rules_on_the_shared_group() -> None:
    run = two_services()
    shared_sg = run.value["shared_sg"]
    for consumer in ("a", "b"):
        lambda_sg = run.value[consumer]["security_group_ids"]["lambda-sg"]
        egress = [r for r in run.of_type(EGRESS) if r.inputs["securityGroupId"] == lambda_sg
                  and r.inputs.get("referencedSecurityGroupId") == shared_sg]
        ingress = [r for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == shared_sg
                   and r.inputs.get("referencedSecurityGroupId") == lambda_sg]
        assert len(egress) == len(ingress) == 1
        for rule in egress + ingress:
            assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (443, 443, "tcp")
            assert rule.parent_type == CONSUMER, "owned by the consumer: destroying one leaves the others intact"
    rules = run.of_type(EGRESS) + run.of_type(INGRESS)
    assert not [r for r in rules if "cidrIpv4" in r.inputs], "no CIDR rule"
    assert len([r for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == shared_sg]) == 2


def test_consumers_create_no_endpoints_and_no_endpoint_group() -> None:
    run = two_services()
    assert {e.parent_type for e in run.of_type(ENDPOINT)} == {SHARED}
    consumer_groups = [g.name for g in run.of_type(SG) if g.parent_type == CONSUMER]
    assert sorted(consumer_groups) == sorted(f"{c}-{k}" for c in ("orders", "billing")
                                             for k in ("lambda-sg", "rds-sg", "placeholder-sg"))
    for name in ("orders", "billing"):
        invocation = run.one("aws:lambda/invocation:Invocation", f"{name}-schema-migration")
        assert {"shared-endpoint-SNS", "shared-endpoint-SecretsManager"} <= set(invocation.depends_on), (
            "the migration waits for the shared endpoints")


def test_shared_endpoint_policies_are_scoped_to_the_account() -> None:
    run = two_services()
    for endpoint in run.of_type(ENDPOINT):
        assert json.loads(endpoint.inputs["policy"]) == {"Version": "2012-10-17", "Statement": [{
            "Sid": "ThisAccountsPrincipalsOnThisAccountsResources", "Effect": "Allow", "Principal": "*",
            "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012",
                                           "aws:ResourceAccount": "123456789012"}}}]}, endpoint.name


def test_a_service_the_function_calls_that_the_shared_set_lacks_is_refused() -> None:
    def program() -> None:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC, "subnet_ids": SUBNETS, "services": ["sns"]})
        VpcLambdaWithPrivateServices("orders", {"vpc_id": VPC, "private_subnet_ids": SUBNETS, "endpoints": shared})

    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(program, mocks=mocks)
    exact_words(caught.value)
    assert ("endpoints: the function calls secretsmanager, which the shared PrivateServiceEndpoints has no endpoint "
            "for") in refusal(caught.value)
    consumer_resources = [r.name for r in mocks.registered if r.id is not None and r.name.startswith("orders")]
    assert consumer_resources == [], "nothing of the consumer is registered"


def test_the_plain_values_form_of_endpoints_works_as_from_other_languages() -> None:
    def program() -> dict[str, Any]:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC, "subnet_ids": SUBNETS})
        service = VpcLambdaWithPrivateServices("orders", {
            "vpc_id": VPC, "private_subnet_ids": SUBNETS,
            "endpoints": {"vpc_id": VPC, "security_group_id": shared.security_group_id,  # type: ignore[typeddict-item]
                          "services": ["sns", "secretsmanager"]}})
        return {"shared_sg": shared.security_group_id, "groups": service.security_group_ids}

    run = run_program(program)
    assert run.value["groups"]["endpoint-sg"] == run.value["shared_sg"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"interface_endpoints": ["sns"]}, "interface_endpoints: not used with endpoints"),
        ({"vpc_id": "vpc-other"}, "endpoints: the shared endpoints serve vpc-0a1b2c3d, not vpc_id vpc-other"),
    ],
)
def test_inconsistent_sharing_is_refused(extra: dict[str, Any], expected: str) -> None:
    def program() -> None:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC, "subnet_ids": SUBNETS})
        VpcLambdaWithPrivateServices("orders", {"vpc_id": VPC, "private_subnet_ids": SUBNETS,  # type: ignore[misc]
                                                "endpoints": shared, **extra})

    with pytest.raises(ArgumentError) as caught:
        run_program(program)
    exact_words(caught.value)
    assert expected in refusal(caught.value)


def test_two_services_that_would_each_create_endpoints_in_one_vpc_are_refused() -> None:
    def program() -> None:
        VpcLambdaWithPrivateServices("orders", {"vpc_id": VPC, "private_subnet_ids": SUBNETS})
        VpcLambdaWithPrivateServices("billing", {"vpc_id": VPC, "private_subnet_ids": SUBNETS})

    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(program, mocks=mocks)
    exact_words(caught.value)
    message = refusal(caught.value)
    assert ("interface_endpoints: VpcLambdaWithPrivateServices 'orders' in this program already creates an endpoint "
            "with private DNS for sns in the same VPC") in message
    assert "PrivateServiceEndpoints" in message
    assert not [r for r in mocks.registered if r.id is not None and r.name.startswith("billing")]


# --- an existing VPC, checked at preview --------------------------------------------------------


def single(**extra: Any) -> Any:
    return lambda: VpcLambdaWithPrivateServices("orders", {"vpc_id": VPC, "private_subnet_ids": SUBNETS,
                                                           **extra})  # type: ignore[misc]


@pytest.mark.parametrize("attribute", ["enableDnsSupport", "enableDnsHostnames"])
def test_a_vpc_without_dns_is_refused_with_the_command_to_fix_it(attribute: str) -> None:
    message = refused(single(), AwsMocks(vpcs={VPC: {attribute: False}}))
    flag = {"enableDnsSupport": "--enable-dns-support", "enableDnsHostnames": "--enable-dns-hostnames"}[attribute]
    assert f"vpc_id: {VPC} has DNS" in message
    assert f"aws ec2 modify-vpc-attribute --vpc-id {VPC} {flag}" in message


def test_dns_off_is_refused_for_consumers_of_shared_endpoints_too() -> None:
    def program() -> None:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC, "subnet_ids": SUBNETS})
        VpcLambdaWithPrivateServices("orders", {"vpc_id": VPC, "private_subnet_ids": SUBNETS, "endpoints": shared})

    message = refused(program, AwsMocks(vpcs={VPC: {"enableDnsHostnames": False}}))
    assert message.startswith("PrivateServiceEndpoints: invalid arguments")
    assert "DNS host names off" in message


def test_subnets_of_another_vpc_are_refused() -> None:
    message = refused(single(), AwsMocks(subnet_vpcs={"subnet-0b": "vpc-elsewhere"}))
    assert f"private_subnet_ids: subnet-0b is in vpc-elsewhere, not in vpc_id {VPC}" in message
    assert "subnet-0a is in" not in message


def test_an_existing_endpoint_with_private_dns_is_reported_with_the_advice_to_share() -> None:
    existing = {"id": "vpce-0123", "vpcId": VPC, "serviceName": "com.amazonaws.us-east-1.sns",
                "privateDnsEnabled": True, "tags": {"Name": "someone-elses"}}
    message = refused(single(), AwsMocks(existing_endpoints=[existing]))
    assert (f"interface_endpoints: {VPC} already has an interface endpoint with private DNS for sns (vpce-0123), "
            "and AWS refuses a second one; share one set") in message


def test_the_components_own_endpoints_from_an_earlier_up_are_not_a_conflict() -> None:
    own = {"id": "vpce-0123", "vpcId": VPC, "serviceName": "com.amazonaws.us-east-1.sns", "privateDnsEnabled": True,
           "tags": {"endpoint-owner": "vpc-lambda/dev/orders"}}
    run = run_program(single(), mocks=AwsMocks(existing_endpoints=[own]))
    endpoint = run.one(ENDPOINT, "orders-endpoint-SNS")
    assert endpoint.inputs["tags"]["endpoint-owner"] == "vpc-lambda/dev/orders"


def test_a_vpc_given_as_an_output_is_not_looked_up() -> None:
    import pulumi

    def program() -> None:
        VpcLambdaWithPrivateServices("orders", {"vpc_id": pulumi.Output.from_input(VPC),
                                                "private_subnet_ids": SUBNETS})

    run = run_program(program, mocks=AwsMocks(vpcs={VPC: {"enableDnsSupport": False}}))
    assert not [token for token, _ in run.mocks.calls if token == "aws:ec2/getVpc:getVpc"]


def test_shared_subnets_given_as_outputs_are_checked_under_their_own_name() -> None:
    import pulumi

    def program() -> None:
        subnets = pulumi.Output.from_input(["subnet-0a", "subnet-0b"])
        PrivateServiceEndpoints("shared", {"vpc_id": VPC, "subnet_ids": subnets})

    mocks = AwsMocks(subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1a"})
    with pytest.raises(ValueError, match=r"PrivateServiceEndpoints: invalid arguments:\n  - subnet_ids: all in one "
                                         "availability zone"):
        run_program(program, mocks=mocks)
    assert not [r for r in mocks.registered if r.type == ENDPOINT]
