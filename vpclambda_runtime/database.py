"""The MySQL side: one connection kept across warm invocations, streaming reads, bounded waits.

* The connection (``db_connection``: verified TLS, opened in bounded phases) is kept in
  module state between invocations of a warm execution environment. Before reuse it is
  checked with ``ping`` within ``PING_TIMEOUT_S``; a connection the server has closed
  (restart, failover, idle timeout) or that does not answer is replaced by a new one.
* A refused password (MySQL error 1045) makes the keeper read the secret again once and
  retry: RDS may have rotated it since it was cached.
* Rows are streamed with an unbuffered cursor and ``fetchmany``, so memory stays flat
  whatever the size of the table; every fetch ends by the ``query`` phase's deadline.
* A connection that failed mid-use is never drained or reused: the caller discards it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.constants import ER

from .budget import Budget, Phase
from .credentials import SecretCache
from .db_connection import DeadlineConnection, open_connection, timed_out, wait_error
from .errors import DatabaseAuthenticationError, TableMissingError
from .logs import get_logger
from .settings import Settings

FETCH_BATCH_ROWS = 1000
PING_TIMEOUT_S = 2.0
"""A healthy server answers a ping in milliseconds; one that does not is replaced."""
PUBLISH_RESERVE_S = 2.0
"""Time the read leaves in the budget for the notification that follows it."""


class ConnectionKeeper:
    """The execution environment's single database connection."""

    def __init__(self, settings: Settings, secrets: SecretCache) -> None:
        self._settings = settings
        self._secrets = secrets
        self._conn: DeadlineConnection | None = None

    def acquire(self, budget: Budget) -> DeadlineConnection:
        """The kept connection if the server still answers it, else a new one."""
        log = get_logger()
        conn = self._conn
        if conn is not None:
            with budget.phase("database", "ping", cap=PING_TIMEOUT_S) as phase:
                conn.bind(phase, self._settings.db_read_timeout)
                try:
                    conn.ping(reconnect=False)
                except pymysql.err.Error as exc:
                    log.warning(
                        "kept database connection is gone; opening a new one",
                        extra={"event": "db_connection_stale", "thread_id": conn.thread_id(),
                               "reason": "no answer" if timed_out(exc) else "closed", "error": str(exc),
                               "waited_ms": round(phase.elapsed() * 1000, 1)},
                    )
                    self.discard()
                else:
                    log.info("reusing database connection", extra={"event": "db_connection_reused",
                                                                   "thread_id": conn.thread_id()})
                    return conn
        self._conn = self._connect(budget)
        return self._conn

    def discard(self) -> None:
        """Forget the kept connection (after it broke), closing it if still possible."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the socket may be unusable already
                conn.close()

    def _connect(self, budget: Budget) -> DeadlineConnection:
        log = get_logger()
        started = time.monotonic()
        credentials = self._secrets.get(budget)
        try:
            conn, tls_version = open_connection(self._settings, credentials, budget)
        except DatabaseAuthenticationError:
            log.warning(
                "database refused the cached credentials; reading the secret again",
                extra={"event": "db_auth_retry", "user": credentials.username},
            )
            credentials = self._secrets.refresh("auth_failed", budget)
            try:
                conn, tls_version = open_connection(self._settings, credentials, budget)
            except DatabaseAuthenticationError as exc:
                raise DatabaseAuthenticationError(
                    f"{exc}; the secret {self._settings.db_secret_arn} was read again and its credentials "
                    "were refused as well"
                ) from exc
        log.info(
            "connected to the database",
            extra={
                "event": "db_connected",
                "thread_id": conn.thread_id(),
                "server_version": conn.get_server_info(),
                "tls_version": tls_version,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return conn


def stream_batches(conn: DeadlineConnection, settings: Settings, budget: Budget, sql: str, args: Any = None, *,
                   batch_rows: int = FETCH_BATCH_ROWS, reserve: float = PUBLISH_RESERVE_S,
                   ) -> Iterator[list[tuple[Any, ...]]]:
    """Stream the rows of ``sql`` in lists of at most ``batch_rows``, holding one batch in memory at a
    time, within one ``query`` phase that leaves ``reserve`` seconds of the budget for what follows."""
    what = _describe_read(sql)
    rows = 0
    with budget.phase("database", "query", reserve=reserve) as phase:
        conn.bind(phase, settings.db_read_timeout)
        cur = conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(sql, args)
            while True:
                batch = cur.fetchmany(batch_rows)
                if not batch:
                    break
                rows += len(batch)
                yield list(batch)
        except pymysql.err.ProgrammingError as exc:
            if exc.args and exc.args[0] == ER.NO_SUCH_TABLE:
                raise TableMissingError(
                    f"{_missing_table(exc, settings)} does not exist; "
                    "apply the schema first (the migration function, vpclambda_runtime.migrate.handler)"
                ) from exc
            raise wait_error(settings, what, phase, exc) from exc
        except pymysql.err.Error as exc:
            # Not cur.close(): closing an unbuffered cursor drains the rest of the result, which on a
            # lost connection raises an unrelated error in place of this one.
            raise wait_error(settings, f"{what}, after {rows} rows", phase, exc) from exc
        cur.close()  # the result was read to its end: nothing left to drain


def _missing_table(exc: pymysql.err.Error, settings: Settings) -> str:
    """``table `db`.`name``` from MySQL's "Table 'db.name' doesn't exist"."""
    match = re.search(r"Table '([^'.]+)\.([^']+)'", str(exc.args[-1]) if exc.args else "")
    if match is None:
        return f"a table of `{settings.db_name}`"
    return f"table `{match.group(1)}`.`{match.group(2)}`"


def _describe_read(sql: str) -> str:
    """`reading `employees`` for a query of one table, else the statement's start."""
    match = re.fullmatch(r"\s*SELECT\s.+?\sFROM\s+`?([A-Za-z0-9_$]+)`?(?:\s.*)?", sql, re.S | re.I)
    return f"reading `{match.group(1)}`" if match else _describe(sql)


def _describe(statement: str) -> str:
    return f"running `{' '.join(statement.split())[:80]}`"


def execute(conn: DeadlineConnection, settings: Settings, phase: Phase, statement: str, args: Any = None,
            wait_cap: float | None = None) -> int:
    """Run one statement within ``phase`` (each wait at most ``wait_cap``, default ``DB_READ_TIMEOUT``);
    returns the affected row count."""
    conn.bind(phase, settings.db_read_timeout if wait_cap is None else wait_cap)
    try:
        with conn.cursor() as cur:
            return int(cur.execute(statement, args))
    except pymysql.err.Error as exc:
        raise wait_error(settings, _describe(statement), phase, exc) from exc


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
        raise wait_error(settings, _describe(sql), phase, exc) from exc
