"""Every value the component and the program send to AWS, checked against what AWS accepts
(`components/model/aws_limits.py`). The mocks accept anything; these tests walk every resource of
both stack files and of the component in both partitions, with two and three subnets, every
optional feature on and every name at its longest, so a value AWS would refuse (a quote in a
description, a name one character too long) fails here, not in `pulumi up`.

Each value is judged twice: by the hand table, and by what AWS's own API model (botocore) states for
the member it becomes (`tests/aws_models.py`). The table is held to the model: never looser where the
model states a limit, stricter only where it says why, silent only where the model is."""

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
    API_MEMBERS,
    AUTONAMED,
    DOCUMENTATION_ONLY,
    EC2_DESCRIPTION_PATTERN,
    LAMBDA_RESERVED_ENVIRONMENT,
    LIMITS,
    STRICTER_THAN_MODEL,
    ApiMember,
    Choice,
    Environment,
    Items,
    Limit,
    Number,
    PolicyDocument,
    Tags,
    Text,
    _ec2_tags,
    _members,
    environment_size,
    problems_in_resource,
    rds_identifier,
)
from components.model.partition_features import features_used, missing_in
from components.testing.pulumi_mocks import (
    AUTONAMED_PROPERTIES,
    PARTITIONS,
    AwsMocks,
    ProgramRun,
    Registered,
    run_program,
)
from tests.aws_models import (
    NUMBERS,
    ModelLimit,
    member_shape,
    model_limit,
    model_problems_in_resource,
    python_pattern,
)

ROOT = Path(__file__).resolve().parent.parent
EXTRA_CA = Path(__file__).resolve().parent / "data" / "extra-ca.pem"
LONGEST_NAME = "a-b2-b2-b2-b2-b2-b2-b2-b2-b2-b2c"
"""The longest component name allowed: 32 characters (stated here, not read from the check)."""
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


TRACING = {"aws": True, "aws-cn": False}
"""Everything on that the partition has: Lambda has no X-Ray integration in AWS China."""

