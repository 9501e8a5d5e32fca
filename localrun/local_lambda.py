"""Run a Lambda deployment package locally, under the real runtime interface client.

:class:`LocalLambda` starts ``python -m awslambdaric <handler>`` in the package
directory, with the environment Lambda would give it, against a
:class:`~localrun.runtime_api.RuntimeApiServer` on loopback, and turns each
:meth:`LocalLambda.invoke` into one Lambda invocation:

* invocations reuse the process while it lives (warm starts keep module state);
* a handler that outlives the timeout is killed, and the result says it timed out;
* a failed init (the handler module raises at import, or the runtime exits before it
  asks for work) comes back as an error result, never as a hang;
* after a timeout, a failed init or a runtime crash, the next invocation starts a
  fresh process (a cold start), as Lambda does.

Each of these is something a test or ``make local`` relies on: the time-budget and
failure tests need a handler that hangs to be killed and reported, and ``make local``
must end rather than hang whatever the package does.  What Lambda also does but this
project never meets is left out: payload size limits, qualified ARNs and versions,
X-Ray tracing, init durations.

The function's stdout and stderr are read from one pipe, so their lines keep the
order in which they were written, and are attributed to the invocation during
which they were printed.  The runtime flushes every write, and the pipe is drained
when the event is delivered and again when the result arrives, so that
attribution does not depend on thread timing.  POSIX only (Lambda is Linux).

With a ``placement`` (a network namespace, :class:`localrun.netns.Namespace`), the runtime
process runs inside it and the Runtime API's listening socket is made there, on its loopback,
as Lambda serves it inside the sandbox: the function then sees only that namespace's network.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar

from localrun.runtime_api import Invocation, RuntimeApiServer

__all__ = ["InvocationResult", "LocalLambda", "Placement", "Status"]

_T = TypeVar("_T")


class Placement(Protocol):
    """Where a runtime runs: a network namespace (``localrun.netns.Namespace``)."""

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as a command that runs there."""
        ...

    def call(self, function: Callable[[], _T]) -> _T:
        """``function()`` run there (a socket it creates stays there)."""
        ...

Status = Literal["ok", "function_error", "init_error", "timeout", "runtime_exit"]

#: Variables that wire the runtime to this harness; ``env`` may not set them.
RESERVED_ENV_KEYS = frozenset({"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "PYTHONPATH"})

_log = logging.getLogger(__name__)

_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64})$"
)
_HANDLER = re.compile(r"^[A-Za-z_][\w/.]*\.[A-Za-z_]\w*$")

#: Lambda's limit on the init phase of an on-demand function.
DEFAULT_INIT_TIMEOUT_S = 10.0
_MAX_TIMEOUT_S = 900.0
_POLL_S = 0.05
_TERMINATE_GRACE_S = 2.0
_LOG_DRAIN_S = 2.0


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation, as a caller of ``lambda:Invoke`` would see it, plus its logs."""

    request_id: str
    #: ``ok``; ``function_error`` (the handler raised); ``init_error`` (the function
    #: never got the event: import failed, init timed out or the runtime exited during
    #: init); ``timeout``; ``runtime_exit`` (the process died during the invocation).
    status: Status
    #: The handler's return value, decoded from JSON (raw bytes when it returned bytes).
    payload: Any
    #: ``{"errorType", "errorMessage", "stackTrace"?, ...}`` for every status but ``ok``.
    error: dict[str, Any] | None
    #: From delivery of the event to the runtime's answer (or to the kill).
    duration_s: float
    #: Lines the function printed while it handled this event.
    logs: tuple[str, ...]
    #: Lines printed before the event was delivered: the init phase on a cold start.
    init_logs: tuple[str, ...]
    cold_start: bool

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else str(self.error.get("errorType", ""))

    @property
    def error_message(self) -> str | None:
        return None if self.error is None else str(self.error.get("errorMessage", ""))


class _LogCapture:
    """Reads the function's merged stdout/stderr pipe into lines, segment by segment.

    A reader thread consumes the pipe as it fills; :meth:`cut` first drains whatever
    the pipe holds (under the same lock), then returns the lines collected since the
    previous cut.  A partial last line is included in the segment it was printed in.
    """

    def __init__(self, read_fd: int, on_line: Callable[[str], None] | None) -> None:
        os.set_blocking(read_fd, False)
        self._fd = read_fd
        self._on_line = on_line
        self._lock = threading.Lock()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._lines: list[str] = []
        self._eof = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lambda-logs", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._eof or self._closed:
                    return
            try:
                select.select([self._fd], [], [], 0.1)
            except (OSError, ValueError):
                return
            with self._lock:
                if not self._closed:
                    self._read_available()

    def _read_available(self) -> None:
        """Consume everything the pipe holds now. Call with the lock held."""
        while not self._eof:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._eof = True
                self._add(self._decoder.decode(b"", final=True))
                return
            self._add(self._decoder.decode(data))

    def _add(self, text: str) -> None:
        if not text:
            return
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self._emit(line)

    def _emit(self, line: str) -> None:
        self._lines.append(line)
        if self._on_line is not None:
            try:
                self._on_line(line)
            except Exception:  # a faulty echo must not stop the capture
                _log.exception("on_log callback failed")

    def cut(self) -> list[str]:
        with self._lock:
            if not self._closed:
                self._read_available()
            if self._partial:
                self._emit(self._partial)
                self._partial = ""
            lines, self._lines = self._lines, []
            return lines

    def finish(self, timeout: float) -> list[str]:
        """After the process is gone: read to end of file (bounded), close, return the rest."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._closed:
                    self._read_available()
                if self._eof or self._closed:
                    break
            time.sleep(0.01)
        lines = self.cut()
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)
        self._thread.join(timeout=1)
        return lines


