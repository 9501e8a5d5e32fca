"""Opening a verified-TLS MySQL connection in bounded phases, and naming what went wrong.

PyMySQL's ``connect_timeout`` bounds only the TCP connect; the greeting, the TLS handshake,
authentication, ``ping`` and every read of a result wait as long as ``read_timeout`` allows,
and a name lookup is not bounded at all. So a connection is opened in two phases of the
invocation's budget:

* ``connect``: the host name is resolved and the TCP connection made here, both within
  ``DB_CONNECT_TIMEOUT`` (and the budget);
* ``handshake``: PyMySQL takes over the connected socket for the greeting, TLS (chain and
  host name verified against the RDS CA bundle) and authentication.

Once open, the connection is a :class:`DeadlineConnection`: every socket wait ends by the
deadline of the phase it is bound to (``bind``), and never waits longer than
``DB_READ_TIMEOUT`` for one answer.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pymysql
import pymysql.connections
from pymysql.constants import CR, ER

from .budget import Budget, Phase
from .credentials import DbCredentials
from .errors import (
    ConfigurationError,
    DatabaseAuthenticationError,
    DatabaseBusyError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    DatabaseTLSError,
    DatabaseUnreachableError,
)
from .settings import Settings

PROGRAM_NAME = "employees-report"
MIN_WAIT_S = 0.001
"""The shortest socket timeout: a phase whose deadline has passed fails at its next wait."""
DEADLINE_REFRESH_S = 0.05
"""How often the socket timeout is brought down to the deadline: a wait may end this much late."""

ER_CONNECTION_KILLED = 1927  # MariaDB: "Connection was killed"
ER_CLIENT_INTERACTION_TIMEOUT = 4031  # MySQL 8: the server closed an idle connection
LOST_CONNECTION_CODES = frozenset({
    CR.CR_CONN_HOST_ERROR, CR.CR_CONNECTION_ERROR, CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST,
    ER.SERVER_SHUTDOWN, ER_CONNECTION_KILLED, ER_CLIENT_INTERACTION_TIMEOUT,
})
BUSY_CODES = frozenset({ER.CON_COUNT_ERROR, ER.TOO_MANY_USER_CONNECTIONS})

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


class DeadlineConnection(pymysql.connections.Connection):
    """A PyMySQL connection whose socket waits end by the deadline of the phase it is bound to.

    PyMySQL applies ``_read_timeout`` / ``_write_timeout`` to the socket before each packet it
    reads and each write; they are set here, just before, to the time left in the phase (at
    most ``wait_cap``), so a server that stops answering mid-handshake, mid-ping or mid-stream
    ends the wait with a socket timeout at the deadline.
    """

    _deadline: float | None = None
    _wait_cap: float = 10.0
    _refresh_at: float = 0.0

    def bind(self, phase: Phase, wait_cap: float) -> None:
        """Bound every wait from now on by ``phase``'s deadline and ``wait_cap`` seconds."""
        self._deadline = phase.deadline
        self._wait_cap = wait_cap
        self._refresh_at = 0.0

    def _bound_waits(self) -> None:
        if self._deadline is None:
            return
        now = time.monotonic()
        if now < self._refresh_at:  # set less than DEADLINE_REFRESH_S ago; settimeout is not free
            return
        timeout = max(min(self._wait_cap, self._deadline - now), MIN_WAIT_S)
        self._read_timeout = self._write_timeout = timeout
        self._refresh_at = now + DEADLINE_REFRESH_S

    def _read_packet(self, packet_type: Any = pymysql.connections.MysqlPacket) -> Any:
        self._bound_waits()
        return super()._read_packet(packet_type)

    def _write_bytes(self, data: bytes) -> None:
        self._bound_waits()
        super()._write_bytes(data)


def error_code(exc: BaseException) -> int | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else None


