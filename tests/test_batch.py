"""The runtime library's queue helper (`process_batch`): each record run once, the partial batch
response naming exactly the records that failed or were not started, typed errors and the time
budget. Pure: a fake clock and a captured logger, no queue (the rehearsal runs it against moto's
SQS, tests/test_local_rehearsal.py)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from vpclambda_runtime import EventError, QueueRecord, RecordError, invocation, process_batch
from vpclambda_runtime.batch import process
from vpclambda_runtime.budget import Budget
from vpclambda_runtime.errors import DatabaseTimeoutError

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"


def sqs_event(*bodies: str, source: str = QUEUE_ARN) -> dict[str, Any]:
    return {"Records": [{
        "messageId": f"m{index}", "receiptHandle": f"h{index}", "body": body, "eventSource": "aws:sqs",
        "eventSourceARN": source, "awsRegion": "us-east-1", "attributes": {"ApproximateReceiveCount": "2"},
        "messageAttributes": {},
    } for index, body in enumerate(bodies)]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [vars(r) for r in self.records if getattr(r, "event", None) == name]


@pytest.fixture
def log() -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(f"test-batch-{id(object())}")
    lines = Lines()
    logger.addHandler(lines)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, lines


def test_every_record_succeeds_and_none_is_reported(log: tuple[logging.Logger, Lines]) -> None:
    logger, lines = log
    seen: list[tuple[str, Any, int]] = []
    response = process(sqs_event('{"order": 1}', '{"order": 2}'),
                       lambda r: seen.append((r.message_id, r.json(), r.receive_count)), Budget(30), logger)
    assert response == {"batchItemFailures": []}
    assert seen == [("m0", {"order": 1}, 2), ("m1", {"order": 2}, 2)]
    (summary,) = lines.events("batch_processed")
    assert (summary["records"], summary["succeeded"], summary["failed"], summary["not_started"]) == (2, 2, 0, 0)


def test_a_poisoned_record_alone_is_reported_and_the_others_run(log: tuple[logging.Logger, Lines]) -> None:
    logger, lines = log
    done: list[int] = []
    response = process(sqs_event('{"order": 1}', "not json", '{"order": 3}', '{"order": "x"}'),
                       lambda r: done.append(int(r.json()["order"])), Budget(30), logger)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert done == [1, 3]
    failures = {line["message_id"]: line for line in lines.events("record_failed")}
    assert failures["m1"]["error_type"] == "RecordError"
    assert failures["m1"]["error_message"].startswith("record m1: the body is not JSON")
    assert (failures["m3"]["error_type"], failures["m3"]["error_class"]) == ("JobError", "ValueError")
    assert failures["m3"]["receive_count"] == 2
    assert "dependency" not in failures["m1"] and failures["m1"]["error_class"] == "RecordError"


def test_a_typed_failure_names_its_dependency_and_phase(log: tuple[logging.Logger, Lines]) -> None:
    logger, lines = log
    budget = Budget(30)

    def handle(record: QueueRecord) -> None:
        with budget.phase("database", "query"):
            raise DatabaseTimeoutError("the database did not answer in time")

    assert process(sqs_event("{}"), handle, budget, logger) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    (line,) = lines.events("record_failed")
    assert (line["error_type"], line["dependency"], line["phase"]) == ("DatabaseTimeoutError", "database", "query")


def test_records_left_when_the_budget_runs_out_are_reported_not_lost(log: tuple[logging.Logger, Lines]) -> None:
    logger, lines = log
    clock = Clock()
    budget = Budget(10, clock=clock)  # deadline: 10 s less a 1 s margin
    started: list[str] = []

    def slow(record: QueueRecord) -> None:
        started.append(record.message_id)
        clock.now += 4  # each record takes 4 s

    response = process(sqs_event("a", "b", "c", "d"), slow, budget, logger, reserve_seconds=1.0)
    # After two records 1 s is left, no more than the reserve: c and d are not started.
    assert started == ["m0", "m1"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    (line,) = lines.events("records_not_started")
    assert line["message_ids"] == ["m2", "m3"] and line["records"] == 2
    (summary,) = lines.events("batch_processed")
    assert (summary["succeeded"], summary["failed"], summary["not_started"]) == (2, 0, 2)


def test_a_fifo_queue_keeps_its_order_after_a_failure(log: tuple[logging.Logger, Lines]) -> None:
    logger, _ = log
    started: list[str] = []

    def handle(record: QueueRecord) -> None:
        started.append(record.message_id)
        if record.body == "bad":
            raise RecordError("refused")

    response = process(sqs_event("ok", "bad", "ok", "ok", source=f"{QUEUE_ARN}.fifo"), handle, Budget(30), logger)
    assert started == ["m0", "m1"]
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m1", "m2", "m3"]
    standard = process(sqs_event("ok", "bad", "ok", "ok"), handle, Budget(30), logger)
    assert [f["itemIdentifier"] for f in standard["batchItemFailures"]] == ["m1"], "a standard queue goes on"


@pytest.mark.parametrize(("event", "expected"), [
    ({}, "the event is not an SQS batch"),
    ({"Records": "x"}, "the event is not an SQS batch"),
    ({"Records": [{"eventSource": "aws:sns", "messageId": "m0"}]}, "record 0 is not an SQS record"),
    ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "record 0 has no messageId"),
])
def test_an_event_that_is_not_an_sqs_batch_fails_the_whole_batch(event: Any, expected: str,
                                                                  log: tuple[logging.Logger, Lines]) -> None:
    with pytest.raises(EventError, match=expected):
        process(event, lambda r: None, Budget(30), log[0])


def test_process_batch_runs_inside_the_invocation_and_uses_its_budget() -> None:
    context = SimpleNamespace(aws_request_id="req-1", get_remaining_time_in_millis=lambda: 30_000)
    with invocation(context):
        assert process_batch(sqs_event("{}", "{"), lambda r: r.json()) == {
            "batchItemFailures": [{"itemIdentifier": "m1"}]}
    # 0.5 s left: less than the reserve, so nothing is started.
    short = SimpleNamespace(aws_request_id="req-2", get_remaining_time_in_millis=lambda: 1_000)
    with invocation(short):
        assert process_batch(sqs_event("{}"), lambda r: r.json(), reserve_seconds=0.6) == {
            "batchItemFailures": [{"itemIdentifier": "m0"}]}
    with pytest.raises(RuntimeError, match="inside `with invocation"):
        process_batch(sqs_event("{}"), lambda r: None)
