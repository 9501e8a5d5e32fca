"""Operations under mocks: the alarms (metric, dimensions, threshold, period, missing data,
actions), the alarm topic, the log metric filters per error type and the dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.local.stack_model import evaluate_stack
from components.model.alarm_specs import ALARMS, THRESHOLD_KEYS
from components.model.log_metrics import handler_error_types, log_metrics
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import ProgramRun, run_program
from tests.filter_patterns import matches, parse_pattern
from tests.problems import refusal
from tests.refusal_record import exact_words

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
GIB = 1024**3


def build(**extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **extra}).outputs())  # type: ignore[misc]


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return evaluate_stack("prod").run


def alarms(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.name.removeprefix("lambda-prod-").removeprefix("svc-"): r.inputs for r in run.of_type(ALARM)}


def test_every_alarm_watches_the_right_thing(prod: ProgramRun) -> None:
    found = alarms(prod)
    # The prod stack runs on a schedule, has no queue and no proxy: the queue's alarms come with a queue, the
    # proxy's with db_proxy.
    assert set(found) == set(THRESHOLD_KEYS) - {"queue-oldest-message", "queue-dead-letter-queue",
                                                "proxy-client-connections", "proxy-database-connections"}
    function_name = prod.exports["function_name"]
    queue_name = prod.one("aws:sqs/queue:Queue").outputs["name"]
    db_identifier = prod.one("aws:rds/instance:Instance").inputs["identifier"]
    rule_name = prod.one("aws:cloudwatch/eventRule:EventRule").inputs["name"]
    topic = prod.exports["alarm_topic_arn"]
    expected = {
        # key: (namespace, metric, dimensions, statistic, period, evaluation periods, comparison, threshold, missing)
        "function-errors": ("AWS/Lambda", "Errors", {"FunctionName": function_name}, "Sum", 300, 1,
                            "GreaterThanOrEqualToThreshold", 1, "missing"),
        "function-throttles": ("AWS/Lambda", "Throttles", {"FunctionName": function_name}, "Sum", 300, 1,
                               "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
        "function-duration": ("AWS/Lambda", "Duration", {"FunctionName": function_name}, "p99", 300, 1,
                              "GreaterThanThreshold", 24000, "notBreaching"),  # 80 % of 30 s, in ms
        "dead-letter-queue": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum",
                              300, 1, "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
        "db-cpu": ("AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": db_identifier}, "Average", 300, 3,
                   "GreaterThanThreshold", 80, "missing"),
        "db-free-storage": ("AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": db_identifier}, "Minimum", 300, 1,
                            "LessThanThreshold", round(20 * GIB * 0.10), "missing"),
        "db-connections": ("AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": db_identifier}, "Maximum",
                           300, 1, "GreaterThanThreshold", round(64 * 0.8), "notBreaching"),  # db.t4g.micro: 64
        "db-freeable-memory": ("AWS/RDS", "FreeableMemory", {"DBInstanceIdentifier": db_identifier}, "Minimum", 300,
                               3, "LessThanThreshold", round(1 * GIB * 0.10), "missing"),
        "schedule-failed-invocations": ("AWS/Events", "FailedInvocations", {"RuleName": rule_name}, "Sum", 300, 1,
                                        "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
    }
    for key, (namespace, metric, dimensions, statistic, period, periods, comparison, threshold, missing) in (
            expected.items()):
        alarm = found[key]
        assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (namespace, metric, dimensions), key
        assert alarm.get("statistic", alarm.get("extendedStatistic")) == statistic, key
        assert (alarm["period"], alarm["evaluationPeriods"], alarm["comparisonOperator"]) == (period, periods,
                                                                                             comparison), key
        assert alarm["threshold"] == threshold, key
        assert alarm["treatMissingData"] == missing, key
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic], key
        assert f"Runbook: docs/operations.md#runbook-{key}" in alarm["alarmDescription"]


WATCHED = {"function": ("aws:lambda/function:Function", "lambda-prod-function"),
           "queue": ("aws:sqs/queue:Queue", "lambda-prod-dlq"),
           "database": ("aws:rds/instance:Instance", "lambda-prod-db"),
           "schedule": ("aws:cloudwatch/eventRule:EventRule", "lambda-prod-schedule")}
"""The type and logical name of the resource each kind of alarm watches, in the prod stack."""


def test_every_alarm_waits_for_what_it_watches(prod: ProgramRun) -> None:
    """A database takes 15-40 minutes to create: its alarms are created after it, not during."""
    for typ, name in WATCHED.values():
        prod.one(typ, name)
    found = {r.name.removeprefix("lambda-prod-"): r for r in prod.of_type(ALARM)}
    for spec in ALARMS:
        if spec.key not in found:  # a trigger or a proxy the prod stack does not have
            assert spec.subject not in WATCHED, spec.key
            continue
        assert WATCHED[spec.subject][1] in found[spec.key].depends_on, spec.key
    with_proxy = {r.name.removeprefix("svc-"): r for r in build(db_proxy=True).of_type(ALARM)}
    proxy_alarms = [spec.key for spec in ALARMS if spec.subject == "proxy"]
    assert proxy_alarms == ["proxy-client-connections", "proxy-database-connections"]
    assert all("svc-db-proxy" in with_proxy[key].depends_on for key in proxy_alarms), "they wait for the proxy"
    database_alarms = {spec.key for spec in ALARMS if spec.subject == "database"}
    assert database_alarms == {"db-cpu", "db-free-storage", "db-connections", "db-freeable-memory"}


def test_no_alarm_treats_missing_data_as_breaching(prod: ProgramRun) -> None:
    """Nothing is published while the function, the queue or the database is created or replaced:
    a first deployment must not page the on-call topic."""
    assert {a["treatMissingData"] for a in alarms(prod).values()} <= {"missing", "notBreaching"}
    for spec in ALARMS:
        assert spec.missing != "breaching" and len(spec.missing_why) > 20, spec.key


def test_the_alarm_topic_is_its_own_encrypted_and_tls_only(prod: ProgramRun) -> None:
    topics = {t.name: t for t in prod.of_type(TOPIC)}
    alarm_topic, notification_topic = topics["lambda-prod-alarms"], topics["lambda-prod-topic"]
    assert prod.exports["alarm_topic_arn"] == alarm_topic.outputs["arn"] != prod.exports["topic_arn"]
    assert notification_topic.outputs["arn"] == prod.exports["topic_arn"]
    assert alarm_topic.inputs["kmsMasterKeyId"] == prod.exports["kms_key_arn"]
    policy = json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy", "lambda-prod-alarms-policy").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["DenyPublishWithoutTLS"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    cloudwatch = statements["CloudWatchAlarmsOfThisAccount"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"] == (
        "arn:aws-cn:cloudwatch:cn-northwest-1:123456789012:alarm:*")
    assert not prod.of_type("aws:sns/topicSubscription:TopicSubscription"), "no email unless asked"


def test_alarms_off_creates_none() -> None:
    run = build(alarms=False)
    assert run.of_type(ALARM) == []
    assert [t.name for t in run.of_type(TOPIC)] == ["svc-topic"]
    assert run.value["alarm_topic_arn"] == ""
    assert run.of_type(FILTER), "the log metrics and the dashboard stay"


def test_alarm_actions_notify_existing_topics_instead() -> None:
    existing = "arn:aws:sns:us-east-1:123456789012:pager"
    run = build(alarm_actions=[existing])
    assert [t.name for t in run.of_type(TOPIC)] == ["svc-topic"]
    assert {tuple(a.inputs["alarmActions"]) for a in run.of_type(ALARM)} == {(existing,)}


def test_alarm_email_is_subscribed_to_the_alarm_topic() -> None:
    run = build(alarm_email="oncall@example.com")
    subscription = run.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "oncall@example.com")
    assert subscription["topic"] == run.value["alarm_topic_arn"]


def test_thresholds_can_be_changed() -> None:
    run = build(alarm_thresholds={"db-cpu": 90, "function-duration": 50, "function-errors": 3},
                function_timeout_seconds=60)
    found = alarms(run)
    assert found["db-cpu"]["threshold"] == 90
    assert found["function-duration"]["threshold"] == 30000
    assert found["function-errors"]["threshold"] == 3
    assert "Threshold: 90 % CPU" in found["db-cpu"]["alarmDescription"]


def test_connections_alarm_follows_the_class() -> None:
    found = alarms(build(db_instance_class="db.r6g.large"))
    assert found["db-connections"]["threshold"] == round(1344 * 0.8)
    assert found["db-freeable-memory"]["threshold"] == round(16 * GIB * 0.10)


def test_one_log_metric_filter_per_error_type_on_each_functions_log_group(prod: ProgramRun) -> None:
    """The job and the schema migration each write their failures to their own log group
    (a `MigrationError` only ever to the migration's): each group has every filter, counting into
    its function's namespace."""
    error_types = [error_type.__name__ for error_type in handler_error_types()]
    assert {"DatabaseUnreachableError", "SecretError", "NotificationError", "DatabaseBusyError",
            "DatabaseTimeoutError", "ConfigurationError", "MigrationError"} <= set(error_types)
    job, migration = prod.exports["function_name"], prod.exports["migration_function_name"]
    log_groups = {job: prod.exports["log_group_name"], migration: f"/aws/lambda/{migration}"}
    assert prod.one("aws:lambda/function:Function", "lambda-prod-migration").inputs["loggingConfig"][
        "logGroup"] == log_groups[migration]
    by_group: dict[str, dict[str, dict[str, Any]]] = {}
    for found in prod.of_type(FILTER):
        by_group.setdefault(found.inputs["logGroupName"], {})[found.inputs["metricTransformation"]["name"]] = (
            found.inputs)
    assert set(by_group) == set(log_groups.values())
    for function_name, group in log_groups.items():
        filters = by_group[group]
        assert set(filters) == {*error_types, "InvocationOverrun"}, group
        for name in error_types:
            assert filters[name]["pattern"] == f'{{ $.error_type = "{name}" }}'
            assert filters[name]["metricTransformation"]["namespace"] == f"VpcLambda/{function_name}"
            assert filters[name]["metricTransformation"]["value"] == "1"
    assert prod.one(FILTER, "lambda-prod-MigrationError").inputs["logGroupName"] == log_groups[job], (
        "the job's filters keep their names")
    assert prod.one(FILTER, "lambda-prod-migration-MigrationError").inputs["logGroupName"] == log_groups[migration]


def test_dashboard_shows_the_service(prod: ProgramRun) -> None:
    dashboard = prod.one("aws:cloudwatch/dashboard:Dashboard").inputs
    assert dashboard["dashboardName"] == prod.exports["dashboard_name"] == (
        f"{prod.exports['function_name']}-cn-northwest-1")
    widgets = json.loads(dashboard["dashboardBody"])["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    assert titles == ["Invocations, errors, throttles", "Errors by type (from the function's log lines)",
                      "Duration against the timeout (p99, max)", "Dead-letter queue depth", "Database CPU",
                      "Database connections against max_connections", "Database free storage",
                      "Schema migration errors by type (from its log lines)"]
    migration = [m for w in widgets for m in w["properties"]["metrics"]
                 if w["properties"]["title"].startswith("Schema migration")]
    assert ["VpcLambda/lambda-prod-prod-migrate", "MigrationError"] in migration
    by_title = {w["properties"]["title"]: w["properties"] for w in widgets}
    assert by_title["Duration against the timeout (p99, max)"]["annotations"]["horizontal"] == [
        {"label": "timeout", "value": 30000}]
    assert by_title["Database connections against max_connections"]["annotations"]["horizontal"] == [
        {"label": "max_connections", "value": 64}]
    error_lines = [m[1] for m in by_title["Errors by type (from the function's log lines)"]["metrics"]]
    assert "SecretError" in error_lines and "InvocationOverrun" in error_lines


def test_with_the_proxy_its_connections_are_watched_against_its_pool() -> None:
    run = build(db_proxy=True, alarm_thresholds={"proxy-database-connections": 50})
    found = alarms(run)
    proxy_name = run.one("aws:rds/proxy:Proxy").outputs["name"]
    pool = 32  # the proxy's share of db.t4g.micro's 64 connections: half
    for key, metric, threshold in (("proxy-client-connections", "ClientConnections", round(pool * 0.8)),
                                   ("proxy-database-connections", "DatabaseConnections", round(pool * 0.5))):
        alarm = found[key]
        assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"], alarm["statistic"]) == (
            "AWS/RDS", metric, {"ProxyName": proxy_name}, "Maximum"), key
        assert (alarm["threshold"], alarm["comparisonOperator"], alarm["treatMissingData"]) == (
            threshold, "GreaterThanThreshold", "notBreaching"), key
        assert f"Runbook: docs/operations.md#runbook-{key}" in alarm["alarmDescription"]
    widgets = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])["widgets"]
    (proxy,) = [w["properties"] for w in widgets if w["properties"]["title"].startswith("Proxy:")]
    assert [m[1] for m in proxy["metrics"]] == ["ClientConnections", "DatabaseConnections",
                                               "DatabaseConnectionsCurrentlySessionPinned"]
    assert proxy["annotations"]["horizontal"] == [{"label": "pool", "value": pool}]
    assert "proxy-client-connections" not in alarms(build()), "no proxy, no proxy alarms"


