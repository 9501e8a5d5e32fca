"""Alarms on what breaks this design, the topic they notify, the log metrics per error type and
the service's dashboard.

The alarms are one table (`ALARMS`): the metric, what it is measured against (the function,
the dead-letter queue, the database), the statistic and period, the threshold (a default a user
changes through `alarm_thresholds`), and how missing data counts:

* function `Errors`: missing data is *missing*. Lambda reports `Errors` (0 or more) for every
  invocation, so no data means the job did not run: the alarm then reads INSUFFICIENT_DATA, never
  OK, and a failure followed by silence does not turn green by itself.
* `Throttles`, `Duration` and the dead-letter queue's depth: missing data is *not breaching*.
  No invocations means none throttled and none slow; SQS stops publishing for an empty idle queue
  and keeps publishing while it holds messages.
* the database's CPU, connections, free storage and freeable memory: missing data is
  *breaching*. RDS publishes them every minute while the instance is available; silence means it
  is stopped, failing over or gone, which the job cannot survive.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from ..model.log_metrics import LogMetric
from ..model.settings import Settings
from .database import default_max_connections, instance_memory_bytes
from .messaging import deny_publish_without_tls

Subject = Literal["function", "queue", "database"]
MissingData = Literal["missing", "notBreaching", "breaching"]
GIB = 1024**3


@dataclass(frozen=True)
class Sizes:
    """What thresholds are relative to."""

    function_timeout_ms: float
    allocated_storage_bytes: float
    max_connections: int | None
    memory_bytes: int | None


@dataclass(frozen=True)
class AlarmSpec:
    key: str
    """The alarm's name within the component, and its `alarm_thresholds` key."""
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
    runbook: str
    """The runbook entry's anchor in docs/operations.md."""
    meaning: str


ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec("function-errors", "AWS/Lambda", "Errors", "function", "Sum", 300, 1,
              "GreaterThanOrEqualToThreshold", 1, "failed invocations in 5 minutes", lambda v, s: v, "missing",
              "runbook-function-errors", "the job failed: its log line names the error type and the dependency"),
    AlarmSpec("function-throttles", "AWS/Lambda", "Throttles", "function", "Sum", 300, 1,
              "GreaterThanOrEqualToThreshold", 1, "throttled invocations in 5 minutes", lambda v, s: v,
              "notBreaching", "runbook-function-throttles",
              "Lambda refused invocations: the reserved concurrency (the connection budget) is used up"),
    AlarmSpec("function-duration", "AWS/Lambda", "Duration", "function", "p99", 300, 1,
              "GreaterThanThreshold", 80, "% of the function's timeout (p99 over 5 minutes)",
              lambda v, s: round(s.function_timeout_ms * v / 100), "notBreaching", "runbook-function-duration",
              "invocations come close to the timeout: a dependency is slow, or the table grew"),
    AlarmSpec("dead-letter-queue", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "queue", "Maximum", 300, 1,
              "GreaterThanOrEqualToThreshold", 1, "messages waiting", lambda v, s: v, "notBreaching",
              "runbook-dead-letter-queue",
              "asynchronous events failed every retry and wait in the dead-letter queue"),
    AlarmSpec("db-cpu", "AWS/RDS", "CPUUtilization", "database", "Average", 300, 3,
              "GreaterThanThreshold", 80, "% CPU for 15 minutes", lambda v, s: v, "breaching", "runbook-db-cpu",
              "the database is busy: slow queries, a missing index, or a class too small"),
    AlarmSpec("db-free-storage", "AWS/RDS", "FreeStorageSpace", "database", "Minimum", 300, 1,
              "LessThanThreshold", 10, "% of the allocated storage free",
              lambda v, s: round(s.allocated_storage_bytes * v / 100), "breaching", "runbook-db-free-storage",
              "the database's storage is nearly full"),
    AlarmSpec("db-connections", "AWS/RDS", "DatabaseConnections", "database", "Maximum", 300, 1,
              "GreaterThanThreshold", 80, "% of max_connections (the figure the connection budget uses)",
              lambda v, s: None if s.max_connections is None else round(s.max_connections * v / 100), "breaching",
              "runbook-db-connections", "connections approach max_connections: MySQL error 1040 is next"),
    AlarmSpec("db-freeable-memory", "AWS/RDS", "FreeableMemory", "database", "Minimum", 300, 3,
              "LessThanThreshold", 10, "% of the instance class's memory free for 15 minutes",
              lambda v, s: None if s.memory_bytes is None else round(s.memory_bytes * v / 100), "breaching",
              "runbook-db-freeable-memory", "the database is short of memory: it will swap, then slow down"),
)
THRESHOLD_KEYS = tuple(spec.key for spec in ALARMS)
PERCENT = (1.0, 100.0)
COUNT = (1.0, 1_000_000.0)


def threshold_range(spec: AlarmSpec) -> tuple[float, float]:
    """What a user may set: a percentage, or a count of at least one."""
    return PERCENT if spec.unit.startswith("%") else COUNT


def threshold_problems(value: object) -> list[str]:
    """`alarm_thresholds`: known keys, numbers in range."""
    import difflib

    name = "alarm_thresholds"
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [f"{name}: got {value!r}; expected a mapping of alarm names to numbers"]
    specs = {spec.key: spec for spec in ALARMS}
    problems = []
    for key, figure in value.items():
        spec = specs.get(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), THRESHOLD_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(THRESHOLD_KEYS)}"
            problems.append(f"{name}: unknown alarm {key!r}; {hint}")
            continue
        low, high = threshold_range(spec)
        if isinstance(figure, bool) or not isinstance(figure, int | float):
            problems.append(f"{name}: {key} got {figure!r}; expected a number ({spec.unit})")
        elif not low <= figure <= high:
            problems.append(f"{name}: {key} got {figure:g}; allowed: {low:g} to {high:g} ({spec.unit})")
    return problems


