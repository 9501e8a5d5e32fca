"""The local Lambda rehearsal: the real ``awslambdaric`` client against the local Runtime API.

Every test writes a tiny handler package into ``tmp_path`` and runs it exactly as
``make local`` runs the real package.  Each test is bounded by an alarm, and every
wait inside the code under test has its own limit.
"""

from __future__ import annotations

import _thread
import http.client
import json
import os
import signal
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localrun import LocalLambda, RuntimeApiServer
from localrun.runtime_api import DEADLINE_MS_HEADER, FUNCTION_ARN_HEADER, INIT_ERROR_PATH, NEXT_PATH, REQUEST_ID_HEADER

ARN = "arn:aws-cn:lambda:cn-northwest-1:123456789012:function:local-test"
TEST_TIME_LIMIT_S = 30


@pytest.fixture(autouse=True)
def _time_limit() -> Iterator[None]:
    """Fail, rather than hang, a test that runs past its limit."""

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"test ran longer than {TEST_TIME_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIME_LIMIT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def make_package(root: Path, source: str, module: str = "app") -> Path:
    package = root / "package"
    package.mkdir(exist_ok=True)
    (package / f"{module}.py").write_text(textwrap.dedent(source))
    return package


def local_lambda(
    package: Path, timeout_s: float = 5.0, *, env: dict[str, str] | None = None, **options: Any
) -> LocalLambda:
    return LocalLambda(package, "app.handler", env or {}, ARN, timeout_s, sys.executable, **options)


def process_gone(pid: int, within_s: float = 5.0) -> bool:
    """Whether ``pid`` has exited (a zombie left for a non-reaping init counts as exited)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return True
        if state in {"Z", "X"}:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def port_closed(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


# -- through the real runtime client ---------------------------------------------------


def test_successful_invocation_returns_the_payload(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import os

        def handler(event, context):
            return {
                "echo": event,
                "request_id": context.aws_request_id,
                "function_name": context.function_name,
                "arn": context.invoked_function_arn,
                "remaining_ms": context.get_remaining_time_in_millis(),
                "region": os.environ["AWS_REGION"],
                "task_root": os.environ["LAMBDA_TASK_ROOT"],
                "cwd": os.getcwd(),
            }
        """,
    )
    with local_lambda(package, timeout_s=5.0) as function:
        result = function.invoke({"name": "ünïcode", "n": [1, 2]})

    assert result.ok, result.error
    assert result.status == "ok"
    assert result.error is None
    payload = result.payload
    assert payload["echo"] == {"name": "ünïcode", "n": [1, 2]}
    assert payload["request_id"] == result.request_id
    assert payload["function_name"] == "local-test"
    assert payload["arn"] == ARN
    assert 0 < payload["remaining_ms"] <= 5000
    assert payload["region"] == "cn-northwest-1"
    assert payload["task_root"] == str(package.resolve())
    assert payload["cwd"] == str(package.resolve())
    assert result.cold_start is True
    assert not list(package.rglob("__pycache__")), "the package directory must stay as built"


def test_warm_invocations_share_module_state(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import os

        COUNT = 0

        def handler(event, context):
            global COUNT
            COUNT += 1
            return {"count": COUNT, "pid": os.getpid()}
        """,
    )
    with local_lambda(package) as function:
        results = [function.invoke({}) for _ in range(3)]

    assert [r.payload["count"] for r in results] == [1, 2, 3]
    assert len({r.payload["pid"] for r in results}) == 1
    assert [r.cold_start for r in results] == [True, False, False]
    assert len({r.request_id for r in results}) == 3


def test_handler_exception_comes_back_as_an_error(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import os

        class PaymentDeclined(Exception):
            pass

        def handler(event, context):
            if event.get("fail"):
                raise PaymentDeclined("card 4242 declined")
            return {"pid": os.getpid()}
        """,
    )
    with local_lambda(package) as function:
        before = function.invoke({})
        failed = function.invoke({"fail": True})
        after = function.invoke({})

    assert failed.status == "function_error"
    assert failed.payload is None
    assert failed.error_type == "PaymentDeclined"
    assert failed.error_message == "card 4242 declined"
    assert failed.error is not None
    assert any("app.py" in frame and "handler" in frame for frame in failed.error["stackTrace"])
    assert any(line.startswith("[ERROR] PaymentDeclined: card 4242 declined") for line in failed.logs)
    # Lambda keeps the environment after a handler error: the same process answers next.
    assert after.ok and after.payload["pid"] == before.payload["pid"]
    assert after.cold_start is False


