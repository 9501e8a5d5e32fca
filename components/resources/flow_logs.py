"""VPC flow logs of all traffic to a CloudWatch Logs group, with the role that delivers them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.iam import service_trust_policy
from .children import child

FLOW_LOGS_PRINCIPAL = "vpc-flow-logs.amazonaws.com"
FLOW_LOG_RETENTION_DAYS = 365
"""A year of traffic records, for investigating an incident after the fact."""


@dataclass(frozen=True)
class FlowLogSettings:
    log_group_name: str
    retention_days: int = FLOW_LOG_RETENTION_DAYS
    kms_key_arn: pulumi.Input[str] | None = None


def delivery_policy(log_group_arn: str) -> str:
    """Only what the flow-logs service needs, on only this log group."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }],
    })


def create_flow_logs(
    name: str,
    vpc_id: pulumi.Input[str],
    settings: FlowLogSettings,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.ec2.FlowLog:
    opts = pulumi.ResourceOptions(parent=parent)
    log_group = child(
        "log_group", aws.cloudwatch.LogGroup,
        f"{name}-flow-logs",
        name=settings.log_group_name,
        retention_in_days=settings.retention_days,
        kms_key_id=settings.kms_key_arn,
        tags=dict(tags),
        opts=opts,
    )
    role = child(
        "flow_logs", aws.iam.Role,
        f"{name}-flow-logs-role",
        assume_role_policy=service_trust_policy(FLOW_LOGS_PRINCIPAL),
        description=f"Delivers the flow logs of {name}",
        tags=dict(tags),
        opts=opts,
    )
    child(
        "flow_logs", aws.iam.RolePolicy,
        f"{name}-flow-logs-delivery",
        role=role.id,
        policy=log_group.arn.apply(delivery_policy),
        opts=opts,
    )
    return child(
        "flow_logs", aws.ec2.FlowLog,
        f"{name}-flow-log",
        vpc_id=vpc_id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=log_group.arn,
        iam_role_arn=role.arn,
        tags=dict(tags),
        opts=opts,
    )
