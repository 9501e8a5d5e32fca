"""The function, its execution role (partition-aware, least privilege) and its log group."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .args import Settings
from .packaging import FunctionPackage

LAMBDA_SERVICE_PRINCIPAL = "lambda.amazonaws.com"
"""The same in every partition, AWS China included."""

VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"
"""Lets the function create and delete its network interfaces, and write its logs."""

JOB_HANDLER = "app.handler"
MIGRATION_HANDLER = "migrate.handler"


def managed_policy_arn(partition: str, policy: str) -> str:
    """`arn:<partition>:iam::aws:policy/<policy>`: the AWS-managed policy constants in
    pulumi-aws are hard-coded to `arn:aws:`, which does not exist in AWS China."""
    return f"arn:{partition}:iam::aws:policy/{policy}"


def assume_role_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": LAMBDA_SERVICE_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def function_policy(topic_arn: str, secret_arn: str) -> str:
    """Exactly what the function calls, on exactly the resources it calls them on."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "PublishNotification", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
                {
                    "Sid": "ReadDatabaseCredentials",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret_arn,
                },
            ],
        }
    )


@dataclass(frozen=True)
class ExecutionRole:
    role: aws.iam.Role
    grants: tuple[pulumi.Resource, ...]
    """The attachment and the inline policy: a function must not run before they exist."""


def create_execution_role(
    name: str,
    partition: pulumi.Output[str],
    topic_arn: pulumi.Input[str],
    secret_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> ExecutionRole:
    opts = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-LambdaExecRole",
        assume_role_policy=assume_role_policy(),
        description=f"Execution role of {name}'s functions",
        tags=dict(tags),
        opts=opts,
    )
    vpc_access = aws.iam.RolePolicyAttachment(
        f"{name}-LambdaExecRole-vpc-access",
        role=role.name,
        policy_arn=partition.apply(lambda p: managed_policy_arn(p, VPC_ACCESS_POLICY)),
        opts=opts,
    )
    inline = aws.iam.RolePolicy(
        f"{name}-LambdaExecRole-publish-and-read-secret",
        role=role.id,
        policy=pulumi.Output.all(topic_arn, secret_arn).apply(lambda arns: function_policy(arns[0], arns[1])),
        opts=opts,
    )
    return ExecutionRole(role=role, grants=(vpc_access, inline))


@dataclass(frozen=True)
class VpcFunction:
    log_group: aws.cloudwatch.LogGroup
    function: aws.lambda_.Function


def create_vpc_function(
    logical_name: str,
    function_name: str,
    handler: str,
    settings: Settings,
    package: FunctionPackage,
    role: ExecutionRole,
    environment: Mapping[str, pulumi.Input[str]],
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    replacement_security_group_id: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> VpcFunction:
    # Created before the function so Lambda does not create it without a retention.
    log_group = aws.cloudwatch.LogGroup(
        f"{logical_name}-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=settings.log_retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    function = aws.lambda_.Function(
        logical_name,
        name=function_name,
        role=role.role.arn,
        runtime=settings.function_runtime,
        architectures=[settings.function_architecture],
        handler=handler,
        code=pulumi.FileArchive(str(package.path)),
        source_code_hash=package.sha256_base64,
        memory_size=settings.function_memory_mb,
        timeout=settings.function_timeout_seconds,
        environment={"variables": dict(environment)},
        vpc_config={"subnet_ids": subnet_ids, "security_group_ids": [security_group_id]},
        logging_config={
            "log_format": "JSON",
            "log_group": log_group.name,
            "application_log_level": "INFO",
            "system_log_level": "WARN",
        },
        # On destroy, swap the interfaces onto a rule-less group first: Lambda then
        # releases them in minutes instead of the 20-45 minutes a VPC function can take.
        replace_security_groups_on_destroy=True,
        replacement_security_group_ids=[replacement_security_group_id],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*role.grants, log_group]),
    )
    return VpcFunction(log_group=log_group, function=function)
