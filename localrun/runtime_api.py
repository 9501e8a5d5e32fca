"""A local AWS Lambda Runtime API, served on loopback.

The real runtime interface client (``awslambdaric``) talks to this server the way it
talks to Lambda: it asks for the next invocation, runs the handler and posts the
response or the error back.  What the client sends and expects, as read from
``awslambdaric`` 4.2.2 and the ``aws-lambda-cpp`` client it bundles:

* ``GET /2018-06-01/runtime/invocation/next`` blocks until there is work.  The reply
  is the event body with ``Content-Type: application/json`` and the headers
  ``Lambda-Runtime-Aws-Request-Id`` (the client rejects a reply without it),
  ``Lambda-Runtime-Deadline-Ms`` (epoch milliseconds),
  ``Lambda-Runtime-Invoked-Function-Arn`` and, optionally, ``Lambda-Runtime-Trace-Id``.
* ``POST /2018-06-01/runtime/invocation/{id}/response`` carries the handler's result
  (``application/json``, or ``application/unknown`` when the handler returned bytes).
* ``POST /2018-06-01/runtime/invocation/{id}/error`` carries
  ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` and the header
  ``Lambda-Runtime-Function-XRay-Error-Cause``.  The bundled client does not send
  ``Lambda-Runtime-Function-Error-Type`` here, so the type is read from the body
  when the header is absent.
* ``POST /2018-06-01/runtime/init/error`` carries the same error document and
  ``Lambda-Runtime-Function-Error-Type``; the client then exits with status 1.

The client treats any 2xx reply to a POST as success, except ``init/error`` which must
answer exactly 202; Lambda answers 202 to all three, and so does this server.  The
client's POSTs give up after a short time, so the handlers answer at once.

One server serves one runtime process: a fresh process gets a fresh server, so a
``next`` request left over from a process that died can never take an invocation
meant for its successor.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = [
    "DEADLINE_MS_HEADER",
    "ERROR_TYPE_HEADER",
    "FUNCTION_ARN_HEADER",
    "INIT_ERROR_PATH",
    "MAX_PAYLOAD_BYTES",
    "NEXT_PATH",
    "REQUEST_ID_HEADER",
    "TRACE_ID_HEADER",
    "XRAY_ERROR_CAUSE_HEADER",
    "InitError",
    "Invocation",
    "RuntimeApiServer",
    "new_trace_id",
]

_log = logging.getLogger(__name__)

API_VERSION_PREFIX = "/2018-06-01/runtime"
NEXT_PATH = f"{API_VERSION_PREFIX}/invocation/next"
INIT_ERROR_PATH = f"{API_VERSION_PREFIX}/init/error"
_RESULT_PATH = re.compile(
    rf"^{re.escape(API_VERSION_PREFIX)}/invocation/(?P<request_id>[^/]+)/(?P<kind>response|error)$"
)

REQUEST_ID_HEADER = "Lambda-Runtime-Aws-Request-Id"
DEADLINE_MS_HEADER = "Lambda-Runtime-Deadline-Ms"
FUNCTION_ARN_HEADER = "Lambda-Runtime-Invoked-Function-Arn"
TRACE_ID_HEADER = "Lambda-Runtime-Trace-Id"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_ERROR_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"

#: Lambda's limit for a synchronous response (and request) payload.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024

#: How often a blocked ``next`` request wakes up to see whether its client is gone.
_NEXT_POLL_S = 0.1


def new_trace_id() -> str:
    """An X-Ray trace header value of the shape Lambda hands to the runtime."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


