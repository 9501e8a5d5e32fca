"""Every value the component and the program send to AWS, checked against what AWS accepts
(`components/model/aws_limits.py`). The mocks accept anything; these tests walk every resource of
both stack files and of the component in both partitions, with two and three subnets, every
optional feature on and every name at its longest, so a value AWS would refuse (a quote in a
description, a name one character too long) fails here, not in `pulumi up`."""

from __future__ import annotations

import json
import runpy
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import VpcLambdaWithPrivateServices
from components.build.function_code import USER_ENVIRONMENT
from components.checks.validation import MAX_COMPONENT_NAME, USER_TAGS
from components.model.aws_limits import (
    AUTONAMED,
    EC2_DESCRIPTION_PATTERN,
    LIMITS,
    PolicyDocument,
    Tags,
    Text,
    environment_size,
    problems_in_resource,
)
from localrun.pulumi_mocks import AUTONAMED_PROPERTIES, PARTITIONS, AwsMocks, ProgramRun, Registered, run_program

ROOT = Path(__file__).resolve().parent.parent
EXTRA_CA = Path(__file__).resolve().parent / "data" / "extra-ca.pem"
LONGEST_NAME = "a" + "-b2" * ((MAX_COMPONENT_NAME - 1) // 3)
TAGS_AT_THE_LIMIT = {f"tag-{i:02d}-{'k' * 100}": "v" * 256 for i in range(USER_TAGS.max_tags)}


def in_partition(value: Any, partition: str) -> Any:
    """ARNs written with {partition} and {region} placeholders, for the program's place."""
    region = PARTITIONS[partition][1]
    if isinstance(value, str):
        return value.replace("{partition}", partition).replace("{region}", region)
    if isinstance(value, list):
        return [in_partition(v, partition) for v in value]
    if isinstance(value, dict):
        return {k: in_partition(v, partition) for k, v in value.items()}
    return value


def build(partition: str, subnet_count: int, name: str = "lambda-test", mocks: AwsMocks | None = None,
          **extra: Any) -> ProgramRun:
    subnets = [f"subnet-{i:04d}" for i in range(subnet_count)]
    return run_program(lambda: VpcLambdaWithPrivateServices(name, {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": subnets, **in_partition(extra, partition)}).outputs(),
        partition=partition, mocks=mocks)


KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
EXISTING = {
    "existing_topic_arn": "arn:aws:sns:us-east-1:123456789012:orders-events",
    "existing_topic_kms_key_arn": KEY, "existing_kms_key_arn": KEY,
    "existing_database": {"address": "orders.c0abc.us-east-1.rds.amazonaws.com", "port": 3306,
                          "security_group_id": "sg-0123456789abcdef0",
                          "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-AbCdEf",
                          "resource_id": "db-ABCDEFGHIJKLMNOP"},
    "queue": {"queue_arn": "arn:aws:sqs:us-east-1:123456789012:orders", "kms_key_arn": KEY},
    "schedule": "rate(15 minutes)",
}


def existing_resources_mocks() -> AwsMocks:
    return AwsMocks(topics={"orders-events": EXISTING["existing_topic_arn"]}, kms_keys={KEY: {}},
                    queues={"orders": EXISTING["queue"]["queue_arn"]},
                    security_groups={"sg-0123456789abcdef0": "vpc-0a1b2c3d"},
                    databases=[{"dbInstanceIdentifier": "orders-db", "resourceId": "db-ABCDEFGHIJKLMNOP",
                                "engine": "mysql", "address": "orders.c0abc.us-east-1.rds.amazonaws.com",
                                "port": 3306, "dbInstanceClass": "db.t4g.small", "allocatedStorage": 50,
                                "vpcSecurityGroups": ["sg-0123456789abcdef0"], "dbParameterGroups": ["orders-tls"],
                                "dbSubnetGroup": "orders", "vpcId": "vpc-0a1b2c3d"}])


CUSTOM_JOB = ROOT / "examples" / "custom-job"
FULL_ENVIRONMENT = {"LOW_STOCK_THRESHOLD": "5",
                    "PADDING": "p" * (USER_ENVIRONMENT.max_bytes - len("LOW_STOCK_THRESHOLD5PADDING"))}
"""The most function_environment accepts: with the component's own variables it must fit 4 KB."""
EVERYTHING_ON: dict[str, Any] = {
    "function_source": str(CUSTOM_JOB / "job"),
    "function_handler": "stock_report.handler",
    "migrations_source": str(CUSTOM_JOB / "migrations"),
    "function_environment": FULL_ENVIRONMENT,
    "function_tracing": True,
    "db_monitoring_interval_seconds": 1,
    "db_final_snapshot": True,
    "db_multi_az": True,
    "function_reserved_concurrency_auto": True,
    "db_ca_bundle_file": str(EXTRA_CA),
    "interface_endpoints": ["sns", "secretsmanager", "sqs", "sts", "logs", "kms"],
    "log_retention_days": 3653,
    "schedule": "cron(30 7 ? * MON-FRI *)",
    "queue": {"batch_size": 10_000, "maximum_batching_window_seconds": 300, "maximum_concurrency": 1000,
              "max_receive_count": 1000},
    "function_permissions": [
        {"service": "s3", "actions": ["s3:GetObject", "s3:ListBucket"],
         "resources": ["arn:{partition}:s3:::reports", "arn:{partition}:s3:::reports/latest.csv"]},
        {"service": "sqs", "actions": ["sqs:SendMessage"],
         "resources": ["arn:{partition}:sqs:{region}:123456789012:out"]},
        {"service": "dynamodb", "actions": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "resources": ["arn:{partition}:dynamodb:{region}:123456789012:table/orders"]},
    ],
}
LONGEST_VALUES: dict[str, Any] = {
    "function_name": "f" * 56,
    "topic_name": "t" * 256,
    "db_name": "d" * 64,
    "db_username": "u" * 16,
    "tags": TAGS_AT_THE_LIMIT,
}


def stack(name: str) -> ProgramRun:
    config = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
    return run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py")) and None,
        partition="aws-cn", region=config["aws:region"], project="vpc-lambda", stack=name,
        config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
    )


PROGRAMS = {
    **{f"component-{p}-{n}-subnets-everything-on": (lambda p=p, n=n: build(p, n, **EVERYTHING_ON))
       for p in ("aws-cn", "aws") for n in (2, 3)},
    **{f"component-{p}-longest-names": (lambda p=p: build(p, 2, LONGEST_NAME, **EVERYTHING_ON, **LONGEST_VALUES))
       for p in ("aws-cn", "aws")},
    "component-aws-cn-nat-egress": lambda: build("aws-cn", 2, nat_egress=True, interface_endpoints=["sns"]),
    "component-aws-existing-resources": lambda: build("aws", 2, mocks=existing_resources_mocks(), **EXISTING),
    "component-aws-defaults-off": lambda: build("aws", 2, function_tracing=False, db_monitoring_interval_seconds=0,
                                                db_final_snapshot=False, db_multi_az=False),
    "stack-dev": lambda: stack("dev"),
    "stack-prod": lambda: stack("prod"),
}


@pytest.fixture(scope="module", params=sorted(PROGRAMS))
def program(request: pytest.FixtureRequest) -> ProgramRun:
    return PROGRAMS[request.param]()


def sent_to_aws(resource: Registered) -> dict[str, Any]:
    """What AWS receives: the inputs, plus the name the provider generates when none is given."""
    sent = dict(resource.inputs)
    autonamed = AUTONAMED.get(resource.type)
    if autonamed and not sent.get(autonamed):
        sent[autonamed] = resource.outputs[autonamed]
    return sent


def cloud_resources(run: ProgramRun) -> list[Registered]:
    return [r for r in run.resources if r.id is not None]


def test_every_value_sent_to_aws_is_one_aws_accepts(program: ProgramRun) -> None:
    problems = [problem for r in cloud_resources(program)
                for problem in problems_in_resource(r.type, sent_to_aws(r), label=f"{r.type} {r.name}")]
    assert problems == []


def test_every_resource_type_created_has_its_limits_in_the_table(program: ProgramRun) -> None:
    created = {r.type for r in cloud_resources(program)}
    assert created - set(LIMITS) == set(), "add what AWS accepts for these types to components/model/aws_limits.py"


def test_every_tag_set_is_within_aws_limits(program: ProgramRun) -> None:
    tagged = [r for r in cloud_resources(program) if "tags" in r.inputs]
    assert tagged
    for resource in tagged:
        assert isinstance(LIMITS[resource.type].get("tags"), Tags), f"{resource.type} is tagged but has no tag limit"


def test_inline_policies_of_a_role_fit_together(program: ProgramRun) -> None:
    """IAM's 10,240-character quota covers all of a role's inline policies at once."""
    by_role: dict[str, int] = defaultdict(int)
    for role_policy in program.of_type("aws:iam/rolePolicy:RolePolicy"):
        by_role[role_policy.inputs["role"]] += len("".join(role_policy.inputs["policy"].split()))
    assert by_role and max(by_role.values()) <= 10240


def test_function_environments_fit_lambdas_4_kb(program: ProgramRun) -> None:
    for function in program.of_type("aws:lambda/function:Function"):
        assert environment_size(function.inputs["environment"]["variables"]) <= 4096


def test_the_autonamed_types_are_the_ones_the_mocks_name() -> None:
    assert AUTONAMED_PROPERTIES is AUTONAMED
    assert AUTONAMED["aws:rds/instance:Instance"] == "identifier"


def test_longest_names_really_are_at_the_limit() -> None:
    run = PROGRAMS["component-aws-longest-names"]()
    roles = [r.outputs["name"] for r in run.of_type("aws:iam/role:Role")]
    assert max(map(len, roles)) >= 50, roles
    assert run.one("aws:sns/topic:Topic", f"{LONGEST_NAME}-topic").inputs["name"] == "t" * 256
    assert len(run.one("aws:lambda/function:Function", f"{LONGEST_NAME}-migration").inputs["name"]) == 64
    assert len(LONGEST_NAME) >= MAX_COMPONENT_NAME - 2


# --- the checks can fail ---------------------------------------------------------------------

SG = "aws:ec2/securityGroup:SecurityGroup"


@pytest.mark.parametrize(
    ("type_token", "properties", "expected"),
    [
        (SG, {"description": "The function's network interfaces"}, "refused: \"'\""),
        (SG, {"description": "Réseau"}, "refused: 'é'"),
        (SG, {"description": "x" * 256}, "256 characters; allowed: 0 to 255"),
        (SG, {"name": "sg-mine"}, "starts with 'sg-'"),
        (SG, {"tags": {"aws:x": "y"}}, "starts with 'aws:'"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {"description": "it's"}, "refused"),
        ("aws:rds/instance:Instance", {"identifier": "db--1"}, "two consecutive hyphens"),
        ("aws:rds/instance:Instance", {"identifier": "x" * 64}, "64 characters; allowed: 1 to 63"),
        ("aws:rds/instance:Instance", {"port": 80}, "got 80; allowed: 1150 to 65535"),
        ("aws:rds/instance:Instance", {"tags": {"rds:owner": "me"}}, "starts with 'rds:'"),
        ("aws:rds/subnetGroup:SubnetGroup", {"description": "Private subnets of x's database"}, "refused"),
        ("aws:rds/parameterGroup:ParameterGroup", {"name": "Params"}, "not allowed"),
        ("aws:iam/role:Role", {"name": "r" * 65}, "65 characters; allowed: 1 to 64"),
        ("aws:iam/role:Role", {"assumeRolePolicy": json.dumps({"Statement": [{"Sid": "x" * 2100}]})},
         "allowed: at most 2048"),
        ("aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps({"Statement": [{"Sid": "x" * 10300}]})},
         "allowed: at most 10240"),
        ("aws:kms/alias:Alias", {"name": "alias/aws/mine"}, "starts with 'alias/aws/'"),
        ("aws:kms/key:Key", {"policy": json.dumps({"Statement": [{"Sid": "x" * 33000}]})}, "at most 32768"),
        ("aws:lambda/function:Function", {"name": "f" * 65}, "65 characters; allowed: 1 to 64"),
        ("aws:lambda/function:Function", {"environment": {"variables": {"AWS_REGION": "x"}}}, "reserved by Lambda"),
        ("aws:lambda/function:Function", {"environment": {"variables": {"BIG": "x" * 4094}}}, "at most 4096"),
        ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 10}, "got 10; allowed: 1, 3, 5"),
        ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/lambda/a b"}, "refused: ' '"),
        ("aws:sns/topic:Topic", {"name": "t" * 257}, "257 characters"),
        ("aws:sqs/queue:Queue", {"name": "q" * 81}, "81 characters"),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", {"policy": json.dumps({"Statement": [{"Sid": "x" * 20500}]})},
         "at most 20480"),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", {"policy": "{not json"}, "is not JSON"),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", {"routeTableIds": ["rt-1"]}, "'rt-1' is not allowed"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", {"prefixListId": "s3"}, "'s3' is not allowed"),
        ("aws:cloudwatch/eventRule:EventRule", {"name": "r" * 65}, "65 characters; allowed: 1 to 64"),
        ("aws:cloudwatch/eventRule:EventRule", {"scheduleExpression": "every hour"}, "rate(...) or cron(...)"),
        ("aws:cloudwatch/eventTarget:EventTarget", {"retryPolicy": {"maximumRetryAttempts": 186}},
         "got 186; allowed: 0 to 185"),
        ("aws:lambda/permission:Permission", {"principal": "*"}, "got '*'; allowed: events.amazonaws.com"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", {"batchSize": 10001}, "got 10001; allowed: 1 to 10000"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", {"functionResponseTypes": ["All"]}, "got 'All'"),
        ("aws:sqs/queue:Queue", {"visibilityTimeoutSeconds": 43201}, "got 43201; allowed: 0 to 43200"),
        ("aws:sqs/queue:Queue", {"redrivePolicy": '{"maxReceiveCount": 5}'}, "is not allowed"),
        ("aws:sqs/queuePolicy:QueuePolicy", {"policy": json.dumps({"Statement": [{"Sid": "x" * 8200}]})},
         "at most 8192"),
    ],
)
def test_values_aws_refuses_are_reported(type_token: str, properties: dict[str, Any], expected: str) -> None:
    problems = problems_in_resource(type_token, properties)
    assert problems, properties
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(type_token) and "[" in p for p in problems), "each names its resource and source"


def test_every_limit_cites_its_source() -> None:
    for type_token, properties in LIMITS.items():
        for path, limit in properties.items():
            assert limit.source and len(limit.source) > 10, (type_token, path)
            if isinstance(limit, Text) and limit.pattern:
                assert limit.allowed, (type_token, path)
            if isinstance(limit, PolicyDocument):
                assert limit.max_size > 0


def test_the_ec2_description_set_is_the_documented_one() -> None:
    import re

    allowed = "abcXYZ019 ._-:/()#,@[]+=&;{}!$*"
    assert re.fullmatch(EC2_DESCRIPTION_PATTERN, allowed)
    for refused in ("'", '"', "é", "\n", "<", ">", "?", "%", "\\", "|", "~", "^", "`"):
        assert not re.fullmatch(EC2_DESCRIPTION_PATTERN, refused), refused
