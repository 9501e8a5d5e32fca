"""The log metric filters the component creates, run against the JSON log lines the real
package wrote during the real-service tests (collected in `log_book`; this file runs last), each
line against the filters of the log group its function writes to (the job's, or the schema
migration's): each error type is counted by its own filter and by no other, and every type a
function wrote is counted on that function's group."""

from __future__ import annotations

import json
from collections import Counter

from components.model.log_metrics import OVERRUN_METRIC, LogMetric, handler_error_types
from localrun.pulumi_mocks import Registered
from tests.filter_patterns import counted_by
from vpclambda_runtime.contract import OVERRUN_EVENT

FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"


def failure_type(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if record.get("event") == OVERRUN_EVENT:
        return OVERRUN_METRIC
    return record.get("error_type")


def test_each_error_type_is_counted_by_its_filter_and_no_other(log_book: list[tuple[str, str]], stack_model) -> None:
    filters: list[Registered] = stack_model.run.of_type(FILTER)
    by_group: dict[str, list[LogMetric]] = {}
    for found in filters:
        by_group.setdefault(found.inputs["logGroupName"], []).append(
            LogMetric(found.inputs["metricTransformation"]["name"], found.inputs["pattern"], ""))
    job_group = stack_model.job_function.inputs["loggingConfig"]["logGroup"]
    migration_group = stack_model.migration_function.inputs["loggingConfig"]["logGroup"]
    assert set(by_group) == {job_group, migration_group}
    error_types = [error_type.__name__ for error_type in handler_error_types()]
    for group, metrics in by_group.items():
        assert {m.metric for m in metrics} == {*error_types, OVERRUN_METRIC}, group
    assert len(log_book) > 200, "the real-service tests ran before this one"
    assert {group for group, _ in log_book} == {job_group, migration_group}, "both functions ran"

    seen: dict[str, Counter[str]] = {job_group: Counter(), migration_group: Counter()}
    for group, line in log_book:
        kind = failure_type(line)
        counted = counted_by(by_group[group], line)
        if kind is None:
            assert counted == [], f"a line that is not a failure is counted: {line[:200]}"
            continue
        assert counted == [kind], f"{kind} counted by {counted} on {group}: {line[:200]}"
        seen[group][kind] += 1
    missing = sorted({*error_types, OVERRUN_METRIC} - set(seen[job_group]) - set(seen[migration_group]))
    assert missing == [], f"no real-service test made the package log {missing}"
    assert seen[migration_group]["MigrationError"] > 0, (
        "the migration function's MigrationError lines are counted on its own log group")
