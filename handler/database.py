"""The MySQL side: verified TLS, one connection kept across warm invocations, streaming reads.

* TLS is always on and always verified, certificate chain and host name, against the
  RDS CA bundle of the function's partition (or ``DB_CA_BUNDLE``).
* The connection is kept in module state between invocations of a warm execution
  environment. Before reuse it is checked with ``ping(reconnect=False)``; a connection the
  server has closed (restart, failover, idle timeout) raises there, even though
  ``conn.open`` still says True, and is replaced by a new one.
* A refused password (MySQL error 1045) makes the keeper read the secret again once and
  retry: RDS may have rotated it since it was cached.
* Rows are streamed with an unbuffered cursor and ``fetchmany``, so memory stays flat
  whatever the size of the table.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors
from credentials import DbCredentials, SecretCache
from errors import (
    ConfigurationError,
    DatabaseAuthenticationError,
    DatabaseQueryError,
    DatabaseTLSError,
    DatabaseUnreachableError,
    TableMissingError,
)
from logs import get_logger
from pymysql.constants import CR, ER
from settings import Settings

EMPLOYEES_TABLE = "employees"
FETCH_BATCH_ROWS = 1000
PROGRAM_NAME = "employees-report"

_LOST_CONNECTION_CODES = frozenset(
    {CR.CR_CONN_HOST_ERROR, CR.CR_CONNECTION_ERROR, CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST}
)

_tls_contexts: dict[Path, ssl.SSLContext] = {}


def tls_context(ca_bundle: Path) -> ssl.SSLContext:
    """A client context that trusts only ``ca_bundle`` and checks the server's host name."""
    context = _tls_contexts.get(ca_bundle)
    if context is not None:
        return context
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"the CA bundle {ca_bundle} cannot be loaded: {exc}") from exc
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _tls_contexts[ca_bundle] = context
    return context


def _connect_error(settings: Settings, credentials: DbCredentials, exc: pymysql.err.Error) -> Exception:
    """Translate a PyMySQL connect failure into the function's own exception."""
    where = f"{settings.db_host}:{settings.db_port}"
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    original = getattr(exc, "original_exception", None)
    if isinstance(original, ssl.SSLCertVerificationError):
        reason = original.verify_message or str(original)
        return DatabaseTLSError(
            f"the database at {where} presented a certificate that failed verification ({reason}); "
            f"trusted CAs: {settings.ca_bundle}"
        )
    if isinstance(original, ssl.SSLError):
        return DatabaseTLSError(f"the TLS handshake with the database at {where} failed: {original}")
    if code == ER.ACCESS_DENIED_ERROR:
        return DatabaseAuthenticationError(
            f"the database at {where} refused user {credentials.username!r} (MySQL error 1045, access denied)"
        )
    if code == ER.BAD_DB_ERROR:
        return DatabaseQueryError(f"database {settings.db_name!r} does not exist on the server at {where}")
    if code in _LOST_CONNECTION_CODES or isinstance(original, OSError):
        return DatabaseUnreachableError(
            f"cannot connect to the database at {where} (connect timeout {settings.db_connect_timeout}s): "
            f"{original or exc}"
        )
    return DatabaseUnreachableError(f"the database at {where} refused the connection: {exc}")


def open_connection(settings: Settings, credentials: DbCredentials) -> pymysql.connections.Connection:
    """A new verified-TLS connection, or one of the function's exceptions."""
    context = tls_context(settings.ca_bundle)
    try:
        return pymysql.connect(
            host=settings.db_host,
            port=settings.db_port,
            user=credentials.username,
            password=credentials.password,
            database=settings.db_name,
            connect_timeout=settings.db_connect_timeout,
            read_timeout=settings.db_read_timeout,
            write_timeout=settings.db_read_timeout,
            ssl=context,
            charset="utf8mb4",
            autocommit=True,
            program_name=PROGRAM_NAME,
        )
    except pymysql.err.Error as exc:
        raise _connect_error(settings, credentials, exc) from exc


def _tls_version(conn: pymysql.connections.Connection) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        row = cur.fetchone()
    return row[1] if row and row[1] else None


