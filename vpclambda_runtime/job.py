"""What a job's handler calls: one invocation's time budget and failure log line, the database
connections the execution environment keeps, streaming reads, transactions, and the notification.

A handler wraps its work in ``with invocation(context):``; inside it, ``stream``, ``query``,
``execute``, ``transaction`` and ``notify`` run within the invocation's time budget and fail
with the typed errors of ``errors``. Nothing is done at import: the settings, the secret and
the connection are read or opened on first use and kept for the warm invocations that follow.
What is guaranteed about writes (what commits, what rolls back, what "outcome unknown" means)
is written out in ``docs/function.md``, "What is guaranteed".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import sns
from .batch import BATCH_RESERVE_S, QueueRecord, process
from .budget import Budget, Phase
from .database import FETCH_BATCH_ROWS, PUBLISH_RESERVE_S, ROLLED_BACK, Ending, query_rows, stream_batches
from .database import execute as execute_statement
from .db_connection import DeadlineConnection
from .errors import HandlerError, TransactionError, TransactionLostError
from .logs import bind_request, logged_failure
from .logs import get_logger as _get_logger
from .runtime import get_runtime, peek_runtime
from .settings import Settings
from .watchdog import watched

T = TypeVar("T")
ROLLED_BACK_NOTE = "the open transaction was rolled back: none of its writes were committed"


@dataclass(frozen=True)
class Invocation:
    """The invocation in progress: its time budget and request id."""

    budget: Budget
    request_id: str | None
    started: float
    """``time.monotonic()`` when the invocation started."""
    failure_fields: dict[str, Any] = field(default_factory=dict, repr=False)
    """Fields the failure line adds (``transaction``: ``rolled back``)."""

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
    structured line (``event``, ``error_type``, ``error_class``, ``error_message``, ``dependency``,
    ``phase``, and ``outcome`` / ``transaction`` when they apply) for any exception that escapes
    the job, which then propagates to Lambda unchanged (an exception that is not one of the typed
    errors is labelled ``JobError`` on the line, its own class in ``error_class``). At the end, a
    transaction left open is rolled back: a failure then says so, and a job that returned with one
    open fails with ``TransactionError``."""
    started = time.monotonic()
    budget = Budget.for_invocation(context)
    request_id = bind_request(context)
    current = Invocation(budget=budget, request_id=request_id, started=started)
    token = _current.set(current)
    try:
        with watched(budget, request_id), logged_failure(_get_logger(), failure_message, failure_event,
                                                          budget.phase_of, lambda: current.failure_fields):
            try:
                yield current
            except BaseException as exc:
                ending = _end_database_work(budget)
                if ending.rolled_back and "transaction" not in current.failure_fields:
                    _note_rolled_back(exc, current)
                raise
            ending = _end_database_work(budget)
            if ending.lost is not None:
                current.failure_fields["transaction"] = ROLLED_BACK
                raise TransactionLostError(ending.lost, dependency="database", phase="query", outcome=ROLLED_BACK)
            if ending.rolled_back:
                current.failure_fields["transaction"] = ROLLED_BACK
                raise TransactionError(
                    "the job ended with a transaction still open: it was rolled back, none of its writes were "
                    "committed; commit it before the job returns, or use `with transaction():`",
                    dependency="database", phase="rollback", outcome=ROLLED_BACK)
    finally:
        _current.reset(token)


def _end_database_work(budget: Budget) -> Ending:
    runtime = peek_runtime()
    return runtime.db.end_invocation(budget) if runtime is not None else Ending(rolled_back=False, lost=None)


def _note_rolled_back(exc: BaseException, current: Invocation) -> None:
    """Say in the failure that its transaction was rolled back (Lambda reports the message)."""
    current.failure_fields["transaction"] = ROLLED_BACK
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}; {ROLLED_BACK_NOTE}",)
    else:
        exc.add_note(ROLLED_BACK_NOTE)


def current_invocation() -> Invocation:
    """The invocation in progress; calling a helper outside ``with invocation(context):`` is a
    programming error."""
    found = _current.get()
    if found is None:
        raise RuntimeError("vpclambda_runtime: call this inside `with invocation(context):` in the handler")
    return found


def get_settings() -> Settings:
    """The function's configuration, read from the environment the component set (the database and
    how to log in to it, the topic, the timeouts) and checked once; a ``ConfigurationError`` names
    the variable."""
    return get_runtime().settings


def connection() -> DeadlineConnection:
    """The execution environment's database connection (inside a transaction, the transaction's):
    verified TLS against the partition's RDS CA bundle (with a proxy, the Amazon roots), logged in
    as the application user with an IAM token the function signs for each new connection (the
    migration: as the master user, from the RDS-managed secret, cached, read again once if the
    database refuses it, and during a rotation its pending version once), reused while the server
    still answers a ping. Its waits end by the invocation's budget with
    ``DatabaseUnreachableError``, ``DatabaseTimeoutError``, ``DatabaseTLSError``,
    ``IamAuthenticationError`` (a refused token), ``DatabaseAuthenticationError`` or
    ``DatabaseBusyError``; a second statement while an unbuffered result of it is unread raises
    ``ConnectionBusyError``."""
    budget = current_invocation().budget
    runtime = get_runtime()
    conn = runtime.db.acquire(budget)
    conn.bind_until(budget.deadline, runtime.settings.db_read_timeout)
    return conn


