"""`function_permissions`: the job's own AWS calls, each a statement of its role and a path through an
endpoint scoped to exactly those calls (a gateway endpoint for S3 and DynamoDB), checked against
AWS's services and actions at preview."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.checks.reachability import assess
from components.model.dependencies import FUNCTION_DEPENDENCIES, permission_dependencies
from components.model.network_rules import network_facts
from components.model.permissions import aws_services, check_permissions, endpoint_service
from components.model.problems import ArgumentError
from components.model.settings import FunctionPermissionSettings, Settings
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

VPC = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
READ = {"service": "s3", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::reports/latest.csv"]}


def build(partition: str = "aws", mocks: AwsMocks | None = None, **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**VPC, **extra}).outputs(),  # type: ignore[misc]
                       partition=partition, mocks=mocks)


def role_statements(run: ProgramRun) -> dict[str, dict[str, Any]]:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "svc-LambdaExecRole-publish-and-read-secret").inputs["policy"]
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


@pytest.mark.parametrize("partition", ["aws-cn", "aws"])
def test_s3_through_a_gateway_endpoint_scoped_to_the_one_call(partition: str) -> None:
    resource = f"arn:{partition}:s3:::reports/latest.csv"
    run = build(partition, function_permissions=[{**READ, "resources": [resource]}])
    region = "cn-northwest-1" if partition == "aws-cn" else "us-east-1"
    gateway = run.one(ENDPOINT, "svc-endpoint-s3-gateway")
    main_table = "rtb-" + __import__("hashlib").sha256(b"vpc-0a1b2c3d").hexdigest()[:8]
    assert gateway.inputs == {
        "vpcId": "vpc-0a1b2c3d", "serviceName": f"com.amazonaws.{region}.s3", "vpcEndpointType": "Gateway",
        "routeTableIds": [main_table], "policy": gateway.inputs["policy"], "tags": gateway.inputs["tags"]}
    assert json.loads(gateway.inputs["policy"])["Statement"] == [{
        "Effect": "Allow", "Principal": {"AWS": run.value["role_arn"]}, "Action": "s3:GetObject",
        "Resource": resource}]
    assert run.value["endpoint_ids"]["s3"] == gateway.id
    (rule,) = [r for r in run.of_type(EGRESS) if "prefixListId" in r.inputs]
    assert (rule.name, rule.inputs["securityGroupId"], rule.inputs["prefixListId"], rule.inputs["ipProtocol"],
            rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "svc-lambda-sg-egress-443-s3-gateway", run.value["security_group_ids"]["lambda-sg"],
        gateway.outputs["prefixListId"], "tcp", 443, 443)
    assert not [r for r in run.resources if "cidrIpv4" in r.inputs], "no CIDR rule"
    assert role_statements(run)["FunctionPermission1S3"] == {
        "Sid": "FunctionPermission1S3", "Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}
    assert "svc-lambda-sg-egress-443-s3-gateway" in run.one("aws:lambda/invocation:Invocation").depends_on


def test_an_interface_service_gets_its_endpoint_and_shares_it_with_the_components_own_calls() -> None:
    queue = "arn:aws-cn:sqs:cn-northwest-1:123456789012:outbox"
    topic = "arn:aws-cn:sns:cn-northwest-1:123456789012:audit"
    run = build("aws-cn", function_permissions=[
        {"service": "sqs", "actions": ["sqs:SendMessage"], "resources": [queue]},
        {"service": "sns", "actions": ["sns:Publish"], "resources": [topic]},
    ])
    endpoints = {e.inputs["serviceName"]: e for e in run.of_type(ENDPOINT)}
    # AWS China names SQS's endpoint service cn.com.amazonaws.<region>.sqs.
    sqs = endpoints["cn.com.amazonaws.cn-northwest-1.sqs"]
    assert (sqs.inputs["vpcEndpointType"], sqs.inputs["privateDnsEnabled"], sqs.name) == (
        "Interface", True, "svc-endpoint-sqs")
    role = run.value["role_arn"]
    assert json.loads(sqs.inputs["policy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sqs:SendMessage", "Resource": queue}]
    sns = endpoints["com.amazonaws.cn-northwest-1.sns"]
    assert json.loads(sns.inputs["policy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sns:Publish", "Resource": run.value["topic_arn"]},
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sns:Publish", "Resource": topic},
    ]
    statements = role_statements(run)
    assert (statements["FunctionPermission1Sqs"]["Resource"], statements["FunctionPermission2Sns"]["Resource"]) == (
        queue, topic)


def test_subnets_with_route_tables_of_their_own_are_routed_through_them() -> None:
    tables = [{"id": "rtb-0aaa1111", "vpcId": "vpc-0a1b2c3d", "subnets": ["subnet-0a"], "main": False},
              {"id": "rtb-0bbb2222", "vpcId": "vpc-0a1b2c3d", "subnets": [], "main": True}]
    run = build(mocks=AwsMocks(route_tables=tables), function_permissions=[READ])
    # subnet-0b has no table of its own: the VPC's main table routes it.
    assert run.one(ENDPOINT, "svc-endpoint-s3-gateway").inputs["routeTableIds"] == ["rtb-0aaa1111", "rtb-0bbb2222"]
    given = build(function_permissions=[READ], gateway_route_table_ids=["rtb-0ccc3333"])
    assert given.one(ENDPOINT, "svc-endpoint-s3-gateway").inputs["routeTableIds"] == ["rtb-0ccc3333"]


def test_dynamodb_through_a_gateway_endpoint_too() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    run = build(function_permissions=[{"service": "dynamodb", "actions": ["dynamodb:GetItem", "dynamodb:PutItem"],
                                       "resources": [table]}])
    gateway = run.one(ENDPOINT, "svc-endpoint-dynamodb-gateway")
    assert gateway.inputs["serviceName"] == "com.amazonaws.us-east-1.dynamodb"
    assert json.loads(gateway.inputs["policy"])["Statement"][0]["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]


def test_reachability_judges_the_declared_calls() -> None:
    permission = FunctionPermissionSettings("s3", ("s3:GetObject",), ("arn:aws:s3:::reports/latest.csv",))
    sqs = FunctionPermissionSettings("sqs", ("sqs:SendMessage",), ("arn:aws:sqs:us-east-1:123456789012:q",))
    dependencies = FUNCTION_DEPENDENCIES + permission_dependencies([permission, sqs])
    verdicts = {v.path: v for v in assess(network_facts(Settings("vpc-1", []), dependencies))}
    assert (verdicts["s3"].reachable, verdicts["s3"].via) == (True, "gateway")
    assert (verdicts["sqs"].reachable, verdicts["sqs"].via) == (True, "endpoint")
    without_sqs = {v.path: v for v in assess(network_facts(
        Settings("vpc-1", [], interface_endpoints=["sns", "secretsmanager"]), dependencies))}
    assert without_sqs["sqs"].reachable is False
    assert without_sqs["sqs"].reason == "no NAT egress and no interface endpoint for sqs: calling sqs times out"


@pytest.mark.parametrize(("extra", "mocks", "arguments", "expected"), [
    ({"function_permissions": [{"service": "sqs", "actions": ["sqs:SendMessage"],
                                "resources": ["arn:aws:sqs:us-east-1:123456789012:q"]}],
      "interface_endpoints": ["sns", "secretsmanager"]}, {}, {"interface_endpoints"},
     "sqs is unreachable: no NAT egress and no interface endpoint for sqs"),
    ({"function_permissions": [{**READ, "resources": ["arn:aws-cn:s3:::reports/latest.csv"]}]}, {},
     {"function_permissions"}, "entry 1: arn:aws-cn:s3:::reports/latest.csv is in partition aws-cn"),
    ({"function_permissions": [{"service": "sqs", "actions": ["sqs:SendMessage"],
                                "resources": ["arn:aws:sqs:eu-west-1:123456789012:q"]}]}, {},
     {"function_permissions"}, "is in eu-west-1; the function reaches sqs in us-east-1 only"),
    ({"function_permissions": [READ]}, {"existing_endpoints": [{
        "id": "vpce-0feed", "vpcId": "vpc-0a1b2c3d", "serviceName": "com.amazonaws.us-east-1.s3",
        "vpcEndpointType": "Gateway", "privateDnsEnabled": False}]}, {"function_permissions"},
     "vpc-0a1b2c3d already has a gateway endpoint for s3 (vpce-0feed)"),
    ({"function_permissions": [READ]}, {"route_tables": []}, {"gateway_route_table_ids"},
     "no route table of vpc-0a1b2c3d routes the private subnets"),
])
def test_what_would_not_work_is_refused_at_preview(extra: dict[str, Any], mocks: dict[str, Any],
                                                   arguments: set[str], expected: str) -> None:
    aws = AwsMocks(**mocks)
    with pytest.raises(ArgumentError) as caught:
        build(mocks=aws, **extra)
    exact_words(caught.value)
    assert caught.value.arguments == arguments
    assert expected in refusal(caught.value)
    assert aws.registered == []


def test_subnets_made_in_the_program_need_their_route_tables_given() -> None:
    import pulumi

    def program(route_tables: list[str] | None) -> Any:
        subnets = [pulumi.Output.from_input("subnet-0a"), pulumi.Output.from_input("subnet-0b")]
        extra = {"gateway_route_table_ids": route_tables} if route_tables else {}
        return VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
            "vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": subnets, "function_permissions": [READ], **extra})

    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: program(None))
    exact_words(caught.value)
    assert caught.value.arguments == {"gateway_route_table_ids"}
    run = run_program(lambda: program(["rtb-0ddd4444"]))
    assert run.one(ENDPOINT, "svc-endpoint-s3-gateway").inputs["routeTableIds"] == ["rtb-0ddd4444"]


def test_a_gateway_endpoint_service_that_takes_no_policy_is_refused() -> None:
    catalog = AwsMocks().endpoint_catalog()
    catalog["com.amazonaws.us-east-1.s3"] = {**catalog["com.amazonaws.us-east-1.s3"],
                                              "vpcEndpointPolicySupported": False}
    with pytest.raises(ArgumentError) as caught:
        build(mocks=AwsMocks(endpoint_services=catalog), function_permissions=[READ])
    exact_words(caught.value)
    assert refusal(caught.value).arguments == ["function_permissions"]
    assert ("function_permissions: the gateway endpoint service com.amazonaws.us-east-1.s3 takes no endpoint "
            "policy, so its endpoint would let every principal through; reach s3 with nat_egress") in refusal(
        caught.value)


@pytest.mark.parametrize(("entry", "expected"), [
    ({**READ, "service": "dynamo"}, "entry 1: unknown AWS service 'dynamo' (its IAM prefix, such as s3 or dynamodb); "
                                    "did you mean 'dynamodb'?"),
    ({**READ, "actions": ["sqs:SendMessage"]}, "entry 1: 'sqs:SendMessage' is an action of sqs, not of s3; list it in "
                                               "an entry of its own service"),
    ({**READ, "actions": ["s3:GetObjekt"]}, "entry 1: s3 has no action 'GetObjekt'; did you mean 'GetObject'?"),
    ({**READ, "actions": ["s3:Get*"]}, "entry 1: 's3:Get*' has a wildcard; name each action, or set allow_wildcards: "
                                       "true in this entry"),
    ({**READ, "resources": ["arn:aws:s3:::reports/*"]}, "entry 1: 'arn:aws:s3:::reports/*' has a wildcard; name each "
                                                        "resource, or set allow_wildcards: true in this entry"),
    ({**READ, "resources": ["arn:aws:sqs:us-east-1:123456789012:q"]},
     "entry 1: 'arn:aws:sqs:us-east-1:123456789012:q' is a resource of sqs, not of s3"),
    ({**READ, "resources": ["*"]}, "entry 1: resource '*' is every resource; name the ARNs, or set allow_wildcards: "
                                   "true in this entry"),
    ({**READ, "effect": "Allow"}, "entry 1: unknown field 'effect'"),
    ({**READ, "actions": []}, "entry 1: actions got []; expected a list of strings"),
])
def test_each_refusal_says_what_is_wrong_with_which_entry(entry: dict[str, Any], expected: str) -> None:
    permissions, problems = check_permissions([entry])
    assert permissions == ()
    assert [(p.argument, p.message) for p in problems] == [("function_permissions", expected)]


def test_wildcards_and_iam_only_actions_when_allowed() -> None:
    permissions, problems = check_permissions([
        {"service": "s3", "actions": ["s3:Get*", "s3:ListBucket"], "allow_wildcards": True,
         "resources": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]},
        {"service": "execute-api", "actions": ["execute-api:Invoke"],
         "resources": ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/orders"]},
    ])
    assert problems == []
    assert check_permissions([{**READ, "resources": ["*"], "allow_wildcards": True}])[1] == []
    assert permissions[0] == FunctionPermissionSettings("s3", ("s3:Get*", "s3:ListBucket"),
                                                        ("arn:aws:s3:::reports", "arn:aws:s3:::reports/*"), True)


def test_the_service_table_is_botocores_as_generated() -> None:
    """`aws_services.json` is what `scripts/gen_aws_services.py` makes of the locked botocore; the
    component reads the table, never botocore (a test dependency only)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, str(root / "scripts" / "gen_aws_services.py"), "--check"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    services = aws_services()
    assert {"s3", "dynamodb", "sqs", "sns", "kms", "cloudwatch", "states"} <= set(services)
    assert (endpoint_service("cloudwatch"), endpoint_service("ecr"), endpoint_service("s3")) == (
        "monitoring", "ecr.api", "s3")
    assert "GetObject" in services["s3"]["actions"] and "PutItem" in services["dynamodb"]["actions"]
    for module in (root / "components").rglob("*.py"):
        assert "import botocore" not in module.read_text(), module
