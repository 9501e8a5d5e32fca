"""Measure the function's deployment package from inside its task root, in a fresh interpreter.

Run with the unpacked package as working directory and the environment Lambda would give
the function (``components.local.LocalLambda.process_env``); the package is put first on
``sys.path`` as ``/var/task`` is in Lambda. Before the handler is imported, the root logger
gets what the Lambda runtime client gives it with ``AWS_LAMBDA_LOG_FORMAT=JSON`` (the stack's
log format): one handler writing one JSON object per record to unbuffered stdout, with the
request id of the invocation (``LambdaRuntime`` below; tests/test_bench_worker.py holds its
lines against the real client's), so the handler's log lines cost about what they cost there.
Writes one JSON document to ``--out``.

Modes:

* ``warm``: the handler's warm invocations and, in the same process, the same work written
  inline (one query on an open connection, one publish), interleaved in rounds.
* ``cold``: importing ``app`` plus the first invocation (secret, TLS connect, query, publish).
* ``floor``: ``import boto3, pymysql`` plus creating the Secrets Manager and SNS clients.
* ``memory``: peak RSS (VmHWM) before and after one invocation.

Only the standard library is imported before a measurement starts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

FETCH_BATCH_ROWS = 1000
"""What the handler fetches at a time; the inline reference does the same."""


def task_root_first() -> None:
    """The package directory first on ``sys.path``, this script's directory off it."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, os.getcwd())


class Context:
    """The attributes of Lambda's context object the handler reads."""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Unbuffered:
    """A stream that flushes on every write, as the runtime client makes stdout and stderr."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.stream.flush()
        return int(written)


class LambdaJsonFormatter(logging.Formatter):
    """One record as the runtime client's JSON log format writes it: timestamp, level,
    message, logger, requestId, the record's ``extra`` fields, and the exception if any."""

    RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"aws_request_id"}

    def __init__(self) -> None:
        super().__init__(datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        level = min(50, max(0, record.levelno)) // 10 * 10
        entry: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": logging.getLevelName(level),
            "message": record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["stackTrace"] = traceback.format_tb(record.exc_info[2])
            entry["errorType"] = record.exc_info[0].__name__
            entry["errorMessage"] = str(record.exc_info[1])
        entry["requestId"] = getattr(record, "aws_request_id", None)
        if record.exc_info:
            entry["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        entry.update((key, value) for key, value in vars(record).items()
                     if key not in self.RECORD_FIELDS and key not in entry)
        return json.dumps({k: v for k, v in entry.items() if v is not None}, ensure_ascii=False, default=str) + "\n"


class LambdaRuntime:
    """What the runtime client does around the handler: root logging set up before the
    handler's import, stdout and stderr flushed on every write, the request id bound per
    invocation."""

    def __init__(self) -> None:
        if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() != "JSON":
            raise RuntimeError("the worker reproduces Lambda's JSON log format only; the stack sets it")
        self.request_id = ""
        sys.stdout = Unbuffered(sys.stdout)
        sys.stderr = Unbuffered(sys.stderr)
        logging.Formatter.converter = time.gmtime
        handler = logging.StreamHandler(sys.stdout)
        handler.terminator = ""  # the formatter ends each line
        handler.setFormatter(LambdaJsonFormatter())
        handler.addFilter(self._add_request_id)
        root = logging.getLogger()
        level = {"TRACE": "DEBUG"}.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", ""), os.environ.get(
            "AWS_LAMBDA_LOG_LEVEL", "")).upper()
        if level in logging.getLevelNamesMapping():
            root.setLevel(level)
        root.addHandler(handler)

    def _add_request_id(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True

    def context(self) -> Context:
        return Context()

    def bind(self, context: Context) -> None:
        self.request_id = context.aws_request_id


def invoke(handler: Callable[[Any, Any], Any], context: Context) -> dict[str, Any]:
    response = handler({}, context)
    if not isinstance(response, dict) or response.get("statusCode") != 200:
        raise RuntimeError(f"the handler answered {response!r}")
    body: dict[str, Any] = json.loads(response["body"])
    return body


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM is not reported")


def aws_config() -> Any:
    """The handler's client settings (handler/aws_clients.py), so both sides make the same calls."""
    from botocore.config import Config

    return Config(
        connect_timeout=int(os.environ.get("AWS_CONNECT_TIMEOUT", "3")),
        read_timeout=int(os.environ.get("AWS_READ_TIMEOUT", "5")),
        retries={"mode": "standard", "total_max_attempts": 2},
    )


class InlineReference:
    """The invocation's work written inline: one streamed query on an open verified-TLS
    connection, one publish on a client created once."""

    def __init__(self) -> None:
        import ssl

        import boto3
        import pymysql

        env = os.environ
        region = env["AWS_REGION"]
        session = boto3.session.Session()
        # The job's login: an IAM token for the application user, signed locally.
        token = session.client("rds", region_name=region).generate_db_auth_token(
            DBHostname=env["DB_HOST"], Port=int(env["DB_PORT"]), DBUsername=env["DB_USER"], Region=region)
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=env["DB_CA_BUNDLE"])
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._conn = pymysql.connect(
            host=env["DB_HOST"], port=int(env["DB_PORT"]), user=env["DB_USER"], password=token.encode(),
            database=env["DB_NAME"], connect_timeout=int(env.get("DB_CONNECT_TIMEOUT", "5")), read_timeout=10,
            write_timeout=10, ssl=context, charset="utf8mb4", autocommit=True,
        )
        self._cursor_class = pymysql.cursors.SSCursor
        self._sns = session.client("sns", region_name=region, config=aws_config())
        self._topic_arn = env["TOPIC_ARN"]

    def run(self) -> int:
        rows = 0
        with self._conn.cursor(self._cursor_class) as cur:
            cur.execute("SELECT * FROM employees")
            while batch := cur.fetchmany(FETCH_BATCH_ROWS):
                rows += len(batch)
        self._sns.publish(TopicArn=self._topic_arn, Message=json.dumps({"default": json.dumps({"employees": rows})}),
                          MessageStructure="json")
        return rows


