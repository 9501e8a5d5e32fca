"""The private RDS MySQL instance. Its master password is generated and kept by RDS in
Secrets Manager, so no password exists in code, config, state or the function's environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .args import Settings


@dataclass(frozen=True)
class Database:
    instance: aws.rds.Instance
    subnet_group: aws.rds.SubnetGroup
    secret_arn: pulumi.Output[str]


def create_database(
    name: str,
    settings: Settings,
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> Database:
    opts = pulumi.ResourceOptions(parent=parent)
    subnet_group = aws.rds.SubnetGroup(
        f"{name}-db-subnets",
        subnet_ids=subnet_ids,
        description=f"Private subnets of {name}'s database",
        tags=dict(tags),
        opts=opts,
    )
    instance = aws.rds.Instance(
        f"{name}-db",
        engine="mysql",
        engine_version=settings.db_engine_version,
        instance_class=settings.db_instance_class,
        allocated_storage=settings.db_allocated_storage_gb,
        storage_type="gp3",
        storage_encrypted=True,
        db_name=settings.db_name,
        username=settings.db_username,
        manage_master_user_password=True,
        port=settings.db_port,
        db_subnet_group_name=subnet_group.name,
        vpc_security_group_ids=[security_group_id],
        publicly_accessible=False,
        deletion_protection=settings.db_deletion_protection,
        skip_final_snapshot=not settings.db_final_snapshot,
        final_snapshot_identifier=f"{name}-db-final" if settings.db_final_snapshot else None,
        tags=dict(tags),
        opts=opts,
    )
    secret_arn = instance.master_user_secrets.apply(_first_secret_arn)
    return Database(instance=instance, subnet_group=subnet_group, secret_arn=secret_arn)


def _first_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    if not secrets:
        raise ValueError("RDS did not report the managed master-user secret (master_user_secrets is empty)")
    return secrets[0].secret_arn
