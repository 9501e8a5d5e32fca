"""What the alarms watch and when they fire, and what the dashboard shows: pure data and functions
(`resources/alarms.py` creates the alarms, the topic, the metric filters and the dashboard).

The alarms are one table (`ALARMS`): the metric, what it is measured against (the function,
the dead-letter queue, the database), the statistic and period, the threshold (a default a user
changes through `alarm_thresholds`), and how missing data counts, chosen per metric and said
why (`missing_why`, the operations page's table). No alarm treats missing data as breaching:
nothing is published while the function, the queue or the database is being created or
replaced, and that is no reason to page anyone. Each alarm waits for the resource it watches.
With `db_proxy`, two more watch the proxy's client connections and the database connections it
holds, against its pool.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .database_sizing import default_max_connections, instance_memory_bytes, plain_decimal, proxy_pool_size
from .iam import deny_publish_without_tls
from .problems import Problem
from .settings import Settings

Subject = Literal["function", "queue", "database", "proxy", "schedule", "trigger-queue", "trigger-dead-letter-queue"]
"""What an alarm watches: `queue` is the dead-letter queue of failed asynchronous invocations; the
proxy exists only with `db_proxy`, the three trigger subjects only with their trigger (`schedule`,
`queue`)."""
MissingData = Literal["missing", "notBreaching", "breaching"]
GIB = 1024**3
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
"""The principal CloudWatch alarms act as when they publish to a topic (and use its key)."""


@dataclass(frozen=True)
class Sizes:
    """What thresholds are relative to."""

    function_timeout_ms: float
    allocated_storage_bytes: float
    max_connections: int | None
    memory_bytes: int | None
    proxy_pool: int | None = None
    """The database connections the proxy may hold (`database_sizing.proxy_pool_size`)."""


@dataclass(frozen=True)
class AlarmSpec:
    key: str
    """The alarm's name within the component, and its `alarm_thresholds` key."""
    title: str
    """What the docs call it."""
    namespace: str
    metric: str
    subject: Subject
    statistic: str
    """`Sum`, `Average`, `Maximum`, `Minimum`, or a percentile such as `p99`."""
    period_s: int
    evaluation_periods: int
    comparison: str
    default: float
    unit: str
    """What `default` and a user's threshold are in, for docs and messages."""
    threshold: Callable[[float, Sizes], float | None]
    """The CloudWatch threshold from the user's figure (None: cannot be sized, no alarm)."""
    missing: MissingData
    missing_why: str
    """Why missing data counts as it does for this metric (the operations page's table)."""
    runbook: str
    """The runbook entry's anchor in docs/operations.md."""
    meaning: str
    needs_proxy: bool = False
    """Made only with `db_proxy` (its subject is the proxy)."""


ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        key="function-errors", title="function errors", namespace="AWS/Lambda", metric="Errors", subject="function",
        statistic="Sum", period_s=300, evaluation_periods=1, comparison="GreaterThanOrEqualToThreshold", default=1,
        unit="failed invocations in 5 minutes", threshold=lambda v, s: v, missing="missing",
        missing_why="Lambda publishes `Errors` (0 or more) for every invocation, so silence means the job did not "
                    "run: INSUFFICIENT_DATA, never OK, and a failure followed by silence does not turn green by itself",
        runbook="runbook-function-errors",
        meaning="the job failed: its log line names the error type and the dependency"),
    AlarmSpec(
        key="function-throttles", title="function throttles", namespace="AWS/Lambda", metric="Throttles",
        subject="function", statistic="Sum", period_s=300, evaluation_periods=1,
        comparison="GreaterThanOrEqualToThreshold", default=1, unit="throttled invocations in 5 minutes",
        threshold=lambda v, s: v, missing="notBreaching",
        missing_why="no invocations, none throttled", runbook="runbook-function-throttles",
        meaning="Lambda refused invocations: the reserved concurrency (the connection budget) is used up"),
    AlarmSpec(
        key="function-duration", title="function duration", namespace="AWS/Lambda", metric="Duration",
        subject="function", statistic="p99", period_s=300, evaluation_periods=1, comparison="GreaterThanThreshold",
        default=80, unit="% of the function's timeout (p99 over 5 minutes)",
        threshold=lambda v, s: round(s.function_timeout_ms * v / 100), missing="notBreaching",
        missing_why="no invocations, none slow", runbook="runbook-function-duration",
        meaning="invocations come close to the timeout: a dependency is slow, or the table grew"),
    AlarmSpec(
        key="dead-letter-queue", title="dead-letter queue", namespace="AWS/SQS",
        metric="ApproximateNumberOfMessagesVisible", subject="queue", statistic="Maximum", period_s=300,
        evaluation_periods=1, comparison="GreaterThanOrEqualToThreshold", default=1, unit="messages waiting",
        threshold=lambda v, s: v, missing="notBreaching",
        missing_why="SQS stops publishing for an empty idle queue and keeps publishing while it holds messages",
        runbook="runbook-dead-letter-queue",
        meaning="asynchronous events failed every retry and wait in the dead-letter queue"),
    AlarmSpec(
        key="db-cpu", title="database CPU", namespace="AWS/RDS", metric="CPUUtilization", subject="database",
        statistic="Average", period_s=300, evaluation_periods=3, comparison="GreaterThanThreshold", default=80,
        unit="% CPU for 15 minutes", threshold=lambda v, s: v, missing="missing",
        missing_why="RDS publishes every minute while the instance is up and nothing while it is created (15-40 "
                    "minutes with Multi-AZ), replaced or stopped: INSUFFICIENT_DATA, which notifies no one and is "
                    "not OK; a database that cannot be reached fails the job, which its errors alarm reports",
        runbook="runbook-db-cpu",
        meaning="the database is busy: slow queries, a missing index, or a class too small"),
    AlarmSpec(
        key="db-free-storage", title="database free storage", namespace="AWS/RDS", metric="FreeStorageSpace",
        subject="database", statistic="Minimum", period_s=300, evaluation_periods=1, comparison="LessThanThreshold",
        default=10, unit="% of the allocated storage free",
        threshold=lambda v, s: round(s.allocated_storage_bytes * v / 100), missing="missing",
        missing_why="as for CPU: free storage is known only from a measurement, so silence (an instance being "
                    "created or replaced) is INSUFFICIENT_DATA, neither full nor OK",
        runbook="runbook-db-free-storage", meaning="the database's storage is nearly full"),
    AlarmSpec(
        key="db-connections", title="database connections", namespace="AWS/RDS", metric="DatabaseConnections",
        subject="database", statistic="Maximum", period_s=300, evaluation_periods=1,
        comparison="GreaterThanThreshold", default=80,
        unit="% of max_connections (the figure the connection budget uses)",
        threshold=lambda v, s: None if s.max_connections is None else round(s.max_connections * v / 100),
        missing="notBreaching",
        missing_why="no instance, no connections: silence cannot mean too many (an unreachable database is the "
                    "function errors alarm's)",
        runbook="runbook-db-connections", meaning="connections approach max_connections: MySQL error 1040 is next"),
    AlarmSpec(
        key="db-freeable-memory", title="database freeable memory", namespace="AWS/RDS", metric="FreeableMemory",
        subject="database", statistic="Minimum", period_s=300, evaluation_periods=3, comparison="LessThanThreshold",
        default=10, unit="% of the instance class's memory free for 15 minutes",
        threshold=lambda v, s: None if s.memory_bytes is None else round(s.memory_bytes * v / 100),
        missing="missing",
        missing_why="as for CPU: an instance being created or replaced publishes nothing, which is "
                    "INSUFFICIENT_DATA, not a shortage",
        runbook="runbook-db-freeable-memory", meaning="the database is short of memory: it will swap, then slow down"),
    AlarmSpec(
        key="proxy-client-connections", title="proxy client connections", namespace="AWS/RDS",
        metric="ClientConnections", subject="proxy", statistic="Maximum", period_s=300, evaluation_periods=1,
        comparison="GreaterThanThreshold", default=80,
        unit="% of the proxy's pool (each client session pins one of its connections)",
        threshold=lambda v, s: None if s.proxy_pool is None else round(s.proxy_pool * v / 100),
        missing="notBreaching", missing_why="a proxy without clients publishes nothing: silence cannot mean too many",
        runbook="runbook-proxy-client-connections",
        meaning="more clients than the proxy's pool can serve: the next ones wait for a connection", needs_proxy=True),
    AlarmSpec(
        key="proxy-database-connections", title="proxy database connections", namespace="AWS/RDS",
        metric="DatabaseConnections", subject="proxy", statistic="Maximum", period_s=300, evaluation_periods=1,
        comparison="GreaterThanThreshold", default=80, unit="% of the proxy's pool (its share of max_connections)",
        threshold=lambda v, s: None if s.proxy_pool is None else round(s.proxy_pool * v / 100),
        missing="notBreaching", missing_why="an idle proxy holds no connections and publishes nothing",
        runbook="runbook-proxy-database-connections",
        meaning="the proxy holds nearly all the database connections it may open", needs_proxy=True),
)
TRIGGER_ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        key="schedule-failed-invocations", title="schedule failed invocations", namespace="AWS/Events",
        metric="FailedInvocations", subject="schedule",
        statistic="Sum", period_s=300, evaluation_periods=1, comparison="GreaterThanOrEqualToThreshold", default=1,
        unit="failed deliveries in 5 minutes", threshold=lambda v, s: v, missing="notBreaching",
        missing_why="EventBridge publishes it only when an invocation fails: silence means none failed",
        runbook="runbook-schedule-failed-invocations",
        meaning="EventBridge could not invoke the job on schedule (after its retries the event is in the "
                "dead-letter queue)"),
    AlarmSpec(
        key="queue-oldest-message", title="trigger queue's oldest message", namespace="AWS/SQS",
        metric="ApproximateAgeOfOldestMessage",
        subject="trigger-queue", statistic="Maximum", period_s=300, evaluation_periods=1,
        comparison="GreaterThanOrEqualToThreshold", default=900, unit="seconds the oldest message has waited",
        threshold=lambda v, s: v, missing="notBreaching",
        missing_why="SQS stops publishing for an empty idle queue: silence means nothing waits",
        runbook="runbook-queue-oldest-message",
        meaning="the job falls behind its queue: it fails, is throttled, or is too slow for the rate of messages"),
    AlarmSpec(
        key="queue-dead-letter-queue", title="trigger queue's dead-letter queue", namespace="AWS/SQS",
        metric="ApproximateNumberOfMessagesVisible",
        subject="trigger-dead-letter-queue", statistic="Maximum", period_s=300, evaluation_periods=1,
        comparison="GreaterThanOrEqualToThreshold", default=1, unit="messages waiting", threshold=lambda v, s: v,
        missing="notBreaching",
        missing_why="SQS stops publishing for an empty idle queue and keeps publishing while it holds messages",
        runbook="runbook-queue-dead-letter-queue",
        meaning="records the job failed on every receive wait in the trigger queue's dead-letter queue"),
)
"""The triggers' alarms, made only with their trigger."""
ALARMS = ALARMS + TRIGGER_ALARMS
THRESHOLD_KEYS = tuple(spec.key for spec in ALARMS)
SPECS: Mapping[str, AlarmSpec] = {spec.key: spec for spec in ALARMS}
PERCENT = (1.0, 100.0)
COUNT = (1.0, 1_000_000.0)


