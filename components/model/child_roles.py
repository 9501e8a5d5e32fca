"""The roles of the component's children, for `transforms`: each child is created under one role,
and a transform given for that role sees (and may change) its arguments just before it is
created. The table is the documentation (docs/resource-transforms.md is generated from it) and
what `transforms` is checked against."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pulumi

from .problems import Problem


class ChildTransform(Protocol):
    """A function `transform(args, opts)` applied to a child just before it is created (Python programs
    only): `args` is a mutable dict of the child's keyword arguments (snake_case, as its Python constructor
    takes them), `opts` its `pulumi.ResourceOptions`; change them in place and return None, or return a new
    `(args, opts)` pair."""

    def __call__(self, args: dict[str, Any], opts: pulumi.ResourceOptions, /) -> Any: ...


CHILD_ROLES: Mapping[str, tuple[str, str]] = {
    # role: (resource type, which children)
    "function": ("aws.lambda_.Function", "the job"),
    "migration_function": ("aws.lambda_.Function", "the schema-migration function"),
    "schema_migration": ("aws.lambda_.Invocation", "the invocation of the migration during `pulumi up`"),
    "log_group": ("aws.cloudwatch.LogGroup", "every log group: the functions', the database's exports, flow logs"),
    "role": ("aws.iam.Role", "the job's execution role (`LambdaExecRole`)"),
    "role_policy": ("aws.iam.RolePolicy, aws.iam.RolePolicyAttachment",
                    "the job's role's own policy and its managed policies"),
    "migration_role": ("aws.iam.Role", "the migration's execution role"),
    "migration_role_policy": ("aws.iam.RolePolicy, aws.iam.RolePolicyAttachment",
                              "the migration's role's own policy and its managed policies"),
    "database": ("aws.rds.Instance", "the RDS MySQL instance"),
    "database_subnet_group": ("aws.rds.SubnetGroup", "the database's subnet group"),
    "database_parameter_group": ("aws.rds.ParameterGroup", "the database's parameter group"),
    "monitoring_role": ("aws.iam.Role, aws.iam.RolePolicyAttachment", "the enhanced-monitoring role and its policy"),
    "proxy": ("aws.rds.Proxy", "the RDS Proxy in front of the database (`db_proxy`)"),
    "proxy_target": ("aws.rds.ProxyDefaultTargetGroup, aws.rds.ProxyTarget",
                     "the proxy's connection pool and its target, the instance"),
    "proxy_role": ("aws.iam.Role, aws.iam.RolePolicy", "the proxy's role and its policy (`rds-db:connect` only)"),
    "topic": ("aws.sns.Topic", "the topic the job publishes to"),
    "topic_policy": ("aws.sns.TopicPolicy", "its policy"),
    "dead_letter_queue": ("aws.sqs.Queue", "the dead-letter queue of failed asynchronous invocations"),
    "dead_letter_queue_policy": ("aws.sqs.QueuePolicy", "its policy (with a schedule: EventBridge may send)"),
    "queue": ("aws.sqs.Queue", "the trigger queue"),
    "queue_dead_letter_queue": ("aws.sqs.Queue", "the trigger queue's own dead-letter queue"),
    "queue_policy": ("aws.sqs.QueuePolicy", "the trigger queue's policy"),
    "event_source_mapping": ("aws.lambda_.EventSourceMapping", "the trigger queue's event source mapping"),
    "schedule": ("aws.cloudwatch.EventRule", "the schedule's rule"),
    "schedule_target": ("aws.cloudwatch.EventTarget", "the rule's target: the job"),
    "invoke_permission": ("aws.lambda_.Permission", "the permission that lets the rule invoke the job"),
    "security_group": ("aws.ec2.SecurityGroup",
                       "lambda-sg, rds-sg, endpoint-sg, placeholder-sg; with `db_proxy`, proxy-sg and migration-sg"),
    "security_group_rule": ("aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule",
                            "one per line of the rule table"),
    "endpoint": ("aws.ec2.VpcEndpoint", "the interface and gateway endpoints"),
    "key": ("aws.kms.Key", "the customer-managed key"),
    "key_alias": ("aws.kms.Alias", "its alias"),
    "alarm": ("aws.cloudwatch.MetricAlarm", "every alarm"),
    "alarm_topic": ("aws.sns.Topic, aws.sns.TopicPolicy, aws.sns.TopicSubscription",
                    "the alarm topic, its policy and its email subscription"),
    "metric_filter": ("aws.cloudwatch.LogMetricFilter", "the log metric filters"),
    "dashboard": ("aws.cloudwatch.Dashboard", "the dashboard"),
    "flow_logs": ("aws.ec2.FlowLog, aws.iam.Role, aws.iam.RolePolicy", "the VPC flow log and its delivery role"),
}


def transform_problems(value: Any) -> list[Problem]:
    """`transforms`: a mapping of documented roles to callables (or lists of them)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [Problem("transforms", f"got {value!r}; expected a mapping of child roles to functions "
                                      "transform(args, opts)")]
    problems = []
    for role, found in value.items():
        if role not in CHILD_ROLES:
            close = difflib.get_close_matches(str(role), list(CHILD_ROLES), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"roles: {', '.join(CHILD_ROLES)}"
            problems.append(Problem("transforms", f"unknown child role {role!r}; {hint}"))
            continue
        functions = found if isinstance(found, Sequence) and not isinstance(found, str) else (found,)
        if not functions or not all(callable(f) for f in functions):
            problems.append(Problem("transforms", f"{role}: got {found!r}; expected a function transform(args, opts) "
                                                  "or a list of them"))
    return problems
