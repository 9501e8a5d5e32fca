"""Opening a verified-TLS MySQL connection in bounded phases, bounding every statement on both
sides, and naming what went wrong.

PyMySQL's ``connect_timeout`` bounds only the TCP connect; the greeting, the TLS handshake,
authentication, ``ping`` and every read of a result wait as long as ``read_timeout`` allows
(and a server that sends one byte now and then resets that timeout at every byte), and a name
lookup is not bounded at all. So a connection is opened in two phases of the invocation's
budget:

* ``connect``: the host name is resolved and the TCP connection made here, both within
  ``DB_CONNECT_TIMEOUT`` (and the budget);
* ``handshake``: PyMySQL takes over the connected socket for the greeting, TLS (chain and
  host name verified against the RDS CA bundle) and authentication.

Once open, the connection is a :class:`DeadlineConnection`, bound to one phase at a time
(``bind``):

* **The phase's deadline is a deadline on the socket.** Every read, write and the TLS
  handshake waits at most until the phase's deadline, however the bytes arrive, and never
  longer than ``DB_READ_TIMEOUT`` without a byte.
* **The server side is bounded too.** Closing the client's socket does not stop a statement
  on the server: it would finish (and commit) after the function reported it as timed out.
  Before each statement the session's lock waits are bounded by what is left of the phase
  (``lock_wait_timeout``, ``innodb_lock_wait_timeout``: accepted by RDS MySQL 8.4 and by
  MariaDB), so a statement waiting on a lock fails on the server, not applied, before the
  client gives up; on MySQL the session's ``max_execution_time`` (MySQL only, SELECT only)
  bounds reads the same way.
* **A statement past its deadline is stopped.** When a statement has not answered shortly
  before the deadline (``kill_reserve``), ``KILL QUERY <connection id>`` (both servers) is
  sent from a side connection and the answer read until the deadline: "interrupted" means
  not applied. When the kill cannot be sent or confirmed, or no answer comes, the outcome of
  a write is unknown, and the error says so.
* **An unread result makes the connection busy.** PyMySQL would answer a second statement
  on a connection whose unbuffered result is still being read by warning "Previous
  unbuffered result was left incomplete" and reading the rest of the result away (the
  stream then ends early, looking complete). That is a :class:`ConnectionBusyError` here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pymysql.connections
from pymysql.constants import CR, ER, SERVER_STATUS

from .budget import Budget, Phase
from .credentials import DbCredentials
from .errors import (
    ConfigurationError,
    ConnectionBusyError,
    DatabaseAuthenticationError,
    DatabaseBusyError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    DatabaseTLSError,
    DatabaseUnreachableError,
    HandlerError,
    IamAuthenticationError,
    TableMissingError,
)
from .settings import Settings

PROGRAM_NAME = "employees-report"
MIN_WAIT_S = 0.001
"""The shortest socket timeout: a phase whose deadline has passed fails at its next wait."""
RECV_BYTES = 64 * 1024
SEND_BYTES = 64 * 1024
KILL_RESERVE_S = 1.5
"""The time before a statement's deadline at which it is stopped with KILL QUERY (at most a
quarter of its phase): opening the side connection, the kill, and the statement's answer."""
KILL_SHARE = 0.25
MIN_KILL_S = 0.2

NOT_APPLIED = "not applied"
UNKNOWN = "unknown"
"""A failed statement's ``outcome``: not applied (the server refused or stopped it, or it was
never sent whole), or unknown (the server may still apply it)."""

ER_CONNECTION_KILLED = 1927  # MariaDB: "Connection was killed"
ER_CLIENT_INTERACTION_TIMEOUT = 4031  # MySQL 8: the server closed an idle connection
LOST_CONNECTION_CODES = frozenset({
    CR.CR_CONN_HOST_ERROR, CR.CR_CONNECTION_ERROR, CR.CR_SERVER_GONE_ERROR, CR.CR_SERVER_LOST,
    ER.SERVER_SHUTDOWN, ER_CONNECTION_KILLED, ER_CLIENT_INTERACTION_TIMEOUT,
})
BUSY_CODES = frozenset({ER.CON_COUNT_ERROR, ER.TOO_MANY_USER_CONNECTIONS})
SERVER_TIMEOUT_CODES = frozenset({ER.QUERY_TIMEOUT})
"""MySQL's max_execution_time stopped a statement (3024)."""
CLIENT_ERROR_CODES = range(2000, 3000)
"""PyMySQL's own errors (CR_*): after one, the connection's state is not known."""