def warm(rounds: int, per_round: int, profile: int) -> dict[str, Any]:
    runtime = LambdaRuntime()
    handler = importlib.import_module("app").handler

    def run_handler() -> int:
        context = runtime.context()
        runtime.bind(context)
        return int(invoke(handler, context)["employees"])

    rows = run_handler()  # the cold start: secret, connection, clients
    reference = InlineReference()
    if reference.run() != rows:
        raise RuntimeError("the handler and the inline reference counted different rows")
    run_handler()
    reference.run()

    handler_ns: list[int] = []
    inline_ns: list[int] = []
    clock = time.perf_counter_ns
    for index in range(rounds):
        sides: list[tuple[Callable[[], int], list[int]]] = [(run_handler, handler_ns), (reference.run, inline_ns)]
        if index % 2:
            sides.reverse()  # alternate which side goes first, so drift falls on both
        for work, sink in sides:
            for _ in range(per_round):
                started = clock()
                work()
                sink.append(clock() - started)

    result: dict[str, Any] = {"rows": rows, "handler_ns": handler_ns, "inline_ns": inline_ns}
    if profile:
        result["profile"] = profile_handler(run_handler, profile)
    return result


def profile_handler(run_handler: Callable[[], int], invocations: int) -> str:
    """cProfile of warm invocations: where the handler's time goes."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(invocations):
        run_handler()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
    return text.getvalue()


def cold() -> dict[str, Any]:
    runtime = LambdaRuntime()
    context = runtime.context()
    started = time.perf_counter()
    handler = importlib.import_module("app").handler
    imported = time.perf_counter()
    runtime.bind(context)
    body = invoke(handler, context)
    finished = time.perf_counter()
    return {"import_s": imported - started, "invoke_s": finished - imported, "total_s": finished - started,
            "rows": body["employees"]}


def floor() -> dict[str, Any]:
    LambdaRuntime()
    region = os.environ["AWS_REGION"]
    started = time.perf_counter()
    import boto3
    import pymysql

    imported = time.perf_counter()
    session = boto3.session.Session
    clients = [session().client(service, region_name=region, config=aws_config())
               for service in ("secretsmanager", "sns")]
    finished = time.perf_counter()
    # The same PyMySQL as the package's (the task root comes first), not the environment's.
    Path(pymysql.__file__ or "").resolve().relative_to(Path.cwd().resolve())
    return {"import_s": imported - started, "clients_s": finished - imported, "total_s": finished - started,
            "clients": len(clients)}


def memory() -> dict[str, Any]:
    runtime = LambdaRuntime()
    handler = importlib.import_module("app").handler
    before = peak_rss_bytes()
    context = runtime.context()
    runtime.bind(context)
    started = time.perf_counter()
    body = invoke(handler, context)
    seconds = time.perf_counter() - started
    return {"rows": body["employees"], "hwm_before": before, "hwm_after": peak_rss_bytes(), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the function's package from its task root.")
    parser.add_argument("mode", choices=["warm", "cold", "floor", "memory"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--profile", type=int, default=0, help="also profile this many warm invocations")
    args = parser.parse_args()
    task_root_first()
    if args.mode == "warm":
        result = warm(args.rounds, args.per_round, args.profile)
    elif args.mode == "cold":
        result = cold()
    elif args.mode == "floor":
        result = floor()
    else:
        result = memory()
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
