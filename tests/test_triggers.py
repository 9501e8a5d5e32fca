"""What runs the job: a schedule (an EventBridge rule) and a queue (an event source mapping with
partial batch responses), under Pulumi mocks in both partitions; and the schedule syntax as
EventBridge takes it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.model.problems import ArgumentError, Problem
from components.model.triggers import queue_problems, schedule_problems
from components.testing.pulumi_mocks import PARTITIONS, AwsMocks, ProgramRun, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

VPC = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
PERMISSION = "aws:lambda/permission:Permission"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ACCOUNT = "123456789012"


def build(partition: str = "aws", mocks: AwsMocks | None = None, **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**VPC, **extra}).outputs(),  # type: ignore[misc]
                       partition=partition, mocks=mocks)


def policy(run: ProgramRun, typ: str, name: str, key: str = "policy") -> dict[str, Any]:
    return dict(json.loads(run.one(typ, name).inputs[key]))


def role_statements(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """The job's role's statements (the migration's role never consumes the queue)."""
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "svc-LambdaExecRole-publish-and-read-secret")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    return {s["Sid"]: s for s in statements}


# ------------------------------------------------------------------ the schedule


@pytest.mark.parametrize("partition", ["aws-cn", "aws"])
def test_the_schedule_invokes_the_job_through_its_rule_only(partition: str) -> None:
    run = build(partition, schedule="rate(1 hour)")
    region = PARTITIONS[partition][1]
    job = run.one("aws:lambda/function:Function", "svc-function")
    rule = run.one(RULE, "svc-schedule")
    rule_arn = f"arn:{partition}:events:{region}:{ACCOUNT}:rule/svc-dev-schedule"
    assert rule.inputs["name"] == "svc-dev-schedule" and rule.outputs["arn"] == rule_arn
    assert (rule.inputs["scheduleExpression"], rule.inputs["state"]) == ("rate(1 hour)", "ENABLED")
    target = run.one(TARGET).inputs
    dead_letter_queue = run.value["dead_letter_queue_arn"]
    assert (target["rule"], target["arn"], target["targetId"]) == ("svc-dev-schedule", job.outputs["arn"], "job")
    assert target["retryPolicy"] == {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 3600}
    assert target["deadLetterConfig"] == {"arn": dead_letter_queue}
    permission = run.one(PERMISSION).inputs
    assert permission == {"statementId": "InvokeOnTheSchedule", "action": "lambda:InvokeFunction",
                          "function": job.outputs["name"], "principal": "events.amazonaws.com",
                          "sourceArn": rule_arn}
    assert {"svc-schedule-permission", "svc-dlq-policy"} <= set(run.one(TARGET).depends_on)
    # Only this rule may send undeliverable events to the dead-letter queue, and use the key for it.
    assert policy(run, QUEUE_POLICY, "svc-dlq-policy")["Statement"] == [
        {"Sid": "DenyAccessWithoutTLS", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
         "Resource": dead_letter_queue, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "SendFromTheSchedule", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": dead_letter_queue,
         "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}},
    ]
    key = {s["Sid"]: s for s in policy(run, "aws:kms/key:Key", "svc-key")["Statement"]}
    assert key["EventBridgeToTheEncryptedDeadLetterQueue"] == {
        "Sid": "EventBridgeToTheEncryptedDeadLetterQueue", "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*", "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}
    alarm = run.one(ALARM, "svc-schedule-failed-invocations").inputs
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"], alarm["statistic"], alarm["threshold"],
            alarm["comparisonOperator"], alarm["treatMissingData"]) == (
        "AWS/Events", "FailedInvocations", {"RuleName": "svc-dev-schedule"}, "Sum", 1,
        "GreaterThanOrEqualToThreshold", "notBreaching")


def test_no_schedule_no_rule_and_no_eventbridge_grant() -> None:
    run = build()
    assert not run.of_type(RULE) and not run.of_type(TARGET) and not run.of_type(PERMISSION)
    assert not run.of_type(QUEUE_POLICY)
    key = {s["Sid"] for s in policy(run, "aws:kms/key:Key", "svc-key")["Statement"]}
    assert "EventBridgeToTheEncryptedDeadLetterQueue" not in key
    assert not [a for a in run.of_type(ALARM) if a.name.startswith(("svc-schedule", "svc-queue"))]


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)", "rate(7 days)",
    "cron(0 6 * * ? *)", "cron(30 7 ? * MON-FRI *)", "cron(0/15 * * * ? *)", "cron(0 12 L * ? 2030-2035)",
    "cron(0 8 ? * 2#1 *)", "cron(5,35 14 * JAN,JUL ? *)", "cron(0 9 15W * ? *)", "cron(0 18 ? * 6L *)",
    "cron(0 9 LW * ? *)",
])
def test_eventbridge_schedule_expressions_are_accepted(expression: str) -> None:
    assert schedule_problems(expression) == []


