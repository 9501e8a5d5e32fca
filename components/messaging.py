"""The SNS topic the function publishes its notification to."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def create_topic(
    name: str, topic_name: str | None, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.sns.Topic:
    return aws.sns.Topic(
        f"{name}-topic",
        name=topic_name,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