def test_the_dashboard_name_carries_the_region() -> None:
    """Dashboards are global to the account: the same stack in two regions must not share one
    (and destroying one must not delete the other's)."""
    names = {}
    for region in ("us-east-1", "eu-west-1"):
        run = run_program(lambda: VpcLambdaWithPrivateServices("svc", GOOD).outputs(),  # type: ignore[misc]
                          region=region)
        names[region] = run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardName"]
        assert run.value["dashboard_name"] == names[region]
    assert names == {"us-east-1": "svc-dev-us-east-1", "eu-west-1": "svc-dev-eu-west-1"}


@pytest.mark.parametrize(
    ("partition", "region", "topic"),
    [
        ("aws", "us-east-1", "arn:aws:sns:eu-west-1:123456789012:pager"),
        ("aws", "us-east-1", "arn:aws-cn:sns:us-east-1:123456789012:pager"),
        ("aws-cn", "cn-northwest-1", "arn:aws-cn:sns:cn-north-1:123456789012:pager"),
        ("aws-cn", "cn-northwest-1", "arn:aws:sns:us-east-1:123456789012:pager"),
    ],
)
def test_alarm_actions_in_another_region_or_partition_are_refused(partition: str, region: str, topic: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, "alarm_actions": [topic]}),  # type: ignore[misc]
                    partition=partition, region=region)
    exact_words(caught.value)
    assert caught.value.arguments == {"alarm_actions"}
    message = caught.value.problems[0].message
    assert topic in message and f"the alarms are in {region} (partition {partition!r})" in message
    assert "CloudWatch notifies only SNS topics of the alarm's own region" in message