PROGRAMS = {
    **{f"component-{p}-{n}-subnets-everything-on": (
        lambda p=p, n=n: build(p, n, **EVERYTHING_ON, function_tracing=TRACING[p]))
       for p in ("aws-cn", "aws") for n in (2, 3)},
    **{f"component-{p}-longest-names": (lambda p=p: build(p, 2, LONGEST_NAME, **EVERYTHING_ON, **LONGEST_VALUES,
                                                          function_tracing=TRACING[p], vpc_flow_logs=True))
       for p in ("aws-cn", "aws")},
    "component-aws-cn-nat-egress": lambda: build("aws-cn", 2, nat_egress=True, interface_endpoints=["sns"]),
    "component-aws-existing-resources": lambda: build("aws", 2, mocks=existing_resources_mocks(), **EXISTING),
    **{f"component-{p}-db-proxy": (lambda p=p: build(p, 3, LONGEST_NAME, **EVERYTHING_ON, **LONGEST_VALUES,
                                                     db_proxy=True, db_identifier="d" * 63))
       for p in ("aws-cn", "aws")},
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


def refused(run: ProgramRun) -> tuple[list[str], list[str]]:
    """What the hand table refuses of every value sent, and what AWS's model refuses."""
    sent = [(r, sent_to_aws(r)) for r in cloud_resources(run)]
    by_table = [p for r, values in sent for p in problems_in_resource(r.type, values, f"{r.type} {r.name}")]
    by_model = [p for r, values in sent for p in model_problems_in_resource(r.type, values, f"{r.type} {r.name}")]
    return by_table, by_model


def test_every_value_sent_to_aws_is_one_aws_accepts(program: ProgramRun) -> None:
    """Both judges, so a value only one of them refuses is a finding too."""
    assert refused(program) == ([], [])


def test_a_built_value_aws_refuses_turns_the_walk_red(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function log group name of 600 characters: both judges refuse it; with the table loosened,
    the model alone still does."""
    monkeypatch.setattr("components.resources.function.function_log_group_name",
                        lambda function_name: f"/aws/lambda/{function_name}-" + "x" * 600)
    run = build("aws", 2)
    by_table, by_model = refused(run)
    assert by_table and all("aws:cloudwatch/logGroup:LogGroup" in p and " name: " in p for p in by_table), by_table
    assert by_model and all("logs CreateLogGroup logGroupName" in p for p in by_model), by_model
    monkeypatch.setitem(LIMITS["aws:cloudwatch/logGroup:LogGroup"], "name",
                        Text("a table that forgot the limit", 2048))
    assert refused(run) == ([], by_model)


def test_nothing_uses_what_lambda_lacks_in_the_partition(program: ProgramRun) -> None:
    """AWS China's list of Lambda differences: no X-Ray, function URLs, SnapStart, recursive-loop
    detection, asynchronous-invocation metrics or package encryption with a key of one's own."""
    partition = program.mocks.partition
    used = [f"{r.type} {r.name}: {feature}" for r in cloud_resources(program)
            for feature in features_used(partition, r.type, r.inputs)]
    assert used == []
    if partition == "aws-cn":
        assert missing_in(partition), "the walk judges the China programs against the list"


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
    assert len(LONGEST_NAME) == MAX_COMPONENT_NAME == 32


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


ROLE_TYPE, INLINE_TYPE = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
KEY_TYPE, ENDPOINT_TYPE = "aws:kms/key:Key", "aws:ec2/vpcEndpoint:VpcEndpoint"
TRUST = {"Sid": "Lambda", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}
GRANT = {"Sid": "Publish", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": "arn:aws:sns:us-east-1:1:t"}
OPEN = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}


def document(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top}, ensure_ascii=False)


@pytest.mark.parametrize(("type_token", "member", "document", "expected"), [
    (ROLE_TYPE, "assumeRolePolicy", document(TRUST, VERSION="2012-10-17"), "unknown element 'VERSION'"),
    (ROLE_TYPE, "assumeRolePolicy", json.dumps({"Statement": [TRUST]}), "Version None; expected '2012-10-17'"),
    (ROLE_TYPE, "assumeRolePolicy", json.dumps({"Version": "2008-10-17", "Statement": [TRUST]}),
     "assumeRolePolicy: Version '2008-10-17'; expected '2012-10-17' [IAM quotas"),
    (ROLE_TYPE, "assumeRolePolicy", document({**TRUST, "Resource": "*"}), "a trust policy names no Resource"),
    (ROLE_TYPE, "assumeRolePolicy", document({k: v for k, v in TRUST.items() if k != "Principal"}),
     "needs exactly one of Principal and NotPrincipal"),
    (INLINE_TYPE, "policy", document({**GRANT, "Principal": "*"}), "an identity policy names no Principal"),
    (INLINE_TYPE, "policy", document({k: v for k, v in GRANT.items() if k != "Resource"}),
     "needs exactly one of Resource and NotResource"),
    (INLINE_TYPE, "policy", document({**GRANT, "NotAction": "sns:Subscribe"}),
     "needs exactly one of Action and NotAction"),
    (INLINE_TYPE, "policy", document({**GRANT, "Effect": "allow"}), "Effect 'allow'; allowed: 'Allow' or 'Deny'"),
    (INLINE_TYPE, "policy", document({**GRANT, "Action": []}), "expected '*' or service:action names"),
    (INLINE_TYPE, "policy", document({**GRANT, "Action": "Publish"}), "expected '*' or service:action names"),
    (INLINE_TYPE, "policy", document({**GRANT, "Sid": "publish-to-topic"}), "IAM allows letters and digits only"),
    (INLINE_TYPE, "policy", document(GRANT, GRANT), "repeat; each statement's Sid is unique"),
    (INLINE_TYPE, "policy", document({**GRANT, "Acton": "sns:Publish"}), "unknown element 'Acton'"),
    (INLINE_TYPE, "policy", document({**GRANT, "Condition": {"StringEquals": "x"}}),
     "Condition must map each operator"),
    (KEY_TYPE, "policy", document({k: v for k, v in OPEN.items() if k != "Principal"}),
     "needs exactly one of Principal and NotPrincipal"),
    (ENDPOINT_TYPE, "policy", document({k: v for k, v in OPEN.items() if k != "Resource"}),
     "needs exactly one of Resource and NotResource"),
    (ENDPOINT_TYPE, "policy", json.dumps({"Version": "2012-10-17", "Statement": []}), "has no Statement list"),
    (ENDPOINT_TYPE, "policy", json.dumps(["not", "an", "object"]), "got list; expected a JSON object"),
    (ENDPOINT_TYPE, "policy", document("Allow"), "statement 1: got str; expected an object"),
])
def test_a_policy_outside_iams_grammar_is_refused(type_token: str, member: str, document: str, expected: str) -> None:
    """Every policy the component sends is in the grammar of its kind (an identity policy names no
    principal, a trust policy no resource): a misspelt element or a wrong Effect fails the walk of
    every value sent, in every program of this file."""
    problems = problems_in_resource(type_token, {member: document})
    assert any(expected in p for p in problems), problems


def test_the_policies_in_the_grammar_are_accepted() -> None:
    assert problems_in_resource(ROLE_TYPE, {"assumeRolePolicy": document(TRUST)}) == []
    assert problems_in_resource(INLINE_TYPE, {"policy": document(GRANT, {**GRANT, "Sid": "Second", "Condition": {
        "StringEquals": {"aws:SourceAccount": "123456789012"}}})}) == []
    assert problems_in_resource(KEY_TYPE, {"policy": document({**OPEN, "Sid": "Key administration"})}) == []
    assert problems_in_resource(ENDPOINT_TYPE, {"policy": document(OPEN)}) == []


DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
METRIC_WIDGET = {"type": "metric", "x": 12, "y": 6, "width": 12, "height": 6, "properties": {
    "title": "Database CPU", "region": "us-east-1", "stat": "Average", "period": 300, "view": "timeSeries",
    "metrics": [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "db-1", {"stat": "p99", "label": "p99"}]],
    "annotations": {"horizontal": [{"label": "alarm", "value": 80}]}}}


