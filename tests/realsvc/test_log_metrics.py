"""The log metric filters the component creates, run against the JSON log lines the real
package wrote during the real-service tests (collected in `log_book`; this file runs last):
each error type is counted by its own filter and by no other."""

from __future__ import annotations

import json
from collections import Counter

from components.model.log_metrics import OVERRUN_METRIC, LogMetric, handler_error_types
from components.testing.pulumi_mocks import Registered
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


def test_each_error_type_is_counted_by_its_filter_and_no_other(log_book: list[str], stack_model) -> None:
    filters: list[Registered] = stack_model.run.of_type(FILTER)
    metrics = [LogMetric(f.inputs["metricTransformation"]["name"], f.inputs["pattern"], "") for f in filters]
    error_types = [error_type.__name__ for error_type in handler_error_types()]
    assert {m.metric for m in metrics} == {*error_types, OVERRUN_METRIC}
    assert len(log_book) > 200, "the real-service tests ran before this one"

    seen: Counter[str] = Counter()
    for line in log_book:
        kind = failure_type(line)
        counted = counted_by(metrics, line)
        if kind is None:
            assert counted == [], f"a line that is not a failure is counted: {line[:200]}"
            continue
        assert counted == [kind], f"{kind} counted by {counted}: {line[:200]}"
        seen[kind] += 1
    missing = sorted({*error_types, OVERRUN_METRIC} - set(seen))
    assert missing == [], f"no real-service test made the package log {missing}"
