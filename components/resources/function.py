"""The function, its execution role (partition-aware, least privilege) and its log group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..build.packaging import FunctionPackage
from ..model.dependencies import FUNCTION_DEPENDENCIES, AwsDependency, Resource, function_policy
from ..model.iam import managed_policy_arn, service_trust_policy
from ..model.names import function_log_group_name
from ..model.partition_features import XRAY_WRITE_POLICY
from ..model.settings import Settings
from .children import child

LAMBDA_SERVICE_PRINCIPAL = "lambda.amazonaws.com"
"""The same in every partition, AWS China included."""

VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"
"""Lets the function create and delete its network interfaces, and write its logs."""

@dataclass(frozen=True)
class ExecutionRole:
    role: aws.iam.Role
    grants: tuple[pulumi.Resource, ...]
    """The attachment and the inline policy: a function must not run before they exist."""


def create_execution_role(name: str, tags: Mapping[str, str], parent: pulumi.Resource) -> aws.iam.Role:
    return child(
        "role", aws.iam.Role,
        f"{name}-LambdaExecRole",
        assume_role_policy=service_trust_policy(LAMBDA_SERVICE_PRINCIPAL),
        description=f"Execution role of the {name} functions",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def grant_execution_role(
    name: str,
    role: aws.iam.Role,
    partition: str,
    resource_arns: Mapping[Resource, pulumi.Input[str]],
    tracing: bool,
    parent: pulumi.Resource,
    dependencies: Sequence[AwsDependency] = FUNCTION_DEPENDENCIES,
    region: str = "",
    dns_suffix: str = "",
) -> ExecutionRole:
    """The managed policies the function needs, and its own policy from the dependency table, on
    exactly the resources named by `resource_arns` (and the ARNs the declared calls name)."""
    opts = pulumi.ResourceOptions(parent=parent)
    managed = [("vpc-access", VPC_ACCESS_POLICY)] + ([("xray-write", XRAY_WRITE_POLICY)] if tracing else [])
    grants: list[pulumi.Resource] = [
        child(
            "role_policy", aws.iam.RolePolicyAttachment,
            f"{name}-LambdaExecRole-{suffix}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=opts,
        )
        for suffix, policy in managed
    ]
    keys = list(resource_arns)
    grants.append(child(
        "role_policy", aws.iam.RolePolicy,
        f"{name}-LambdaExecRole-publish-and-read-secret",
        role=role.id,
        policy=pulumi.Output.all(*resource_arns.values()).apply(
            lambda arns: function_policy(dict(zip(keys, arns, strict=True)), dependencies, region, dns_suffix)),
        opts=opts,
    ))
    return ExecutionRole(role=role, grants=tuple(grants))


@dataclass(frozen=True)
class VpcFunction:
    log_group: aws.cloudwatch.LogGroup
    function: aws.lambda_.Function


@dataclass(frozen=True)
class FunctionWiring:
    """What the component's functions share: their code, role, environment, network, key, dead-
    letter queue and tags. Each function adds its name, its handler and its concurrency."""

    settings: Settings
    package: FunctionPackage
    role: ExecutionRole
    environment: Mapping[str, pulumi.Input[str]]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    replacement_security_group_id: pulumi.Input[str]
    """A group with no rules, swapped onto the function's interfaces at destroy."""
    kms_key_arn: pulumi.Input[str]
    dead_letter_queue_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    parent: pulumi.Resource


def create_vpc_function(
    logical_name: str,
    function_name: str,
    handler: str,
    wiring: FunctionWiring,
    reserved_concurrency: int | None = None,
    child_role: str = "function",
) -> VpcFunction:
    """The function and its log group; `child_role` names it for `transforms` (`function` for the
    job, `migration_function`)."""
    settings, package, role, tags, parent = (wiring.settings, wiring.package, wiring.role, wiring.tags,
                                             wiring.parent)
    environment, kms_key_arn = wiring.environment, wiring.kms_key_arn
    # Created before the function so Lambda does not create it without a retention.
    log_group = child(
        "log_group", aws.cloudwatch.LogGroup,
        f"{logical_name}-logs",
        name=function_log_group_name(function_name),
        retention_in_days=settings.log_retention_days,
        kms_key_id=kms_key_arn,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    function = child(
        child_role, aws.lambda_.Function,
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
        kms_key_arn=kms_key_arn,
        tracing_config={"mode": "Active" if settings.function_tracing else "PassThrough"},
        dead_letter_config={"target_arn": wiring.dead_letter_queue_arn},
        reserved_concurrent_executions=reserved_concurrency,
        vpc_config={"subnet_ids": wiring.subnet_ids, "security_group_ids": [wiring.security_group_id]},
        logging_config={
            "log_format": "JSON",
            "log_group": log_group.name,
            "application_log_level": "INFO",
            # Lambda's own records at INFO: START, and the REPORT line with the duration, the
            # billed duration, the memory used and the init duration, which WARN would drop.
            "system_log_level": "INFO",
        },
        # On destroy, the provider first updates the function onto a rule-less group, then
        # deletes it. Lambda deletes the network interfaces later, by itself (up to 45 minutes):
        # lambda-sg, the placeholder and the subnets wait for that (`INTERFACE_RELEASE_TIMEOUT`).
        replace_security_groups_on_destroy=True,
        replacement_security_group_ids=[wiring.replacement_security_group_id],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*role.grants, log_group]),
    )
    return VpcFunction(log_group=log_group, function=function)