def sizes(settings: Settings) -> Sizes:
    return Sizes(
        function_timeout_ms=settings.function_timeout_seconds * 1000,
        allocated_storage_bytes=settings.db_allocated_storage_gb * GIB,
        max_connections=default_max_connections(settings.db_instance_class),
        memory_bytes=instance_memory_bytes(settings.db_instance_class),
    )


def threshold_of(spec: AlarmSpec, settings: Settings) -> float | None:
    figure = float(settings.alarm_thresholds.get(spec.key, spec.default))
    return spec.threshold(figure, sizes(settings))


def alarm_topic_policy(topic_arn: str, partition: str, region: str, account_id: str) -> str:
    """TLS only; and CloudWatch may publish, for this account's alarms only."""
    policy = json.loads(deny_publish_without_tls(topic_arn))
    policy["Statement"].append({
        "Sid": "CloudWatchAlarmsOfThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    })
    return json.dumps(policy)


@dataclass(frozen=True)
class Operations:
    alarms: Mapping[str, aws.cloudwatch.MetricAlarm]
    topic: aws.sns.Topic | None
    metric_filters: Mapping[str, aws.cloudwatch.LogMetricFilter]
    dashboard: aws.cloudwatch.Dashboard
    namespace: str


@dataclass(frozen=True)
class Watched:
    """What the alarms and the dashboard look at."""

    function_name: pulumi.Input[str]
    log_group: aws.cloudwatch.LogGroup
    queue_name: pulumi.Input[str]
    db_identifier: str
    region: str
    partition: str
    account_id: str


def metric_namespace(function_name: str) -> str:
    return f"VpcLambda/{function_name}"


def create_operations(
    name: str,
    settings: Settings,
    watched: Watched,
    function_name: str,
    log_metrics: Sequence[LogMetric],
    kms_key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> Operations:
    opts = pulumi.ResourceOptions(parent=parent)
    namespace = metric_namespace(function_name)
    filters = {
        metric.metric: aws.cloudwatch.LogMetricFilter(
            f"{name}-{metric.metric}",
            log_group_name=watched.log_group.name,
            pattern=metric.pattern,
            metric_transformation={"name": metric.metric, "namespace": namespace, "value": "1", "unit": "Count"},
            opts=opts,
        )
        for metric in log_metrics
    }
    topic = None
    actions: list[pulumi.Input[str]] = list(settings.alarm_actions)
    if settings.alarms and not actions:
        topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=kms_key_arn, tags=dict(tags), opts=opts)
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=topic.arn,
            policy=topic.arn.apply(lambda arn: alarm_topic_policy(arn, watched.partition, watched.region,
                                                                  watched.account_id)),
            opts=opts,
        )
        if settings.alarm_email:
            aws.sns.TopicSubscription(f"{name}-alarms-email", topic=topic.arn, protocol="email",
                                      endpoint=settings.alarm_email, opts=opts)
        actions = [topic.arn]
    dimensions: dict[Subject, dict[str, pulumi.Input[str]]] = {
        "function": {"FunctionName": watched.function_name},
        "queue": {"QueueName": watched.queue_name},
        "database": {"DBInstanceIdentifier": watched.db_identifier},
    }
    alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
    for spec in ALARMS if settings.alarms else ():
        threshold = threshold_of(spec, settings)
        if threshold is None:
            pulumi.log.warn(f"{name}: no {spec.key} alarm: the size of {settings.db_instance_class} is not known",
                            resource=parent)
            continue
        percentile = spec.statistic.startswith("p")
        figure = float(settings.alarm_thresholds.get(spec.key, spec.default))
        alarms[spec.key] = aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.key}",
            alarm_description=(f"{spec.meaning}. Threshold: {figure:g} {spec.unit}. "
                               f"Runbook: docs/operations.md#{spec.runbook}"),
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=dimensions[spec.subject],
            statistic=None if percentile else spec.statistic,
            extended_statistic=spec.statistic if percentile else None,
            period=spec.period_s,
            evaluation_periods=spec.evaluation_periods,
            threshold=threshold,
            comparison_operator=spec.comparison,
            treat_missing_data=spec.missing,
            alarm_actions=actions,
            ok_actions=actions,
            tags=dict(tags),
            opts=opts,
        )
    dashboard = aws.cloudwatch.Dashboard(
        f"{name}-dashboard",
        dashboard_name=dashboard_name(function_name),
        dashboard_body=pulumi.Output.all(watched.function_name, watched.queue_name).apply(
            lambda v: dashboard_body(v[0], v[1], watched.db_identifier, watched.region, namespace,
                                     [m.metric for m in log_metrics], settings)),
        opts=opts,
    )
    return Operations(alarms, topic, filters, dashboard, namespace)


def dashboard_name(function_name: str) -> str:
    return function_name


def dashboard_body(
    function_name: str,
    queue_name: str,
    db_identifier: str,
    region: str,
    namespace: str,
    error_metrics: Sequence[str],
    settings: Settings,
) -> str:
    """The service on one page: invocations, errors by type, duration against the timeout, the
    dead-letter queue, the database's CPU, connections against the budget, free storage."""
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
               [{"label": "alarm", "value": 80}], stat="Average"),
        widget(12, 12, "Database connections against max_connections", [
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db_identifier]],
            [{"label": "max_connections", "value": budget}] if budget else None, stat="Maximum"),
        widget(0, 18, "Database free storage", [
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db_identifier]],
            [{"label": "allocated", "value": size.allocated_storage_bytes}], stat="Minimum"),
    ]
    return json.dumps({"widgets": widgets})