@pytest.mark.parametrize(("partition", "region"), [("aws", "us-east-1"), ("aws-cn", "cn-northwest-1")])
def test_alarm_actions_in_the_alarms_region_are_accepted(partition: str, region: str) -> None:
    topic = f"arn:{partition}:sns:{region}:210987654321:pager"
    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        **GOOD, "alarm_actions": [topic]}).outputs(), partition=partition, region=region)
    assert {tuple(a.inputs["alarmActions"]) for a in run.of_type(ALARM)} == {(topic,)}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"alarm_thresholds": {"proxy-client-connections": 90}},
         "alarm_thresholds: proxy-client-connections: alarms on the database proxy, which exists only with db_proxy"),
        ({"alarm_email": "not-an-address"}, "alarm_email: got 'not-an-address'; expected an email address"),
        ({"alarm_actions": ["arn:aws:sqs:us-east-1:123456789012:q"]}, "alarm_actions: 'arn:aws:sqs:us-east-1"),
        ({"alarm_actions": "arn:aws:sns:us-east-1:123456789012:t"}, "alarm_actions: got 'arn:aws:sns"),
        ({"alarm_thresholds": {"db-cpus": 90}}, "alarm_thresholds: unknown alarm 'db-cpus'; did you mean 'db-cpu'?"),
        ({"alarm_thresholds": {"db-cpu": 120}}, "alarm_thresholds: db-cpu got 120; allowed: 1 to 100"),
        ({"alarm_thresholds": {"function-errors": 0}}, "alarm_thresholds: function-errors got 0; allowed: 1 to"),
        ({"alarm_thresholds": {"db-cpu": "high"}}, "alarm_thresholds: db-cpu got 'high'; expected a number"),
        ({"alarms": "yes"}, "alarms: got 'yes'; expected true or false"),
        ({"alarms": False, "alarm_email": "oncall@example.com"}, "alarms: false, yet alarm_email"),
        ({"alarm_email": "a@example.com", "alarm_actions": ["arn:aws:sns:us-east-1:123456789012:t"]},
         "alarm_email: the alarms notify alarm_actions"),
    ],
)
def test_bad_alarm_arguments_are_refused(extra: dict[str, Any], expected: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        build(**extra)
    exact_words(caught.value)
    assert expected in refusal(caught.value)


def test_the_filter_matcher_implements_the_syntax_it_uses() -> None:
    line = json.dumps({"level": "ERROR", "event": "invocation_failed", "error_type": "SecretError"})
    assert matches('{ $.error_type = "SecretError" }', line)
    assert not matches('{ $.error_type = "Secret" }', line)
    assert not matches('{ $.error_type = "SecretError" }', "SecretError in plain text")
    assert matches('{ $.event = "invocation_failed" && $.error_type = "SecretError" }', line)
    assert not matches('{ $.event = "migration_failed" && $.error_type = "SecretError" }', line)
    assert matches('{ $.error_type != "NotificationError" }', line)
    with pytest.raises(ValueError, match="unsupported clause"):
        parse_pattern('{ $.duration > 5 }')


def test_every_alarm_spec_has_a_runbook_entry_in_the_operations_page() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    for spec in ALARMS:
        assert f'<a id="{spec.runbook}"></a>' in page, spec.key
    for metric in log_metrics():
        assert f'<a id="runbook-{metric.metric.lower()}"></a>' in page, metric.metric
