"""The RDS Proxy in front of the database (`db_proxy`): in the private subnets, in its own
security group, TLS required, and IAM authentication end to end. The job logs in to the proxy
with a token for the application user; the proxy logs in to the database as that user with a
token of its own, signed with its role, whose only permission is `rds-db:connect` on the
application user at the instance. No secret exists for the application user anywhere.

Its pool is the job's share of the database's connections (`database_sizing`); a client that
finds the pool used up waits at most the function's timeout for a connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.database_sizing import (
    PROXY_ENGINE_FAMILY,
    PROXY_IDLE_CLIENT_TIMEOUT_S,
    PROXY_MAX_CONNECTIONS_PERCENT,
    PROXY_MAX_IDLE_CONNECTIONS_PERCENT,
)
from ..model.dependencies import Resource, role_policy
from ..model.iam import service_trust_policy
from ..model.settings import Settings
from .children import child

RDS_SERVICE_PRINCIPAL = "rds.amazonaws.com"
"""RDS Proxy assumes its role as RDS (the same principal in every partition)."""
AUTH_SCHEME = "IAM_AUTH"
"""End-to-end IAM authentication: clients log in to the proxy with tokens, and the proxy logs in
to the database with tokens of its own (no Secrets Manager secret)."""
TARGET_GROUP = "default"


@dataclass(frozen=True)
class DatabaseProxy:
    proxy: aws.rds.Proxy
    role: aws.iam.Role
    target: aws.rds.ProxyTarget

    @property
    def resource_id(self) -> pulumi.Output[str]:
        """`prx-...`: what a client's `rds-db:connect` names (the last part of the proxy's ARN)."""
        return self.proxy.arn.apply(lambda arn: arn.rsplit(":", 1)[-1])


def create_proxy(
    name: str,
    proxy_name: str,
    settings: Settings,
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    instance: aws.rds.Instance,
    instance_db_user_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> DatabaseProxy:
    opts = pulumi.ResourceOptions(parent=parent)
    role = child(
        "proxy_role", aws.iam.Role,
        f"{name}-db-proxy-role",
        assume_role_policy=service_trust_policy(RDS_SERVICE_PRINCIPAL),
        description=f"The {name} database proxy: logs in to the database as the application user",
        tags=dict(tags),
        opts=opts,
    )

    def policy_of(arn: str) -> str:
        instance_db_user: Resource = "instance-db-user"
        return role_policy("proxy", {instance_db_user: arn})

    policy = child(
        "proxy_role", aws.iam.RolePolicy,
        f"{name}-db-proxy-role-connect",
        name="proxy-dependencies",
        role=role.id,
        policy=pulumi.Output.from_input(instance_db_user_arn).apply(policy_of),
        opts=opts,
    )
    proxy = child(
        "proxy", aws.rds.Proxy,
        f"{name}-db-proxy",
        name=proxy_name,
        engine_family=PROXY_ENGINE_FAMILY,
        default_auth_scheme=AUTH_SCHEME,
        require_tls=True,
        role_arn=role.arn,
        vpc_subnet_ids=subnet_ids,
        vpc_security_group_ids=[security_group_id],
        idle_client_timeout=PROXY_IDLE_CLIENT_TIMEOUT_S,
        debug_logging=False,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
    target_group = child(
        "proxy_target", aws.rds.ProxyDefaultTargetGroup,
        f"{name}-db-proxy-pool",
        db_proxy_name=proxy.name,
        connection_pool_config={
            "max_connections_percent": PROXY_MAX_CONNECTIONS_PERCENT,
            "max_idle_connections_percent": PROXY_MAX_IDLE_CONNECTIONS_PERCENT,
            # A client waiting for a connection from a used-up pool waits no longer than the
            # function that asked can (its time budget ends first in any case).
            "connection_borrow_timeout": settings.function_timeout_seconds,
        },
        opts=opts,
    )
    target = child(
        "proxy_target", aws.rds.ProxyTarget,
        f"{name}-db-proxy-target",
        db_proxy_name=proxy.name,
        target_group_name=TARGET_GROUP,
        db_instance_identifier=instance.identifier,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[target_group]),
    )
    return DatabaseProxy(proxy=proxy, role=role, target=target)
