"""The benchmark's function worker sets up logging as the Lambda runtime client does, without
importing the client: its JSON log lines must be the ones the real client writes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from components.local import LocalLambda

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws-cn:lambda:cn-northwest-1:123456789012:function:bench-logs"
REQUEST_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

HANDLER = """
import logging

log = logging.getLogger("employees_report")
log.setLevel(logging.INFO)
logging.getLogger("quiet").info("not shown: the root logger stays at WARNING")


def handler(event, context):
    log.info("read %d rows", 3, extra={"event": "rows_read", "rows": 3, "table": "employees"})
    log.warning({"structured": True, "phase": "publish"})
    try:
        raise TimeoutError("SNS did not answer")
    except TimeoutError:
        log.error("publish failed", exc_info=True, extra={"attempts": 2})
    return {"ok": True}
"""

REPLICA = f"""
import importlib, sys
from bench.workers.function_worker import LambdaRuntime, task_root_first

task_root_first()
runtime = LambdaRuntime()
handler = importlib.import_module("app").handler
context = runtime.context()
context.aws_request_id = {REQUEST_ID!r}
runtime.bind(context)
handler({{}}, context)
"""


def json_lines(lines: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def without_time_and_request(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for record in records:
        assert record.pop("timestamp").endswith("Z")
    return [{k: v for k, v in record.items() if k != "requestId"} for record in records]


def test_worker_logs_the_lines_the_runtime_client_writes(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "app.py").write_text(textwrap.dedent(HANDLER))
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}

    with LocalLambda(package, "app.handler", env, ARN, 10.0) as function:
        real = function.invoke({})
    assert real.ok, real.error
    real_records = json_lines(real.logs)

    worker_env = {**function.process_env(), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", REPLICA], cwd=package, env=worker_env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    worker_records = json_lines(run.stdout.splitlines())

    assert [r["requestId"] for r in real_records] == [real.request_id] * 3
    assert [r["requestId"] for r in worker_records] == [REQUEST_ID] * 3
    assert [r["level"] for r in worker_records] == ["INFO", "WARNING", "ERROR"]
    assert worker_records[0]["rows"] == 3 and worker_records[1]["message"] == {"structured": True, "phase": "publish"}
    assert worker_records[2]["errorType"] == "TimeoutError" and worker_records[2]["attempts"] == 2
    assert without_time_and_request(worker_records) == without_time_and_request(real_records)
    assert "not shown" not in run.stdout
