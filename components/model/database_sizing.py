"""What the database is sized and named from: the instance classes' memory and connection budget,
the function's share of it, the parameter group, and the names of the log groups and the final
snapshot. Pure functions of the arguments; `resources/database.py` creates the instance from them."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from .problems import Problem
from .settings import Settings

LOG_EXPORTS = ("error", "slowquery")
EXPORT_PARAMETERS: dict[str, dict[str, str]] = {
    "error": {},
    "slowquery": {"slow_query_log": "1", "log_output": "FILE"},
}
"""What each exported log needs in the parameter group. RDS writes the error log to a file
whatever the parameters; the slow query log is off by default, and RDS publishes it to
CloudWatch Logs only from a file (`log_output = FILE`: with `TABLE`, the default on some
versions, `mysql.slow_log` grows inside the database's storage and the export stays empty)."""

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
PROXY_ENGINE_FAMILY = "MYSQL"
PROXY_MAX_CONNECTIONS_PERCENT = round(FUNCTION_CONNECTION_SHARE * 100)
"""With `db_proxy` the proxy's pool is the job's share of `max_connections`; the migration
connects directly, beside it."""
PROXY_MAX_IDLE_CONNECTIONS_PERCENT = PROXY_MAX_CONNECTIONS_PERCENT // 2
PROXY_IDLE_CLIENT_TIMEOUT_S = 300
"""A client connection idle this long is closed by the proxy (with it, the database connection it
pins): an execution environment Lambda has frozen or reclaimed gives its connection back within 5
minutes; a warm one opens a new connection (with a new token) when it finds its own gone."""
PROXY_ENGINE_MAJORS = ("5.7", "8.0", "8.4")
"""RDS for MySQL major versions RDS Proxy supports (RDS User Guide: supported engines for RDS
Proxy); the preview judges the version RDS resolves `db_engine_version` to."""


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


def proxy_pool_size(instance_class: str) -> int | None:
    """The database connections the proxy may hold: its share of the class's `max_connections`."""
    max_connections = default_max_connections(instance_class)
    if max_connections is None:
        return None
    return max(1, math.floor(max_connections * PROXY_MAX_CONNECTIONS_PERCENT / 100))


def function_concurrency_budget(settings: Settings) -> int | None:
    """Reserved concurrency: none by default (a new account, whose concurrency limit may be 10,
    refuses any reservation); the explicit number; or, with `function_reserved_concurrency_auto`,
    half the class's `max_connections` less one for the migration (None when the class is
    unknown). With `db_proxy` the budget is the proxy's pool instead: the migration connects
    beside it, and each execution's session holds one of the pool's connections while it lives
    (the runtime's per-session bounds pin it, `docs/costs.md`)."""
    if not settings.function_reserved_concurrency_auto:
        return settings.function_reserved_concurrency
    if settings.db_proxy:
        return proxy_pool_size(settings.db_instance_class)
    max_connections = default_max_connections(settings.db_instance_class)
    if max_connections is None:
        return None
    return max(1, math.floor(max_connections * FUNCTION_CONNECTION_SHARE) - 1)


def concurrency_problems(settings: Settings) -> list[Problem]:
    """An "auto" budget needs a known class; an explicit one must fit the database's connections."""
    name = "function_reserved_concurrency"
    max_connections = default_max_connections(settings.db_instance_class)
    if settings.function_reserved_concurrency_auto:
        if settings.function_reserved_concurrency is not None:
            return [Problem(f"{name}_auto", f"set together with {name}; set one of them")]
        if max_connections is None:
            return [Problem(f"{name}_auto", "needs the max_connections of db_instance_class "
                                            f"{settings.db_instance_class!r}, which is not known here; "
                                            f"set {name} instead")]
    budget = function_concurrency_budget(settings)
    pool = proxy_pool_size(settings.db_instance_class) if settings.db_proxy else None
    if budget is not None and pool is not None and budget > pool:
        return [Problem(name, f"got {budget}; with db_proxy each execution holds one of the proxy's "
                              f"{pool} database connections ({PROXY_MAX_CONNECTIONS_PERCENT} % of "
                              f"{settings.db_instance_class}'s max_connections): at most {pool}, or {name}_auto")]
    if budget is not None and max_connections is not None and budget >= max_connections:
        return [Problem(name, f"got {budget}; {settings.db_instance_class} allows {max_connections} connections "
                              "(max_connections) and each execution holds one, with one more for the migration: "
                              f"at most {max_connections - 1}, or {name}_auto for half")]
    return []


ENHANCED_MONITORING_LOG_GROUP = "RDSOSMetrics"
"""Where RDS writes enhanced monitoring's metrics: one log group per account and region, shared
by every instance that has it, created by RDS on first use. Not the stack's: owning it would
delete other instances' metrics with the stack (docs/destroy-and-update.md says so)."""


def db_log_group_names(identifier: str) -> list[str]:
    """The log groups RDS writes the exported logs to; created by the stack before the instance,
    or RDS creates them itself (unencrypted, kept forever, left behind by destroy)."""
    return [f"/aws/rds/instance/{identifier}/{export}" for export in LOG_EXPORTS]


def final_snapshot_identifier(identifier: str, key_id: str) -> str:
    """Unique per incarnation of the stack: the key is created anew with it (and kept with the
    snapshot it encrypts), so destroying a re-created stack of the same name does not collide."""
    return f"{identifier}-final-{key_id.replace('-', '')[:8]}"


def plain_decimal(value: float) -> str:
    """A number as MySQL reads a parameter: plain digits, never an exponent (`1e+06`, `1e-05`)."""
    return format(Decimal(str(value)).normalize(), "f")


def parameters(settings: Settings) -> list[dict[str, str]]:
    """TLS required; what the exported logs need (`EXPORT_PARAMETERS`); and the slow query
    log's threshold. All take effect without a reboot."""
    exported = {name: value for export in LOG_EXPORTS for name, value in EXPORT_PARAMETERS[export].items()}
    return [
        {"name": "require_secure_transport", "value": "1", "apply_method": "immediate"},
        *({"name": name, "value": value, "apply_method": "immediate"} for name, value in exported.items()),
        {"name": "long_query_time", "value": plain_decimal(settings.db_slow_query_seconds),
         "apply_method": "immediate"},
    ]
