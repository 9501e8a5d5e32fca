"""Jobs the real-service tests run inside a copy of the package, as ``cases.handler``.

Each case is one way a job uses the runtime library, chosen by the event's ``case``; the
rest of the event is the case's parameters. A case that must pause at a precise point (so
that the test can restart or freeze the database there) creates the event's ``ready`` file
and waits for the test to create its ``go`` file.

Names the runtime library gained later (``transaction``) are imported inside the cases that
use them, so that every other case also runs against a library without them.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from vpclambda_runtime import (
    connection,
    current_invocation,
    execute,
    get_logger,
    invocation,
    notify,
    query,
    stream,
)

SIGNAL_WAIT_S = 60.0
"""The longest a case waits for the test's signal: an upper bound, never a pace."""

UNANSWERED_HOST = "db.unanswered.test"
"""A host name whose look-up never answers in this package (see ``_unanswered_lookups``)."""


def _wait_for(path: str) -> None:
    deadline = time.monotonic() + SIGNAL_WAIT_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test never created {path}")
        time.sleep(0.01)


def _pause(event: dict[str, Any]) -> None:
    """Tell the test this point is reached, and wait until it says go on."""
    Path(event["ready"]).touch()
    _wait_for(event["go"])


# ------------------------------------------------------------------ streams and writes


def mark_while_streaming(event: dict[str, Any]) -> dict[str, Any]:
    """Stream a table and mark each batch as read: the common read-and-mark job."""
    rows = 0
    for batch in stream("SELECT id FROM employees ORDER BY id", batch_rows=event.get("batch_rows", 100)):
        execute("UPDATE employees SET department = 'read' WHERE id BETWEEN %s AND %s", (batch[0][0], batch[-1][0]))
        rows += len(batch)
    return {"rows": rows}


def raw_statement_during_stream(event: dict[str, Any]) -> dict[str, Any]:
    """Through the raw connection: a second statement while an unbuffered result is unread."""
    import pymysql.cursors

    conn = connection()
    streaming = conn.cursor(pymysql.cursors.SSCursor)
    streaming.execute("SELECT id FROM employees ORDER BY id")
    first = streaming.fetchmany(10)
    with conn.cursor() as other:
        other.execute("SELECT COUNT(*) FROM employees")
        count = other.fetchone()
    rest = streaming.fetchall()
    return {"rows": len(first) + len(rest), "count": count[0] if count else None}


def write_while_streaming_in_transaction(event: dict[str, Any]) -> dict[str, Any]:
    from vpclambda_runtime import transaction

    rows = 0
    with transaction():
        for batch in stream("SELECT id FROM employees ORDER BY id", batch_rows=10):
            execute("UPDATE employees SET department = 'read' WHERE id = %s", (batch[0][0],))
            rows += len(batch)
    return {"rows": rows}


def slow_consumer(event: dict[str, Any]) -> dict[str, Any]:
    """A job that takes its time over every batch of a stream."""
    rows = 0
    for batch in stream("SELECT * FROM employees ORDER BY id", batch_rows=event["batch_rows"]):
        rows += len(batch)
        time.sleep(event["sleep_s"])
    return {"rows": rows}


def count_stream(event: dict[str, Any]) -> dict[str, Any]:
    rows = sum(len(batch) for batch in stream("SELECT * FROM employees"))
    return {"rows": rows}


def stop_stream_early(event: dict[str, Any]) -> dict[str, Any]:
    """Read one batch of a stream, then leave it, then write."""
    for batch in stream("SELECT id FROM employees ORDER BY id", batch_rows=10):
        first = batch[0][0]
        break
    affected = execute("UPDATE employees SET department = 'first' WHERE id = %s", (first,))
    return {"first": first, "affected": affected}


# ------------------------------------------------------------------ transactions


def insert(event: dict[str, Any]) -> dict[str, Any]:
    return {"affected": execute("INSERT INTO employees (name) VALUES (%s)", (event["name"],))}