@pytest.mark.parametrize(("expression", "message"), [
    ("cron(0 6 * * ?)", "cron takes six fields (minutes hours day-of-month month day-of-week year), got 5; add the "
                        "year, e.g. *"),
    ("rate(1 minutes)", "EventBridge wants rate(1 minute) (singular for 1, plural otherwise)"),
    ("rate(5 hour)", "EventBridge wants rate(5 hours) (singular for 1, plural otherwise)"),
    ("rate(0 hours)", "the rate is a whole number above 0, got '0'"),
    ("rate(1 week)", "unknown unit 'week'; allowed: minute(s), hour(s), day(s)"),
    ("cron(0 6 1 * MON *)", "one of day-of-month and day-of-week must be ?"),
    ("cron(60 6 * * ? *)", "minutes: '60' is not allowed (values 0-59)"),
    ("cron(0 6 ? * 2#6 *)", "day-of-week: '2#6' is not <day>#<1-5>"),
    ("cron(? 6 * * ? *)", "minutes: ? is allowed only in day-of-month and day-of-week"),
    ("cron(0/0 6 * * ? *)", "the increment after / must be a whole number above 0"),
    ("cron(0 9 WW * ? *)", "day-of-month: 'WW' is not allowed"),
    ("cron(0 9 ? * LW *)", "day-of-week: 'LW' is not allowed"),
])
def test_what_eventbridge_refuses_is_refused_naming_schedule(expression: str, message: str) -> None:
    problems = schedule_problems(expression)
    assert {p.argument for p in problems} == {"schedule"}
    assert any(message in p.message for p in problems), problems


# ------------------------------------------------------------------ the queue


