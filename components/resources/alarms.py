"""The alarms of `model/alarm_specs.py`, the topic they notify, one log metric filter per error
type the runtime library raises, and the service's dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.alarm_specs import Subject, alarm_topic_policy, alarms_for, dashboard_body, metric_namespace, threshold_of
from ..model.log_metrics import LogMetric
from ..model.names import RUNBOOK_PAGE
from ..model.settings import Settings


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
    proxy_name: pulumi.Input[str] | None = None
    """The database proxy's name, with `db_proxy`."""


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
        "proxy": {"ProxyName": watched.proxy_name or ""},
    }
    alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
    for spec in alarms_for(settings) if settings.alarms else ():
        threshold = threshold_of(spec, settings)
        if threshold is None:
            pulumi.log.warn(f"{name}: no {spec.key} alarm: the size of {settings.db_instance_class} is not known",
                            resource=parent)
            continue
        percentile = spec.statistic.startswith("p")
        figure = float(settings.alarm_thresholds.get(spec.key, spec.default))
        alarms[spec.key] = aws.cloudwatch.MetricAlarm(
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
            opts=opts,
        )
    dashboard = aws.cloudwatch.Dashboard(
        f"{name}-dashboard",
        dashboard_name=function_name,
        dashboard_body=pulumi.Output.all(watched.function_name, watched.queue_name, watched.proxy_name).apply(
            lambda v: dashboard_body(v[0], v[1], watched.db_identifier, watched.region, namespace,
                                     [m.metric for m in log_metrics], settings, v[2])),
        opts=opts,
    )
    return Operations(alarms, topic, filters, dashboard, namespace)