def dashboard(widget: dict[str, Any] | None = None, **properties: Any) -> str:
    widget = widget or {**METRIC_WIDGET, "properties": {**METRIC_WIDGET["properties"], **properties}}
    return json.dumps({"widgets": [widget]})


@pytest.mark.parametrize(("body", "expected"), [
    (dashboard(PERIOD=300), "widget 1: unknown property 'PERIOD'"),
    (dashboard(period=301), "widget 1: period 301; allowed: 1, 5, 10, 30 or a multiple of 60 seconds"),
    (dashboard(period="300"), "period '300'"),
    (dashboard(stat="Avg"), "stat 'Avg' is not a CloudWatch statistic"),
    (dashboard(view="line"), "view 'line'"),
    (dashboard(region=None), "a metric widget names its region"),
    (dashboard(metrics=[]), "metrics: expected a list of metrics"),
    (dashboard(metrics=[["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier"]]),
     "metric 1: expected [namespace, metric name, dimension name, value, ...]"),
    (dashboard(metrics=[["AWS/RDS", "CPUUtilization", {"statistic": "p99"}]]), "metric 1: unknown option 'statistic'"),
    (dashboard(metrics=[["AWS/RDS", "CPUUtilization", {"period": 90}]]), "metric 1: period 90"),
    (dashboard(metrics=[["AWS/RDS", "CPUUtilization", {"stat": "P99"}]]), "stat 'P99'"),
    (dashboard(annotations={"horizontal": [{"label": "alarm", "value": "80"}]}), "needs a number as its value"),
    (dashboard(annotations={"horizontal": [{"Label": "alarm", "value": 80}]}), "annotation: unknown element 'Label'"),
    (dashboard(annotations={"lines": []}), "annotations: expected horizontal and vertical lists"),
    (dashboard({**METRIC_WIDGET, "width": 13}), "at x 12, y 6, 13 by 6: outside the grid"),
    (dashboard({**METRIC_WIDGET, "x": 24, "width": 1}), "outside the grid"),
    (dashboard({**METRIC_WIDGET, "height": 0}), "outside the grid"),
    (dashboard({**METRIC_WIDGET, "y": 1.5}), "whole numbers"),
    (dashboard({**METRIC_WIDGET, "type": "metrics"}), "type 'metrics'"),
    (dashboard({**METRIC_WIDGET, "Properties": {}}), "widget 1: unknown element 'Properties'"),
    (json.dumps({"Widgets": []}), "has no widgets list"),
    (json.dumps({"widgets": [], "title": "x"}), "unknown element 'title'"),
    ("{widgets", "is not JSON"),
])
def test_a_dashboard_body_outside_cloudwatchs_structure_is_refused(body: str, expected: str) -> None:
    problems = problems_in_resource(DASHBOARD, {"dashboardBody": body})
    assert any(expected in p for p in problems), problems


