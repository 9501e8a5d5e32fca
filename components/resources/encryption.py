"""The customer-managed KMS key: one key with rotation for the topic, the function's
environment, the log groups, the database storage, the database secret and the dead-letter
queue. Its policy names exactly who uses it: the account's administrators, CloudWatch Logs
(its regional, partition-aware principal, only for this component's log groups) and each
function's role (only through the services that function calls, from the dependency table)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.alarm_specs import CLOUDWATCH_PRINCIPAL, alarms_of_this_account
from ..model.dependencies import FUNCTIONS, Principal, key_via_services
from .children import child

# Services that use the key on the job role's behalf (kms:ViaService); each role has its own list.
ROLE_VIA_SERVICES = key_via_services("job")
ROLE_STATEMENT_SIDS: Mapping[Principal, str] = {
    "job": "FunctionRoleThroughTheServicesItCalls",
    "migration": "MigrationRoleThroughTheServicesItCalls",
}
ROLE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")


@dataclass(frozen=True)
class KeyRef:
    """The key the component encrypts with: its own (`create_key`), or the user's
    (`existing_kms_key_arn`), whose ID is the ARN's last part."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    key: aws.kms.Key | None = None
    """The key resource, when the component made it."""

    @classmethod
    def given(cls, arn: str) -> KeyRef:
        return cls(pulumi.Output.from_input(arn), pulumi.Output.from_input(arn.rsplit("/", 1)[-1]))


@dataclass(frozen=True)
class AwsContext:
    partition: str
    region: str
    dns_suffix: str
    account_id: str


def logs_service_principal(region: str, dns_suffix: str) -> str:
    """CloudWatch Logs' principal is regional: `logs.cn-northwest-1.amazonaws.com.cn` in China."""
    return f"logs.{region}.{dns_suffix}"


def via_service(service: str, region: str, dns_suffix: str) -> str:
    return f"{service}.{region}.{dns_suffix}"


EVENTS_PRINCIPAL = "events.amazonaws.com"
OWNER_STATEMENTS = ("AccountAdministration", *ROLE_STATEMENT_SIDS.values())
"""Statements of a key the component owns that a user's key (`existing_kms_key_arn`) does without:
its own administration, and each role's use, which that role's policy then holds (`key_dependency`;
the key's policy lets IAM policies grant it, as AWS's default key policy does)."""


def key_policy(ctx: AwsContext, role_arns: Mapping[Principal, str], log_group_names: Sequence[str],
               alarm_topic: bool = False, schedule_rule_arn: str | None = None) -> str:
    """The key's policy; `role_arns` by function (a role absent: no statement for it)."""
    log_group_arns = [f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:log-group:{name}"
                      for name in log_group_names]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # Without this the key cannot be managed at all (AWS's default key policy).
                    "Sid": "AccountAdministration",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{ctx.partition}:iam::{ctx.account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsForThisComponentsLogGroups",
                    "Effect": "Allow",
                    "Principal": {"Service": logs_service_principal(ctx.region, ctx.dns_suffix)},
                    "Action": list(LOGS_KEY_ACTIONS),
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
                },
                *({
                    "Sid": ROLE_STATEMENT_SIDS[principal],
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arns[principal]},
                    "Action": list(ROLE_KEY_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": [via_service(s, ctx.region, ctx.dns_suffix)
                                               for s in key_via_services(principal)]
                        }
                    },
                } for principal in FUNCTIONS if principal in role_arns),
                *([{
                    # The alarm topic is encrypted with this key: CloudWatch must use it to publish.
                    "Sid": "CloudWatchAlarmsToTheEncryptedAlarmTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDWATCH_PRINCIPAL},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": alarms_of_this_account(ctx.partition, ctx.region, ctx.account_id),
                }] if alarm_topic else []),
                *([{
                    # The schedule's undeliverable events go to the encrypted dead-letter queue.
                    "Sid": "EventBridgeToTheEncryptedDeadLetterQueue",
                    "Effect": "Allow",
                    "Principal": {"Service": EVENTS_PRINCIPAL},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"aws:SourceArn": schedule_rule_arn}},
                }] if schedule_rule_arn else []),
            ],
        }
    )


def existing_key_statements(ctx: AwsContext, log_group_names: Sequence[str], alarm_topic: bool = False,
                            schedule_rule_arn: str | None = None) -> list[dict[str, object]]:
    """What the policy of a user's key (`existing_kms_key_arn`) must hold for the component: the
    statements of `key_policy` for the services that use the key, written by the same code."""
    statements = json.loads(key_policy(ctx, {}, log_group_names, alarm_topic, schedule_rule_arn))["Statement"]
    return [s for s in statements if s["Sid"] not in OWNER_STATEMENTS]


def create_key(
    name: str,
    ctx: AwsContext,
    role_arns: Mapping[Principal, pulumi.Input[str]],
    log_group_names: Sequence[str],
    alias: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    retain_on_delete: bool = False,
    alarm_topic: bool = False,
    schedule_rule_arn: str | None = None,
) -> aws.kms.Key:
    """The key; with `retain_on_delete` (a final snapshot is taken, encrypted with it) destroy
    leaves it enabled, so the snapshot stays restorable after the stack is gone."""
    principals = list(role_arns)
    key = child(
        "key", aws.kms.Key,
        f"{name}-key",
        description=f"Encrypts the {name} topic, queue, logs, database, secret and function environment",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=pulumi.Output.all(*role_arns.values()).apply(
            lambda arns: key_policy(ctx, dict(zip(principals, arns, strict=True)), log_group_names, alarm_topic,
                                    schedule_rule_arn)),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=retain_on_delete),
    )
    child(
        "key_alias", aws.kms.Alias,
        f"{name}-key-alias",
        name=alias,
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key