@pytest.mark.parametrize("partition", ["aws-cn", "aws"])
def test_the_queue_the_component_makes_runs_the_job_with_partial_batch_responses(partition: str) -> None:
    run = build(partition, queue={"batch_size": 50, "maximum_batching_window_seconds": 10, "max_receive_count": 4,
                                  "maximum_concurrency": 5}, function_timeout_seconds=60)
    key_arn = run.value["kms_key_arn"]
    queue, dead_letters = run.one(QUEUE, "svc-queue"), run.one(QUEUE, "svc-queue-dlq")
    assert run.value["queue_arn"] == queue.outputs["arn"] and run.value["queue_url"] == queue.outputs["url"]
    assert queue.inputs["kmsMasterKeyId"] == dead_letters.inputs["kmsMasterKeyId"] == key_arn
    assert queue.inputs["visibilityTimeoutSeconds"] == 6 * 60 + 10
    assert queue.inputs["messageRetentionSeconds"] == 4 * 24 * 3600
    assert dead_letters.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert json.loads(queue.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dead_letters.outputs["arn"],
                                                         "maxReceiveCount": 4}
    assert policy(run, QUEUE_POLICY, "svc-queue-policy")["Statement"] == [
        {"Sid": "DenyAccessWithoutTLS", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
         "Resource": queue.outputs["arn"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    mapping = run.one(MAPPING)
    job = run.one("aws:lambda/function:Function", "svc-function")
    assert mapping.inputs == {
        "eventSourceArn": queue.outputs["arn"], "functionName": job.outputs["arn"], "batchSize": 50,
        "maximumBatchingWindowInSeconds": 10, "functionResponseTypes": ["ReportBatchItemFailures"],
        "scalingConfig": {"maximumConcurrency": 5}, "tags": mapping.inputs["tags"]}
    assert "svc-LambdaExecRole-publish-and-read-secret" in mapping.depends_on, "Lambda checks the role at creation"
    assert role_statements(run)["ConsumeTheTriggerQueue"] == {
        "Sid": "ConsumeTheTriggerQueue", "Effect": "Allow",
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": queue.outputs["arn"]}
    # Lambda polls from outside the VPC: no SQS endpoint, no rule.
    assert sorted(e.inputs["serviceName"].rsplit(".", 1)[-1]
                  for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")) == ["secretsmanager", "sns"]
    alarms = {a.name: a.inputs for a in run.of_type(ALARM)}
    assert (alarms["svc-queue-oldest-message"]["metricName"], alarms["svc-queue-oldest-message"]["dimensions"],
            alarms["svc-queue-oldest-message"]["threshold"]) == (
        "ApproximateAgeOfOldestMessage", {"QueueName": queue.outputs["name"]}, 900)
    assert (alarms["svc-queue-dead-letter-queue"]["metricName"], alarms["svc-queue-dead-letter-queue"]["dimensions"],
            alarms["svc-queue-dead-letter-queue"]["threshold"]) == (
        "ApproximateNumberOfMessagesVisible", {"QueueName": dead_letters.outputs["name"]}, 1)


def test_an_existing_queue_and_its_key_are_consumed_as_given() -> None:
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:orders"
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
    mocks = AwsMocks(queues={"orders": queue_arn}, kms_keys={key_arn: {}})
    run = build(mocks=mocks, queue={"queue_arn": queue_arn, "kms_key_arn": key_arn},
                alarm_thresholds={"queue-oldest-message": 300})
    assert [q.name for q in run.of_type(QUEUE)] == ["svc-dlq"], "the component makes no queue"
    assert run.one(MAPPING).inputs["eventSourceArn"] == queue_arn and run.value["queue_arn"] == queue_arn
    assert run.value["queue_url"] == ""
    statements = role_statements(run)
    assert statements["ConsumeTheTriggerQueue"]["Resource"] == queue_arn
    assert statements["ReadTheTriggerQueuesEncryptedMessages"] == {
        "Sid": "ReadTheTriggerQueuesEncryptedMessages", "Effect": "Allow", "Action": "kms:Decrypt",
        "Resource": key_arn, "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}}
    alarms = {a.name: a.inputs for a in run.of_type(ALARM)}
    assert alarms["svc-queue-oldest-message"]["dimensions"] == {"QueueName": "orders"}
    assert alarms["svc-queue-oldest-message"]["threshold"] == 300
    assert "svc-queue-dead-letter-queue" not in alarms, "the given queue's redrive is its own"


@pytest.mark.parametrize(("queue", "mocks", "expected"), [
    ({"queue_arn": "arn:aws:sqs:eu-west-1:123456789012:orders"}, {},
     "queue_arn arn:aws:sqs:eu-west-1:123456789012:orders is in aws eu-west-1; the function runs in aws us-east-1"),
    ({"queue_arn": "arn:aws:sqs:us-east-1:123456789012:gone"}, {},
     "queue_arn arn:aws:sqs:us-east-1:123456789012:gone cannot be looked up"),
    ({"queue_arn": "arn:aws:sqs:us-east-1:123456789012:orders",
      "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"},
     {"queues": {"orders": "arn:aws:sqs:us-east-1:123456789012:orders"}}, "queue: kms_key_arn: arn:aws:kms:"),
])
def test_a_queue_that_is_elsewhere_or_missing_is_refused_at_preview(queue: dict[str, Any], mocks: dict[str, Any],
                                                                     expected: str) -> None:
    found = AwsMocks(**mocks)
    with pytest.raises(ArgumentError) as caught:
        build(mocks=found, queue=queue)
    exact_words(caught.value)
    assert caught.value.arguments == {"queue"}
    assert expected in refusal(caught.value)
    assert found.registered == []


def test_a_queue_of_another_account_is_not_looked_up() -> None:
    queue_arn = "arn:aws:sqs:us-east-1:210987654321:shared-orders"
    mocks = AwsMocks()
    build(mocks=mocks, queue={"queue_arn": queue_arn})
    assert not [token for token, _ in mocks.calls if token == "aws:sqs/getQueue:getQueue"]


def test_queue_fields_have_their_defaults() -> None:
    settings, problems = queue_problems({})
    assert problems == [] and settings is not None
    assert (settings.batch_size, settings.maximum_batching_window_seconds, settings.max_receive_count,
            settings.maximum_concurrency, settings.queue_arn) == (10, 0, 5, None, None)
    assert queue_problems({"batch_size": 11})[1] == [Problem(
        "queue", "batch_size 11 needs maximum_batching_window_seconds of 1 or more (Lambda refuses a batch above 10 "
                 "without a window)")]


def test_schedule_and_queue_together() -> None:
    run = build(schedule="cron(0 6 * * ? *)", queue={})
    assert run.one(RULE).inputs["scheduleExpression"] == "cron(0 6 * * ? *)"
    assert run.one(MAPPING).inputs["batchSize"] == 10 and "maximumBatchingWindowInSeconds" not in run.one(
        MAPPING).inputs
    assert {"svc-schedule-failed-invocations", "svc-queue-oldest-message", "svc-queue-dead-letter-queue"} <= {
        a.name for a in run.of_type(ALARM)}
