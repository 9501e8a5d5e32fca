"""The private RDS MySQL instance. Its master password is generated and kept by RDS in
Secrets Manager (encrypted with the component's key), so no password exists in code, config,
state or the function's environment. Production-safe by default: Multi-AZ, backups, deletion
protection, a final snapshot, enhanced monitoring, log exports, IAM authentication, and a
parameter group that refuses unencrypted connections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.database_sizing import (
    LOG_EXPORTS,
    db_log_group_names,
    final_snapshot_identifier,
    parameter_group_family,
    parameters,
)
from ..model.iam import managed_policy_arn, service_trust_policy
from ..model.settings import Settings

MONITORING_PRINCIPAL = "monitoring.rds.amazonaws.com"
MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


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
    partition: str,
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
        parameters=[aws.rds.ParameterGroupParameterArgs(**parameter) for parameter in parameters(settings)],
        tags=dict(tags),
        opts=opts,
    )
    monitoring_role_arn = None
    monitoring_grants: list[pulumi.Resource] = []
    if settings.db_monitoring_interval_seconds:
        monitoring_role = aws.iam.Role(
            f"{name}-db-monitoring-role",
            assume_role_policy=service_trust_policy(MONITORING_PRINCIPAL),
            description=f"Enhanced monitoring of the {name} database",
            tags=dict(tags),
            opts=opts,
        )
        monitoring_grants.append(aws.iam.RolePolicyAttachment(
            f"{name}-db-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=managed_policy_arn(partition, MONITORING_POLICY),
            opts=opts,
        ))
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
        # The exported logs' groups exist first, encrypted and with a retention; the monitoring
        # role has its policy before RDS is told to use it (RDS checks the role when it is set).
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*log_groups, *monitoring_grants]),
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