def test_a_dashboard_body_in_the_structure_is_accepted() -> None:
    assert problems_in_resource(DASHBOARD, {"dashboardBody": dashboard()}) == []
    assert problems_in_resource(DASHBOARD, {"dashboardBody": dashboard(period=60, stat="tm99.5")}) == []


# The tables are built once, at import; these call their builders at test time, so that a wrong
# builder fails a test and not only the tables it built.

@pytest.mark.parametrize("operation", ["CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateVpcEndpoint",
                                       "CreateFlowLogs", "CreateSubnet"])
def test_the_ec2_tags_member_is_botocores_tag_list(operation: str) -> None:
    shape = member_shape(_ec2_tags(operation))
    assert shape.type_name == "list" and set(shape.member.members) == {"Key", "Value"}


def test_members_are_named_as_given_for_one_operation() -> None:
    assert _members("lambda", "CreateFunction", name="FunctionName", timeout="Timeout") == {
        "name": ApiMember("lambda", "CreateFunction", "FunctionName"),
        "timeout": ApiMember("lambda", "CreateFunction", "Timeout")}


@pytest.mark.parametrize(("lowercase", "value", "refused"), [
    (True, "a", None), (True, "db-1", None), (True, "d" * 63, None), (True, "d" * 64, "64 characters"),
    (True, "Db", "not allowed"), (True, "1db", "not allowed"), (True, "db--1", "two consecutive hyphens"),
    (True, "db-", "ends with a hyphen"), (True, "", "0 characters"),
    (False, "A", None), (False, "Snapshot-1", None), (False, "1s", "not allowed"), (False, "s--1", "consecutive"),
    (False, "s-", "ends with a hyphen"),
])
def test_an_rds_identifier_is_a_letter_then_letters_digits_and_single_hyphens(
        lowercase: bool, value: str, refused: str | None) -> None:
    problems = rds_identifier("RDS API", 63, lowercase=lowercase).problems(value)
    if refused == "not allowed":
        allowed = ("a lowercase letter, then lowercase letters, digits or hyphens" if lowercase
                   else "a letter, then letters, digits or hyphens")
        assert problems[0].endswith(f"; allowed: {allowed}"), problems
    if refused is None:
        assert problems == []
    else:
        assert any(refused in p for p in problems), problems


def test_a_refused_text_lists_each_refused_character_once_in_order() -> None:
    description = LIMITS["aws:ec2/securityGroup:SecurityGroup"]["description"]
    assert description.problems("Réseau d'été") == [
        "\"Réseau d'été\" is not allowed (refused: \"'\" 'é'); allowed: " + description.allowed]


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


# --- the hand table against AWS's models -------------------------------------------------------

PROBE_CHARACTERS = (*map(chr, range(128)), "\u0085", "\u00a0", "é", "\u00ff", "\u0100", "ж", "中", "٣", "²",
                    "\u2028", "\u3000", "\ufeff", "\U0001f600")
