"""Policies asserted whole, statement by statement (effect, principal, actions, resources,
conditions), the way the security-group table is: a widened action, a dropped condition or a
policy attached when it should not be fails here, whichever part of a statement it touches."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.testing.pulumi_mocks import ProgramRun, run_program

ACCOUNT = "123456789012"
BASE = {"vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
FUNCTION = "aws:lambda/function:Function"


def build(partition: str, **args: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**BASE, **args}).outputs(),  # type: ignore[misc]
                       partition=partition)


@pytest.fixture(scope="module", params=["aws", "aws-cn"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return build(request.param)


def where(run: ProgramRun) -> tuple[str, str, str]:
    partition = "aws-cn" if run.mocks.region.startswith("cn-") else "aws"
    return partition, run.mocks.region, run.mocks.dns_suffix


def test_the_key_policy_whole(run: ProgramRun) -> None:
    partition, region, suffix = where(run)
    groups = ["/aws/lambda/svc-dev", "/aws/lambda/svc-dev-migrate", "/aws/rds/instance/svc-dev/error",
              "/aws/rds/instance/svc-dev/slowquery"]
    policy = json.loads(run.one("aws:kms/key:Key").inputs["policy"])
    assert policy == {"Version": "2012-10-17", "Statement": [
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsForThisComponentsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.{suffix}"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [
                f"arn:{partition}:logs:{region}:{ACCOUNT}:log-group:{group}" for group in groups]}},
        },
        {
            "Sid": "FunctionRoleThroughTheServicesItCalls",
            "Effect": "Allow",
            "Principal": {"AWS": run.value["role_arn"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": [
                f"{service}.{region}.{suffix}" for service in ("sns", "sqs", "lambda")]}},
        },
        {
            "Sid": "MigrationRoleThroughTheServicesItCalls",
            "Effect": "Allow",
            "Principal": {"AWS": run.value["migration_role_arn"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": [
                f"{service}.{region}.{suffix}" for service in ("secretsmanager", "lambda")]}},
        },
        {
            "Sid": "CloudWatchAlarmsToTheEncryptedAlarmTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{ACCOUNT}:alarm:*"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        },
    ]}


def test_the_alarm_topic_policy_whole(run: ProgramRun) -> None:
    partition, region, _ = where(run)
    topic = run.value["alarm_topic_arn"]
    alarm_policy = run.one("aws:sns/topicPolicy:TopicPolicy", "svc-alarms-policy")
    assert alarm_policy.inputs["arn"] == topic
    assert json.loads(alarm_policy.inputs["policy"]) == {"Version": "2012-10-17", "Statement": [
        {
            "Sid": "DenyPublishWithoutTLS",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "CloudWatchAlarmsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{ACCOUNT}:alarm:*"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        },
    ]}


def attachments(run: ProgramRun) -> dict[str, str]:
    """The managed policies attached to the two functions' roles (the job's and the migration's)."""
    roles = {run.one("aws:iam/role:Role", name).outputs["name"]
             for name in ("svc-LambdaExecRole", "svc-migration-role")}
    return {a.name: a.inputs["policyArn"] for a in run.of_type(ATTACHMENT) if a.inputs["role"] in roles}


VPC_ACCESS = "iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
XRAY = "iam::aws:policy/AWSXRayDaemonWriteAccess"


def test_the_execution_roles_get_x_ray_only_with_tracing_on() -> None:
    traced = build("aws")  # tracing is on by default outside AWS China
    assert {f.inputs["tracingConfig"]["mode"] for f in traced.of_type(FUNCTION)} == {"Active"}
    assert attachments(traced) == {
        "svc-LambdaExecRole-vpc-access": f"arn:aws:{VPC_ACCESS}", "svc-LambdaExecRole-xray-write": f"arn:aws:{XRAY}",
        "svc-migration-role-vpc-access": f"arn:aws:{VPC_ACCESS}", "svc-migration-role-xray-write": f"arn:aws:{XRAY}",
    }
    untraced = build("aws", function_tracing=False)
    assert {f.inputs["tracingConfig"]["mode"] for f in untraced.of_type(FUNCTION)} == {"PassThrough"}
    assert attachments(untraced) == {
        "svc-LambdaExecRole-vpc-access": f"arn:aws:{VPC_ACCESS}",
        "svc-migration-role-vpc-access": f"arn:aws:{VPC_ACCESS}",
    }


def test_in_aws_china_the_roles_get_no_x_ray_policy() -> None:
    china = build("aws-cn")  # Lambda has no X-Ray integration there: tracing is off
    assert {f.inputs["tracingConfig"]["mode"] for f in china.of_type(FUNCTION)} == {"PassThrough"}
    assert attachments(china) == {
        "svc-LambdaExecRole-vpc-access": f"arn:aws-cn:{VPC_ACCESS}",
        "svc-migration-role-vpc-access": f"arn:aws-cn:{VPC_ACCESS}",
    }
