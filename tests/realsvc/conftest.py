"""Fixtures of the real-service tests: the deployment package the component builds, run by
the real Lambda runtime client (through ``components.local.LocalLambda``) against a real MariaDB
(TLS required) and moto, all on loopback.

What the function gets comes from the component, evaluated under the project's Pulumi
mocks (``stack_model``: the dev stack, AWS China), never from a hand-written copy:

* ``function_package_dir``: the zip the component passed to ``aws.lambda_.Function(code=...)``,
  unpacked as Lambda unpacks it into its task root;
* ``function_env``: the job function's ``environment.variables`` (``migration_function_env``: the
  migration's).

The local MariaDB checks the job's IAM tokens the way RDS does (``components.local.token_verifier``): it
is told the rehearsal's key and the ``rds-db:connect`` resources the stack's job role allows. The
application user is created by the package's own migration function, run once per session
(``application_user``), as ``pulumi up`` runs it.

The local MariaDB's certificate is signed by a CA the tests make, not by RDS, so the stack is
evaluated with that CA as its CA bundle (``dbCaBundleFile``, the override a user gives for a
database behind another CA): the component ships it in the package and points ``DB_CA_BUNDLE``
at it, as it does with the partition's RDS bundle. ``lambda_env`` binds ``function_env`` to the local
stand-ins with ``components.local.wiring.local_function_env``, which fails when the component's
variables change. ``start_function`` runs a handler of the package with the name, timeout
and memory size the stack gives that handler's function.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.local import InvocationResult, LocalLambda
from components.local.services import (
    DB_HOST_NAME,
    SCHEMA_TABLES,
    AwsEmulator,
    MariaDB,
    Pki,
    local_services,
    migration_statements,
    start_mariadb,
)
from components.local.stack_model import StackModel, evaluate_with_ca_bundle
from components.local.wiring import DUMMY_CREDENTIALS, extract_package, local_function_env
from components.testing.pulumi_mocks import ACCOUNT_ID, Registered

STACK = "dev"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory, pki: Pki, stack_model: StackModel) -> Iterator[MariaDB]:
    server = start_mariadb(tmp_path_factory.mktemp("mariadb"), pki)
    try:
        server.trust(stack_model.token_trust(DB_HOST_NAME, server.port, DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                             DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def application_user(mariadb: MariaDB, aws: AwsEmulator, stack_model: StackModel, function_package_dir: Path,
                     migration_lambda_env: dict[str, str]) -> dict[str, Any]:
    """The application user, created by the package's migration function (master credentials from
    the secret, as `pulumi up` runs it); what it reported."""
    inputs = stack_model.migration_function.inputs
    with LocalLambda(function_package_dir, str(inputs["handler"]), migration_lambda_env,
                     function_arn(inputs["name"], migration_lambda_env["AWS_REGION"]), float(inputs["timeout"]),
                     memory_mb=int(inputs["memorySize"]),
                     runtime=f"python{sys.version_info.major}.{sys.version_info.minor}") as migration:
        outcome = migration.invoke({})
    assert outcome.ok, f"the migration could not create the application user: {outcome.error}"
    assert isinstance(outcome.payload, dict)
    return dict(outcome.payload["app_user"])


@pytest.fixture
def db(mariadb: MariaDB, application_user: dict[str, Any]) -> MariaDB:
    """The session's MariaDB, (re)started if an earlier test left it stopped, with the
    application user the migration created."""
    if not mariadb.running:
        mariadb.start()
    return mariadb


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsEmulator]:
    emulator = AwsEmulator()
    try:
        yield emulator
    finally:
        emulator.stop()


# ----------------------------------------------------------------- what the component gives


@pytest.fixture(scope="session")
def stack_model(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> StackModel:
    """The dev stack under mocks, with the test CA given as the database's CA bundle. The
    component builds its package under the working directory: here, a temporary one, so
    each run's package (its CA differs) does not pile up in the project."""
    return evaluate_with_ca_bundle(STACK, pki.ca, tmp_path_factory.mktemp("stack"))