def threshold_range(spec: AlarmSpec) -> tuple[float, float]:
    """What a user may set: a percentage, or a count of at least one."""
    return PERCENT if spec.unit.startswith("%") else COUNT


def threshold_problems(value: object) -> list[Problem]:
    """`alarm_thresholds`: known keys, numbers in range."""

    name = "alarm_thresholds"
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [Problem(name, f"got {value!r}; expected a mapping of alarm names to numbers")]
    problems = []
    for key, figure in value.items():
        spec = SPECS.get(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), THRESHOLD_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(THRESHOLD_KEYS)}"
            problems.append(Problem(name, f"unknown alarm {key!r}; {hint}"))
            continue
        low, high = threshold_range(spec)
        if isinstance(figure, bool) or not isinstance(figure, int | float):
            problems.append(Problem(name, f"{key} got {figure!r}; expected a number ({spec.unit})"))
        elif not low <= figure <= high:
            problems.append(Problem(name, f"{key} got {plain_decimal(figure)}; allowed: {plain_decimal(low)} to "
                                          f"{plain_decimal(high)} ({spec.unit})"))
    return problems


def sizes(settings: Settings) -> Sizes:
    return Sizes(
        function_timeout_ms=settings.function_timeout_seconds * 1000,
        allocated_storage_bytes=settings.db_allocated_storage_gb * GIB,
        max_connections=default_max_connections(settings.db_instance_class),
        memory_bytes=instance_memory_bytes(settings.db_instance_class),
        proxy_pool=proxy_pool_size(settings.db_instance_class) if settings.db_proxy else None,
    )