"""Every ASCII character and a few beyond: Latin-1, other scripts, other digits, Unicode spaces and
line separators, a character outside the Basic Multilingual Plane."""
TEXT_EXAMPLES: dict[tuple[str, str], str] = {
    ("aws:iam/role:Role", "name"): "role",
    ("aws:iam/role:Role", "description"): "Role",
    ("aws:iam/rolePolicy:RolePolicy", "name"): "policy",
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn"): "arn:aws:iam::aws:policy/ReadOnly",
    ("aws:cloudwatch/logGroup:LogGroup", "name"): "/aws/lambda/f",
    ("aws:kms/key:Key", "description"): "Key",
    ("aws:kms/alias:Alias", "name"): "alias/key",
    ("aws:lambda/function:Function", "name"): "function",
    ("aws:lambda/function:Function", "handler"): "handler.handler",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"): "alarm",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "alarmDescription"): "Alarm",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "namespace"): "AWS/Lambda",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "metricName"): "Errors",
    ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "name"): "filter",
    ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "pattern"): '{ $.level = "ERROR" }',
    ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "metricTransformation.name"): "Errors",
    ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "metricTransformation.namespace"): "Service",
    ("aws:cloudwatch/eventRule:EventRule", "name"): "svc-dev-schedule",
    ("aws:cloudwatch/eventRule:EventRule", "description"): "Runs the svc job: rate(1 hour)",
    ("aws:cloudwatch/eventRule:EventRule", "scheduleExpression"): "rate(1 hour)",
    ("aws:cloudwatch/eventTarget:EventTarget", "targetId"): "job",
    ("aws:lambda/permission:Permission", "statementId"): "InvokeOnTheSchedule",
    ("aws:lambda/permission:Permission", "sourceArn"): "arn:aws:events:us-east-1:123456789012:rule/svc-dev-schedule",
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "eventSourceArn"):
        "arn:aws:sqs:us-east-1:123456789012:orders",
    ("aws:rds/proxy:Proxy", "name"): "db-proxy",
    ("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "dbProxyName"): "db-proxy",
    ("aws:rds/proxyTarget:ProxyTarget", "dbProxyName"): "db-proxy",
}
"""A value AWS accepts for each text property the model states something about: the probes vary it."""


def around(*bounds: int | None) -> set[int]:
    return {bound + step for bound in bounds if bound is not None for step in (-1, 0, 1) if bound + step >= 0}


def texts(example: str, lengths: set[int]) -> set[str]:
    """The example, each probe character alone and after it, and the example cut or padded to each length."""
    pad = example[-1:] or "a"
    return {example, *PROBE_CHARACTERS, *(example + c for c in PROBE_CHARACTERS),
            *((example + pad * n)[:n] for n in lengths)}


def policy(sid: str) -> str:
    return document({"Sid": sid, "Effect": "Allow"})


def policies(sizes: set[int]) -> set[str]:
    """Policies with each probe character, and of each size with or without whitespace padding."""
    overhead = len(policy(""))
    found = {"x", *(policy("x" + c) for c in PROBE_CHARACTERS)}
    for size in sizes - {0}:
        found.add(policy("x" * max(size - overhead, 1)))
        found.add(policy("x") + " " * max(size - overhead - 1, 0))
    return found


def probes(hand: Limit, model: ModelLimit, example: str) -> list[Any]:
    """Values on both sides of every bound either states, and around every character they allow."""
    if isinstance(hand, Text):
        return sorted(texts(example, around(hand.min_len, hand.max_len, model.min, model.max)) | set(model.enum))
    if isinstance(hand, PolicyDocument):
        return sorted(policies(around(hand.max_size, model.min, model.max)))
    if isinstance(hand, Number):
        return sorted(around(hand.low, hand.high, model.min, model.max))
    if isinstance(hand, Choice):
        if model.kind in NUMBERS:
            return sorted(around(model.min, model.max, *hand.choices))
        return sorted(texts(str(hand.choices[0]), around(model.min, model.max)) | set(hand.choices) | set(model.enum))
    if isinstance(hand, Items):
        return items_probes(hand, model)
    if isinstance(hand, Tags):
        key, value = (model.item.key, model.item.value) if model.item else (model.key, model.value)
        return mapping_probes(
            keys=texts("k", around(hand.max_key, key.max if key else None)) | {f"{p}k" for p in hand.reserved_prefixes},
            values=texts("v", around(hand.max_value, value.max if value else None)),
            counts=around(hand.min_tags, hand.max_tags, model.min, model.max))
    if isinstance(hand, Environment):
        return mapping_probes(keys=texts("NAME", set()) | LAMBDA_RESERVED_ENVIRONMENT,
                              values=texts("v", around(hand.max_bytes)), counts={0, 1, 2}, valid_key="NAME")
    raise AssertionError(f"no probes for {type(hand).__name__}")


