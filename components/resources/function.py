"""The functions, their execution roles (one per function: partition-aware, least privilege,
from the dependency table) and their log groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..build.packaging import FunctionPackage
from ..model.dependencies import DEPENDENCIES, AwsDependency, Principal, Resource, role_policy
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


ROLE_NAMES: Mapping[Principal, str] = {"job": "LambdaExecRole", "migration": "migration-role"}
"""Each function's role, by the suffix of its logical name (the job's keeps the article's name,
and with it the URN of every stack that has it)."""
POLICY_NAMES: Mapping[Principal, str] = {"job": "publish-and-read-secret", "migration": "read-master-secret"}
"""The logical-name suffix of each role's own policy. The job's keeps the name it had when it also
read the secret (its URN is what existing stacks hold); its policy's name in IAM says what it is."""
CHILD_ROLES: Mapping[Principal, tuple[str, str]] = {"job": ("role", "role_policy"),
                                                    "migration": ("migration_role", "migration_role_policy")}
"""Each function's role and its policies, by child role (`transforms`)."""


def create_execution_role(name: str, tags: Mapping[str, str], parent: pulumi.Resource,
                          principal: Principal = "job") -> aws.iam.Role:
    return child(
        CHILD_ROLES[principal][0], aws.iam.Role,
        f"{name}-{ROLE_NAMES[principal]}",
        assume_role_policy=service_trust_policy(LAMBDA_SERVICE_PRINCIPAL),
        description=f"Execution role of the {name} {principal} function",
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
    dependencies: Sequence[AwsDependency] = DEPENDENCIES,
    region: str = "",
    dns_suffix: str = "",
    principal: Principal = "job",
) -> ExecutionRole:
    """The managed policies a function needs, and its own policy from the dependency table (its
    rows only), on exactly the resources named by `resource_arns` (and the ARNs the declared calls
    name)."""
    opts = pulumi.ResourceOptions(parent=parent)
    prefix = f"{name}-{ROLE_NAMES[principal]}"
    managed = [("vpc-access", VPC_ACCESS_POLICY)] + ([("xray-write", XRAY_WRITE_POLICY)] if tracing else [])
    grants: list[pulumi.Resource] = [
        child(
            CHILD_ROLES[principal][1], aws.iam.RolePolicyAttachment,
            f"{prefix}-{suffix}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=opts,
        )
        for suffix, policy in managed
    ]
    keys = list(resource_arns)
    grants.append(child(
        CHILD_ROLES[principal][1], aws.iam.RolePolicy,
        f"{prefix}-{POLICY_NAMES[principal]}",
        name=f"{principal}-dependencies",
        role=role.id,
        policy=pulumi.Output.all(*resource_arns.values()).apply(
            lambda arns: role_policy(principal, dict(zip(keys, arns, strict=True)), dependencies, region,
                                     dns_suffix)),
        opts=opts,
    ))
    return ExecutionRole(role=role, grants=tuple(grants))


@dataclass(frozen=True)
class VpcFunction:
    log_group: aws.cloudwatch.LogGroup
    function: aws.lambda_.Function


@dataclass(frozen=True)
class FunctionWiring:
    """What a function is wired to: its code, role, environment, network, key, dead-letter queue
    and tags (the functions share the code, subnets, key and tags; each has its own role,
    environment and groups). Each function adds its name, its handler and its concurrency."""

    settings: Settings
    package: FunctionPackage
    role: ExecutionRole
    environment: Mapping[str, pulumi.Input[str]]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: Sequence[pulumi.Input[str]]
    replacement_security_group_id: pulumi.Input[str]
    """A group with no rules, swapped onto the function's interfaces at destroy."""
    kms_key_arn: pulumi.Input[str]
    dead_letter_queue_arn: pulumi.Input[str] | None
    """Where failed asynchronous invocations' events go (the job; the migration is invoked
    synchronously, during deployment, and has none)."""
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
        dead_letter_config=({"target_arn": wiring.dead_letter_queue_arn}
                            if wiring.dead_letter_queue_arn is not None else None),
        reserved_concurrent_executions=reserved_concurrency,
        vpc_config={"subnet_ids": wiring.subnet_ids, "security_group_ids": list(wiring.security_group_ids)},
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
        # its groups (lambda-sg, migration-sg), the placeholder and the subnets wait for that
        # (`INTERFACE_RELEASE_TIMEOUT`).
        replace_security_groups_on_destroy=True,
        replacement_security_group_ids=[wiring.replacement_security_group_id],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*role.grants, log_group]),
    )
    return VpcFunction(log_group=log_group, function=function)