class _Sandbox:
    """One runtime process with its own Runtime API server and log pipe."""

    def __init__(
        self,
        command: list[str],
        cwd: Path,
        env: dict[str, str],
        on_log: Callable[[str], None] | None,
        placement: Placement | None = None,
    ) -> None:
        self.pre_event_logs: dict[str, list[str]] = {}
        self.invocations = 0
        self.server = RuntimeApiServer(on_deliver=self._on_deliver)
        if placement is None:
            self.server.start()
        else:
            placement.call(self.server.start)
            command = placement.exec_argv(command)
        try:
            read_fd, write_fd = os.pipe()
        except BaseException:
            self.server.stop()
            raise
        self.logs = _LogCapture(read_fd, on_log)
        try:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env={**env, "AWS_LAMBDA_RUNTIME_API": self.server.address},
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                start_new_session=True,  # its own process group: no terminal SIGINT, one kill for all
            )
        except BaseException:
            self.logs.finish(timeout=0)
            self.server.stop()
            raise
        finally:
            os.close(write_fd)

    def _on_deliver(self, invocation: Invocation) -> None:
        self.pre_event_logs[invocation.request_id] = self.logs.cut()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, *, grace_s: float) -> list[str]:
        """Stop the process group (SIGTERM first when ``grace_s`` > 0), the server; return the last logs."""
        if self.process.poll() is None and grace_s > 0:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace_s)
        self._signal_group(signal.SIGKILL)  # also whatever the function spawned
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL does not fail; bounded all the same
            self.process.wait(timeout=10)
        lines = self.logs.finish(timeout=_LOG_DRAIN_S)
        self.server.stop()
        return lines

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


