"""The alarms of `model/alarm_specs.py`, the topic they notify, one log metric filter per error
type the runtime library raises on each function's log group (the job's and the schema
migration's: both run the runtime library, and each writes its failures to its own group), and
the service's dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..model.alarm_specs import Subject, alarm_topic_policy, alarms_for, dashboard_body, metric_namespace, threshold_of
from ..model.log_metrics import LogMetric
from ..model.names import RUNBOOK_PAGE, dashboard_name
from ..model.settings import Settings
from .children import child


@dataclass(frozen=True)
class Operations:
    alarms: Mapping[str, aws.cloudwatch.MetricAlarm]
    topic: aws.sns.Topic | None
    metric_filters: Mapping[str, aws.cloudwatch.LogMetricFilter]
    """The job's filters by metric name."""
    migration_metric_filters: Mapping[str, aws.cloudwatch.LogMetricFilter]
    """The schema migration function's filters by metric name."""
    dashboard: aws.cloudwatch.Dashboard
    namespace: str


@dataclass(frozen=True)
class Watched:
    """What the alarms and the dashboard look at."""

    function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup
    migration_name: str
    migration_log_group: aws.cloudwatch.LogGroup
    queue: aws.sqs.Queue
    database: pulumi.Resource | None
    """The instance the component made (None for an existing database: nothing to wait for)."""
    db_identifier: str
    region: str
    partition: str
    account_id: str
    trigger_dimensions: Mapping[Subject, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """The dimensions of the triggers the component has (a schedule's rule, a queue and its
    dead-letter queue): their alarms are made only then."""
    trigger_resources: Mapping[Subject, pulumi.Resource] = field(default_factory=dict)
    """The triggers' resources the component made, which their alarms wait for."""
    proxy: aws.rds.Proxy | None = None
    """The database proxy, with `db_proxy`: its alarms are made only then, and wait for it."""

    @property
    def subjects(self) -> Mapping[Subject, pulumi.Resource]:
        """The resource each kind of alarm watches, when the component made it: an alarm waits for it."""
        made: dict[Subject, pulumi.Resource | None] = {"function": self.function, "queue": self.queue,
                                                       "database": self.database, "proxy": self.proxy,
                                                       **self.trigger_resources}
        return {subject: resource for subject, resource in made.items() if resource is not None}


def create_metric_filters(
    prefix: str,
    log_group: aws.cloudwatch.LogGroup,
    namespace: str,
    log_metrics: Sequence[LogMetric],
    opts: pulumi.ResourceOptions,
) -> dict[str, aws.cloudwatch.LogMetricFilter]:
    """One filter per metric on `log_group`, counting into `namespace`."""
    return {
        metric.metric: child(
            "metric_filter", aws.cloudwatch.LogMetricFilter,
            f"{prefix}-{metric.metric}",
            log_group_name=log_group.name,
            pattern=metric.pattern,
            metric_transformation={"name": metric.metric, "namespace": namespace, "value": "1", "unit": "Count"},
            opts=opts,
        )
        for metric in log_metrics
    }


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
    migration_namespace = metric_namespace(watched.migration_name)
    filters = create_metric_filters(name, watched.log_group, namespace, log_metrics, opts)
    migration_filters = create_metric_filters(f"{name}-migration", watched.migration_log_group, migration_namespace,
                                              log_metrics, opts)
    topic = None
    actions: list[pulumi.Input[str]] = list(settings.alarm_actions)
    if settings.alarms and not actions:
        topic = child("alarm_topic", aws.sns.Topic, f"{name}-alarms", kms_master_key_id=kms_key_arn, tags=dict(tags),
                      opts=opts)
        child(
            "alarm_topic", aws.sns.TopicPolicy,
            f"{name}-alarms-policy",
            arn=topic.arn,
            policy=topic.arn.apply(lambda arn: alarm_topic_policy(arn, watched.partition, watched.region,
                                                                  watched.account_id)),
            opts=opts,
        )
        if settings.alarm_email:
            child("alarm_topic", aws.sns.TopicSubscription, f"{name}-alarms-email", topic=topic.arn,
                  protocol="email", endpoint=settings.alarm_email, opts=opts)
        actions = [topic.arn]
    dimensions: dict[Subject, dict[str, pulumi.Input[str]]] = {
        "function": {"FunctionName": watched.function.name},
        "queue": {"QueueName": watched.queue.name},
        "database": {"DBInstanceIdentifier": watched.db_identifier},
        **({"proxy": {"ProxyName": watched.proxy.name}} if watched.proxy is not None else {}),
        **{subject: dict(found) for subject, found in watched.trigger_dimensions.items()},
    }
    alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
    for spec in alarms_for(settings) if settings.alarms else ():
        if spec.subject not in dimensions:  # a trigger (or a proxy) the component does not have
            continue
        threshold = threshold_of(spec, settings)
        if threshold is None:
            pulumi.log.warn(f"{name}: no {spec.key} alarm: the size of {settings.db_instance_class} is not known",
                            resource=parent)
            continue
        percentile = spec.statistic.startswith("p")
        figure = float(settings.alarm_thresholds.get(spec.key, spec.default))
        alarms[spec.key] = child(
            "alarm", aws.cloudwatch.MetricAlarm,
            f"{name}-{spec.key}",
            alarm_description=f"{spec.meaning}. Threshold: {figure:g} {spec.unit}. "
                              f"Runbook: {RUNBOOK_PAGE}#{spec.runbook}",
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
            # Created once what it watches exists: a database being created publishes nothing.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[
                resource for subject, resource in watched.subjects.items() if subject == spec.subject]),
        )
    dashboard = child(
        "dashboard", aws.cloudwatch.Dashboard,
        f"{name}-dashboard",
        dashboard_name=dashboard_name(function_name, watched.region),
        dashboard_body=pulumi.Output.all(watched.function.name, watched.queue.name,
                                         watched.proxy.name if watched.proxy is not None else None).apply(
            lambda v: dashboard_body(v[0], v[1], watched.db_identifier, watched.region, namespace,
                                     [m.metric for m in log_metrics], settings, migration_namespace, v[2])),
        opts=opts,
    )
    return Operations(alarms, topic, filters, migration_filters, dashboard, namespace)


