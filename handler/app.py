"""Lambda entry point ``app.handler``: read ``employees`` and announce the row count on SNS.

The function runs in private subnets without NAT: it reaches RDS over the VPC and
Secrets Manager and SNS through interface endpoints. Per invocation it

1. reuses (or opens) one verified-TLS MySQL connection,
2. streams every row of ``employees`` and counts them, logging a summary (never rows),
3. publishes one notification with ``MessageStructure='json'`` stating the count,
4. returns ``{"statusCode": 200, "body": "<json>"}`` whose body has ``employees`` and
   ``message_id``.

Any failure raises one of the exceptions in ``errors`` with a message naming what could
not be reached or used; Lambda reports it as the invocation's error. Every wait is bounded
by the invocation's time budget (``budget``), so a dependency that hangs ends the
invocation with its typed error a safety margin before Lambda's timeout, and the watchdog
(``watchdog``) logs the phase in progress should anything still be running past the budget.
"""

from __future__ import annotations

import json
import time
from typing import Any

from budget import Budget
from database import EMPLOYEES_TABLE, read_employees
from errors import DatabaseQueryError, DatabaseTimeoutError, DatabaseUnreachableError
from logs import bind_request, get_logger, logged_failure
from notify import build_message, publish, subject_for
from runtime import get_runtime
from watchdog import watched


def handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    budget = Budget.for_invocation(context)
    request_id = bind_request(context)
    log = get_logger()
    with watched(budget, request_id), logged_failure(log, "invocation failed", "invocation_failed"):
        rt = get_runtime()
        conn = rt.db.acquire(budget)
        try:
            summary = read_employees(conn, rt.settings, budget)
        except (DatabaseUnreachableError, DatabaseTimeoutError, DatabaseQueryError):
            rt.db.discard()
            raise
        log.info(
            "employees read",
            extra={
                "event": "employees_read",
                "employees": summary.rows,
                "batches": summary.batches,
                "duration_ms": summary.duration_ms,
            },
        )
        message = build_message(
            employees=summary.rows, database=rt.settings.db_name, table=EMPLOYEES_TABLE, request_id=request_id
        )
        message_id = publish(rt.settings, message, subject_for(summary.rows, EMPLOYEES_TABLE), budget)
        log.info(
            "notification published",
            extra={"event": "notification_published", "message_id": message_id, "topic_arn": rt.settings.topic_arn},
        )
    body = {
        "employees": summary.rows,
        "message_id": message_id,
        "database": rt.settings.db_name,
        "table": EMPLOYEES_TABLE,
        "request_id": request_id,
    }
    log.info(
        "invocation succeeded",
        extra={"event": "invocation_succeeded", "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return {"statusCode": 200, "body": json.dumps(body)}
