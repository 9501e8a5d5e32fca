"""Lambda entry point ``app.handler``: read ``employees`` and announce the row count on SNS.

The component's built-in job, and an example of how to write one with the runtime library
(``vpclambda_runtime``): per invocation it streams every row of ``employees`` and counts them
(one batch in memory at a time), logs a summary (never rows), publishes one notification
stating the count, and returns ``{"statusCode": 200, "body": "<json>"}`` whose body has
``employees`` and ``message_id``. Any failure is one of the runtime library's typed errors,
raised within the invocation's time budget.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from vpclambda_runtime import get_logger, get_settings, invocation, notify, stream

EMPLOYEES_TABLE = "employees"
REPORT_KIND = "employees_report"


def report(*, employees: int, database: str, table: str, request_id: str | None,
           generated_at: datetime | None = None) -> tuple[dict[str, Any], str]:
    """The notification: the machine-readable report and the sentence for email subscribers."""
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    document = {"kind": REPORT_KIND, "database": database, "table": table, "employees": employees,
                "request_id": request_id, "generated_at": when}
    return document, f"The {table} table of {database} has {employees} rows ({when}, request {request_id})."


def handler(event: Any, context: Any) -> dict[str, Any]:
    log = get_logger()
    with invocation(context) as run:
        database = get_settings().db_name
        rows = batches = 0
        for batch in stream(f"SELECT * FROM `{EMPLOYEES_TABLE}`"):
            rows += len(batch)
            batches += 1
        log.info("employees read", extra={"event": "employees_read", "employees": rows, "batches": batches,
                                          "duration_ms": run.elapsed_ms()})
        document, sentence = report(employees=rows, database=database, table=EMPLOYEES_TABLE,
                                    request_id=run.request_id)
        message_id = notify(document, subject=f"{EMPLOYEES_TABLE} report: {rows} rows", email=sentence)
        log.info("notification published", extra={"event": "notification_published", "message_id": message_id,
                                                   "topic_arn": get_settings().topic_arn})
    body = {"employees": rows, "message_id": message_id, "database": database, "table": EMPLOYEES_TABLE,
            "request_id": run.request_id}
    log.info("invocation succeeded", extra={"event": "invocation_succeeded", "duration_ms": run.elapsed_ms()})
    return {"statusCode": 200, "body": json.dumps(body)}
