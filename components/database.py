"""The private RDS MySQL instance. Its master password is generated and kept by RDS in
Secrets Manager (encrypted with the component's key), so no password exists in code, config,
state or the function's environment. Production-safe by default: Multi-AZ, backups, deletion
protection, a final snapshot, enhanced monitoring, log exports, IAM authentication, and a
parameter group that refuses unencrypted connections."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .args import Settings
from .iam import managed_policy_arn, service_trust_policy

MONITORING_PRINCIPAL = "monitoring.rds.amazonaws.com"
MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"
LOG_EXPORTS = ("error", "slowquery")

# Memory (GiB) of the burstable and general-purpose classes, for the connection budget.
INSTANCE_MEMORY_GIB = {
    "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64,
    "8xlarge": 128, "12xlarge": 192, "16xlarge": 256,
}
MEMORY_OPTIMISED_FAMILIES = re.compile(r"^(r|x)\d")  # twice the memory of the same size
MYSQL_BYTES_PER_CONNECTION = 12582880
"""RDS MySQL's default `max_connections` is `{DBInstanceClassMemory/12582880}`."""
FUNCTION_CONNECTION_SHARE = 0.5
"""The share of `max_connections` the function may hold; the rest is for people and tools."""


def parameter_group_family(engine_version: str) -> str:
    major, minor = engine_version.split(".")[:2]
    return f"mysql{major}.{minor}"


def default_max_connections(instance_class: str) -> int | None:
    """RDS MySQL's default `max_connections` for a class, or None for a class not in the table."""
    parts = instance_class.split(".")
    if len(parts) != 3 or parts[2] not in INSTANCE_MEMORY_GIB:
        return None
    gib = INSTANCE_MEMORY_GIB[parts[2]] * (2 if MEMORY_OPTIMISED_FAMILIES.match(parts[1]) else 1)
    return (gib * 1024**3) // MYSQL_BYTES_PER_CONNECTION


def function_concurrency_budget(settings: Settings) -> int | None:
    """Reserved concurrency: none by default (a new account, whose concurrency limit may be 10,
    refuses any reservation); the explicit number; or, with `function_reserved_concurrency_auto`,
    half the class's `max_connections` less one for the migration (None when the class is unknown)."""
    if not settings.function_reserved_concurrency_auto:
        return settings.function_reserved_concurrency
    max_connections = default_max_connections(settings.db_instance_class)
    if max_connections is None:
        return None
    return max(1, math.floor(max_connections * FUNCTION_CONNECTION_SHARE) - 1)


def concurrency_problems(settings: Settings) -> list[str]:
    """An "auto" budget needs a known class; an explicit one must fit the database's connections."""
    name = "function_reserved_concurrency"
    max_connections = default_max_connections(settings.db_instance_class)
    if settings.function_reserved_concurrency_auto:
        if settings.function_reserved_concurrency is not None:
            return [f"{name}_auto: set together with {name}; set one of them"]
        if max_connections is None:
            return [f"{name}_auto: needs the max_connections of db_instance_class {settings.db_instance_class!r}, "
                    f"which is not known here; set {name} instead"]
    budget = function_concurrency_budget(settings)
    if budget is not None and max_connections is not None and budget >= max_connections:
        return [f"{name}: got {budget}; {settings.db_instance_class} allows {max_connections} connections "
                "(max_connections) and each execution holds one, with one more for the migration: "
                f"at most {max_connections - 1}, or {name}_auto for half"]
    return []


@dataclass(frozen=True)
class Database:
    instance: aws.rds.Instance
    subnet_group: aws.rds.SubnetGroup
    parameter_group: aws.rds.ParameterGroup
    secret_arn: pulumi.Output[str]


def create_database(
    name: str,
    settings: Settings,
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    partition: pulumi.Output[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> Database:
    opts = pulumi.ResourceOptions(parent=parent)
    subnet_group = aws.rds.SubnetGroup(
        f"{name}-db-subnets",
        subnet_ids=subnet_ids,
        description=f"Private subnets of the {name} database",
        tags=dict(tags),
        opts=opts,
    )
    parameter_group = aws.rds.ParameterGroup(
        f"{name}-db-params",
        family=parameter_group_family(settings.db_engine_version),
        description=f"{name}: TLS required",
        parameters=[{"name": "require_secure_transport", "value": "1", "apply_method": "immediate"}],
        tags=dict(tags),
        opts=opts,
    )
    monitoring_role_arn = None
    if settings.db_monitoring_interval_seconds:
        monitoring_role = aws.iam.Role(
            f"{name}-db-monitoring-role",
            assume_role_policy=service_trust_policy(MONITORING_PRINCIPAL),
            description=f"Enhanced monitoring of the {name} database",
            tags=dict(tags),
            opts=opts,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-db-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=partition.apply(functools.partial(managed_policy_arn, policy=MONITORING_POLICY)),
            opts=opts,
        )
        monitoring_role_arn = monitoring_role.arn
    instance = aws.rds.Instance(
        f"{name}-db",
        engine="mysql",
        engine_version=settings.db_engine_version,
        instance_class=settings.db_instance_class,
        allocated_storage=settings.db_allocated_storage_gb,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=kms_key_arn,
        db_name=settings.db_name,
        username=settings.db_username,
        manage_master_user_password=True,
        master_user_secret_kms_key_id=kms_key_arn,
        port=settings.db_port,
        db_subnet_group_name=subnet_group.name,
        parameter_group_name=parameter_group.name,
        vpc_security_group_ids=[security_group_id],
        publicly_accessible=False,
        multi_az=settings.db_multi_az,
        backup_retention_period=settings.db_backup_retention_days,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        monitoring_interval=settings.db_monitoring_interval_seconds,
        monitoring_role_arn=monitoring_role_arn,
        enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
        iam_database_authentication_enabled=True,
        deletion_protection=settings.db_deletion_protection,
        skip_final_snapshot=not settings.db_final_snapshot,
        final_snapshot_identifier=f"{name}-db-final" if settings.db_final_snapshot else None,
        tags=dict(tags),
        opts=opts,
    )
    secret_arn = instance.master_user_secrets.apply(_first_secret_arn)
    return Database(instance=instance, subnet_group=subnet_group, parameter_group=parameter_group,
                    secret_arn=secret_arn)


def _first_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    if not secrets:
        raise ValueError("RDS did not report the managed master-user secret (master_user_secrets is empty)")
    arn = secrets[0].secret_arn
    if not arn:
        raise ValueError("RDS reported the managed master-user secret without its ARN")
    return arn
