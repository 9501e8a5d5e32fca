"""What a job's handler calls: one invocation's time budget and failure log line, the database
connection the execution environment keeps, streaming reads, and the notification.

A handler wraps its work in ``with invocation(context):``; inside it, ``stream``, ``query``,
``execute`` and ``notify`` run within the invocation's time budget and fail with the typed
errors of ``errors``. Nothing is done at import: the settings, the secret and the connection
are read or opened on first use and kept for the warm invocations that follow.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .batch import BATCH_RESERVE_S, QueueRecord, process
from .budget import Budget
from .database import FETCH_BATCH_ROWS, PUBLISH_RESERVE_S, query_rows, stream_batches
from .database import execute as execute_statement
from .db_connection import DeadlineConnection
from .errors import DatabaseQueryError, DatabaseTimeoutError, DatabaseUnreachableError
from .logs import bind_request, logged_failure
from .logs import get_logger as _get_logger
from .runtime import get_runtime
from .settings import Settings
from .sns import publish
from .watchdog import watched

BROKEN_CONNECTION = (DatabaseUnreachableError, DatabaseTimeoutError, DatabaseQueryError)
"""Failures after which the kept connection is not reused: the next use opens a new one."""


@dataclass(frozen=True)
class Invocation:
    """The invocation in progress: its time budget and request id."""

    budget: Budget
    request_id: str | None
    started: float
    """``time.monotonic()`` when the invocation started."""

    def elapsed_ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000, 1)


_current: ContextVar[Invocation | None] = ContextVar("vpclambda_runtime_invocation", default=None)


def get_logger() -> logging.Logger:
    """The function's logger: one JSON object per line, with the request id; pass fields as
    ``extra={"event": ..., ...}``. Lambda's JSON log format is used when the function has it."""
    return _get_logger()


@contextmanager
def invocation(context: Any, *, failure_message: str = "invocation failed",
               failure_event: str = "invocation_failed") -> Iterator[Invocation]:
    """Run the handler's work as one invocation: a time budget from Lambda's remaining time (every
    wait below ends a safety margin before the timeout), the request id on every log line, a
    watchdog that logs the phase in progress should anything outlive the budget, and one
    structured line (``event``, ``error_type``, ``error_message``, ``dependency``, ``phase``) for
    a failure, which then propagates to Lambda."""
    started = time.monotonic()
    budget = Budget.for_invocation(context)
    request_id = bind_request(context)
    current = Invocation(budget=budget, request_id=request_id, started=started)
    token = _current.set(current)
    try:
        with watched(budget, request_id), logged_failure(_get_logger(), failure_message, failure_event):
            yield current
    finally:
        _current.reset(token)


def current_invocation() -> Invocation:
    """The invocation in progress; calling a helper outside ``with invocation(context):`` is a
    programming error."""
    found = _current.get()
    if found is None:
        raise RuntimeError("vpclambda_runtime: call this inside `with invocation(context):` in the handler")
    return found


def get_settings() -> Settings:
    """The function's configuration, read from the environment the component set (the database,
    the secret, the topic, the timeouts) and checked once; a ``ConfigurationError`` names the
    variable."""
    return get_runtime().settings


def connection() -> DeadlineConnection:
    """The execution environment's database connection: verified TLS against the partition's RDS CA
    bundle, credentials from the RDS-managed secret (cached, read again once if the database
    refuses them after a rotation), reused while the server still answers a ping. Waits end by the
    invocation's budget with ``DatabaseUnreachableError``, ``DatabaseTimeoutError``,
    ``DatabaseTLSError``, ``DatabaseAuthenticationError`` or ``DatabaseBusyError``."""
    return get_runtime().db.acquire(current_invocation().budget)


def stream(sql: str, args: Any = None, *, batch_rows: int = FETCH_BATCH_ROWS,
           reserve_seconds: float = PUBLISH_RESERVE_S) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a query in lists of at most ``batch_rows``, streamed (an unbuffered cursor:
    memory stays flat whatever the size of the result). The reads end by the invocation's
    budget less ``reserve_seconds``, kept for what follows (a notification). A missing table
    raises ``TableMissingError``; a lost or silent server, ``DatabaseUnreachableError`` or
    ``DatabaseTimeoutError``, after which the connection is not reused. Stopping early is
    allowed: the rest of the result is not read, and the connection is replaced."""
    budget = current_invocation().budget
    runtime = get_runtime()
    conn = runtime.db.acquire(budget)
    try:
        yield from stream_batches(conn, runtime.settings, budget, sql, args, batch_rows=batch_rows,
                                  reserve=reserve_seconds)
    except (*BROKEN_CONNECTION, GeneratorExit):
        # An unread rest of an unbuffered result would have to be drained first: start afresh.
        runtime.db.discard()
        raise


def query(sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    """All rows of a small query (read into memory at once), within the invocation's budget."""
    return _on_connection(lambda conn, settings, phase: query_rows(conn, settings, phase, sql, args))


def execute(sql: str, args: Any = None) -> int:
    """Run one statement (autocommit) within the invocation's budget; returns the affected row count."""
    return _on_connection(lambda conn, settings, phase: execute_statement(conn, settings, phase, sql, args))


def _on_connection(work: Any) -> Any:
    budget = current_invocation().budget
    runtime = get_runtime()
    conn = runtime.db.acquire(budget)
    try:
        with budget.phase("database", "query") as phase:
            return work(conn, runtime.settings, phase)
    except BROKEN_CONNECTION:
        runtime.db.discard()
        raise


def notify(message: Mapping[str, Any] | str, *, subject: str | None = None, email: str | None = None) -> str:
    """Publish one notification to the component's topic within what is left of the budget and
    return SNS's MessageId. ``message`` (a JSON-serialisable mapping, sent as sorted JSON, or a
    text) is what SQS, Lambda and HTTP subscribers receive; ``email`` is the text for email
    subscribers (default: the same); ``subject`` at most 100 characters. A message SNS would
    refuse (over 256 KB) raises ``NotificationError`` before any call."""
    default = message if isinstance(message, str) else json.dumps(dict(message), sort_keys=True)
    texts = {"default": default, **({"email": email} if email is not None else {})}
    return publish(get_runtime().settings, texts, subject[:100] if subject else None, current_invocation().budget)


def process_batch(event: Any, handle: Callable[[QueueRecord], Any], *,
                  reserve_seconds: float = BATCH_RESERVE_S) -> dict[str, list[dict[str, str]]]:
    """For a job run by a queue: call ``handle(record)`` for each SQS record of the batch (a
    ``QueueRecord``: ``message_id``, ``body``, ``json()``, ``receive_count``) and return the partial batch
    response. A record whose ``handle`` raises is reported failed (one ``record_failed`` line with its error
    type) and comes back alone; when no more than ``reserve_seconds`` of the time budget is left, the records
    not yet started are reported failed too, so none is lost; after a failure in a FIFO queue, the rest. An
    event that is not an SQS batch raises ``EventError``."""
    return process(event, handle, current_invocation().budget, _get_logger(), reserve_seconds)