def mapping_probes(keys: set[str], values: set[str], counts: set[int], valid_key: str = "k") -> list[Any]:
    """One entry with each key, one with each value, and each count of valid entries."""
    found: list[Any] = [{key: "v"} for key in sorted(keys)] + [{valid_key: value} for value in sorted(values)]
    return found + [{f"{valid_key}{i}": "v" for i in range(count)} for count in sorted(counts)]


def items_probes(hand: Items, model: ModelLimit) -> list[Any]:
    item = model.item
    assert item is not None
    if item.kind == "pair":
        assert item.key and item.value
        return mapping_probes(keys=texts("k", around(item.key.min, item.key.max)),
                              values=texts("v", around(item.value.min, item.value.max)),
                              counts=around(hand.min_items, hand.max_items, model.min, model.max))
    if isinstance(hand.item, Choice):
        valid = hand.item.choices[0]
        singles = set(hand.item.choices) | set(item.enum) | texts(str(valid), around(item.min, item.max))
    else:
        valid = "arn:aws:sns:us-east-1:123456789012:topic"
        singles = texts(valid, around(item.min, item.max, *(hand.item.min_len, hand.item.max_len) if hand.item else ()))
    counts = around(hand.min_items, hand.max_items, model.min, model.max)
    return [[single] for single in sorted(singles)] + [[valid] * count for count in sorted(counts)]


def comparison(type_token: str, path: str) -> tuple[list[Any], list[Any]]:
    """(values the hand table accepts and the model refuses, values the model accepts and the table refuses)."""
    hand, model = LIMITS[type_token][path], model_limit(API_MEMBERS[type_token][path])
    example = ""
    if isinstance(hand, Text):
        example = TEXT_EXAMPLES[type_token, path]
        assert hand.problems(example) == model.problems(example) == [], example
    values = probes(hand, model, example)
    looser = [v for v in values if not hand.problems(v) and model.problems(v)]
    stricter = [v for v in values if hand.problems(v) and not model.problems(v)]
    return looser, stricter


COVERED = sorted((type_token, path) for type_token, properties in LIMITS.items() for path in properties)


def test_every_property_in_the_table_names_the_api_member_it_becomes() -> None:
    assert sorted((t, p) for t, properties in API_MEMBERS.items() for p in properties) == COVERED
    for type_token, path in COVERED:
        member_shape(API_MEMBERS[type_token][path])  # the operation and member exist in botocore's model


def test_the_documentation_only_note_is_what_the_models_leave_out() -> None:
    silent = {(t, p) for t, p in COVERED if not model_limit(API_MEMBERS[t][p]).states_anything()}
    assert silent == DOCUMENTATION_ONLY
    assert {("aws:ec2/securityGroup:SecurityGroup", "description"), ("aws:rds/instance:Instance", "identifier"),
            ("aws:sns/topic:Topic", "name")} <= DOCUMENTATION_ONLY


@pytest.mark.parametrize(("type_token", "path"), [k for k in COVERED if k not in DOCUMENTATION_ONLY])
def test_the_table_is_never_looser_than_the_model(type_token: str, path: str) -> None:
    looser, stricter = comparison(type_token, path)
    assert looser == [], f"the table accepts what AWS's model refuses: {looser[:5]}"
    if (type_token, path) in STRICTER_THAN_MODEL:
        assert stricter, "noted as stricter than the model, but the table refuses nothing the model accepts"
    else:
        assert stricter == [], f"stricter than the model without a note in STRICTER_THAN_MODEL: {stricter[:5]}"