def manual_transaction_across_a_pause(event: dict[str, Any]) -> dict[str, Any]:
    """START TRANSACTION, a write, a pause (the test restarts the database), a write, COMMIT."""
    execute("START TRANSACTION")
    execute("INSERT INTO employees (name) VALUES (%s)", (event["names"][0],))
    _pause(event)
    execute("INSERT INTO employees (name) VALUES (%s)", (event["names"][1],))
    execute("COMMIT")
    return {"committed": True}


def fail_inside_manual_transaction(event: dict[str, Any]) -> dict[str, Any]:
    execute("START TRANSACTION")
    execute("INSERT INTO employees (name) VALUES (%s)", (event["name"],))
    raise ValueError("the job failed after its write")


def leave_transaction_open(event: dict[str, Any]) -> dict[str, Any]:
    execute("START TRANSACTION")
    execute("INSERT INTO employees (name) VALUES (%s)", (event["name"],))
    return {"returned": True}


def transaction_commits(event: dict[str, Any]) -> dict[str, Any]:
    from vpclambda_runtime import transaction

    with transaction():
        for name in event["names"]:
            execute("INSERT INTO employees (name) VALUES (%s)", (name,))
        inside = query("SELECT COUNT(*) FROM employees WHERE name IN %s", (event["names"],))[0][0]
    return {"seen_inside": inside}


def transaction_fails(event: dict[str, Any]) -> dict[str, Any]:
    from vpclambda_runtime import transaction

    with transaction():
        execute("INSERT INTO employees (name) VALUES (%s)", (event["name"],))
        raise RuntimeError("the job changed its mind")


def nested_transaction(event: dict[str, Any]) -> dict[str, Any]:
    from vpclambda_runtime import transaction

    with transaction(), transaction():
        execute("INSERT INTO employees (name) VALUES (%s)", (event["name"],))
    return {}


# ------------------------------------------------------------------ statements past their budget


def update_name(event: dict[str, Any]) -> dict[str, Any]:
    """One UPDATE of one row; ``sleep_s`` makes the server take that long over it."""
    sql = "UPDATE employees SET name = %s WHERE id = %s"
    args: tuple[Any, ...] = (event["name"], event["id"])
    if event.get("sleep_s"):
        sql += " AND SLEEP(%s) = 0"
        args += (event["sleep_s"],)
    return {"affected": execute(sql, args)}


# ------------------------------------------------------------------ notifications and untyped failures


def notify_row_values(event: dict[str, Any]) -> dict[str, Any]:
    """What database rows carry, in a notification."""
    message = {"amount": Decimal("1234.50"), "hired_on": date(2020, 1, 2),
               "updated_at": datetime(2020, 1, 2, 3, 4, 5, 600000), "raw": b"\x00\xffab", "name": "Ada"}
    return {"message_id": notify(message, subject="row values")}


def notify_message(event: dict[str, Any]) -> dict[str, Any]:
    """``message`` by kind: values JSON cannot carry."""
    messages: dict[str, Any] = {
        "set": {"tags": {"a", "b"}},
        "lone_surrogate": {"name": "half a pair \ud800"},
        "nan": {"ratio": float("nan")},
    }
    return {"message_id": notify(messages[event["kind"]])}


def notify_subject(event: dict[str, Any]) -> dict[str, Any]:
    return {"message_id": notify({"ok": True}, subject=event["subject"])}


def raise_plain(event: dict[str, Any]) -> dict[str, Any]:
    raise LookupError("a failure of the job's own code")


def bad_query_arguments(event: dict[str, Any]) -> dict[str, Any]:
    """A query whose named argument is missing: a mistake PyMySQL reports as a KeyError."""
    rows = sum(len(batch) for batch in stream("SELECT * FROM employees WHERE id = %(id)s", {"other": 1}))
    return {"rows": rows}


# ------------------------------------------------------------------ name look-ups