class LocalLambda:
    """A Lambda function run locally from its deployment package.

    ``package_dir`` is the unpacked deployment package (what Lambda puts in
    ``/var/task``); ``handler`` is Lambda's ``module.function`` setting; ``env`` is the
    function's whole environment beyond what the runtime sets itself: the process
    inherits nothing from the caller but ``PATH``, so AWS credentials reach the
    function only through ``env`` (shared credential files and the instance metadata
    service are switched off unless ``env`` says otherwise).  ``AWS_REGION`` and
    ``AWS_DEFAULT_REGION`` default to the ARN's region.  ``placement``: a network
    namespace the runtime and its Runtime API are placed in (default: this machine's).

    Use it as a context manager: entering launches the runtime process (its init runs
    at once), leaving stops the process and its server, also on an exception or
    ``KeyboardInterrupt``.  ``invoke`` is serialised: one event at a time, as in one
    Lambda execution environment.
    """

    def __init__(
        self,
        package_dir: Path,
        handler: str,
        env: Mapping[str, str],
        function_arn: str,
        timeout_s: float,
        python: str = sys.executable,
        *,
        memory_mb: int = 128,
        runtime: str = "python3.12",
        init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S,
        on_log: Callable[[str], None] | None = None,
        placement: Placement | None = None,
    ) -> None:
        package_dir = Path(package_dir).resolve()
        if not package_dir.is_dir():
            raise ValueError(f"package directory does not exist: {package_dir}")
        if not _HANDLER.match(handler):
            raise ValueError(f"handler must look like 'module.function', got {handler!r}")
        arn = _FUNCTION_ARN.match(function_arn)
        if arn is None:
            raise ValueError(f"not an unqualified Lambda function ARN: {function_arn!r}")
        if not 0 < timeout_s <= _MAX_TIMEOUT_S or init_timeout_s <= 0:
            raise ValueError(f"timeouts must be positive, at most {_MAX_TIMEOUT_S:g} s: {timeout_s}, {init_timeout_s}")
        reserved = sorted(RESERVED_ENV_KEYS & set(env))
        if reserved:
            raise ValueError(f"env may not set {', '.join(reserved)}: the local runtime sets them")

        self.package_dir = package_dir
        self.handler = handler
        self.function_arn = function_arn
        self.function_name = arn["name"]
        self.region = arn["region"]
        self.timeout_s = float(timeout_s)
        self.init_timeout_s = float(init_timeout_s)
        self.python = python
        self.memory_mb = memory_mb
        self.runtime = runtime
        self._user_env = dict(env)
        self._on_log = on_log
        self.placement = placement
        self._sandbox: _Sandbox | None = None
        self._lock = threading.Lock()
        self._closed = False

    def process_env(self) -> dict[str, str]:
        """The environment of the runtime process (without ``AWS_LAMBDA_RUNTIME_API``)."""
        name = self.function_name
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",  # the package directory stays as built (Lambda's is read-only)
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        env.update(self._user_env)
        env.update(
            {
                "PYTHONPATH": str(self.package_dir),
                "LAMBDA_TASK_ROOT": str(self.package_dir),
                "_HANDLER": self.handler,
            }
        )
        return env

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> LocalLambda:
        """Launch the runtime process now (``invoke`` does it when there is none)."""
        with self._lock:
            self._ensure_sandbox()
        return self

    def close(self) -> None:
        """Stop the runtime process and its server. Idempotent."""
        with self._lock:
            self._closed = True
            self._discard_sandbox(grace_s=_TERMINATE_GRACE_S)

    def __enter__(self) -> Self:
        try:
            self.start()
            return self
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The runtime process's id while one is running."""
        sandbox = self._sandbox
        return sandbox.process.pid if sandbox is not None and sandbox.alive() else None

    @property
    def runtime_api_address(self) -> str | None:
        sandbox = self._sandbox
        return sandbox.server.address if sandbox is not None else None

    def _ensure_sandbox(self) -> _Sandbox:
        if self._closed:
            raise RuntimeError("this LocalLambda is closed")
        if self._sandbox is not None and self._sandbox.invocations and not self._sandbox.alive():
            # The runtime died after an invocation: like Lambda, use a fresh environment.
            # (One that died during init is left for ``invoke`` to report.)
            self._discard_sandbox(grace_s=0)
        if self._sandbox is None:
            command = [self.python, "-m", "awslambdaric", self.handler]
            self._sandbox = _Sandbox(command, self.package_dir, self.process_env(), self._on_log, self.placement)
        return self._sandbox

    def _discard_sandbox(self, *, grace_s: float) -> list[str]:
        sandbox, self._sandbox = self._sandbox, None
        return sandbox.kill(grace_s=grace_s) if sandbox is not None else []

    # -- invocations ---------------------------------------------------------------

    def invoke(self, event: Any = None) -> InvocationResult:
        """Send one event (JSON-serialisable, or raw ``bytes``) and wait for its outcome."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        with self._lock:
            try:
                return self._invoke(self._ensure_sandbox(), body)
            except BaseException:
                # Interrupted mid-invocation: the process's state is unknown; start afresh next time.
                self._discard_sandbox(grace_s=0)
                raise

    def _invoke(self, sandbox: _Sandbox, body: bytes) -> InvocationResult:
        server = sandbox.server
        cold = sandbox.invocations == 0
        sandbox.invocations += 1
        submitted_at = time.monotonic()
        invocation = server.submit(body, function_arn=self.function_arn, timeout_s=self.timeout_s)
        request_id = invocation.request_id

        def settled() -> bool:
            return invocation.done.is_set() or server.init_error is not None

        while True:
            server.wait(settled, timeout=_POLL_S)
            now = time.monotonic()
            if invocation.done.is_set():
                return self._finished(sandbox, invocation, cold)
            exited = not sandbox.alive()  # read before the reports: a runtime reports, then exits
            delivered_at = invocation.delivered_at if invocation.delivered.is_set() else None
            if delivered_at is None:
                init_error = server.init_error
                if init_error is not None:
                    return self._failed(sandbox, invocation, cold, "init_error", dict(init_error), now - submitted_at)
                if exited:
                    error = self._exit_error(sandbox, request_id)
                    return self._failed(sandbox, invocation, cold, "init_error", error, now - submitted_at)
                if now - submitted_at > self.init_timeout_s:
                    error = {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {request_id} Error: the runtime did not ask for the event "
                        f"within {self.init_timeout_s:.2f} seconds (init timed out)",
                    }
                    return self._failed(sandbox, invocation, cold, "init_error", error, now - submitted_at)
                continue
            if invocation.done.is_set():
                return self._finished(sandbox, invocation, cold)
            if exited:
                error = self._exit_error(sandbox, request_id)
                return self._failed(sandbox, invocation, cold, "runtime_exit", error, now - delivered_at)
            if now - delivered_at >= self.timeout_s:
                error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after {self.timeout_s:.2f} seconds",
                }
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                platform_line = f"{stamp} {request_id} Task timed out after {self.timeout_s:.2f} seconds"
                return self._failed(
                    sandbox, invocation, cold, "timeout", error, now - delivered_at, platform_line=platform_line
                )

    def _finished(self, sandbox: _Sandbox, invocation: Invocation, cold: bool) -> InvocationResult:
        logs = sandbox.logs.cut()
        assert invocation.delivered_at is not None and invocation.finished_at is not None
        payload: Any = None
        if invocation.error is None and invocation.response is not None:
            try:
                payload = json.loads(invocation.response)
            except ValueError:  # the handler returned bytes
                payload = invocation.response
        return InvocationResult(
            request_id=invocation.request_id,
            status="ok" if invocation.error is None else "function_error",
            payload=payload,
            error=invocation.error,
            duration_s=invocation.finished_at - invocation.delivered_at,
            logs=tuple(logs),
            init_logs=tuple(sandbox.pre_event_logs.pop(invocation.request_id, [])),
            cold_start=cold,
        )

    def _failed(
        self,
        sandbox: _Sandbox,
        invocation: Invocation,
        cold: bool,
        status: Status,
        error: dict[str, Any],
        duration_s: float,
        platform_line: str | None = None,
    ) -> InvocationResult:
        """The invocation failed outside the handler: kill the process; the next invoke starts afresh."""
        delivered = invocation.delivered.is_set()
        before = sandbox.logs.cut()
        rest = self._discard_sandbox(grace_s=0)
        if delivered:
            init_logs = sandbox.pre_event_logs.pop(invocation.request_id, [])
            logs = before + rest
        else:
            init_logs, logs = before + rest, []
        if platform_line is not None:
            logs.append(platform_line)
        return InvocationResult(
            request_id=invocation.request_id,
            status=status,
            payload=None,
            error=error,
            duration_s=duration_s,
            logs=tuple(logs),
            init_logs=tuple(init_logs),
            cold_start=cold,
        )

    @staticmethod
    def _exit_error(sandbox: _Sandbox, request_id: str) -> dict[str, Any]:
        code = sandbox.process.returncode
        if code is not None and code < 0:
            try:
                how = f"signal: {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal: {-code}"
        else:
            how = f"exit status {code}"
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {how}",
        }