_READ_STATEMENT = re.compile(r"^\s*(?:\(\s*)*(SELECT|SHOW|DESCRIBE|DESC|EXPLAIN)\b", re.I)
_COMMIT_STATEMENT = re.compile(r"^\s*COMMIT\b", re.I)

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


def is_read(sql: str) -> bool:
    """Whether a statement only reads (SELECT, SHOW, DESCRIBE, EXPLAIN): its outcome changes nothing."""
    return bool(_READ_STATEMENT.match(sql))


def is_commit(sql: str) -> bool:
    return bool(_COMMIT_STATEMENT.match(sql))


def kill_reserve(span: float) -> float:
    """How long before a deadline ``span`` seconds away a statement still running is stopped."""
    return min(KILL_RESERVE_S, max(0.0, span) * KILL_SHARE)


def server_bounds_sql(statement_left: float, wait_cap: float, mysql: bool) -> tuple[tuple[int, int | None], str]:
    """The session bounds for a statement that must end within ``statement_left`` seconds and
    wait at most ``wait_cap`` for any answer, and the SET that applies them.

    * ``lock_wait_timeout`` (metadata locks: a table locked by another session, DDL) and
      ``innodb_lock_wait_timeout`` (row locks), in whole seconds, at least 1: RDS MySQL 8.4
      and MariaDB both accept them per session. A second under the statement's bound, so
      that the server gives up (and says so, the statement not applied) before the client does.
    * ``max_execution_time`` in milliseconds: MySQL only (MariaDB has no such variable), and
      it applies to SELECT statements only (reads, including a stream as a whole).
    """
    wait = min(statement_left, wait_cap)
    lock_s = max(1, math.ceil(wait) - 1)
    execution_ms = max(1, math.floor(statement_left)) * 1000 if mysql else None
    sql = f"SET SESSION lock_wait_timeout = {lock_s}, innodb_lock_wait_timeout = {lock_s}"
    if execution_ms is not None:
        sql += f", max_execution_time = {execution_ms}"
    return (lock_s, execution_ms), sql


@dataclass
class Statement:
    """One statement sent with ``query``, as far as its fate is known."""

    sql: str
    read: bool
    sent: bool = False
    """Every byte of it was handed to the network: the server may have it."""
    answered: bool = False
    """The first packet of its answer arrived."""
    kill: str | None = None
    """``confirmed`` once KILL QUERY was acknowledged, else why it could not be."""
    grace_until: float = field(default=0.0, repr=False)

    @property
    def killed(self) -> bool:
        return self.kill == "confirmed"


class DeadlineExceeded(pymysql.err.OperationalError):
    """A socket wait reached the bound phase's deadline (raised by the connection's own reads
    and writes in place of a socket timeout; the connection is closed)."""

    def __init__(self, code: int, message: str, outcome: str | None) -> None:
        super().__init__(code, message)
        self.outcome = outcome


class _DeadlineTLS:
    """The TLS context PyMySQL wraps the socket with, whose handshake ends by the connection's
    deadline (PyMySQL would run it with a timeout per socket operation)."""

    def __init__(self, context: ssl.SSLContext, conn: DeadlineConnection) -> None:
        self._context = context
        self._conn = conn

    def wrap_socket(self, sock: socket.socket, server_hostname: str | None = None) -> ssl.SSLSocket:
        tls = self._context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        self._conn._tls_handshake(tls)
        return tls