@dataclass(eq=False)
class Invocation:
    """One event on its way through the Runtime API.

    The fields below ``trace_id`` are written by the server, under its lock, before
    ``delivered`` or ``done`` is set; read them after waiting on those events.
    """

    request_id: str
    event: bytes
    function_arn: str
    timeout_s: float
    trace_id: str | None = None
    #: Epoch milliseconds sent as ``Lambda-Runtime-Deadline-Ms``.
    deadline_ms: int | None = None
    #: ``time.monotonic()`` when the runtime received the event.
    delivered_at: float | None = None
    #: ``time.monotonic()`` when the runtime posted the response or the error.
    finished_at: float | None = None
    response: bytes | None = None
    response_content_type: str | None = None
    #: The error document the runtime posted (``errorMessage``, ``errorType``, ...).
    error: dict[str, Any] | None = None
    #: ``Lambda-Runtime-Function-Error-Type``, when the runtime sent it.
    error_type_header: str | None = None
    delivered: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class InitError:
    """What the runtime posted to ``/runtime/init/error``."""

    error: dict[str, Any]
    error_type_header: str | None
    received_at: float


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _parse_error_document(body: bytes, error_type_header: str | None) -> dict[str, Any]:
    """The error JSON a runtime posted; never raises on a malformed body."""
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text) if text else {}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {"errorMessage": text}
    if error_type_header and not document.get("errorType"):
        document["errorType"] = error_type_header
    document.setdefault("errorType", "Runtime.Unknown")
    document.setdefault("errorMessage", "")
    return document


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: RuntimeApiServer) -> None:
        self.api = api
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed mid-request (timeout, shutdown) leaves a broken connection behind.
        _log.debug("runtime api: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small replies must not wait for delayed ACKs
    server_version = "LocalLambdaRuntimeAPI"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.server.api._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track_connection(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("runtime api: " + format, *args)

    # -- replies -------------------------------------------------------------------

    def _reply(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- routes --------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path != NEXT_PATH:
            self._reply(HTTPStatus.NOT_FOUND, _error_body("NotFound", f"No route for GET {self.path}"))
            return
        api = self.server.api
        invocation = api._take_next(self.connection)
        if invocation is None:  # the server is stopping, or the client went away
            self.close_connection = True
            return
        headers = {
            REQUEST_ID_HEADER: invocation.request_id,
            DEADLINE_MS_HEADER: str(invocation.deadline_ms),
            FUNCTION_ARN_HEADER: invocation.function_arn,
        }
        if invocation.trace_id:
            headers[TRACE_ID_HEADER] = invocation.trace_id
        try:
            self._reply(HTTPStatus.OK, invocation.event, "application/json", headers)
        except OSError:
            api._requeue(invocation)
            raise

    def do_POST(self) -> None:
        body = self._read_body()
        api = self.server.api
        error_type_header = self.headers.get(ERROR_TYPE_HEADER)
        if self.path == INIT_ERROR_PATH:
            status, reply = api._record_init_error(body, error_type_header)
            try:
                self._reply(status, reply)
            finally:
                api._publish()
            return
        match = _RESULT_PATH.match(self.path)
        if match is None:
            self._reply(HTTPStatus.NOT_FOUND, _error_body("NotFound", f"No route for POST {self.path}"))
            return
        status, reply, invocation = api._record_result(
            match["request_id"],
            match["kind"],
            body,
            self.headers.get("Content-Type"),
            error_type_header,
        )
        try:
            self._reply(status, reply)
        finally:
            # Complete only once the runtime has its answer, so that a caller who stops
            # the runtime as soon as the result is in does not cut that answer short.
            if invocation is not None:
                api._complete(invocation)


class RuntimeApiServer:
    """The Lambda Runtime API for one runtime process, on ``127.0.0.1`` and a free port.

    ``submit`` queues an event; the runtime's blocked ``next`` request receives it;
    the runtime's POST completes the returned :class:`Invocation`.  Use it as a
    context manager, or call :meth:`start` and :meth:`stop`.

    ``on_deliver`` is called in the server's thread just before an event is sent to
    the runtime (so that whatever the runtime prints from then on can be attributed
    to that invocation); it must not block.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        on_deliver: Callable[[Invocation], None] | None = None,
    ) -> None:
        self._bind = (host, port)
        self._on_deliver = on_deliver
        self._cond = threading.Condition()
        self._queue: collections.deque[Invocation] = collections.deque()
        self._in_flight: dict[str, Invocation] = {}
        self._init_error: InitError | None = None
        self._init_error_unpublished: InitError | None = None
        self._first_next_at: float | None = None
        self._stopping = False
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> RuntimeApiServer:
        if self._server is not None:
            raise RuntimeError("the Runtime API server is already started")
        self._server = _Server(self._bind, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"runtime-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake blocked ``next`` requests and close every connection."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Runtime API server is not started")
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        return f"{self._bind[0]}:{self.port}"

    # -- what the caller sees ------------------------------------------------------

    def submit(
        self,
        event: bytes,
        *,
        function_arn: str,
        timeout_s: float,
        request_id: str | None = None,
        trace_id: str | None = None,
    ) -> Invocation:
        """Queue an event for the runtime; the deadline starts when it is delivered."""
        if len(event) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"event of {len(event)} bytes exceeds Lambda's {MAX_PAYLOAD_BYTES}-byte limit")
        invocation = Invocation(
            request_id=request_id or str(uuid.uuid4()),
            event=event,
            function_arn=function_arn,
            timeout_s=timeout_s,
            trace_id=trace_id,
        )
        with self._cond:
            if self._stopping:
                raise RuntimeError("the Runtime API server is stopping")
            self._queue.append(invocation)
            self._cond.notify_all()
        return invocation

    def withdraw(self, invocation: Invocation) -> None:
        """Forget an invocation: undelivered, it is never delivered; in flight, its result is refused."""
        with self._cond:
            with contextlib.suppress(ValueError):
                self._queue.remove(invocation)
            self._in_flight.pop(invocation.request_id, None)

    @property
    def init_error(self) -> InitError | None:
        with self._cond:
            return self._init_error

    @property
    def first_next_at(self) -> float | None:
        """``time.monotonic()`` of the runtime's first ``next`` request: the end of its init."""
        with self._cond:
            return self._first_next_at

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds, re-checking whenever the runtime calls in."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)

    # -- called from request handlers ----------------------------------------------

    def _track_connection(self, connection: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _take_next(self, connection: socket.socket) -> Invocation | None:
        with self._cond:
            if self._first_next_at is None:
                self._first_next_at = time.monotonic()
                self._cond.notify_all()
            while not self._queue:
                if self._stopping or _peer_closed(connection):
                    return None
                self._cond.wait(timeout=_NEXT_POLL_S)
            if self._stopping:
                return None
            invocation = self._queue.popleft()
            invocation.delivered_at = time.monotonic()
            invocation.deadline_ms = int(time.time() * 1000 + invocation.timeout_s * 1000)
            self._in_flight[invocation.request_id] = invocation
        if self._on_deliver is not None:
            self._on_deliver(invocation)
        invocation.delivered.set()
        with self._cond:
            self._cond.notify_all()
        return invocation

    def _requeue(self, invocation: Invocation) -> None:
        """The event could not be sent: give it to the next ``next`` request."""
        with self._cond:
            if self._in_flight.pop(invocation.request_id, None) is None:
                return
            invocation.delivered.clear()
            invocation.delivered_at = None
            invocation.deadline_ms = None
            self._queue.appendleft(invocation)
            self._cond.notify_all()

    def _record_result(
        self,
        request_id: str,
        kind: str,
        body: bytes,
        content_type: str | None,
        error_type_header: str | None,
    ) -> tuple[HTTPStatus, bytes, Invocation | None]:
        with self._cond:
            invocation = self._in_flight.pop(request_id, None)
            if invocation is None:
                return (
                    HTTPStatus.BAD_REQUEST,
                    _error_body("InvalidRequestID", f"No invocation in flight with request id {request_id!r}"),
                    None,
                )
            invocation.finished_at = time.monotonic()
            status = HTTPStatus.ACCEPTED
            reply = b'{"status":"OK"}'
            if kind == "response" and len(body) > MAX_PAYLOAD_BYTES:
                invocation.error = {
                    "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                    f"payload size ({MAX_PAYLOAD_BYTES} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
                status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                reply = _error_body("RequestEntityTooLarge", invocation.error["errorMessage"])
            elif kind == "response":
                invocation.response = body
                invocation.response_content_type = content_type
            else:
                invocation.error_type_header = error_type_header
                invocation.error = _parse_error_document(body, error_type_header)
            return status, reply, invocation

    def _complete(self, invocation: Invocation) -> None:
        with self._cond:
            invocation.done.set()
            self._cond.notify_all()

    def _publish(self) -> None:
        """Make a reported init error visible, once the runtime has its answer."""
        with self._cond:
            if self._init_error_unpublished is not None:
                self._init_error, self._init_error_unpublished = self._init_error_unpublished, None
            self._cond.notify_all()

    def _record_init_error(self, body: bytes, error_type_header: str | None) -> tuple[HTTPStatus, bytes]:
        with self._cond:
            already_reported = self._init_error is not None or self._init_error_unpublished is not None
            if already_reported or self._first_next_at is not None:
                return HTTPStatus.FORBIDDEN, _error_body(
                    "InvalidStateTransition", "Init error can only be reported once, during init"
                )
            self._init_error_unpublished = InitError(
                error=_parse_error_document(body, error_type_header),
                error_type_header=error_type_header,
                received_at=time.monotonic(),
            )
            return HTTPStatus.ACCEPTED, b'{"status":"OK"}'


def _peer_closed(connection: socket.socket) -> bool:
    """Whether the client of a blocked request has closed its end."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        return connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