def missing_table(event: dict[str, Any]) -> dict[str, Any]:
    """One statement on a table that does not exist, through ``query``, ``execute`` or ``stream``."""
    sql = {"query": "SELECT * FROM nowhere", "execute": "UPDATE nowhere SET x = 1",
           "stream": "SELECT * FROM nowhere"}[event["through"]]
    if event["through"] == "query":
        query(sql)
    elif event["through"] == "execute":
        execute(sql)
    else:
        list(stream(sql))
    return {}


def _unanswered_lookups() -> None:
    """Make look-ups of ``UNANSWERED_HOST`` never answer, as a resolver that drops queries does
    (once per process; asked for by the event's ``unanswered_lookups``)."""
    if getattr(socket.getaddrinfo, "unanswered", False):
        return
    original: Callable[..., Any] = socket.getaddrinfo
    never = threading.Event()

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == UNANSWERED_HOST:
            never.wait()
        return original(host, *args, **kwargs)

    getaddrinfo.unanswered = True  # type: ignore[attr-defined]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def lookup_threads(event: dict[str, Any]) -> dict[str, Any]:
    return {"lookup_threads": sum(1 for t in threading.enumerate() if "lookup" in t.name)}


def connect_only(event: dict[str, Any]) -> dict[str, Any]:
    connection()
    return {}


# ------------------------------------------------------------------ the application user


def whoami(event: dict[str, Any]) -> dict[str, Any]:
    """Who the server says the job is, and over what."""
    ((user,),) = query("SELECT CURRENT_USER()")
    ((_, cipher),) = query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    return {"user": user, "cipher": cipher}


def run_statement(event: dict[str, Any]) -> dict[str, Any]:
    return {"affected": execute(event["sql"])}


def forged_login(event: dict[str, Any]) -> dict[str, Any]:
    """Log in with a token that is wrong in one way (``forge``), made by the function with its
    own credentials: signed for another user, another host, 16 minutes ago, or no token at all
    (the master password sent by mistake)."""
    import datetime
    from unittest import mock

    from vpclambda_runtime.credentials import sign_token
    from vpclambda_runtime.runtime import get_runtime

    runtime = get_runtime()
    settings = runtime.settings
    forge = event["forge"]

    def forged(_: Any) -> str:
        import dataclasses

        if forge == "password":
            return str(event["password"])
        if forge == "user":
            return sign_token(dataclasses.replace(settings, db_user=event["user"]))
        if forge == "host":
            return sign_token(dataclasses.replace(settings, db_host=event["host"]))
        past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=16)
        with mock.patch("botocore.auth.get_current_datetime", return_value=past):
            return sign_token(settings)

    signer = runtime.secrets._sign  # type: ignore[union-attr]
    runtime.secrets._sign = forged  # type: ignore[union-attr]
    try:
        query("SELECT 1")
    finally:
        runtime.secrets._sign = signer  # type: ignore[union-attr]
    return {}


def read_secret(event: dict[str, Any]) -> dict[str, Any]:
    """Ask Secrets Manager for the master secret, as a job would try to."""
    from vpclambda_runtime import aws_clients
    from vpclambda_runtime.errors import SecretError
    from vpclambda_runtime.runtime import get_runtime

    budget = current_invocation().budget
    settings = get_runtime().settings
    with budget.phase("secretsmanager", "secret") as phase, aws_clients.aws_call(
            "secretsmanager", f"GetSecretValue for {event['secret_arn']}", settings, phase, SecretError) as client:
        client.get_secret_value(SecretId=event["secret_arn"])
    return {"read": True}


CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    name: case for name, case in globals().items()
    if callable(case) and not name.startswith("_") and getattr(case, "__module__", None) == __name__
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    case = CASES[event["case"]]
    if event.get("unanswered_lookups"):
        _unanswered_lookups()
    with invocation(context):
        result = case(event)
    get_logger().info("case done", extra={"event": "case_done", "case": event["case"]})
    return {"statusCode": 200, "body": json.dumps(result, default=str)}
