"""The MySQL side: the connections an execution environment keeps, streaming reads, transactions
that are never carried over or left open, bounded waits.

* A connection (``db_connection``: verified TLS, opened in bounded phases, every statement
  bounded on both sides) is kept in module state between invocations of a warm execution
  environment. Before each use it is checked with ``ping`` within ``PING_TIMEOUT_S``; a
  connection the server has closed (restart, failover, idle timeout) or that does not answer
  is replaced by a new one, unless it held an open transaction (below).
* **A stream's connection is busy until the stream ends.** A statement run while a stream
  is being read gets a connection of its own (opened, or one kept idle); inside a
  transaction, where every statement belongs on the transaction's connection, it is refused
  with ``ConnectionBusyError``. After the invocation one connection is kept, the others closed.
* **A transaction is never carried over to another connection.** While a connection is inside
  a transaction (the server's status flag), every statement runs on it. When it is lost (the
  ping or a statement fails with the connection) the server rolls the transaction back: that
  is ``TransactionLostError``, and no statement runs in the rest of the invocation, so that
  nothing after the lost part commits on its own.
* **No transaction outlives its invocation.** At the end of every invocation an open
  transaction is rolled back (the connection closed when that fails, which makes the server
  roll it back); the invocation's failure says so, and a job that returned with one open fails.
* The job logs in as the application user with an IAM token signed for each new connection
  (``credentials.IamTokens``); a refused token is an ``IamAuthenticationError`` at once (signing
  again would not change IAM's answer). With a secret (the migration), a refused password (MySQL
  error 1045) makes the keeper read the secret again once and retry, then, if refused again,
  read the rotation's pending version once.
* Rows are streamed with an unbuffered cursor and ``fetchmany``, so memory stays flat
  whatever the size of the table; every fetch ends by the ``query`` phase's deadline, and the
  budget is checked between batches (a job slow over each batch is stopped too).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pymysql
import pymysql.cursors

from .budget import Budget, Phase
from .credentials import DbCredentials, IamTokens, SecretCache
from .db_connection import (
    DeadlineConnection,
    is_commit,
    kill_query,
    open_connection,
    timed_out,
    wait_error,
)
from .errors import (
    ConnectionBusyError,
    DatabaseAuthenticationError,
    DatabaseTimeoutError,
    HandlerError,
    TransactionLostError,
)
from .logs import get_logger
from .settings import Settings

FETCH_BATCH_ROWS = 1000
PING_TIMEOUT_S = 2.0
"""A healthy server answers a ping in milliseconds; one that does not is replaced."""
PUBLISH_RESERVE_S = 2.0
"""Time the read leaves in the budget for the notification that follows it."""
QUIT_S = 0.2
"""How long closing a connection may wait to hand the server its goodbye (COM_QUIT)."""
ROLLED_BACK = "rolled back"
"""The ``outcome`` of a statement inside a transaction that was lost or rolled back."""


@dataclass(eq=False)
class _Kept:
    conn: DeadlineConnection
    streaming: str | None = None
    """The query of the stream reading from it, while one does."""
    reused_logged: bool = False


@dataclass(frozen=True)
class Ending:
    """What the end of an invocation found: a transaction it rolled back, one lost before."""

    rolled_back: bool
    lost: str | None


class ConnectionKeeper:
    """The execution environment's database connections (one between invocations)."""

    def __init__(self, settings: Settings, secrets: SecretCache | IamTokens) -> None:
        self._settings = settings
        self._secrets = secrets
        self._kept: list[_Kept] = []
        self._lost: str | None = None
        """Why a transaction was lost in this invocation: every further statement is refused."""

    # ---------------------------------------------------------------- handing out connections

    def acquire(self, budget: Budget) -> DeadlineConnection:
        """The connection for a statement: the one inside a transaction if there is one; else a
        kept idle one the server still answers; else a new one."""
        if self._lost is not None:
            raise TransactionLostError(self._lost, dependency="database", phase="query", outcome=ROLLED_BACK)
        holder = self._transaction_holder()
        if holder is not None:
            if holder.streaming is not None or holder.conn.reading:
                raise ConnectionBusyError(
                    f"inside a transaction every statement runs on the transaction's connection, which is still "
                    f"reading a stream (`{_short(holder.streaming or 'an unbuffered query')}`); a connection of its "
                    "own would write outside the transaction. Finish the stream first, or read the rows with query()",
                    dependency="database", phase="query")
            self._check(holder, budget)
            return self._ready(holder.conn, budget)
        for kept in [k for k in self._kept if k.streaming is None and not k.conn.reading]:
            if self._check(kept, budget):
                return self._ready(kept.conn, budget)
        conn = self._connect(budget)
        self._kept.append(_Kept(conn, reused_logged=True))
        return self._ready(conn, budget)

    def start_stream(self, budget: Budget, sql: str) -> DeadlineConnection:
        """A connection for a stream, busy until ``end_stream``."""
        conn = self.acquire(budget)
        kept = self._find(conn)
        assert kept is not None
        kept.streaming = sql
        return conn

    def end_stream(self, conn: DeadlineConnection, *, complete: bool) -> None:
        """The stream on ``conn`` has ended: read to its end (``complete``), or left. A stream left
        inside a transaction is read to its end within its phase (the transaction needs the
        connection); any other left stream's connection is closed rather than drained. Never raises
        (it runs when a stream's generator is closed)."""
        kept = self._find(conn)
        if kept is None:  # forgotten meanwhile (the invocation ended, or the connection broke)
            conn.abandon_result()
            return
        kept.streaming = None
        if complete or (conn.open and not conn.reading):  # read to its end, or ended by the server's error
            return
        if conn.open and conn.in_transaction:
            try:
                conn._result._finish_unbuffered_query()
                return
            except Exception as exc:  # the transaction's connection cannot be used any more
                self._forget(kept)
                self._lose(f"a stream left inside the transaction could not be read to its end ({exc})")
                return
        self._forget(kept)

    def failed(self, conn: DeadlineConnection, exc: HandlerError, *, in_transaction: bool,
               statement: str) -> HandlerError:
        """What a statement's failure leaves: a connection still open is kept (the server answered,
        with an error); a closed one is forgotten, and if it held a transaction the failure becomes
        a ``TransactionLostError`` (but a lost COMMIT keeps its "outcome unknown")."""
        if conn.open:
            return exc
        kept = self._find(conn)
        if kept is not None:
            self._forget(kept)
        if in_transaction and not is_commit(statement):
            return self._lose(f"the connection holding it failed: {exc}", exc)
        return exc

    def in_transaction(self) -> bool:
        return self._transaction_holder() is not None

    def rollback(self, budget: Budget) -> bool:
        """Roll back the open transaction, if any (its connection is closed when that fails, which
        makes the server roll it back); True when there was one."""
        holder = self._transaction_holder()
        if holder is None:
            return False
        conn = holder.conn
        try:
            with budget.cleanup("database", "rollback") as phase:
                conn.bind(phase, max(phase.remaining(), 0.001))
                conn.stop_statement = None
                if holder.streaming is not None or conn.reading:
                    raise ConnectionBusyError("the transaction's connection is still reading a stream")
                conn.rollback()
        except Exception as exc:
            self._forget(holder)
            get_logger().warning("transaction not rolled back; its connection was closed, so the server rolls it back",
                                 extra={"event": "transaction_rollback_failed", "error": str(exc)})
        else:
            get_logger().info("open transaction rolled back", extra={"event": "transaction_rolled_back",
                                                                     "thread_id": conn.thread_id()})
        return True

    def end_invocation(self, budget: Budget) -> Ending:
        """After every invocation: roll back an open transaction, close the connections of streams
        left unfinished and of sessions left without autocommit, keep one connection. Never raises."""
        lost, self._lost = self._lost, None
        rolled_back = False
        try:
            for kept in list(self._kept):
                if kept.streaming is not None or kept.conn.reading or not kept.conn.open:
                    self._forget(kept)
            rolled_back = self.rollback(budget)
            for kept in list(self._kept):
                if not kept.conn.get_autocommit():  # the job turned autocommit off in the session
                    self._forget(kept)
            for kept in self._kept[1:]:
                self._forget(kept)
            for kept in self._kept:
                kept.reused_logged = False
        except Exception as exc:  # nothing may stop the invocation's own answer
            get_logger().warning("cleaning up the database connections failed; closing them",
                                 extra={"event": "db_cleanup_failed", "error": str(exc)})
            for kept in list(self._kept):
                self._forget(kept)
        return Ending(rolled_back=rolled_back, lost=lost)

    def discard(self, conn: DeadlineConnection | None = None) -> None:
        """Close and forget ``conn`` (every connection without one)."""
        for kept in list(self._kept):
            if conn is None or kept.conn is conn:
                self._forget(kept)

    # ---------------------------------------------------------------- inside

    def _ready(self, conn: DeadlineConnection, budget: Budget) -> DeadlineConnection:
        def stop(thread_id: int, deadline: float) -> bool:
            return self._stop_statement(budget, thread_id, deadline)

        conn.stop_statement = stop
        return conn

    def _find(self, conn: DeadlineConnection) -> _Kept | None:
        return next((kept for kept in self._kept if kept.conn is conn), None)

    def _transaction_holder(self) -> _Kept | None:
        return next((kept for kept in self._kept if kept.conn.open and kept.conn.in_transaction), None)

    def _forget(self, kept: _Kept) -> None:
        with contextlib.suppress(ValueError):
            self._kept.remove(kept)
        conn = kept.conn
        conn.abandon_result()
        if conn.open:
            conn.bind_until(time.monotonic() + QUIT_S, QUIT_S)  # time to say goodbye, whatever phase it was in
            with contextlib.suppress(Exception):  # the socket may be unusable already
                conn.close()

    def _lose(self, reason: str, cause: HandlerError | None = None) -> TransactionLostError:
        self._lost = (f"transaction lost: {reason}; the server rolls back everything the transaction wrote, and "
                      "nothing after it committed: no further statement runs in this invocation")
        error = TransactionLostError(self._lost, dependency="database", outcome=ROLLED_BACK)
        if cause is not None:
            error.phase = cause.phase
        return error

    def _check(self, kept: _Kept, budget: Budget) -> bool:
        """Ping a kept connection; False (and forgotten) when the server no longer answers it; a
        ``TransactionLostError`` when it held a transaction."""
        conn = kept.conn
        held_transaction = conn.in_transaction
        log = get_logger()
        with budget.phase("database", "ping", cap=PING_TIMEOUT_S) as phase:
            conn.bind(phase, self._settings.db_read_timeout)
            try:
                conn.ping(reconnect=False)
            except pymysql.err.Error as exc:
                reason = "no answer" if timed_out(exc) else "closed"
                log.warning(
                    "kept database connection is gone; opening a new one" if not held_transaction
                    else "database connection lost inside a transaction",
                    extra={"event": "db_connection_stale", "thread_id": conn.thread_id(), "reason": reason,
                           "error": str(exc), "in_transaction": held_transaction,
                           "waited_ms": round(phase.elapsed() * 1000, 1)},
                )
                self._forget(kept)
                if held_transaction:
                    raise self._lose(f"the connection holding it is gone ({reason}: {exc})") from exc
                return False
        if not kept.reused_logged:
            log.info("reusing database connection", extra={"event": "db_connection_reused",
                                                           "thread_id": conn.thread_id()})
            kept.reused_logged = True
        return True

    def _stop_statement(self, budget: Budget, thread_id: int, deadline: float) -> bool:
        try:
            credentials = self._secrets.cached()  # a new token for the side connection, or the cached secret
        except HandlerError as exc:
            credentials, detail = None, f"no credentials for a side connection: {exc}"
        else:
            detail = "no credentials at hand to open a side connection"
        if credentials is None:
            confirmed = False
        else:
            confirmed, detail = kill_query(self._settings, credentials, budget, thread_id, deadline)
        get_logger().warning(
            "statement past its deadline stopped on the server" if confirmed
            else "statement past its deadline could not be stopped on the server",
            extra={"event": "db_statement_killed", "thread_id": thread_id, "confirmed": confirmed,
                   "detail": detail or None},
        )
        return confirmed

    def _connect(self, budget: Budget) -> DeadlineConnection:
        log = get_logger()
        started = time.monotonic()
        secrets = self._secrets
        credentials = secrets.get(budget)
        if isinstance(secrets, IamTokens):
            conn, tls_version = open_connection(self._settings, credentials, budget)  # refused: IamAuthenticationError
        else:
            try:
                conn, tls_version = open_connection(self._settings, credentials, budget)
            except DatabaseAuthenticationError as refused:
                log.warning(
                    "database refused the cached credentials; reading the secret again",
                    extra={"event": "db_auth_retry", "user": credentials.username},
                )
                conn, tls_version = self._connect_after_refusal(budget, secrets, credentials, refused)
        log.info(
            "connected to the database",
            extra={
                "event": "db_connected",
                "thread_id": conn.thread_id(),
                "server_version": conn.get_server_info(),
                "tls_version": tls_version,
                "user": credentials.username,
                "auth": "iam-token" if credentials.token else "secret",
                **({"proxy": True} if self._settings.db_proxy else {}),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return conn

    def _connect_after_refusal(self, budget: Budget, secrets: SecretCache, refused_credentials: DbCredentials,
                               refused: DatabaseAuthenticationError) -> tuple[DeadlineConnection, str | None]:
        """The secret read again; then, during a rotation, its pending version, once each."""
        arn = self._settings.db_secret_arn
        tried = {refused_credentials.password}
        current = secrets.refresh("auth_failed", budget)
        last = refused
        if current.password not in tried:
            try:
                return open_connection(self._settings, current, budget)
            except DatabaseAuthenticationError as exc:
                last = exc
            tried.add(current.password)
        pending = secrets.pending(budget)
        if pending is None:
            state = "no rotation in progress (the secret has no AWSPENDING version)"
        elif pending.password in tried:
            state = (f"rotation in progress, but its pending version ({pending.version_id}, AWSPENDING) holds the "
                     "same credentials")
        else:
            try:
                connected = open_connection(self._settings, pending, budget)
            except DatabaseAuthenticationError as exc:
                last = exc
                state = (f"rotation in progress: the pending version ({pending.version_id}, AWSPENDING) was "
                         "refused as well")
            else:
                secrets.adopt(pending, "rotation_pending")
                return connected
        raise DatabaseAuthenticationError(
            f"{last}; the secret {arn} was read again (version {current.version_id}) and its credentials were "
            f"refused as well; {state}",
            dependency=last.dependency, phase=last.phase,
        ) from last


def _short(sql: str) -> str:
    return " ".join(sql.split())[:80]


def stream_batches(conn: DeadlineConnection, settings: Settings, budget: Budget, sql: str, args: Any = None, *,
                   batch_rows: int = FETCH_BATCH_ROWS, reserve: float = PUBLISH_RESERVE_S,
                   ) -> Iterator[list[tuple[Any, ...]]]:
    """Stream the rows of ``sql`` in lists of at most ``batch_rows``, holding one batch in memory at a
    time, within one ``query`` phase that leaves ``reserve`` seconds of the budget for what follows.
    The budget is checked before each batch, so a job that is slow over its batches is stopped by
    the phase's deadline even when every row is already at hand."""
    what = _describe_read(sql)
    rows = 0
    with budget.phase("database", "query", reserve=reserve) as phase:
        conn.bind(phase, settings.db_read_timeout)
        cur = conn.cursor(pymysql.cursors.SSCursor)
        complete = False
        try:
            cur.execute(sql, args)
            while True:
                if phase.spent:
                    raise DatabaseTimeoutError(
                        f"the time budget for {what} ended after {rows} rows (phase: query, {phase.elapsed():.1f} s "
                        f"in; the read ends {reserve:g} s before the invocation's time budget, kept for what follows)"
                    )
                batch = cur.fetchmany(batch_rows)
                if not batch:
                    break
                rows += len(batch)
                yield list(batch)
            complete = True
        except pymysql.err.ProgrammingError as exc:
            raise wait_error(settings, what, phase, exc, conn) from exc  # a missing table: TableMissingError
        except pymysql.err.Error as exc:
            # Not cur.close(): closing an unbuffered cursor drains the rest of the result, which on a
            # lost connection raises an unrelated error in place of this one.
            raise wait_error(settings, f"{what}, after {rows} rows", phase, exc, conn) from exc
        finally:
            if not complete:
                # Left before its end (a failure, the budget, the job leaving the loop): the cursor must
                # not read the rest when it is collected; the connection's keeper decides (end_stream).
                cur.connection = None
        cur.close()  # the result was read to its end: nothing left to drain


def _describe_read(sql: str) -> str:
    """`reading `employees`` for a query of one table, else the statement's start."""
    match = re.fullmatch(r"\s*SELECT\s.+?\sFROM\s+`?([A-Za-z0-9_$]+)`?(?:\s.*)?", sql, re.S | re.I)
    return f"reading `{match.group(1)}`" if match else _describe(sql)


def _describe(statement: str) -> str:
    return f"running `{_short(statement)}`"


def execute(conn: DeadlineConnection, settings: Settings, phase: Phase, statement: str, args: Any = None,
            wait_cap: float | None = None) -> int:
    """Run one statement within ``phase`` (each wait at most ``wait_cap``, default ``DB_READ_TIMEOUT``);
    returns the affected row count."""
    conn.bind(phase, settings.db_read_timeout if wait_cap is None else wait_cap)
    try:
        with conn.cursor() as cur:
            return int(cur.execute(statement, args))
    except pymysql.err.Error as exc:
        raise wait_error(settings, _describe(statement), phase, exc, conn) from exc


def query_rows(conn: DeadlineConnection, settings: Settings, phase: Phase, sql: str, args: Any = None,
               wait_cap: float | None = None) -> list[tuple[Any, ...]]:
    """All rows of a small query within ``phase`` (each wait at most ``wait_cap``, default
    ``DB_READ_TIMEOUT``)."""
    conn.bind(phase, settings.db_read_timeout if wait_cap is None else wait_cap)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    except pymysql.err.Error as exc:
        raise wait_error(settings, _describe(sql), phase, exc, conn) from exc