def stream(sql: str, args: Any = None, *, batch_rows: int = FETCH_BATCH_ROWS,
           reserve_seconds: float = PUBLISH_RESERVE_S) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a query in lists of at most ``batch_rows``, streamed (an unbuffered cursor:
    memory stays flat whatever the size of the result). The stream's connection is its own until
    the stream ends: ``query`` and ``execute`` meanwhile run on another (inside a transaction, on
    the transaction's, where they raise ``ConnectionBusyError`` while its stream is unread). The
    reads end by the invocation's budget less ``reserve_seconds``, kept for what follows (a
    notification), the budget checked between batches too. A missing table raises
    ``TableMissingError``; a lost or silent server, ``DatabaseUnreachableError`` or
    ``DatabaseTimeoutError``, after which the connection is not reused. Stopping early is
    allowed: the rest of the result is not read, and the connection is replaced (inside a
    transaction, read to its end)."""
    budget = current_invocation().budget
    runtime = get_runtime()
    keeper = runtime.db
    conn = keeper.start_stream(budget, sql)
    in_transaction = conn.in_transaction
    complete = False
    try:
        yield from stream_batches(conn, runtime.settings, budget, sql, args, batch_rows=batch_rows,
                                  reserve=reserve_seconds)
        complete = True
    except HandlerError as exc:
        replacement = keeper.failed(conn, exc, in_transaction=in_transaction, statement=sql)
        if replacement is exc:
            raise
        raise replacement from exc
    finally:
        keeper.end_stream(conn, complete=complete)


def query(sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    """All rows of a small query (read into memory at once), within the invocation's budget. A
    missing table raises ``TableMissingError``, as in ``execute`` and ``stream``."""
    return _on_connection(sql, lambda conn, settings, phase: query_rows(conn, settings, phase, sql, args))


def execute(sql: str, args: Any = None) -> int:
    """Run one statement within the invocation's budget (autocommit, or inside the open
    transaction); returns the affected row count. A missing table raises ``TableMissingError``.
    The statement is bounded on the server too: a lock wait fails there (``DatabaseTimeoutError``,
    not applied), and one still running at its deadline is stopped with KILL QUERY; when that
    cannot be confirmed the error says "outcome unknown"."""
    return _on_connection(sql, lambda conn, settings, phase: execute_statement(conn, settings, phase, sql, args))


def _on_connection(sql: str, work: Callable[[DeadlineConnection, Settings, Phase], T],
                   phase_name: str = "query") -> T:
    budget = current_invocation().budget
    runtime = get_runtime()
    conn = runtime.db.acquire(budget)
    in_transaction = conn.in_transaction
    try:
        with budget.phase("database", phase_name) as phase:
            return work(conn, runtime.settings, phase)
    except HandlerError as exc:
        replacement = runtime.db.failed(conn, exc, in_transaction=in_transaction, statement=sql)
        if replacement is exc:
            raise
        raise replacement from exc


@contextmanager
def transaction() -> Iterator[None]:
    """A database transaction around the block: ``query``, ``execute`` and ``stream`` inside it run
    on the transaction's connection; it commits when the block ends normally and rolls back when
    the block raises (the exception, told that its writes were rolled back, propagates). Raises
    ``TransactionError`` when a transaction is already open, ``TransactionLostError`` when the
    connection holding it was lost (the server rolled it back; nothing else runs in the
    invocation), and ``DatabaseTimeoutError`` / ``DatabaseUnreachableError`` saying "outcome
    unknown" when the COMMIT was sent but its answer never came."""
    current = current_invocation()
    runtime = get_runtime()
    if runtime.db.in_transaction():
        raise TransactionError("transaction() inside another transaction: nested transactions are not supported; "
                               "commit or roll back the open one first", dependency="database", phase="query")
    execute("START TRANSACTION")
    try:
        yield
    except BaseException as exc:
        if runtime.db.rollback(current.budget):
            _note_rolled_back(exc, current)
        raise
    _on_connection("COMMIT", lambda conn, settings, phase: execute_statement(conn, settings, phase, "COMMIT"),
                   phase_name="commit")


def notify(message: Mapping[str, Any] | str, *, subject: str | None = None, email: str | None = None) -> str:
    """Publish one notification to the component's topic within what is left of the budget and
    return SNS's MessageId. ``message`` (a mapping, sent as sorted JSON, or a text) is what SQS,
    Lambda and HTTP subscribers receive; what database rows carry is written as: ``Decimal`` its
    exact digits as a string, ``datetime`` / ``date`` / ``time`` ISO 8601, ``timedelta`` seconds,
    ``bytes`` base64. ``email`` is the text for email subscribers (default: the same);
    ``subject`` at most 100 characters, without line breaks or control characters. Whatever SNS
    or JSON would refuse (another type, NaN, text that is not valid Unicode, over 256 KB) raises
    ``NotificationError`` before any call."""
    default = message if isinstance(message, str) else sns.to_json(message)
    texts = {"default": default, **({"email": email} if email is not None else {})}
    return sns.publish(get_runtime().settings, texts, subject or None, current_invocation().budget)


def process_batch(event: Any, handle: Callable[[QueueRecord], Any], *,
                  reserve_seconds: float = BATCH_RESERVE_S) -> dict[str, list[dict[str, str]]]:
    """For a job run by a queue: call ``handle(record)`` for each SQS record of the batch (a
    ``QueueRecord``: ``message_id``, ``body``, ``json()``, ``receive_count``) and return the partial batch
    response. A record whose ``handle`` raises is reported failed (one ``record_failed`` line with its error
    type) and comes back alone; when no more than ``reserve_seconds`` of the time budget is left, the records
    not yet started are reported failed too, so none is lost; after a failure in a FIFO queue, the rest. An
    event that is not an SQS batch raises ``EventError``."""
    return process(event, handle, current_invocation().budget, _get_logger(), reserve_seconds)