def alarms_for(settings: Settings) -> tuple[AlarmSpec, ...]:
    """The alarms these settings make (the proxy's only with `db_proxy`)."""
    return tuple(spec for spec in ALARMS if settings.db_proxy or not spec.needs_proxy)


def threshold_of(spec: AlarmSpec, settings: Settings) -> float | None:
    figure = float(settings.alarm_thresholds.get(spec.key, spec.default))
    return spec.threshold(figure, sizes(settings))


def alarm_topic_policy(topic_arn: str, partition: str, region: str, account_id: str) -> str:
    """TLS only; and CloudWatch may publish, for this account's alarms only."""
    policy = json.loads(deny_publish_without_tls(topic_arn))
    policy["Statement"].append({
        "Sid": "CloudWatchAlarmsOfThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDWATCH_PRINCIPAL},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": alarms_of_this_account(partition, region, account_id),
    })
    return json.dumps(policy)


def alarms_of_this_account(partition: str, region: str, account_id: str) -> dict[str, dict[str, str]]:
    """The condition that holds `cloudwatch.amazonaws.com` to this account's alarms in this region
    (against the confused deputy): on the alarm topic's policy and on the key that encrypts it."""
    return {
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
        "StringEquals": {"aws:SourceAccount": account_id},
    }


def metric_namespace(function_name: str) -> str:
    return f"VpcLambda/{function_name}"