def timed_out(exc: BaseException) -> bool:
    """Whether a PyMySQL error stands for a socket timeout (PyMySQL raises it as "lost connection")."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError) or isinstance(
        getattr(exc, "original_exception", None), TimeoutError)


def busy_error(where: str, exc: BaseException) -> DatabaseBusyError:
    return DatabaseBusyError(
        f"the database at {where} refused the connection: {exc.args[-1] if exc.args else exc} "
        f"(MySQL error {error_code(exc)}): its connection budget (max_connections) is exhausted; "
        "lower the function's function_reserved_concurrency, or give the database more connections"
    )


def wait_error(settings: Settings, what: str, phase: Phase, exc: pymysql.err.Error) -> Exception:
    """Translate a failure on an open connection: timeout, lost connection, or a failed statement."""
    where = f"{settings.db_host}:{settings.db_port}"
    if timed_out(exc):
        return DatabaseTimeoutError(
            f"the database at {where} did not answer in time while {what} (phase: {phase.name}, "
            f"{phase.elapsed():.1f} s in; each wait is bounded by DB_READ_TIMEOUT={settings.db_read_timeout}s and "
            "the invocation's time budget)"
        )
    if error_code(exc) in LOST_CONNECTION_CODES or isinstance(exc, pymysql.err.InterfaceError):
        return DatabaseUnreachableError(
            f"lost the connection to the database at {where} while {what} (phase: {phase.name}): {exc}"
        )
    if error_code(exc) in BUSY_CODES:
        return busy_error(where, exc)
    return DatabaseQueryError(f"the database failed while {what}: {exc}")


def _resolve(host: str, port: int, phase: Phase) -> list[tuple[Any, ...]]:
    """The host's addresses; the lookup runs in a helper thread so that it too ends by the deadline."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    resolver = threading.Thread(target=lookup, name="db-name-lookup", daemon=True)
    resolver.start()
    resolver.join(phase.remaining())
    if resolver.is_alive():
        raise DatabaseUnreachableError(
            f"cannot resolve the database host {host!r}: no answer within {phase.elapsed():.1f} s "
            f"(phase: {phase.name})")
    if "error" in found:
        raise DatabaseUnreachableError(f"cannot resolve the database host {host!r}: {found['error']}")
    return list(found["addresses"])


def connect_socket(settings: Settings, phase: Phase) -> socket.socket:
    """A TCP connection to the database, made within ``phase``."""
    where = f"{settings.db_host}:{settings.db_port}"
    last_error: OSError | None = None
    for family, kind, proto, _, address in _resolve(settings.db_host, settings.db_port, phase):
        if phase.spent:
            break
        sock = socket.socket(family, kind, proto)
        sock.settimeout(max(phase.remaining(), MIN_WAIT_S))
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock
    raise DatabaseUnreachableError(
        f"cannot connect to the database at {where} (connect timeout {settings.db_connect_timeout}s): "
        f"{last_error or 'timed out'}"
    )


def _handshake_error(settings: Settings, credentials: DbCredentials, phase: Phase,
                     exc: pymysql.err.Error) -> Exception:
    """Translate a failure between the TCP connect and an authenticated session."""
    where = f"{settings.db_host}:{settings.db_port}"
    code = error_code(exc)
    original = getattr(exc, "original_exception", None)
    if timed_out(exc):
        return DatabaseTimeoutError(
            f"the database at {where} accepted the connection but did not complete the handshake (greeting, TLS, "
            f"authentication) within {phase.elapsed():.1f} s (phase: {phase.name})"
        )
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
    if code in BUSY_CODES:
        return busy_error(where, exc)
    if code in LOST_CONNECTION_CODES or isinstance(original, OSError):
        return DatabaseUnreachableError(
            f"the database at {where} closed the connection during the handshake (phase: {phase.name}): "
            f"{original or exc}"
        )
    return DatabaseUnreachableError(f"the database at {where} refused the connection: {exc}")


def tls_version(conn: pymysql.connections.Connection) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        row = cur.fetchone()
    return row[1] if row and row[1] else None


def open_connection(settings: Settings, credentials: DbCredentials, budget: Budget
                    ) -> tuple[DeadlineConnection, str | None]:
    """A new verified-TLS connection and its TLS version, or one of the function's exceptions."""
    context = tls_context(settings.ca_bundle)
    with budget.phase("database", "connect", cap=settings.db_connect_timeout) as phase:
        sock = connect_socket(settings, phase)
    with budget.phase("database", "handshake", cap=settings.db_read_timeout) as phase:
        conn = DeadlineConnection(
            host=settings.db_host,
            port=settings.db_port,
            user=credentials.username,
            password=credentials.password_bytes,
            database=settings.db_name,
            connect_timeout=settings.db_connect_timeout,
            read_timeout=settings.db_read_timeout,
            write_timeout=settings.db_read_timeout,
            ssl=context,
            charset="utf8mb4",
            autocommit=True,
            program_name=PROGRAM_NAME,
            defer_connect=True,
        )
        conn.bind(phase, settings.db_read_timeout)
        try:
            conn.connect(sock)
            version = tls_version(conn)
        except pymysql.err.Error as exc:
            sock.close()
            raise _handshake_error(settings, credentials, phase, exc) from exc
    return conn, version