@pytest.fixture(scope="session")
def function_package_dir(stack_model: StackModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package the component built, unpacked as Lambda unpacks it."""
    return extract_package(stack_model.package_path, tmp_path_factory.mktemp("function-package"))


@pytest.fixture(scope="session")
def function_env(stack_model: StackModel) -> dict[str, str]:
    """The environment the component gives the job function."""
    return stack_model.function_environment


@pytest.fixture(scope="session")
def migration_function_env(stack_model: StackModel) -> dict[str, str]:
    """The environment the component gives the migration function."""
    return stack_model.migration_environment


@pytest.fixture(scope="session")
def lambda_env(function_env: dict[str, str], mariadb: MariaDB, aws: AwsEmulator,
               stack_model: StackModel) -> dict[str, str]:
    """``function_env`` as the function sees it when rehearsed on this machine, including the
    log format and level Lambda derives from the function's logging config."""
    return local_function_env(function_env, local_services(mariadb, aws),
                              logging_config=stack_model.job_function.inputs["loggingConfig"])


@pytest.fixture(scope="session")
def migration_lambda_env(migration_function_env: dict[str, str], mariadb: MariaDB, aws: AwsEmulator,
                         stack_model: StackModel) -> dict[str, str]:
    """The migration's environment, bound the same way."""
    return local_function_env(migration_function_env, local_services(mariadb, aws),
                              logging_config=stack_model.migration_function.inputs["loggingConfig"])


def function_for_handler(model: StackModel, handler: str) -> Registered:
    """The stack's function that runs ``handler`` (the job or the migration)."""
    (function,) = [f for f in (model.job_function, model.migration_function) if f.inputs["handler"] == handler]
    return function


def function_arn(name: str, region: str) -> str:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return f"arn:{partition}:lambda:{region}:{ACCOUNT_ID}:function:{name}"


# ----------------------------------------------------------------- running the package


@dataclass(frozen=True)
class Run:
    """One invocation's outcome (``components.local.InvocationResult``) and its wall-clock time."""

    outcome: InvocationResult
    elapsed: float
    """Seconds from handing over the event to the answer, init included on a cold start."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.outcome, name)

    @property
    def body(self) -> dict[str, Any]:
        """The job's response body, decoded; the invocation must have succeeded."""
        assert self.outcome.ok, f"invocation {self.outcome.status}: {self.outcome.error}"
        assert isinstance(self.outcome.payload, dict), self.outcome.payload
        return json.loads(self.outcome.payload["body"])


def _json_record(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class Function:
    """One execution environment of a stack function, with its output kept per invocation."""

    def __init__(self, local: LocalLambda, log_book: list[tuple[str, str]] | None = None,
                 log_group: str = "") -> None:
        self.local = local
        self.log_group = log_group
        """The log group Lambda writes this function's lines to (its `logging_config`)."""
        self._lines: list[str] = []
        self._log_book = log_book if log_book is not None else []
        self._by_request: dict[str, tuple[str, ...]] = {}
        local.start()  # init runs at once, as when Lambda creates the environment

    def invoke(self, event: Any = None) -> Run:
        started = time.monotonic()
        outcome = self.local.invoke({} if event is None else event)
        elapsed = time.monotonic() - started
        self._lines += [*outcome.init_logs, *outcome.logs]
        self._log_book += [(self.log_group, line) for line in (*outcome.init_logs, *outcome.logs)]
        self._by_request[outcome.request_id] = outcome.logs
        return Run(outcome, elapsed)

    def output(self) -> str:
        """Everything the function printed so far, init phases included."""
        return "\n".join(self._lines)

    def log_records(self, request_id: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines so far; with ``request_id``, those printed during that invocation
        that carry its request id."""
        if request_id is None:
            lines: tuple[str, ...] | list[str] = self._lines
        else:
            lines = self._by_request[request_id]
        records = [r for r in map(_json_record, lines) if r is not None]
        if request_id is not None:
            records = [r for r in records if r.get("requestId") == request_id]
        return records

    def events(self, name: str, request_id: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.log_records(request_id) if r.get("event") == name]

    def peak_rss_bytes(self) -> int:
        """The runtime process's high-water resident set size (VmHWM)."""
        pid = self.local.pid
        assert pid is not None, "the runtime process is not running"
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("VmHWM not reported")


LAST = "test_log_metrics.py"
"""Runs after every other real-service test: it reads the log lines they made the package write."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0].endswith(LAST))


@pytest.fixture(scope="session")
def log_book() -> list[tuple[str, str]]:
    """Every line every function printed in this session's real-service tests, in order, with the
    log group Lambda would write it to."""
    return []


@pytest.fixture
def start_function(
    function_package_dir: Path, lambda_env: dict[str, str], migration_lambda_env: dict[str, str],
    stack_model: StackModel, log_book: list[tuple[str, str]], db: MariaDB,
) -> Iterator[Callable[..., Function]]:
    """Start an execution environment: ``start_function(handler, env={...}, unset=(...))``.
    ``env`` and ``unset`` change the function's environment for that environment only (the
    job's; with ``as_function="migration"`` the migration's, whatever the handler); ``timeout_s``
    replaces the stack's timeout and ``package_dir`` the package (a ``package_copy``)."""
    started: list[LocalLambda] = []

    def start(handler: str = "app.handler", *, env: dict[str, str] | None = None,
              unset: tuple[str, ...] = (), timeout_s: float | None = None,
              package_dir: Path | None = None, as_function: str | None = None) -> Function:
        migration = as_function == "migration" or (
            as_function is None and handler == stack_model.migration_function.inputs["handler"])
        environment = {**(migration_lambda_env if migration else lambda_env), **(env or {})}
        for name in unset:
            environment.pop(name, None)
        known = {f.inputs["handler"] for f in (stack_model.job_function, stack_model.migration_function)}
        # A handler the stack does not have (a test's own, in a package copy) runs with the job's settings.
        inputs = function_for_handler(stack_model, handler if handler in known else "app.handler").inputs
        local = LocalLambda(
            package_dir or function_package_dir,
            handler,
            environment,
            function_arn(inputs["name"], environment["AWS_REGION"]),
            timeout_s=float(inputs["timeout"]) if timeout_s is None else timeout_s,
            memory_mb=int(inputs["memorySize"]),
            # What runs is this interpreter; the runtime setting names the one Lambda runs.
            runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
        )
        started.append(local)
        return Function(local, log_book, inputs["loggingConfig"]["logGroup"])

    yield start
    for local in started:
        local.close()


@pytest.fixture
def start_with_secret(start_function: Callable[..., Function], aws: AwsEmulator) -> Callable[..., Function]:
    """An execution environment that logs in as the master user with the secret, the way the
    migration does (the runtime's secret path: reading, caching, rotation), running the job's
    handler unless told otherwise, with the topic to notify added."""

    def start(handler: str = "app.handler", *, env: dict[str, str] | None = None, **options: Any) -> Function:
        return start_function(handler, as_function="migration", env={"TOPIC_ARN": aws.topic_arn, **(env or {})},
                              **options)

    return start


@pytest.fixture
def timeout_s(stack_model: StackModel) -> float:
    """The job function's timeout as the stack configures it."""
    return float(stack_model.job_function.inputs["timeout"])


@pytest.fixture
def margin_for(run_in_package: Callable[..., subprocess.CompletedProcess[str]]) -> Callable[[float], float]:
    """``margin_for(timeout)``: the safety margin docs/function.md promises for that timeout (10 %, at
    least 0.5 s and at most 3 s), stated here and checked against the package's budget."""

    def margin(timeout: float) -> float:
        promised = min(3.0, max(0.5, timeout * 0.1))
        result = run_in_package(f"from vpclambda_runtime import budget; print(budget.safety_margin({timeout!r}))")
        assert result.returncode == 0, result.stderr
        assert float(result.stdout) == pytest.approx(promised), f"the package keeps {result.stdout.strip()} s"
        return promised

    return margin


@pytest.fixture
def package_copy(function_package_dir: Path, tmp_path: Path) -> Callable[..., Path]:
    """``package_copy({"name": "content", ...})``: the package with files added or replaced."""

    def copy(files: dict[str, str] | None = None) -> Path:
        target = tmp_path / f"package-{len(list(tmp_path.glob('package-*')))}"
        shutil.copytree(function_package_dir, target)
        for name, content in (files or {}).items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(content)
        return target

    return copy


@pytest.fixture
def run_in_package(function_package_dir: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_in_package(code, env=None)``: run Python ``code`` with the package as working
    directory (and so first on ``sys.path``)."""

    def run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], cwd=function_package_dir, capture_output=True, text=True, timeout=60,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        )

    return run


@pytest.fixture
def empty_db(db: MariaDB) -> MariaDB:
    """The session's MariaDB without any table the migrations create or record."""
    db.execute(*(f"DROP TABLE IF EXISTS {table}" for table in SCHEMA_TABLES))
    return db


@pytest.fixture
def employees(db: MariaDB, function_package_dir: Path) -> Callable[[int], None]:
    """``employees(n)``: recreate the table from the packaged migrations with ``n`` rows (and no
    migration history)."""
    schema = migration_statements(function_package_dir)

    def reset(rows: int) -> None:
        db.reset_employees(schema, rows)

    return reset


# ----------------------------------------------------------------- the tests' own jobs

CASES_SOURCE = Path(__file__).with_name("job_cases.py")


@pytest.fixture
def start_cases(start_function: Callable[..., Function], package_copy: Callable[..., Path]
                ) -> Callable[..., Function]:
    """``start_cases(**start_function_options)``: an execution environment running the tests'
    own jobs (``job_cases.py``, as ``cases.handler``) in a copy of the package."""
    package: list[Path] = []

    def start(**options: Any) -> Function:
        if not package:
            package.append(package_copy({"cases.py": CASES_SOURCE.read_text()}))
        return start_function("cases.handler", package_dir=package[0], **options)

    return start


class Pause:
    """The two files of a pause in a job (``job_cases._pause``): the job creates ``ready`` and
    waits for ``go``, which the test creates once it has done what the pause is for."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ready = directory / "ready"
        self.go = directory / "go"

    @property
    def event(self) -> dict[str, str]:
        return {"ready": str(self.ready), "go": str(self.go)}

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            assert time.monotonic() < deadline, "the job never reached its pause"
            time.sleep(0.01)

    def release(self) -> None:
        self.go.touch()


@pytest.fixture
def pause(tmp_path: Path) -> Pause:
    return Pause(tmp_path / "pause")


class Background:
    """One invocation run in a thread, so that the test can act while it runs."""

    def __init__(self, fn: Function, event: Any) -> None:
        self._result: list[Run] = []
        self._error: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(fn, event), name="background-invoke")
        self._thread.start()

    def _run(self, fn: Function, event: Any) -> None:
        try:
            self._result.append(fn.invoke(event))
        except BaseException as exc:  # handed to the test in result()
            self._error.append(exc)

    def result(self, timeout: float = 120.0) -> Run:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the invocation did not end"
        if self._error:
            raise self._error[0]
        return self._result[0]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds; ``timeout`` is an upper bound, never a pace."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def running_statements(db: MariaDB, like: str, user: str | None = None) -> list[tuple[int, str]]:
    """(connection id, statement) of the function's statements the server is running now that
    match the SQL ``LIKE`` pattern ``like`` (the job's: the application user's)."""
    from components.local.services import APP_USER

    rows = db.query("SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE USER = %s AND INFO LIKE %s",
                    (user or APP_USER, like), database=None)
    return [(int(row[0]), str(row[1])) for row in rows]