def dashboard_body(
    function_name: str,
    queue_name: str,
    db_identifier: str,
    region: str,
    namespace: str,
    error_metrics: Sequence[str],
    settings: Settings,
    migration_namespace: str | None = None,
    proxy_name: str | None = None,
) -> str:
    """The service on one page: invocations, errors by type, duration against the timeout, the
    dead-letter queue, the database's CPU, connections against the budget, free storage, and
    the schema migration's errors by type (its own log group, its own namespace)."""
    size = sizes(settings)

    def widget(x: int, y: int, title: str, metrics: list[list[object]],
               annotations: list[dict[str, object]] | None = None, stat: str = "Sum") -> dict[str, object]:
        properties: dict[str, object] = {"title": title, "region": region, "metrics": metrics, "stat": stat,
                                         "period": 300, "view": "timeSeries"}
        if annotations:
            properties["annotations"] = {"horizontal": annotations}
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": properties}

    function = ["FunctionName", function_name]
    budget = size.max_connections
    widgets = [
        widget(0, 0, "Invocations, errors, throttles", [
            ["AWS/Lambda", "Invocations", *function], ["AWS/Lambda", "Errors", *function],
            ["AWS/Lambda", "Throttles", *function]]),
        widget(12, 0, "Errors by type (from the function's log lines)",
               [[namespace, metric] for metric in error_metrics]),
        widget(0, 6, "Duration against the timeout (p99, max)", [
            ["AWS/Lambda", "Duration", *function, {"stat": "p99"}],
            ["AWS/Lambda", "Duration", *function, {"stat": "Maximum"}]],
            [{"label": "timeout", "value": size.function_timeout_ms}], stat="p99"),
        widget(12, 6, "Dead-letter queue depth", [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue_name]], stat="Maximum"),
        widget(0, 12, "Database CPU", [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db_identifier]],
               [{"label": "alarm", "value": threshold_of(SPECS["db-cpu"], settings)}], stat="Average"),
        widget(12, 12, "Database connections against max_connections", [
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db_identifier]],
            [{"label": "max_connections", "value": budget}] if budget else None, stat="Maximum"),
        widget(0, 18, "Database free storage", [
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db_identifier]],
            [{"label": "allocated", "value": size.allocated_storage_bytes}], stat="Minimum"),
    ]
    if migration_namespace is not None:
        widgets.append(widget(12, 18, "Schema migration errors by type (from its log lines)",
                              [[migration_namespace, metric] for metric in error_metrics]))
    if proxy_name is not None:
        proxy = ["ProxyName", proxy_name]
        widgets.append(widget(0, 24, "Proxy: client and database connections against its pool", [
            ["AWS/RDS", "ClientConnections", *proxy], ["AWS/RDS", "DatabaseConnections", *proxy],
            ["AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", *proxy]],
            [{"label": "pool", "value": size.proxy_pool}] if size.proxy_pool else None, stat="Maximum"))
    return json.dumps({"widgets": widgets})