def test_the_table_holds_the_models_own_figures() -> None:
    """A few figures the table must state as the model does, or deliberately within it."""
    def both(type_token: str, path: str) -> tuple[Limit, ModelLimit]:
        return LIMITS[type_token][path], model_limit(API_MEMBERS[type_token][path])

    role, role_model = both("aws:iam/role:Role", "name")
    assert isinstance(role, Text) and (role.min_len, role.max_len) == (role_model.min, role_model.max) == (1, 64)
    assert role_model.pattern == r"[\w+=,.@-]+" and role.problems("rôle") and role_model.problems("rôle")
    handler, handler_model = both("aws:lambda/function:Function", "handler")
    assert isinstance(handler, Text) and handler.max_len == handler_model.max == 128
    memory, memory_model = both("aws:lambda/function:Function", "memorySize")
    assert isinstance(memory, Number) and memory.low == memory_model.min == 128
    assert memory.high == 10240 and memory_model.max == 32768  # Lambda's quota, within the model's range
    log_group, log_group_model = both("aws:cloudwatch/logGroup:LogGroup", "name")
    assert isinstance(log_group, Text) and log_group.max_len == log_group_model.max == 512


@pytest.mark.parametrize(
    ("type_token", "properties", "expected"),
    [
        ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/lambda/" + "x" * 501}, "513 characters"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"name": "a" * 256}, "256 characters"),
        ("aws:iam/role:Role", {"name": "rôle"}, "does not match the model's pattern"),
        ("aws:iam/role:Role", {"tags": {"k\x00": "v"}}, "Key "),
        ("aws:lambda/function:Function", {"tags": {"k": "v\x00"}}, "value of 'k'"),
        ("aws:lambda/function:Function", {"architectures": []}, "0 items; the model allows 1 to 1"),
        ("aws:lambda/function:Function", {"memorySize": 64}, "got 64; the model allows 128 to 32768"),
        ("aws:lambda/function:Function", {"environment": {"variables": {"1X": "v"}}}, "key '1X'"),
        ("aws:lambda/function:Function", {"runtime": "python2"}, "not one of the model's values"),
        ("aws:kms/key:Key", {"policy": policy("中")}, "does not match the model's pattern"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"dimensions": {"FunctionName": ""}}, "Value "),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"namespace": "AWS/Lambda\r"}, "pattern"),
        ("aws:cloudwatch/logMetricFilter:LogMetricFilter", {"metricTransformation": {"name": "a:b"}}, "pattern"),
        ("aws:sqs/queue:Queue", {"messageRetentionSeconds": 5}, None),
        ("aws:rds/instance:Instance", {"identifier": "db--1"}, None),
    ],
)
def test_values_the_model_refuses_are_reported(type_token: str, properties: dict[str, Any], expected: str | None
                                               ) -> None:
    """What the model states is enforced; where it states nothing (SQS, RDS), only the table speaks."""
    problems = model_problems_in_resource(type_token, properties)
    if expected is None:
        assert problems == [] and problems_in_resource(type_token, properties) != []
    else:
        assert any(expected in p for p in problems), problems
        assert all(p.startswith(type_token) and "botocore" in p for p in problems)


def test_java_patterns_are_read_as_java_reads_them() -> None:
    tag_key = model_limit(API_MEMBERS["aws:iam/role:Role"]["tags"])
    assert tag_key.item is not None and tag_key.item.key is not None
    assert tag_key.item.key.problems("Größe 中 ٣ _.:/=+-@") == []
    assert tag_key.item.key.problems("a!") and tag_key.item.key.problems("a\n")
    assert python_pattern(r"[^\s]+") == r"[^\s]+"  # with re.ASCII: Java's \s, ASCII only
    assert python_pattern("a.b") == "a[^\\n\\r\\x85\\u2028\\u2029]b"
    for java_only in (r"\Qa.b\E", r"[a-z&&[^e]]", r"a++", r"\p{javaLowerCase}"):
        with pytest.raises(ValueError):
            python_pattern(java_only)
