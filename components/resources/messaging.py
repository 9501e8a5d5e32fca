"""The SNS topic the function publishes to, and the dead-letter queue that keeps the events of
asynchronous invocations that failed every retry. Both encrypted with the component's key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.iam import deny_publish_without_tls
from .children import child

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time to look at a failed event


@dataclass(frozen=True)
class Messaging:
    topic: aws.sns.Topic | None
    """None with an existing topic (`existing_topic_arn`)."""
    topic_policy: aws.sns.TopicPolicy | None
    dead_letter_queue: aws.sqs.Queue
    topic_arn: pulumi.Output[str]


def create_messaging(
    name: str,
    topic_name: str | None,
    kms_key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    existing_topic_arn: str | None = None,
) -> Messaging:
    """The topic (none with `existing_topic_arn`: the user's is used as it is) and the dead-letter
    queue."""
    opts = pulumi.ResourceOptions(parent=parent)
    topic = topic_policy = None
    if existing_topic_arn is None:
        topic = child(
            "topic", aws.sns.Topic,
            f"{name}-topic",
            name=topic_name,
            kms_master_key_id=kms_key_arn,
            tags=dict(tags),
            opts=opts,
        )
        topic_policy = child(
            "topic_policy", aws.sns.TopicPolicy,
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=topic.arn.apply(deny_publish_without_tls),
            opts=opts,
        )
    dead_letter_queue = child(
        "dead_letter_queue", aws.sqs.Queue,
        f"{name}-dlq",
        kms_master_key_id=kms_key_arn,
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        tags=dict(tags),
        opts=opts,
    )
    topic_arn = topic.arn if topic is not None else pulumi.Output.from_input(str(existing_topic_arn))
    return Messaging(topic=topic, topic_policy=topic_policy, dead_letter_queue=dead_letter_queue, topic_arn=topic_arn)
