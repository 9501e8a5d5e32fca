"""A local AWS Lambda Runtime API, served on loopback: the part of it this project uses.

The real runtime interface client (``awslambdaric``) talks to this server the way it
talks to Lambda: it asks for the next invocation, runs the handler and posts the
response or the error back.  What the client sends and expects, as read from
``awslambdaric`` 4.2 and the ``aws-lambda-cpp`` client it bundles:

* ``GET /2018-06-01/runtime/invocation/next`` blocks until there is work.  The reply
  is the event body with ``Content-Type: application/json`` and the headers
  ``Lambda-Runtime-Aws-Request-Id`` (the client rejects a reply without it),
  ``Lambda-Runtime-Deadline-Ms`` (epoch milliseconds; the handler's
  ``context.get_remaining_time_in_millis()`` and the function's time budget read it) and
  ``Lambda-Runtime-Invoked-Function-Arn``.
* ``POST /2018-06-01/runtime/invocation/{id}/response`` carries the handler's result.
* ``POST /2018-06-01/runtime/invocation/{id}/error`` carries
  ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.
* ``POST /2018-06-01/runtime/init/error`` carries the same error document when the
  handler module cannot be loaded; the client then exits with status 1.

Lambda answers 202 to the three POSTs and so does this server (the client insists on
exactly 202 for ``init/error``).  The client's POSTs give up after a short time, so
the handlers answer at once.

What Lambda does beyond that is left out: payload size limits, qualifiers and
versions, X-Ray trace and error-cause headers, client context and Cognito identity.

One server serves one runtime process: a fresh process gets a fresh server, so a
``next`` request left over from a process that died can never take an invocation
meant for its successor.
"""

from __future__ import annotations

import collections
import json
import logging
import re
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
    "FUNCTION_ARN_HEADER",
    "INIT_ERROR_PATH",
    "NEXT_PATH",
    "REQUEST_ID_HEADER",
    "Invocation",
    "RuntimeApiServer",
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

#: How often a blocked ``next`` request wakes up to see whether the server is stopping.
_NEXT_POLL_S = 0.1
_ACCEPTED = b'{"status":"OK"}'


@dataclass(eq=False)
class Invocation:
    """One event on its way through the Runtime API.

    The fields below ``timeout_s`` are written by the server, under its lock, before
    ``delivered`` or ``done`` is set; read them after waiting on those events.
    """

    request_id: str
    event: bytes
    function_arn: str
    timeout_s: float
    #: ``time.monotonic()`` when the runtime received the event.
    delivered_at: float | None = None
    #: ``time.monotonic()`` when the runtime posted the response or the error.
    finished_at: float | None = None
    response: bytes | None = None
    #: The error document the runtime posted (``errorMessage``, ``errorType``, ...).
    error: dict[str, Any] | None = None
    delivered: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _parse_error_document(body: bytes) -> dict[str, Any]:
    """The error JSON a runtime posted; never raises on a malformed body."""
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text) if text else {}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {"errorMessage": text}
    document.setdefault("errorType", "Runtime.Unknown")
    document.setdefault("errorMessage", "")
    return document


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a runtime killed mid-request must not keep stop() waiting
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

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("runtime api: " + format, *args)

    def _reply(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != NEXT_PATH:
            self._reply(HTTPStatus.NOT_FOUND, _error_body("NotFound", f"No route for GET {self.path}"))
            return
        invocation = self.server.api._take_next()
        if invocation is None:  # the server is stopping
            self.close_connection = True
            return
        assert invocation.delivered_at is not None
        deadline_ms = int(time.time() * 1000 + invocation.timeout_s * 1000)
        self._reply(HTTPStatus.OK, invocation.event, {
            REQUEST_ID_HEADER: invocation.request_id,
            DEADLINE_MS_HEADER: str(deadline_ms),
            FUNCTION_ARN_HEADER: invocation.function_arn,
        })

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        api = self.server.api
        if self.path == INIT_ERROR_PATH:
            self._reply(HTTPStatus.ACCEPTED, _ACCEPTED)
            # Made visible only once the runtime has its answer, so that a caller who stops
            # the runtime as soon as the error is in does not cut that answer short.
            api._record_init_error(body)
            return
        match = _RESULT_PATH.match(self.path)
        if match is None:
            self._reply(HTTPStatus.NOT_FOUND, _error_body("NotFound", f"No route for POST {self.path}"))
            return
        invocation = api._take_in_flight(match["request_id"])
        if invocation is None:
            self._reply(HTTPStatus.BAD_REQUEST, _error_body(
                "InvalidRequestID", f"No invocation in flight with request id {match['request_id']!r}"))
            return
        self._reply(HTTPStatus.ACCEPTED, _ACCEPTED)
        api._complete(invocation, match["kind"], body)  # likewise, after the answer


class RuntimeApiServer:
    """The Lambda Runtime API for one runtime process, on ``127.0.0.1`` and a free port.

    ``submit`` queues an event; the runtime's blocked ``next`` request receives it;
    the runtime's POST completes the returned :class:`Invocation`.  Use it as a
    context manager, or call :meth:`start` and :meth:`stop`.

    ``on_deliver`` is called in the server's thread just before an event is sent to
    the runtime (so that whatever the runtime prints from then on can be attributed
    to that invocation); it must not block.
    """

    def __init__(self, on_deliver: Callable[[Invocation], None] | None = None) -> None:
        self._on_deliver = on_deliver
        self._cond = threading.Condition()
        self._queue: collections.deque[Invocation] = collections.deque()
        self._in_flight: dict[str, Invocation] = {}
        self._init_error: dict[str, Any] | None = None
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RuntimeApiServer:
        if self._server is not None:
            raise RuntimeError("the Runtime API server is already started")
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"runtime-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake blocked ``next`` requests and close the listening socket."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
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
        return f"127.0.0.1:{self.port}"

    # -- what the caller sees ------------------------------------------------------

    def submit(self, event: bytes, *, function_arn: str, timeout_s: float) -> Invocation:
        """Queue an event for the runtime; the deadline starts when it is delivered."""
        invocation = Invocation(str(uuid.uuid4()), event, function_arn, timeout_s)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the Runtime API server is stopping")
            self._queue.append(invocation)
            self._cond.notify_all()
        return invocation

    @property
    def init_error(self) -> dict[str, Any] | None:
        """The error document the runtime posted to ``/runtime/init/error``, if it did."""
        with self._cond:
            return self._init_error

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds, re-checking whenever the runtime calls in."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)

    # -- called from request handlers ----------------------------------------------

    def _take_next(self) -> Invocation | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait(timeout=_NEXT_POLL_S)
            if self._stopping:
                return None
            invocation = self._queue.popleft()
            invocation.delivered_at = time.monotonic()
            self._in_flight[invocation.request_id] = invocation
        if self._on_deliver is not None:
            self._on_deliver(invocation)
        invocation.delivered.set()
        with self._cond:
            self._cond.notify_all()
        return invocation

    def _take_in_flight(self, request_id: str) -> Invocation | None:
        with self._cond:
            invocation = self._in_flight.pop(request_id, None)
            if invocation is not None:
                invocation.finished_at = time.monotonic()
            return invocation

    def _complete(self, invocation: Invocation, kind: str, body: bytes) -> None:
        with self._cond:
            if kind == "response":
                invocation.response = body
            else:
                invocation.error = _parse_error_document(body)
            invocation.done.set()
            self._cond.notify_all()

    def _record_init_error(self, body: bytes) -> None:
        with self._cond:
            if self._init_error is None:
                self._init_error = _parse_error_document(body)
            self._cond.notify_all()