class DeadlineConnection(pymysql.connections.Connection):
    """A PyMySQL connection whose every wait ends by the deadline of the phase it is bound to,
    whose statements are bounded on the server too, and which refuses a statement while an
    unbuffered result is unread. See the module's description."""

    _deadline: float | None = None
    _wait_cap: float = 10.0
    _kill_reserve: float = 0.0
    _quiet_since: float = 0.0
    _inbuf: bytes = b""
    _inpos: int = 0
    _statement: Statement | None = None
    _session_bounds: tuple[int, int | None] | None = None
    _stream_sql: str | None = None
    last_statement: Statement | None = None
    """The latest statement sent with ``query`` (read by the error translation)."""
    stop_statement: Callable[[int, float], bool] | None = None
    """KILL QUERY of this connection's statement from a side connection, within the given
    deadline; True when the server confirmed it (set by the connection's keeper)."""
    server_bounds: bool = True
    behind_proxy: bool = False
    """The server is an RDS Proxy: the thread id of its greeting is the proxy's, not the database's."""
    _kill_thread_id: int | None = None

    # ---------------------------------------------------------------- deadlines

    def bind(self, phase: Phase, wait_cap: float) -> None:
        """Bound every wait from now on by ``phase``'s deadline and ``wait_cap`` seconds without a byte."""
        self.bind_until(phase.deadline, wait_cap)

    def bind_until(self, deadline: float, wait_cap: float) -> None:
        now = time.monotonic()
        self._deadline = deadline
        self._wait_cap = wait_cap
        self._kill_reserve = kill_reserve(deadline - now)
        self._quiet_since = now

    def _hard_deadline(self) -> float:
        quiet = self._quiet_since + self._wait_cap
        return quiet if self._deadline is None else min(self._deadline, quiet)

    def _read_deadline(self) -> float:
        statement = self._statement
        if statement is None:
            return self._hard_deadline()
        if statement.kill is not None:
            return statement.grace_until
        # A statement waiting for its answer is stopped a little before the deadline, so that
        # its answer to KILL QUERY can still arrive in time.
        quiet = self._quiet_since + self._wait_cap
        soft = quiet if self._deadline is None else min(self._deadline - self._kill_reserve, quiet)
        return soft

    # ---------------------------------------------------------------- reading

    def _read_packet(self, packet_type: Any = pymysql.connections.MysqlPacket) -> Any:
        if self._sock is None:
            raise pymysql.err.OperationalError(CR.CR_SERVER_LOST, "Lost connection to MySQL server (it is closed)")
        statement = self._statement
        try:
            packet = super()._read_packet(packet_type)
        except pymysql.err.Error as exc:
            if statement is not None and error_code(exc) not in CLIENT_ERROR_CODES:
                statement.answered = True  # the server's own error: that is its answer
            raise
        finally:
            self._statement = None  # the statement's first packet has arrived, or never will
        if statement is not None:
            statement.answered = True
        return packet

    def _read_bytes(self, num_bytes: int) -> bytes:
        end = self._inpos + num_bytes
        if end <= len(self._inbuf):
            data = self._inbuf[self._inpos:end]
            self._inpos = end
            return data
        parts = [self._inbuf[self._inpos:]]
        have = len(parts[0])
        while have < num_bytes:
            chunk = self._receive()
            parts.append(chunk)
            have += len(chunk)
        joined = b"".join(parts)
        self._inbuf, self._inpos = joined, num_bytes
        return joined[:num_bytes]

    def _receive(self) -> bytes:
        while True:
            sock = self._sock
            if sock is None:
                raise pymysql.err.OperationalError(CR.CR_SERVER_LOST, "Lost connection to MySQL server (it is closed)")
            wait = self._read_deadline() - time.monotonic()
            if wait <= 0:
                self._deadline_reached()
                continue
            try:
                sock.settimeout(max(wait, MIN_WAIT_S))
                data = sock.recv(RECV_BYTES)
            except (TimeoutError, InterruptedError):
                continue
            except OSError as exc:
                self._force_close()
                raise pymysql.err.OperationalError(
                    CR.CR_SERVER_LOST, f"Lost connection to MySQL server during query ({exc})") from exc
            if not data:
                self._force_close()
                raise pymysql.err.OperationalError(CR.CR_SERVER_LOST, "Lost connection to MySQL server during query")
            self._quiet_since = time.monotonic()
            return data

    def _deadline_reached(self) -> None:
        """The read's deadline has passed: stop a statement still waiting for its answer with KILL
        QUERY and keep reading for that answer until the phase's deadline; else give up."""
        statement = self._statement
        now = time.monotonic()
        if statement is not None and statement.kill is None:
            deadline = now + max(self._kill_reserve, MIN_KILL_S)
            if self._deadline is not None:
                deadline = min(deadline, self._deadline)
            statement.grace_until = deadline
            if self.stop_statement is None or self.kill_thread_id is None:
                statement.kill = "no side connection to send KILL QUERY from"
            else:
                try:
                    confirmed = self.stop_statement(self.kill_thread_id, deadline)
                except Exception as exc:  # a failed kill must not hide the timeout itself
                    confirmed, statement.kill = False, f"KILL QUERY failed: {exc}"
                if confirmed:
                    statement.kill = "confirmed"
                    return  # its answer ("interrupted", or done just in time) is on its way
                statement.kill = statement.kill or "KILL QUERY could not be sent or was not confirmed in time"
        self._force_close()
        outcome = None
        if statement is not None and not statement.read:
            outcome = UNKNOWN
        raise DeadlineExceeded(CR.CR_SERVER_LOST, "no answer from the server by the deadline", outcome)

    # ---------------------------------------------------------------- writing

    def _write_bytes(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise pymysql.err.OperationalError(CR.CR_SERVER_GONE_ERROR, "MySQL server has gone away (it is closed)")
        view = memoryview(data)
        self._quiet_since = time.monotonic()
        while view:
            wait = self._hard_deadline() - time.monotonic()
            if wait <= 0:
                self._force_close()
                # Not every byte went out: the server never had the whole command.
                raise DeadlineExceeded(CR.CR_SERVER_GONE_ERROR, "could not send to the server by the deadline",
                                       NOT_APPLIED if self._statement is not None else None)
            try:
                sock.settimeout(max(wait, MIN_WAIT_S))
                sent = sock.send(view[:SEND_BYTES])
            except (TimeoutError, InterruptedError):
                continue
            except OSError as exc:
                self._force_close()
                raise pymysql.err.OperationalError(CR.CR_SERVER_GONE_ERROR,
                                                   f"MySQL server has gone away ({exc!r})") from exc
            view = view[sent:]
            self._quiet_since = time.monotonic()
        if self._statement is not None:
            self._statement.sent = True

    def _tls_handshake(self, tls: ssl.SSLSocket) -> None:
        self._inbuf, self._inpos = b"", 0  # nothing is read across the switch to TLS
        while True:
            wait = self._hard_deadline() - time.monotonic()
            if wait <= 0:
                raise TimeoutError("the TLS handshake did not complete by the deadline")
            tls.settimeout(max(wait, MIN_WAIT_S))
            try:
                tls.do_handshake()  # one call: its socket waits share this timeout as a deadline
                return
            except TimeoutError:
                continue

    def _force_close(self) -> None:
        self.abandon_result()
        super()._force_close()
        self._inbuf, self._inpos = b"", 0

    # ---------------------------------------------------------------- statements

    @property
    def mysql(self) -> bool:
        """Whether the server is MySQL (RDS MySQL), not MariaDB (the local rehearsal)."""
        return "mariadb" not in str(getattr(self, "server_version", "")).lower()

    @property
    def in_transaction(self) -> bool:
        """Whether the server said, in its latest status, that this session is inside a transaction."""
        return bool((self.server_status or 0) & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    def query(self, sql: Any, unbuffered: bool = False) -> int:
        text = sql.decode(self.encoding, "replace") if isinstance(sql, bytes) else str(sql)
        statement = Statement(text, is_read(text))
        self.last_statement = statement
        self._apply_server_bounds()
        self._statement = statement
        try:
            affected = super().query(sql, unbuffered)
        except pymysql.err.Error as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code in CLIENT_ERROR_CODES and self._sock is not None:
                self._force_close()  # a client-side failure mid-exchange: the session's state is unknown
            raise
        finally:
            self._statement = None
        self._stream_sql = text if unbuffered else None
        return int(affected or 0)

    @property
    def kill_thread_id(self) -> int | None:
        """The database thread a KILL QUERY for this connection's statement names: the greeting's,
        or behind a proxy the one the session is pinned to (read once the session is pinned)."""
        if self.behind_proxy:
            return self._kill_thread_id
        return int(self.server_thread_id[0]) if self.server_thread_id else None

    def _apply_server_bounds(self) -> None:
        if not self.server_bounds or self._deadline is None:
            return
        statement_left = self._deadline - self._kill_reserve - time.monotonic()
        bounds, sql = server_bounds_sql(statement_left, self._wait_cap, self.mysql)
        if bounds == self._session_bounds:
            return
        super().query(sql)
        self._session_bounds = bounds
        if self.behind_proxy and self._kill_thread_id is None:
            # The SET pins the session to one database connection (RDS Proxy pins sessions that set
            # variables): from now on CONNECTION_ID() is that connection's, which KILL QUERY names.
            super().query("SELECT CONNECTION_ID()")
            rows = self._result.rows if self._result is not None else None
            self._kill_thread_id = int(rows[0][0]) if rows else None

    def _execute_command(self, command: int, sql: Any) -> Any:
        if self.reading:
            streaming = " ".join((self._stream_sql or "a query").split())[:80]
            raise ConnectionBusyError(
                f"a statement was sent on a database connection that is still reading a stream's result "
                f"(`{streaming}`); PyMySQL would read the rest of that result away and the stream would end "
                "early, looking complete. Finish or leave the stream first; outside a transaction, query() and "
                "execute() run on a connection of their own"
            )
        return super()._execute_command(command, sql)

    @property
    def reading(self) -> bool:
        """Whether an unbuffered result of this connection is still unread (a stream, or a raw
        unbuffered cursor): no other statement may be sent on it until it is."""
        result = self._result
        return result is not None and bool(result.unbuffered_active)

    def abandon_result(self) -> None:
        """Forget an unbuffered result that will not be read to its end (the connection is closed or
        about to be): collecting it must not try to read the rest."""
        result = self._result
        if result is not None:
            result.unbuffered_active = False


def error_code(exc: BaseException) -> int | None:
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else None


def timed_out(exc: BaseException) -> bool:
    """Whether a PyMySQL error stands for a deadline or socket timeout (PyMySQL raises it as "lost connection")."""
    return isinstance(exc, TimeoutError | DeadlineExceeded) or isinstance(exc.__context__, TimeoutError) or isinstance(
        getattr(exc, "original_exception", None), TimeoutError)


def busy_error(where: str, exc: BaseException) -> DatabaseBusyError:
    return DatabaseBusyError(
        f"the database at {where} refused the connection: {exc.args[-1] if exc.args else exc} "
        f"(MySQL error {error_code(exc)}): its connection budget (max_connections) is exhausted; "
        "lower the function's function_reserved_concurrency, or give the database more connections"
    )


def _outcome_of(conn: DeadlineConnection | None, exc: BaseException) -> tuple[str | None, str]:
    """A failed statement's outcome and the sentence that says it."""
    statement = conn.last_statement if conn is not None else None
    if statement is None or statement.read:
        return None, ""
    if isinstance(exc, DeadlineExceeded) and exc.outcome == NOT_APPLIED:
        return NOT_APPLIED, "; the statement was not sent whole, so it was not applied"
    if not statement.sent:
        return NOT_APPLIED, "; the statement was never sent, so it was not applied"
    if statement.answered and not isinstance(exc, DeadlineExceeded):
        return None, ""
    why = f" ({statement.kill})" if statement.kill and not statement.killed else ""
    if statement.killed:
        why = " (KILL QUERY was confirmed, but the statement's answer did not arrive in time)"
    if is_commit(statement.sql):
        return UNKNOWN, (f"; outcome unknown: the COMMIT was sent and the transaction may or may not have been "
                         f"committed{why}")
    return UNKNOWN, f"; outcome unknown: the statement was sent and the server may still apply it{why}"


def wait_error(settings: Settings, what: str, phase: Phase, exc: pymysql.err.Error,
               conn: DeadlineConnection | None = None) -> HandlerError:
    """Translate a failure on an open connection: a deadline, a lock wait or a statement stopped
    on the server, a lost connection, or a failed statement; with the statement's outcome."""
    where = f"{settings.db_host}:{settings.db_port}"
    code = error_code(exc)
    statement = conn.last_statement if conn is not None else None
    read = statement is None or statement.read
    in_budget = (f"(phase: {phase.name}, {phase.elapsed():.1f} s in; each wait is bounded by "
                 f"DB_READ_TIMEOUT={settings.db_read_timeout}s and the invocation's time budget)")
    if timed_out(exc):
        outcome, said = _outcome_of(conn, exc)
        stopped = "; it was stopped on the server (KILL QUERY)" if statement and statement.killed and read else ""
        return DatabaseTimeoutError(
            f"the database at {where} did not answer in time while {what} {in_budget}{stopped}{said}", outcome=outcome)
    if code == ER.LOCK_WAIT_TIMEOUT:
        applied = "" if read else "; the statement was not applied"
        return DatabaseTimeoutError(
            f"the database at {where} gave up waiting for a lock while {what} (phase: {phase.name}, "
            f"{phase.elapsed():.1f} s in; lock waits are bounded by the session's lock_wait_timeout and "
            f"innodb_lock_wait_timeout, set from the invocation's time budget): {exc}{applied}",
            outcome=None if read else NOT_APPLIED)
    if code == ER.QUERY_INTERRUPTED and statement is not None and statement.killed:
        applied = "" if read else ": it was not applied"
        return DatabaseTimeoutError(
            f"the database at {where} did not finish in time while {what} {in_budget}, so the statement was stopped "
            f"on the server (KILL QUERY){applied}", outcome=None if read else NOT_APPLIED)
    if code in SERVER_TIMEOUT_CODES:
        return DatabaseTimeoutError(
            f"the database at {where} stopped the statement at its execution time limit (max_execution_time, set "
            f"from the invocation's time budget) while {what} (phase: {phase.name}): {exc}",
            outcome=None if read else NOT_APPLIED)
    if code in LOST_CONNECTION_CODES or isinstance(exc, pymysql.err.InterfaceError):
        outcome, said = _outcome_of(conn, exc)
        return DatabaseUnreachableError(
            f"lost the connection to the database at {where} while {what} (phase: {phase.name}): {exc}{said}",
            outcome=outcome)
    if code in BUSY_CODES:
        return busy_error(where, exc)
    if code == ER.NO_SUCH_TABLE:  # one rule for query, execute and stream
        return TableMissingError(f"{missing_table(exc, settings)} does not exist (while {what}); apply the schema "
                                 "first (the migration function, vpclambda_runtime.migrate.handler)")
    return DatabaseQueryError(f"the database failed while {what}: {exc}")


def missing_table(exc: pymysql.err.Error, settings: Settings) -> str:
    """``table `db`.`name``` from MySQL's "Table 'db.name' doesn't exist"."""
    match = re.search(r"Table '([^'.]+)\.([^']+)'", str(exc.args[-1]) if exc.args else "")
    if match is None:
        return f"a table of `{settings.db_name}`"
    return f"table `{match.group(1)}`.`{match.group(2)}`"


# ------------------------------------------------------------------ name look-ups


@dataclass
class _Lookup:
    done: threading.Event = field(default_factory=threading.Event)
    addresses: list[tuple[Any, ...]] | None = None
    error: OSError | None = None


_lookups: dict[tuple[str, int], _Lookup] = {}
_lookups_lock = threading.Lock()


def _resolve(host: str, port: int, phase: Phase) -> list[tuple[Any, ...]]:
    """The host's addresses; the lookup runs in a helper thread so that it too ends by the deadline.
    A lookup still running from an earlier attempt is waited for again rather than started anew,
    so a resolver that never answers holds one thread, not one per attempt."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    key = (host, port)
    with _lookups_lock:
        lookup = _lookups.get(key)
        if lookup is None:
            lookup = _lookups[key] = _Lookup()

            def run(lookup: _Lookup = lookup) -> None:
                try:
                    lookup.addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except OSError as exc:
                    lookup.error = exc
                finally:
                    with _lookups_lock:
                        if _lookups.get(key) is lookup:
                            del _lookups[key]
                    lookup.done.set()

            threading.Thread(target=run, name="db-name-lookup", daemon=True).start()
    if not lookup.done.wait(phase.remaining()):
        raise DatabaseUnreachableError(
            f"cannot resolve the database host {host!r}: no answer within {phase.elapsed():.1f} s "
            f"(phase: {phase.name}; the look-up goes on, and the next attempt waits for it)")
    if lookup.error is not None or lookup.addresses is None:
        raise DatabaseUnreachableError(f"cannot resolve the database host {host!r}: {lookup.error}")
    return list(lookup.addresses)


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
    if code == ER.ACCESS_DENIED_ERROR and credentials.token:
        at = "the database proxy" if settings.db_proxy else "the database"
        return IamAuthenticationError(
            f"{at} at {where} refused the IAM token for user {credentials.username!r} (MySQL error 1045, access "
            f"denied: {exc.args[-1] if exc.args else exc}); IAM authentication: check that the function's role has "
            f"rds-db:connect on arn:{settings.partition}:rds-db:{settings.region}:<account>:dbuser:<"
            f"{'prx-... proxy' if settings.db_proxy else 'db-... DbiResourceId'}>/{credentials.username}, that the "
            f"user is identified WITH AWSAuthenticationPlugin AS 'RDS' (the migration creates it), that the instance "
            f"has IAM database authentication on{', and that the proxy uses IAM_AUTH' if settings.db_proxy else ''}, "
            f"and that the token is signed for {where} (DB_HOST, DB_PORT) within its 15 minutes",
            dependency="database", phase="handshake")
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


def _new_connection(settings: Settings, credentials: DbCredentials) -> DeadlineConnection:
    conn = DeadlineConnection(
        host=settings.db_host,
        port=settings.db_port,
        user=credentials.username,
        password=credentials.password_bytes,
        database=settings.db_name,
        connect_timeout=settings.db_connect_timeout,
        read_timeout=settings.db_read_timeout,
        write_timeout=settings.db_read_timeout,
        ssl=tls_context(settings.ca_bundle),
        charset="utf8mb4",
        autocommit=True,
        program_name=PROGRAM_NAME,
        defer_connect=True,
    )
    conn.ctx = _DeadlineTLS(tls_context(settings.ca_bundle), conn)
    conn.behind_proxy = settings.db_proxy
    return conn


def open_connection(settings: Settings, credentials: DbCredentials, budget: Budget
                    ) -> tuple[DeadlineConnection, str | None]:
    """A new verified-TLS connection and its TLS version, or one of the function's exceptions."""
    tls_context(settings.ca_bundle)  # a CA bundle that cannot be loaded fails before any connection
    with budget.phase("database", "connect", cap=settings.db_connect_timeout) as phase:
        sock = connect_socket(settings, phase)
    with budget.phase("database", "handshake", cap=settings.db_read_timeout) as phase:
        conn = _new_connection(settings, credentials)
        conn.bind(phase, settings.db_read_timeout)
        try:
            conn.connect(sock)
            version = tls_version(conn)
        except pymysql.err.Error as exc:
            sock.close()
            raise _handshake_error(settings, credentials, phase, exc) from exc
    return conn, version


def kill_query(settings: Settings, credentials: DbCredentials, budget: Budget, thread_id: int,
               deadline: float) -> tuple[bool, str]:
    """``KILL QUERY <thread_id>`` from a side connection opened for it, all by ``deadline``;
    (True, "") when the server confirmed it, else (False, why). A session may stop its own
    user's statements on RDS MySQL and on MariaDB alike."""
    span = deadline - time.monotonic()
    if span <= MIN_WAIT_S:
        return False, "no time was left to send KILL QUERY"
    side: DeadlineConnection | None = None
    try:
        with budget.phase("database", "kill", cap=span) as phase:
            sock = connect_socket(settings, phase)
            side = _new_connection(settings, credentials)
            side.server_bounds = False
            side.bind(phase, span)
            try:
                side.connect(sock)
            except pymysql.err.Error:
                sock.close()
                raise
            with side.cursor() as cur:
                cur.execute(f"KILL QUERY {int(thread_id)}")
        return True, ""
    except (HandlerError, pymysql.err.Error, OSError) as exc:
        return False, f"KILL QUERY could not be sent or confirmed: {exc}"
    finally:
        if side is not None:
            with contextlib.suppress(Exception):
                side.close()