class ConnectionKeeper:
    """The execution environment's single database connection."""

    def __init__(self, settings: Settings, secrets: SecretCache) -> None:
        self._settings = settings
        self._secrets = secrets
        self._conn: pymysql.connections.Connection | None = None

    def acquire(self) -> pymysql.connections.Connection:
        """The kept connection if the server still answers it, else a new one."""
        log = get_logger()
        conn = self._conn
        if conn is not None:
            try:
                conn.ping(reconnect=False)
            except pymysql.err.Error as exc:
                log.warning(
                    "kept database connection is gone; opening a new one",
                    extra={"event": "db_connection_stale", "thread_id": conn.thread_id(), "error": str(exc)},
                )
                self.discard()
            else:
                log.info("reusing database connection", extra={"event": "db_connection_reused",
                                                               "thread_id": conn.thread_id()})
                return conn
        self._conn = self._connect()
        return self._conn

    def discard(self) -> None:
        """Forget the kept connection (after it broke), closing it if still possible."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the socket may be unusable already
                conn.close()

    def _connect(self) -> pymysql.connections.Connection:
        log = get_logger()
        started = time.monotonic()
        credentials = self._secrets.get()
        try:
            conn = open_connection(self._settings, credentials)
        except DatabaseAuthenticationError:
            log.warning(
                "database refused the cached credentials; reading the secret again",
                extra={"event": "db_auth_retry", "user": credentials.username},
            )
            credentials = self._secrets.refresh("auth_failed")
            try:
                conn = open_connection(self._settings, credentials)
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
                "tls_version": _tls_version(conn),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return conn


@dataclass(frozen=True)
class ReadSummary:
    rows: int
    batches: int
    duration_ms: float


def _query_error(settings: Settings, what: str, exc: pymysql.err.Error) -> Exception:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if code in _LOST_CONNECTION_CODES:
        return DatabaseUnreachableError(
            f"lost the connection to the database at {settings.db_host}:{settings.db_port} while {what}: {exc}"
        )
    return DatabaseQueryError(f"the database failed while {what}: {exc}")


def read_employees(conn: pymysql.connections.Connection, settings: Settings) -> ReadSummary:
    """Stream every row of ``employees`` and count them, holding one batch in memory at a time."""
    started = time.monotonic()
    rows = batches = 0
    try:
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(f"SELECT * FROM `{EMPLOYEES_TABLE}`")
            while True:
                batch = cur.fetchmany(FETCH_BATCH_ROWS)
                if not batch:
                    break
                rows += len(batch)
                batches += 1
    except pymysql.err.ProgrammingError as exc:
        if exc.args and exc.args[0] == ER.NO_SUCH_TABLE:
            raise TableMissingError(
                f"table `{settings.db_name}`.`{EMPLOYEES_TABLE}` does not exist; "
                "apply the schema first (the migration function, migrate.handler)"
            ) from exc
        raise _query_error(settings, f"reading `{EMPLOYEES_TABLE}`", exc) from exc
    except pymysql.err.Error as exc:
        raise _query_error(settings, f"reading `{EMPLOYEES_TABLE}`", exc) from exc
    return ReadSummary(rows=rows, batches=batches, duration_ms=round((time.monotonic() - started) * 1000, 1))


def split_statements(sql: str) -> list[str]:
    """The statements of a schema file: ``--`` comment lines dropped, split on ``;``.

    Schema files must not contain ``;`` inside literals or comments.
    """
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def execute(conn: pymysql.connections.Connection, settings: Settings, statement: str, args: Any = None) -> int:
    """Run one statement; returns the affected row count."""
    try:
        with conn.cursor() as cur:
            return int(cur.execute(statement, args))
    except pymysql.err.Error as exc:
        raise _query_error(settings, f"running `{' '.join(statement.split())[:80]}`", exc) from exc


def execute_statements(conn: pymysql.connections.Connection, settings: Settings, statements: list[str]) -> None:
    for statement in statements:
        execute(conn, settings, statement)


def query_scalar(conn: pymysql.connections.Connection, settings: Settings, sql: str, args: Any = None) -> Any:
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            row = cur.fetchone()
    except pymysql.err.Error as exc:
        raise _query_error(settings, f"running `{' '.join(sql.split())[:80]}`", exc) from exc
    return row[0] if row else None