@pytest.mark.parametrize(
    ("source", "error_type", "message_part"),
    [
        pytest.param(
            'print("loading config")\nraise RuntimeError("DB_HOST is not set")\n',
            "RuntimeError",
            "DB_HOST is not set",
            id="module-raises",
        ),
        pytest.param(
            "import module_that_is_not_in_the_package\n",
            "Runtime.ImportModuleError",
            "module_that_is_not_in_the_package",
            id="missing-dependency",
        ),
        pytest.param(
            "def other(event, context):\n    return 1\n", "Runtime.HandlerNotFound", "handler", id="no-handler"
        ),
        pytest.param("import sys\nsys.exit(3)\n", "Runtime.ExitError", "exit status 3", id="sys-exit-at-import"),
    ],
)
def test_init_error_is_reported_not_a_hang(tmp_path: Path, source: str, error_type: str, message_part: str) -> None:
    package = make_package(tmp_path, source)
    with local_lambda(package, timeout_s=30.0) as function:
        started = time.monotonic()
        first = function.invoke({})
        elapsed = time.monotonic() - started
        assert function.pid is None, "a runtime whose init failed must not be left running"
        second = function.invoke({})  # Lambda retries the init on the next invocation

    assert elapsed < 10
    for result in (first, second):
        assert result.status == "init_error"
        assert result.cold_start is True
        assert result.error_type == error_type
        assert message_part in (result.error_message or "")
        assert result.logs == ()
    if error_type != "Runtime.ExitError":
        assert any(line.startswith(f"[ERROR] {error_type}") for line in first.init_logs)
    if error_type == "RuntimeError":
        assert "loading config" in first.init_logs


def test_handler_past_its_timeout_is_reported_and_killed(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import os, subprocess, time

        def handler(event, context):
            if event.get("sleep"):
                child = subprocess.Popen(["sleep", "60"])
                print(f"started pid={os.getpid()} child={child.pid}")
                time.sleep(60)
            return {"pid": os.getpid()}
        """,
    )
    with local_lambda(package, timeout_s=1.0) as function:
        runtime_pid = function.pid
        assert runtime_pid is not None
        started = time.monotonic()
        result = function.invoke({"sleep": True})
        elapsed = time.monotonic() - started
        assert function.pid is None
        after = function.invoke({})

    assert result.status == "timeout"
    assert result.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in (result.error_message or "")
    assert 1.0 <= result.duration_s < 3.0
    assert elapsed < 5.0
    started_line = next(line for line in result.logs if line.startswith("started pid="))
    child_pid = int(started_line.rsplit("child=", 1)[1])
    assert result.logs[-1].endswith(f"{result.request_id} Task timed out after 1.00 seconds")
    assert process_gone(runtime_pid), "the timed-out runtime must be killed"
    assert process_gone(child_pid), "what the handler spawned must be killed with it"
    # The next invocation gets a fresh environment, as after a timeout in Lambda.
    assert after.ok and after.cold_start is True
    assert after.payload["pid"] != runtime_pid


def test_logs_are_attributed_to_their_invocation(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import logging, sys

        print("init line")
        logger = logging.getLogger()

        def handler(event, context):
            n = event["n"]
            print(f"start {n}")
            logger.warning("warn %s", n)
            sys.stderr.write(f"err {n}\\n")
            print(f"tail {n}", end="")
            return n
        """,
    )
    seen: list[str] = []
    with local_lambda(package, on_log=seen.append) as function:
        first = function.invoke({"n": 1})
        second = function.invoke({"n": 2})

    assert first.payload == 1 and second.payload == 2
    assert first.init_logs == ("init line",)
    assert second.init_logs == ()
    for result, n, other in ((first, 1, 2), (second, 2, 1)):
        logs = result.logs
        assert logs[0] == f"start {n}"
        warning = next(line for line in logs if line.startswith("[WARNING]"))
        assert warning.endswith(f"\t{result.request_id}\twarn {n}")
        assert f"err {n}" in logs
        assert logs[-1] == f"tail {n}"
        assert not any(line.endswith(f" {other}") for line in logs)
    assert "init line" in seen and "start 2" in seen


