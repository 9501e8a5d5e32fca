"""Fixtures of the real-service tests: the deployment package run by the real Lambda
runtime client against a real MariaDB (TLS required) and moto, all on loopback.

Two fixtures stand for what the component provides and are the only place that knows
how it is done (each is marked ``REPLACED BY COMPONENT:``):

* ``function_package_dir``: a directory holding the unpacked deployment package;
* ``function_env``: the environment variables the component gives the function.

Everything else is built from those two and the service fixtures. ``lambda_env`` binds
``function_env`` to this machine: the variables that point at cloud resources (database
host and port, secret, topic) are pointed at the local stand-ins, the CA bundle at the
test CA that signed the local server's certificate, and the variables Lambda itself sets
are added.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest

from localrun.services import DB_NAME, DUMMY_CREDENTIALS, REGION, AwsEmulator, MariaDB, Pki, require_mariadb

from .lambda_runtime import FunctionProcess

HANDLER_DIR = Path(__file__).resolve().parents[2] / "handler"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[MariaDB]:
    require_mariadb()
    server = MariaDB(tmp_path_factory.mktemp("mariadb"), pki)
    server.install()
    server.start()
    try:
        server.bootstrap()
        yield server
    finally:
        server.stop()


@pytest.fixture
def db(mariadb: MariaDB) -> MariaDB:
    """The session's MariaDB, (re)started if an earlier test left it stopped."""
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


# REPLACED BY COMPONENT: the component's package builder. For now the package is built
# here the way the contract describes it: the contents of handler/ (without caches, docs
# and tests) plus the installed pymysql package at the root.
@pytest.fixture(scope="session")
def function_package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("function-package")
    shutil.copytree(HANDLER_DIR, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "*.md"))
    shutil.copytree(Path(pymysql.__file__).resolve().parent, target / "pymysql",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


# REPLACED BY COMPONENT: the environment captured from the component under Pulumi mocks.
# For now it is built from the services directly.
@pytest.fixture(scope="session")
def function_env(mariadb: MariaDB, aws: AwsEmulator) -> dict[str, str]:
    return {
        "DB_HOST": mariadb.host,
        "DB_PORT": str(mariadb.port),
        "DB_NAME": DB_NAME,
        "DB_SECRET_ARN": aws.secret_arn,
        "TOPIC_ARN": aws.topic_arn,
        "DB_CONNECT_TIMEOUT": "5",
    }


@pytest.fixture
def lambda_env(function_env: dict[str, str], mariadb: MariaDB, aws: AwsEmulator, pki: Pki) -> dict[str, str]:
    """``function_env`` as the function sees it when rehearsed on this machine."""
    return {
        **function_env,
        # The cloud resources the component wires in, bound to their local stand-ins.
        "DB_HOST": "localhost",
        "DB_PORT": str(mariadb.port),
        "DB_SECRET_ARN": aws.secret_arn,
        "TOPIC_ARN": aws.topic_arn,
        # The local server's certificate comes from the test CA, not from RDS.
        "DB_CA_BUNDLE": str(pki.ca),
        # What Lambda sets in every execution environment.
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "employees-report",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        **DUMMY_CREDENTIALS,
        # Secrets Manager and SNS (the interface endpoints' stand-in).
        "AWS_ENDPOINT_URL": aws.endpoint,
    }


@pytest.fixture
def start_function(
    function_package_dir: Path, lambda_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., FunctionProcess]]:
    """Start an execution environment: ``start_function(handler, env={...}, unset=(...))``."""
    started: list[FunctionProcess] = []

    def start(handler: str = "app.handler", *, env: dict[str, str] | None = None,
              unset: tuple[str, ...] = ()) -> FunctionProcess:
        environment = {**lambda_env, **(env or {})}
        for name in unset:
            environment.pop(name, None)
        process = FunctionProcess(function_package_dir, handler, environment,
                                  tmp_path / f"function-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def schema_sql(function_package_dir: Path) -> str:
    return (function_package_dir / "schema.sql").read_text()


@pytest.fixture
def employees(db: MariaDB, schema_sql: str) -> Callable[[int], None]:
    """``employees(n)``: recreate the table from the packaged schema with ``n`` rows."""

    def reset(rows: int) -> None:
        db.reset_employees(schema_sql, rows)

    return reset
