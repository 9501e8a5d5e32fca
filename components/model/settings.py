"""Every argument of `VpcLambdaWithPrivateServices` with its default applied: what the rest of
the component reads. The defaults live here and only here (the README's default column is
generated from them)."""


from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from vpclambda_runtime.contract import DEFAULT_JOB_HANDLER

REQUIRED_ARGS = ("vpc_id", "private_subnet_ids")
DEFAULT_APP_GRANTS: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE")
"""What the application user may do on the service's database: read and write rows, call
routines; no DDL, no GRANT, nothing on other databases."""


@dataclass(frozen=True)
class Settings:
    """Every argument with its default applied (defaults live here and only here)."""

    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    db_name: str = "myDatabase"
    db_identifier: str | None = None
    db_username: str = "dbuser"
    db_app_user: str = "app"
    db_app_grants: Sequence[str] = DEFAULT_APP_GRANTS
    db_engine_version: str = "8.4"
    db_instance_class: str = "db.t4g.micro"
    db_allocated_storage_gb: int = 20
    db_port: int = 3306
    db_ca_bundle_file: str | None = None
    db_connect_timeout_seconds: int = 5
    db_deletion_protection: bool = True
    db_final_snapshot: bool = True
    db_multi_az: bool = True
    db_backup_retention_days: int = 7
    db_monitoring_interval_seconds: int = 60
    db_slow_query_seconds: float = 1
    db_apply_immediately: bool = False
    db_proxy: bool = False
    topic_name: str | None = None
    function_name: str | None = None
    function_memory_mb: int = 256
    function_timeout_seconds: int = 30
    function_runtime: str = "python3.12"
    function_architecture: str = "arm64"
    function_reserved_concurrency: int | None = None
    function_reserved_concurrency_auto: bool = False
    function_tracing: bool | None = None
    """None until the partition is known: then on, except where Lambda has no X-Ray integration
    (`partition_features`)."""
    function_source: str | None = None
    function_handler: str = DEFAULT_JOB_HANDLER
    function_requirements: Sequence[str] = ()
    function_environment: Mapping[str, str] = field(default_factory=dict)
    migrations_source: str | None = None
    log_retention_days: int = 30
    vpc_flow_logs: bool = False
    interface_endpoints: Sequence[str] | None = None
    """None: the interface services of the APIs the function calls (`dependencies.interface_services`)."""
    nat_egress: bool = False
    alarms: bool = True
    alarm_email: str | None = None
    alarm_actions: Sequence[str] = ()
    alarm_thresholds: Mapping[str, float] = field(default_factory=dict)
    endpoints: Any = None
    """The shared endpoints as an `endpoint_set.EndpointSet` once checked, or None."""
    tags: Mapping[str, str] = field(default_factory=dict)
    schedule: str | None = None
    queue: Mapping[str, Any] | None = None
    """The `queue` argument as given; `QueueTriggerSettings` holds its fields' defaults."""
    existing_topic_arn: str | None = None
    existing_topic_kms_key_arn: str | None = None
    existing_kms_key_arn: str | None = None
    existing_database: Mapping[str, Any] | None = None
    function_permissions: Sequence[Mapping[str, Any]] = ()
    gateway_route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    transforms: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueTriggerSettings:
    """The fields of the `queue` argument with their defaults (defaults live here and only here)."""

    queue_arn: str | None = None
    kms_key_arn: str | None = None
    batch_size: int = 10
    maximum_batching_window_seconds: int = 0
    maximum_concurrency: int | None = None
    max_receive_count: int = 5


@dataclass(frozen=True)
class FunctionPermissionSettings:
    """One entry of `function_permissions` with its defaults."""

    service: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    allow_wildcards: bool = False
