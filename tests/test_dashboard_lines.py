"""The dashboard's horizontal lines against the alarms on the same metrics: the CPU widget draws the
CPU alarm's threshold; the other lines are what the alarms are a stated share of (the timeout, the
instance class's max_connections, the allocated storage), as the README's alarm table says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.testing.pulumi_mocks import ProgramRun, run_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GIB = 1024 ** 3


def build(**args: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"], **args}).outputs())


def lines_and_alarms(run: ProgramRun) -> dict[str, tuple[list[tuple[str, float]], float]]:
    """For each widget with lines: its lines (label, value) and the threshold of the one alarm on its metric."""
    alarms = {(a.inputs["namespace"], a.inputs["metricName"], tuple(sorted(a.inputs["dimensions"].items()))):
              a.inputs["threshold"] for a in run.of_type(ALARM)}
    widgets = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])["widgets"]
    found: dict[str, tuple[list[tuple[str, float]], float]] = {}
    for widget in widgets:
        properties = widget["properties"]
        if "annotations" not in properties:
            continue
        namespace, metric, *dimensions = properties["metrics"][0]
        dimensions = [d for d in dimensions if not isinstance(d, dict)]
        key = (namespace, metric, tuple(sorted(zip(dimensions[::2], dimensions[1::2], strict=True))))
        assert key in alarms, f"{properties['title']}: a line on a metric no alarm watches"
        found[metric] = ([(line["label"], line["value"]) for line in properties["annotations"]["horizontal"]],
                         alarms[key])
    return found


def test_each_line_is_the_alarm_s_threshold_or_what_the_threshold_is_a_share_of() -> None:
    found = lines_and_alarms(build())
    assert set(found) == {"Duration", "CPUUtilization", "DatabaseConnections", "FreeStorageSpace"}
    assert found["CPUUtilization"] == ([("alarm", 80.0)], 80.0)  # db-cpu: 80 %
    assert found["Duration"] == ([("timeout", 30_000)], 24_000.0)  # function-duration: 80 % of the timeout
    assert found["DatabaseConnections"] == ([("max_connections", 64)], 51.0)  # 80 % of db.t4g.micro's 64
    assert found["FreeStorageSpace"] == ([("allocated", 20 * GIB)], 2 * GIB)  # 10 % of 20 GiB


@pytest.mark.parametrize(("cpu", "duration"), [(65.0, 50.0), (95.0, 90.0)])
def test_the_cpu_line_follows_a_changed_threshold(cpu: float, duration: float) -> None:
    found = lines_and_alarms(build(alarm_thresholds={"db-cpu": cpu, "function-duration": duration},
                                   function_timeout_seconds=60))
    assert found["CPUUtilization"] == ([("alarm", cpu)], cpu)
    assert found["Duration"] == ([("timeout", 60_000)], 600 * duration)  # a percentage of the 60 s timeout


def test_the_lines_follow_the_class_and_the_storage() -> None:
    found = lines_and_alarms(build(db_instance_class="db.t4g.small", db_allocated_storage_gb=100))
    # db.t4g.small: 2 GiB less 256 MiB -> max_connections 149 (DBInstanceClassMemory / 12582880); 80 % of it
    assert found["DatabaseConnections"] == ([("max_connections", 149)], 119.0)
    assert found["FreeStorageSpace"] == ([("allocated", 100 * GIB)], 10 * GIB)


def test_the_widgets_tile_the_page_two_by_row_each_with_the_statistic_of_its_metric() -> None:
    """The page as the README describes it: every widget 12 by 6, two to a row, none over another,
    each drawn with the statistic its metric is read by (the alarms' own)."""
    run = build(db_proxy=True)
    widgets = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])["widgets"]
    assert [(w["properties"]["title"], w["x"], w["y"], w["width"], w["height"], w["properties"]["stat"])
            for w in widgets] == [
        ("Invocations, errors, throttles", 0, 0, 12, 6, "Sum"),
        ("Errors by type (from the function's log lines)", 12, 0, 12, 6, "Sum"),
        ("Duration against the timeout (p99, max)", 0, 6, 12, 6, "p99"),
        ("Dead-letter queue depth", 12, 6, 12, 6, "Maximum"),
        ("Database CPU", 0, 12, 12, 6, "Average"),
        ("Database connections against max_connections", 12, 12, 12, 6, "Maximum"),
        ("Database free storage", 0, 18, 12, 6, "Minimum"),
        ("Schema migration errors by type (from its log lines)", 12, 18, 12, 6, "Sum"),
        ("Proxy: client and database connections against its pool", 0, 24, 12, 6, "Maximum"),
    ]
    assert {(w["properties"]["period"], w["properties"]["view"], w["properties"]["region"]) for w in widgets} == {
        (300, "timeSeries", "us-east-1")}


PUBLISHED_BY_AWS = {
    # namespace -> dimension -> the metrics the service publishes under it (CloudWatch's metric lists)
    ("AWS/Lambda", "FunctionName"): {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
    ("AWS/SQS", "QueueName"): {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
    ("AWS/RDS", "DBInstanceIdentifier"): {"CPUUtilization", "DatabaseConnections", "FreeStorageSpace"},
    ("AWS/RDS", "ProxyName"): {"ClientConnections", "DatabaseConnections", "DatabaseConnectionsCurrentlySessionPinned"},
}


def test_every_metric_drawn_exists_published_by_aws_or_by_the_components_own_filters() -> None:
    """CloudWatch draws an empty graph for a misspelt metric or namespace and says nothing."""
    run = build(db_proxy=True)
    own = {(f.inputs["metricTransformation"]["namespace"], f.inputs["metricTransformation"]["name"])
           for f in run.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")}
    widgets = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])["widgets"]
    drawn = [[part for part in metric if not isinstance(part, dict)]
             for widget in widgets for metric in widget["properties"]["metrics"]]
    assert len(drawn) == 50
    for namespace, name, *dimensions in drawn:
        if namespace.startswith("AWS/"):
            assert len(dimensions) == 2 and name in PUBLISHED_BY_AWS[namespace, dimensions[0]], (namespace, name)
        else:
            assert dimensions == [] and (namespace, name) in own, (namespace, name)
    assert {(n, m) for n, m, *rest in drawn if not n.startswith("AWS/")} == own, "every filter's metric is drawn"
