"""What runs the job: an EventBridge schedule, an SQS queue, or both (`model/triggers.py` holds the
checks, names and constants).

* The schedule is a rule on the default event bus with the job as its target: EventBridge
  retries a delivery it cannot make (`SCHEDULE_RETRY_ATTEMPTS`, within
  `SCHEDULE_EVENT_AGE_SECONDS`), then sends the event to the component's dead-letter queue, whose
  policy lets exactly this rule send; the job may be invoked by exactly this rule (`source_arn`).
* The queue is consumed through an event source mapping that reports partial batch failures:
  Lambda polls the queue with the job's role, from outside the VPC, so the function needs no SQS
  endpoint. The queue the component makes is encrypted with its key, refuses access without TLS,
  and moves a message received `max_receive_count` times to its own dead-letter queue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.iam import queue_policy
from ..model.settings import QueueTriggerSettings
from ..model.triggers import (
    DEAD_LETTER_RETENTION_SECONDS,
    EVENTS_PRINCIPAL,
    QUEUE_RETENTION_SECONDS,
    SCHEDULE_EVENT_AGE_SECONDS,
    SCHEDULE_RETRY_ATTEMPTS,
    visibility_timeout,
)
from .children import child

SCHEDULE_TARGET_ID = "job"
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True)
class Schedule:
    rule: aws.cloudwatch.EventRule
    target: aws.cloudwatch.EventTarget
    permission: aws.lambda_.Permission
    dead_letter_queue_policy: aws.sqs.QueuePolicy


@dataclass(frozen=True)
class TriggerQueue:
    """The queue the component made (with its dead-letter queue), or an existing queue's ARN."""

    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    queue: aws.sqs.Queue | None = None
    dead_letter_queue: aws.sqs.Queue | None = None
    policy: aws.sqs.QueuePolicy | None = None


def create_queue(name: str, settings: QueueTriggerSettings, function_timeout_seconds: int,
                 kms_key_arn: pulumi.Input[str], tags: Mapping[str, str], parent: pulumi.Resource) -> TriggerQueue:
    """The queue and its dead-letter queue, or the existing queue given as `queue_arn`."""
    if settings.queue_arn is not None:
        arn = pulumi.Output.from_input(settings.queue_arn)
        return TriggerQueue(arn=arn, name=arn.apply(lambda a: a.rsplit(":", 1)[-1]))
    opts = pulumi.ResourceOptions(parent=parent)
    dead_letter_queue = child(
        "queue_dead_letter_queue", aws.sqs.Queue,
        f"{name}-queue-dlq",
        kms_master_key_id=kms_key_arn,
        message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
        tags=dict(tags),
        opts=opts,
    )
    queue = child(
        "queue", aws.sqs.Queue,
        f"{name}-queue",
        kms_master_key_id=kms_key_arn,
        message_retention_seconds=QUEUE_RETENTION_SECONDS,
        visibility_timeout_seconds=visibility_timeout(function_timeout_seconds,
                                                      settings.maximum_batching_window_seconds),
        redrive_policy=dead_letter_queue.arn.apply(lambda arn: json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": settings.max_receive_count})),
        tags=dict(tags),
        opts=opts,
    )
    policy = child(
        "queue_policy", aws.sqs.QueuePolicy,
        f"{name}-queue-policy",
        queue_url=queue.url,
        policy=queue.arn.apply(queue_policy),
        opts=opts,
    )
    return TriggerQueue(arn=queue.arn, name=queue.name, queue=queue, dead_letter_queue=dead_letter_queue,
                        policy=policy)


def create_event_source_mapping(name: str, queue: TriggerQueue, settings: QueueTriggerSettings,
                                function: aws.lambda_.Function, role_grants: tuple[pulumi.Resource, ...],
                                tags: Mapping[str, str], parent: pulumi.Resource) -> aws.lambda_.EventSourceMapping:
    """The job consumes the queue in batches and reports the records it failed; Lambda checks the
    role can read the queue when the mapping is made, so it waits for the role's policy."""
    return child(
        "event_source_mapping", aws.lambda_.EventSourceMapping,
        f"{name}-queue-events",
        event_source_arn=queue.arn,
        function_name=function.arn,
        batch_size=settings.batch_size,
        maximum_batching_window_in_seconds=settings.maximum_batching_window_seconds or None,
        function_response_types=[REPORT_BATCH_ITEM_FAILURES],
        scaling_config=({"maximum_concurrency": settings.maximum_concurrency}
                        if settings.maximum_concurrency is not None else None),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*role_grants,
                                                               *([queue.policy] if queue.policy else [])]),
    )


def create_schedule(name: str, rule_name: str, rule_arn: str, expression: str, function: aws.lambda_.Function,
                    dead_letter_queue: aws.sqs.Queue, tags: Mapping[str, str],
                    parent: pulumi.Resource) -> Schedule:
    """The rule, its target (the job), the permission to invoke it and the dead-letter queue's
    policy; `rule_arn` is the rule's ARN as the key policy already names it."""
    opts = pulumi.ResourceOptions(parent=parent)
    dead_letter_queue_policy = child(
        "dead_letter_queue_policy", aws.sqs.QueuePolicy,
        f"{name}-dlq-policy",
        queue_url=dead_letter_queue.url,
        policy=dead_letter_queue.arn.apply(lambda arn: queue_policy(arn, {EVENTS_PRINCIPAL: rule_arn})),
        opts=opts,
    )
    rule = child(
        "schedule", aws.cloudwatch.EventRule,
        f"{name}-schedule",
        name=rule_name,
        description=f"Runs the {name} job: {expression}",
        schedule_expression=expression,
        state="ENABLED",
        tags=dict(tags),
        opts=opts,
    )
    permission = child(
        "invoke_permission", aws.lambda_.Permission,
        f"{name}-schedule-permission",
        statement_id="InvokeOnTheSchedule",
        action="lambda:InvokeFunction",
        function=function.name,
        principal=EVENTS_PRINCIPAL,
        source_arn=rule.arn,
        opts=opts,
    )
    target = child(
        "schedule_target", aws.cloudwatch.EventTarget,
        f"{name}-schedule-target",
        rule=rule.name,
        target_id=SCHEDULE_TARGET_ID,
        arn=function.arn,
        retry_policy={"maximum_retry_attempts": SCHEDULE_RETRY_ATTEMPTS,
                      "maximum_event_age_in_seconds": SCHEDULE_EVENT_AGE_SECONDS},
        dead_letter_config={"arn": dead_letter_queue.arn},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[permission, dead_letter_queue_policy]),
    )
    return Schedule(rule, target, permission, dead_letter_queue_policy)