def test_runtime_that_dies_mid_invocation_is_reported(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import os

        def handler(event, context):
            print("about to exit")
            os._exit(7)
        """,
    )
    with local_lambda(package) as function:
        result = function.invoke({})
        assert function.pid is None

    assert result.status == "runtime_exit"
    assert result.error_type == "Runtime.ExitError"
    assert "exit status 7" in (result.error_message or "")
    assert result.logs == ("about to exit",)


def test_runtime_that_dies_between_invocations_is_replaced_by_a_fresh_one(tmp_path: Path) -> None:
    package = make_package(
        tmp_path,
        """
        import os, threading, time

        def exit_once(marker):
            while not os.path.exists(marker):
                time.sleep(0.01)
            os._exit(9)

        def handler(event, context):
            if event.get("exit_when"):  # after answering, once the test says so (a marker, not a clock)
                threading.Thread(target=exit_once, args=(event["exit_when"],), daemon=True).start()
            return {"pid": os.getpid()}
        """,
    )
    marker = tmp_path / "exit-now"
    with local_lambda(package) as function:
        first = function.invoke({"exit_when": str(marker)})
        pid = function.pid
        assert pid is not None, "the runtime is still running after answering"
        marker.touch()
        assert process_gone(pid)
        after = function.invoke({})

    assert first.ok and first.payload["pid"] == pid
    # Like Lambda, the next event gets a new execution environment: a cold start.
    assert after.ok and after.cold_start is True
    assert after.payload["pid"] != pid


def test_init_that_never_finishes_is_an_init_timeout(tmp_path: Path) -> None:
    package = make_package(tmp_path, 'import time\nprint("connecting")\ntime.sleep(60)\n')
    with local_lambda(package, timeout_s=30.0, init_timeout_s=1.0) as function:
        pid = function.pid
        started = time.monotonic()
        result = function.invoke({})
        elapsed = time.monotonic() - started
        assert function.pid is None

    assert result.status == "init_error"
    assert result.error_type == "Sandbox.Timedout"
    assert "within 1.00 seconds (init timed out)" in (result.error_message or "")
    assert 1.0 <= elapsed < 4.0
    assert result.init_logs == ("connecting",)
    assert pid is not None and process_gone(pid)


def test_environment_carries_no_caller_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACALLERSOWNKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "caller-secret")
    monkeypatch.setenv("AWS_PROFILE", "caller-profile")
    package = make_package(
        tmp_path,
        """
        import os

        def handler(event, context):
            return {key: os.environ.get(key) for key in event}
        """,
    )
    keys = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "HOME",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "_HANDLER",
        "DB_HOST",
    ]
    env = {"AWS_ACCESS_KEY_ID": "AKIAPASSEDEXPLICITLY", "DB_HOST": "127.0.0.1"}
    with local_lambda(package, env=env, memory_mb=256) as function:
        seen = function.invoke(keys).payload

    assert seen == {
        "AWS_ACCESS_KEY_ID": "AKIAPASSEDEXPLICITLY",
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_PROFILE": None,
        "HOME": None,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "_HANDLER": "app.handler",
        "DB_HOST": "127.0.0.1",
    }
    with pytest.raises(ValueError, match="AWS_LAMBDA_RUNTIME_API"):
        local_lambda(package, env={"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"})


def test_leaving_on_an_exception_stops_process_and_server(tmp_path: Path) -> None:
    package = make_package(tmp_path, "def handler(event, context):\n    return 1\n")
    with pytest.raises(KeyboardInterrupt), local_lambda(package) as function:
        assert function.invoke({}).ok
        pid, address = function.pid, function.runtime_api_address
        raise KeyboardInterrupt

    assert pid is not None and address is not None
    assert process_gone(pid)
    assert port_closed(address)
    with pytest.raises(RuntimeError, match="closed"):
        function.invoke({})


def test_interrupt_during_an_invocation_stops_everything(tmp_path: Path) -> None:
    marker = tmp_path / "handler-started"
    package = make_package(tmp_path, "import pathlib, sys, time\n\ndef handler(event, context):\n"
                                     f"    pathlib.Path({str(marker)!r}).touch()\n    time.sleep(60)\n")
    interrupted_at: list[float] = []

    def interrupt_once_the_handler_runs() -> None:  # a marker, not a clock: the event is being handled
        while not marker.exists():
            time.sleep(0.01)
        interrupted_at.append(time.monotonic())
        _thread.interrupt_main()

    with local_lambda(package, timeout_s=60.0) as function:
        pid, address = function.pid, function.runtime_api_address
        watcher = threading.Thread(target=interrupt_once_the_handler_runs, daemon=True)
        watcher.start()
        with pytest.raises(KeyboardInterrupt):
            function.invoke({})
        # Stopped at once, not when the 60-second handler or its timeout would have ended.
        assert interrupted_at and time.monotonic() - interrupted_at[0] < 20
        assert function.pid is None

    assert pid is not None and address is not None
    assert process_gone(pid)
    assert port_closed(address)


# -- the Runtime API itself, through a raw HTTP client --------------------------------


def _connect(server: RuntimeApiServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)


def test_next_replies_with_the_headers_the_client_requires() -> None:
    with RuntimeApiServer() as server:
        assert server.address == f"127.0.0.1:{server.port}"
        invocation = server.submit(b'{"k": "v"}', function_arn=ARN, timeout_s=5.0)
        before_ms = int(time.time() * 1000)

        connection = _connect(server)
        connection.request("GET", NEXT_PATH)
        reply = connection.getresponse()
        body = reply.read()

        assert reply.status == 200
        assert reply.getheader("Content-Type") == "application/json"
        assert reply.getheader(REQUEST_ID_HEADER) == invocation.request_id
        assert reply.getheader(FUNCTION_ARN_HEADER) == ARN
        deadline_ms = int(reply.getheader(DEADLINE_MS_HEADER) or "0")
        assert before_ms + 4000 <= deadline_ms <= int(time.time() * 1000) + 5000
        assert json.loads(body) == {"k": "v"}
        assert invocation.delivered.is_set() and not invocation.done.is_set()

        connection.request(
            "POST",
            f"/2018-06-01/runtime/invocation/{invocation.request_id}/response",
            body=b'{"answer": 42}',
            headers={"Content-Type": "application/json"},
        )
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 202
        assert invocation.done.wait(5)
        assert invocation.response == b'{"answer": 42}'
        assert invocation.error is None

        # A second answer for the same request is refused.
        connection.request("POST", f"/2018-06-01/runtime/invocation/{invocation.request_id}/response", body=b"1")
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 400
        connection.close()


def test_next_blocks_until_an_event_is_queued_and_errors_are_recorded() -> None:
    with RuntimeApiServer() as server:
        replies: list[tuple[int, str | None]] = []

        def poll_next() -> None:
            connection = _connect(server)
            connection.request("GET", NEXT_PATH)
            reply = connection.getresponse()
            reply.read()
            replies.append((reply.status, reply.getheader(REQUEST_ID_HEADER)))
            connection.close()

        poller = threading.Thread(target=poll_next, daemon=True)
        poller.start()
        time.sleep(0.3)
        assert not replies, "next must block while nothing is queued"

        invocation = server.submit(b"{}", function_arn=ARN, timeout_s=3.0)
        poller.join(timeout=5)
        assert replies == [(200, invocation.request_id)]

        error = {"errorMessage": "boom", "errorType": "ValueError", "requestId": "", "stackTrace": ["  File x"]}
        connection = _connect(server)
        connection.request(
            "POST",
            f"/2018-06-01/runtime/invocation/{invocation.request_id}/error",
            body=json.dumps(error),
            headers={"Content-Type": "application/json"},
        )
        reply = connection.getresponse()
        reply.read()
        assert reply.status == 202
        assert invocation.done.wait(5)
        assert invocation.error == error
        assert invocation.response is None

        # Unknown routes are 404.
        for method in ("GET", "POST"):
            connection.request(method, "/2018-06-01/runtime/other", body=b"{}" if method == "POST" else None)
            reply = connection.getresponse()
            reply.read()
            assert reply.status == 404
        connection.close()


def test_init_error_is_accepted_with_202() -> None:
    with RuntimeApiServer() as server:
        connection = _connect(server)
        document = {"errorMessage": "Unable to import module 'app'", "errorType": "Runtime.ImportModuleError"}
        connection.request("POST", INIT_ERROR_PATH, body=json.dumps(document))
        reply = connection.getresponse()
        reply.read()
        connection.close()

        assert reply.status == 202
        assert server.wait(lambda: server.init_error is not None, timeout=5)
        assert server.init_error == document
