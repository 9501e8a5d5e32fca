"""Run the deployment package the way Lambda does.

``FunctionProcess`` starts the real Lambda runtime interface client (``awslambdaric``,
the same bootstrap AWS's Python base images run) in a subprocess whose working directory
is the unpacked package, as ``/var/task`` is in Lambda: the handler and its bundled
PyMySQL are imported from there, boto3 comes from the runtime's environment.
``RuntimeApi`` is the Lambda Runtime API that process polls, on loopback: each
``invoke()`` hands it one event and waits for the response or the error the runtime
posts back. Between invocations the process stays alive and blocked on ``next``, so
module state survives exactly as in a warm execution environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API_PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws-cn:lambda:cn-northwest-1:123456789012:function:employees-report"


@dataclass
class Invocation:
    request_id: str
    elapsed: float
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else self.error.get("errorType")

    @property
    def error_message(self) -> str:
        return "" if self.error is None else str(self.error.get("errorMessage", ""))

    @property
    def body(self) -> dict[str, Any]:
        assert self.ok, f"invocation failed: {self.error_type}: {self.error_message}"
        assert isinstance(self.result, dict), self.result
        return json.loads(self.result["body"])


class RuntimeApi:
    """The Runtime API endpoints awslambdaric uses: next, response, error, init/error."""

    def __init__(self, function_arn: str = FUNCTION_ARN, timeout_seconds: int = 60) -> None:
        self.function_arn = function_arn
        self.timeout_seconds = timeout_seconds
        self._events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._outcomes: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self._closed = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: HTTPStatus, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{API_PREFIX}/invocation/next":
                    self._reply(HTTPStatus.NOT_FOUND)
                    return
                while not api._closed.is_set():
                    try:
                        request_id, event = api._events.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    deadline_ms = int((time.time() + api.timeout_seconds) * 1000)
                    self._reply(HTTPStatus.OK, event, {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
                    })
                    return
                # Shutting down: the function process is being stopped, nobody reads this.
                with contextlib.suppress(OSError):
                    self._reply(HTTPStatus.GONE)

            def do_POST(self) -> None:
                body = self._body()
                parts = self.path[len(API_PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    api._outcomes.put(("init", "error", _json_or_text(body)))
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    api._outcomes.put((parts[1], parts[2], _json_or_text(body)))
                else:
                    self._reply(HTTPStatus.NOT_FOUND)
                    return
                self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def submit(self, event: Any) -> str:
        request_id = str(uuid.uuid4())
        self._events.put((request_id, json.dumps(event).encode()))
        return request_id

    def wait(self, request_id: str, timeout: float, alive: Any) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got_id, kind, payload = self._outcomes.get(timeout=0.1)
            except queue.Empty:
                if not alive():
                    return "died", None
                continue
            if got_id == "init":
                return "init_error", payload
            if got_id == request_id:
                return kind, payload
        return "timeout", None

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


class FunctionProcess:
    """One execution environment: the runtime client serving one handler from the package."""

    def __init__(self, package_dir: Path, handler: str, env: dict[str, str], log_path: Path) -> None:
        self.package_dir = package_dir
        self.handler = handler
        self.log_path = log_path
        self.api = RuntimeApi()
        process_env = {
            **env,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "LAMBDA_TASK_ROOT": str(package_dir),
            "_HANDLER": handler,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only in Lambda
        }
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            cwd=package_dir, env=process_env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def invoke(self, event: Any = None, timeout: float = 60) -> Invocation:
        started = time.monotonic()
        request_id = self.api.submit({} if event is None else event)
        kind, payload = self.api.wait(request_id, timeout, lambda: self.proc.poll() is None)
        elapsed = time.monotonic() - started
        if kind == "response":
            return Invocation(request_id, elapsed, result=payload)
        if kind == "error":
            return Invocation(request_id, elapsed, error=payload)
        raise AssertionError(f"invocation {kind}: {payload!r}\n--- function output ---\n{self.output()[-4000:]}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_records(self, request_id: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines written so far (optionally only those of one invocation)."""
        records = []
        for line in self.output().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if request_id is None or record.get("requestId") == request_id:
                records.append(record)
        return records

    def events(self, name: str, request_id: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.log_records(request_id) if r.get("event") == name]

    def peak_rss_bytes(self) -> int:
        """The process's high-water resident set size (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("VmHWM not reported")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.api.close()
        self._log.close()


def run_in_package(package_dir: Path, code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` with the package as working directory (and so first on sys.path)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=package_dir, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )
