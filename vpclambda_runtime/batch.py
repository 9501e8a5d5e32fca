"""A batch of SQS records, processed one by one, answered with a partial batch response.

Lambda's event source mapping (with ``ReportBatchItemFailures``, as the component sets it) deletes
from the queue every record of a batch except those the function names in
``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}``; those come back after the
queue's visibility timeout, and a record failed ``max_receive_count`` times moves to the queue's
dead-letter queue. So one poisoned record comes back alone, and the others are not run twice.

``process_batch`` runs the job's function once per record and answers that response:

* a record whose function raises (any ``Exception``) is reported failed, with one ``record_failed``
  log line naming its error type as the invocation's failure line does (the library's type with its
  dependency and phase, or ``JobError`` and the exception's own class);
* before each record, what is left of the invocation's time budget is checked: when no more than
  ``reserve_seconds`` is left, that record and every one after it are reported failed without
  being started (``records_not_started``), so they come back instead of being lost to Lambda's
  timeout, which would return the whole batch;
* in a FIFO queue the records after a failed one are reported failed too, unstarted, so their
  order is kept;
* an event that is not an SQS batch raises ``EventError``: the whole batch comes back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .budget import Budget
from .errors import EventError, RecordError
from .logs import failure_fields

BATCH_RESERVE_S = 1.0
"""Seconds of the budget kept when the next record is not started: to log and answer Lambda."""
SQS_EVENT_SOURCE = "aws:sqs"
FIFO_SUFFIX = ".fifo"


@dataclass(frozen=True)
class QueueRecord:
    """One SQS record of the batch."""

    message_id: str
    body: str
    receive_count: int
    """How many times the queue has delivered the message, this time included."""
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_attributes: Mapping[str, Any] = field(default_factory=dict)
    source_arn: str = ""

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON raises ``RecordError`` (the record fails)."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise RecordError(f"record {self.message_id}: the body is not JSON ({exc})") from None


def records_of(event: Any) -> list[QueueRecord]:
    """The event's records, or ``EventError`` when it is not an SQS batch."""
    if not isinstance(event, Mapping) or not isinstance(event.get("Records"), list):
        raise EventError("the event is not an SQS batch (no Records list); is the function run by its queue?")
    found = []
    for index, record in enumerate(event["Records"]):
        if not isinstance(record, Mapping) or record.get("eventSource") != SQS_EVENT_SOURCE:
            raise EventError(f"record {index} is not an SQS record (eventSource "
                             f"{record.get('eventSource') if isinstance(record, Mapping) else None!r})")
        message_id = record.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            raise EventError(f"record {index} has no messageId: its failure could not be reported")
        given = record.get("attributes")
        attributes: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        try:
            receive_count = int(attributes.get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError):
            receive_count = 1
        found.append(QueueRecord(message_id, str(record.get("body") or ""), receive_count, dict(attributes),
                                 dict(record.get("messageAttributes") or {}), str(record.get("eventSourceARN") or "")))
    return found


def _failure_fields(record: QueueRecord, exc: Exception) -> dict[str, Any]:
    """The failure line's fields (``logs.failure_fields``: the library's error type, or ``JobError``
    with the exception's own class), and the record's."""
    fields = failure_fields(exc, "record_failed")
    fields["error_message"] = str(fields["error_message"])[:1000]
    return {**fields, "message_id": record.message_id, "receive_count": record.receive_count}


def process(event: Any, handle: Callable[[QueueRecord], Any], budget: Budget, log: logging.Logger,
            reserve_seconds: float = BATCH_RESERVE_S) -> dict[str, list[dict[str, str]]]:
    """Run ``handle`` on each record within ``budget``; the partial batch response."""
    records = records_of(event)
    failed: list[str] = []
    not_started: list[str] = []
    for index, record in enumerate(records):
        if budget.remaining() <= reserve_seconds:
            not_started = [r.message_id for r in records[index:]]
            log.warning("records not started: the time budget is spent", extra={
                "event": "records_not_started", "records": len(not_started), "message_ids": not_started,
                "remaining_s": round(budget.remaining(), 3)})
            break
        try:
            handle(record)
        except Exception as exc:
            failed.append(record.message_id)
            log.warning("record failed", extra=_failure_fields(record, exc))
            if record.source_arn.endswith(FIFO_SUFFIX):
                not_started = [r.message_id for r in records[index + 1:]]
                if not_started:
                    log.warning("records not started: a FIFO queue keeps the order after a failure", extra={
                        "event": "records_not_started", "records": len(not_started), "message_ids": not_started})
                break
    reported = failed + not_started
    log.info("batch processed", extra={"event": "batch_processed", "records": len(records),
                                       "succeeded": len(records) - len(reported), "failed": len(failed),
                                       "not_started": len(not_started)})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in reported]}
