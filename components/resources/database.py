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

from ..model.iam import managed_policy_arn, service_trust_policy
from ..model.settings import Settings

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
RESERVED_BY_RDS_BYTES = 256 * 1024**2
"""`DBInstanceClassMemory` is the class's memory less what the operating system and RDS keep,
which AWS does not publish. 256 MiB reproduces the `max_connections` RDS reports for the small
classes (db.t3.micro: 66 reported, 64 here; db.t3.small: 150 and 149); for larger classes the
estimate may run a few percent high, which the connection budget (half) and the connections
alarm (80%) leave room for."""
FUNCTION_CONNECTION_SHARE = 0.5
"""The share of `max_connections` the function may hold; the rest is for people and tools."""


def parameter_group_family(engine_version: str) -> str:
    major, minor = engine_version.split(".")[:2]
    return f"mysql{major}.{minor}"


def instance_memory_bytes(instance_class: str) -> int | None:
    """The class's nominal memory, or None for a class not in the table."""
    parts = instance_class.split(".")
    if len(parts) != 3 or parts[2] not in INSTANCE_MEMORY_GIB:
        return None
    return INSTANCE_MEMORY_GIB[parts[2]] * (2 if MEMORY_OPTIMISED_FAMILIES.match(parts[1]) else 1) * 1024**3


def default_max_connections(instance_class: str) -> int | None:
    """RDS MySQL's default `max_connections` for a class (from its estimated
    `DBInstanceClassMemory`), or None for a class not in the table."""
    memory = instance_memory_bytes(instance_class)
    if memory is None:
        return None
    return (memory - RESERVED_BY_RDS_BYTES) // MYSQL_BYTES_PER_CONNECTION


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


def db_log_group_names(identifier: str) -> list[str]:
    """The log groups RDS writes the exported logs to; created by the stack before the instance,
    or RDS creates them itself (unencrypted, kept forever, left behind by destroy)."""
    return [f"/aws/rds/instance/{identifier}/{export}" for export in LOG_EXPORTS]


def final_snapshot_identifier(identifier: str, key_id: str) -> str:
    """Unique per incarnation of the stack: the key is created anew with it (and kept with the
    snapshot it encrypts), so destroying a re-created stack of the same name does not collide."""
    return f"{identifier}-final-{key_id.replace('-', '')[:8]}"


def parameters(settings: Settings) -> list[aws.rds.ParameterGroupParameterArgsDict]:
    """TLS required, and the slow query log on (it is off by default on RDS MySQL, so its
    export would stay empty). Both take effect without a reboot."""
    return [
        {"name": "require_secure_transport", "value": "1", "apply_method": "immediate"},
        {"name": "slow_query_log", "value": "1", "apply_method": "immediate"},
        {"name": "long_query_time", "value": f"{settings.db_slow_query_seconds:g}", "apply_method": "immediate"},
    ]


@dataclass(frozen=True)
class Database:
    instance: aws.rds.Instance
    subnet_group: aws.rds.SubnetGroup
    parameter_group: aws.rds.ParameterGroup
    secret_arn: pulumi.Output[str]
    log_groups: tuple[aws.cloudwatch.LogGroup, ...]


def create_database(
    name: str,
    identifier: str,
    settings: Settings,
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    key: aws.kms.Key,
    partition: pulumi.Output[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> Database:
    opts = pulumi.ResourceOptions(parent=parent)
    kms_key_arn = key.arn
    log_groups = tuple(
        aws.cloudwatch.LogGroup(
            f"{name}-db-{export}-logs",
            name=log_name,
            retention_in_days=settings.log_retention_days,
            kms_key_id=kms_key_arn,
            tags=dict(tags),
            opts=opts,
        )
        for export, log_name in zip(LOG_EXPORTS, db_log_group_names(identifier), strict=True)
    )
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
        description=f"{name}: TLS required, slow query log on",
        parameters=parameters(settings),
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
        identifier=identifier,
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
        final_snapshot_identifier=(key.key_id.apply(lambda key_id: final_snapshot_identifier(identifier, key_id))
                                   if settings.db_final_snapshot else None),
        apply_immediately=settings.db_apply_immediately,
        tags=dict(tags),
        # The exported logs' groups exist first, encrypted and with a retention.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(log_groups)),
    )
    secret_arn = instance.master_user_secrets.apply(_first_secret_arn)
    return Database(instance=instance, subnet_group=subnet_group, parameter_group=parameter_group,
                    secret_arn=secret_arn, log_groups=log_groups)


def _first_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    if not secrets:
        raise ValueError("RDS did not report the managed master-user secret (master_user_secrets is empty)")
    arn = secrets[0].secret_arn
    if not arn:
        raise ValueError("RDS reported the managed master-user secret without its ARN")
    return arn
