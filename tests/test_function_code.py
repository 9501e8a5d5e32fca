"""Bring your own function: the code arguments are checked at preview, naming the argument, and
the consumer's directory, the runtime library, the migrations and the requirements make one
deterministic package."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.build import function_code, packaging
from components.build.packaging import PackageError, PackageInputs, build_package, migrations_sha256, size_problems
from components.model.problems import ArgumentError, Problem
from components.stack_config import config_key
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, run_program
from tests.problems import refusal


def problems_in(args: dict[str, Any]) -> list[str]:
    """The code arguments' problems as they read; each one names a code argument (checked here)."""
    problems = function_code.problems_in(args)
    assert {p.argument for p in problems} <= set(function_code.ARGUMENTS), problems
    return [str(p) for p in problems]


ROOT = Path(__file__).resolve().parent.parent
CUSTOM_JOB = ROOT / "examples" / "custom-job"
GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
JOB = '''import json

from vpclambda_runtime import invocation, notify, stream


def handler(event, context):
    with invocation(context):
        rows = sum(len(batch) for batch in stream("SELECT 1"))
        return {"statusCode": 200, "body": json.dumps({"rows": rows, "message_id": notify({"rows": rows})})}
'''


def job_dir(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A consumer's directory: `report.handler`, plus whatever else the test lays out."""
    directory = tmp_path / "job"
    for name, text in {"report.py": JOB, **(files or {})}.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def refused(args: dict[str, Any]) -> tuple[str, AwsMocks]:
    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **args}), mocks=mocks)  # type: ignore[misc]
    return refusal(caught.value), mocks


# ------------------------------------------------------------------ checks, one argument each


def test_a_missing_directory_is_refused_naming_function_source(tmp_path: Path) -> None:
    assert problems_in({"function_source": str(tmp_path / "nope")}) == [
        f"function_source: {str(tmp_path / 'nope')!r} does not exist (resolved from {Path.cwd()}: "
        f"{tmp_path / 'nope'})"]
    (tmp_path / "file.py").write_text("")
    assert problems_in({"function_source": str(tmp_path / "file.py")}) == [
        f"function_source: {str(tmp_path / 'file.py')!r} is not a directory"]


@pytest.mark.parametrize(
    ("handler", "files", "expected"),
    [
        ("app.handler", {}, "function_handler: 'app.handler': the module app is not in"),
        ("report.main", {}, "function_handler: 'report.main': report.py defines no main"),
        ("report", {}, "function_handler: got 'report'; expected module.function"),
        ("report.handler-x", {}, "function_handler: got 'report.handler-x'; expected module.function"),
        ("report." + "h" * 130, {}, f"function_handler: 'report.{'h' * 130}' is 137 characters; Lambda allows at "
                                    "most 128"),
        ("broken.handler", {"broken.py": "def handler(:\n"}, "function_handler: 'broken.handler': broken.py cannot"),
        ("jobs.nightly.run", {"jobs/__init__.py": ""}, "function_handler: 'jobs.nightly.run': the module jobs.nightly"),
    ],
)
def test_a_handler_that_is_not_in_the_directory_is_refused(tmp_path: Path, handler: str, files: dict[str, str],
                                                           expected: str) -> None:
    problems = problems_in({"function_source": str(job_dir(tmp_path, files)), "function_handler": handler})
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize(
    ("handler", "files", "expected"),
    [
        ("report.handlr", {}, "report.py defines no handlr; did you mean handler?"),
        ("report.hander", {"report.py": "HANDLERS = 1\ndef handler(event, context): ...\ndef helper(): ...\n"},
         "report.py defines no hander; did you mean handler?"),
        ("reports.handler", {}, "reports.py and reports/__init__.py); did you mean report.handler?"),
        ("jobs.nightli.run", {"jobs/__init__.py": "", "jobs/nightly.py": "def run(e, c): ...\n"},
         "did you mean jobs.nightly.run?"),
        ("report.zzz", {}, "report.py defines no zzz"),
    ],
)
def test_a_typo_in_the_handler_gets_a_suggestion(tmp_path: Path, handler: str, files: dict[str, str],
                                                 expected: str) -> None:
    (problem,) = problems_in({"function_source": str(job_dir(tmp_path, files)), "function_handler": handler})
    assert problem.endswith(expected), problem
    assert "did you mean" in problem or handler == "report.zzz"


@pytest.mark.parametrize(
    ("handler", "files"),
    [
        ("report.handler", {}),
        ("jobs.nightly.run", {"jobs/__init__.py": "", "jobs/nightly.py": "async def run(event, context): ...\n"}),
        ("jobs.run", {"jobs/__init__.py": "from .impl import run\n", "jobs/impl.py": "def run(e, c): ...\n"}),
        ("entry.handler", {"entry.py": "from report import handler\n"}),
        ("entry.handler", {"entry.py": "handler = lambda event, context: None\n"}),
    ],
)
def test_handlers_defined_or_imported_at_the_top_level_are_accepted(tmp_path: Path, handler: str,
                                                                   files: dict[str, str]) -> None:
    assert problems_in({"function_source": str(job_dir(tmp_path, files)), "function_handler": handler}) == []


def test_the_default_handler_is_checked_in_a_directory_of_ones_own(tmp_path: Path) -> None:
    (problem,) = problems_in({"function_source": str(job_dir(tmp_path))})
    assert problem.startswith("function_handler: 'app.handler': the module app is not in")


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AWS_REGION": "x"}, "function_environment: name 'AWS_REGION' is reserved by Lambda"),
        ({"LAMBDA_TASK_ROOT": "x"}, "function_environment: name 'LAMBDA_TASK_ROOT' is reserved by Lambda"),
        ({"DB_HOST": "x", "TOPIC_ARN": "y"}, "function_environment: DB_HOST, TOPIC_ARN set by the component itself"),
        ({"1ABC": "x"}, "function_environment: name '1ABC' is not allowed"),
        ({"LEVEL": 3}, "function_environment: value of 'LEVEL' is 3; expected a string"),
        ({"BIG": "x" * 3100}, "function_environment: is 3103 bytes in all; Lambda allows at most 3072"),
        (["A=1"], "function_environment: got ['A=1']; expected a mapping"),
    ],
)
def test_bad_environments_are_refused(environment: Any, expected: str) -> None:
    problems = problems_in({"function_environment": environment})
    assert any(p.startswith(expected) for p in problems), problems


def test_requirements_files_are_read_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    from components.build.requirements_build import expand

    (tmp_path / "base.txt").write_text("# pinned\nhumanize==4.12.3  # formatting\n\n")
    (tmp_path / "all.txt").write_text("-r base.txt\nMarkupSafe==3.0.2\n")
    assert expand([f"-r {tmp_path / 'all.txt'}", "tabulate==0.9.0"]) == [
        "humanize==4.12.3", "MarkupSafe==3.0.2", "tabulate==0.9.0"]
    (problem,) = problems_in({"function_requirements": [f"-r {tmp_path / 'missing.txt'}"]})
    assert problem.startswith(f"function_requirements: cannot read the requirements file '{tmp_path / 'missing.txt'}'")
    (problem,) = problems_in({"function_requirements": "humanize"})
    assert problem.startswith("function_requirements: got 'humanize'; expected a list of requirement lines")


def test_migrations_are_checked_and_not_taken_from_the_functions_directory(tmp_path: Path) -> None:
    (problem,) = problems_in({"migrations_source": str(tmp_path / "none")})
    assert problem.startswith("migrations_source: ") and "does not exist" in problem
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "create.sql").write_text("CREATE TABLE t (id INT);")
    assert problems_in({"migrations_source": str(bad)}) == [
        f"migrations_source: create.sql in {bad}: a migration file is named <version>_<description>.sql with a "
        "version of 1 or more, e.g. 0002_add_title.sql"]
    source = job_dir(tmp_path, {"migrations/0001_t.sql": "CREATE TABLE t (id INT);"})
    (problem,) = problems_in({"function_source": str(source), "function_handler": "report.handler"})
    assert problem.startswith(f"function_source: {str(source)!r} has a migrations/ directory")
    assert problems_in({"function_source": str(source), "function_handler": "report.handler",
                        "migrations_source": str(source / "migrations")}) == []


def test_every_bad_code_argument_is_refused_before_anything_is_registered(tmp_path: Path) -> None:
    message, mocks = refused({"function_source": str(job_dir(tmp_path)), "function_handler": "report.missing",
                              "function_environment": {"AWS_REGION": "x"},
                              "migrations_source": str(tmp_path / "nowhere")})
    assert "function_handler: 'report.missing': report.py defines no missing" in message
    assert "function_environment: name 'AWS_REGION' is reserved by Lambda" in message
    assert "migrations_source: " in message
    assert not [r for r in mocks.registered if r.id is not None], "nothing registered"
    assert not list(Path.cwd().glob(".build/function-packages/*.tmp")), "no half-built package left behind"


def test_code_arguments_are_stack_config_keys() -> None:
    assert [config_key(name) for name in ("function_source", "function_handler", "function_requirements",
                                          "function_environment", "migrations_source")] == [
        "functionSource", "functionHandler", "functionRequirements", "functionEnvironment", "migrationsSource"]


# ------------------------------------------------------------------------------- packaging


def test_a_consumers_package_holds_its_code_the_runtime_library_and_its_migrations(tmp_path: Path) -> None:
    source = job_dir(tmp_path, {"lib/util.py": "X = 1\n", "lib/__init__.py": "", "data/prices.json": "{}",
                                ".env": "SECRET=1", ".git/config": "", "__pycache__/report.cpython-312.pyc": "",
                                "tests/test_report.py": "", "__init__.py": ""})
    inputs = PackageInputs(source_dir=source, migrations_dir=CUSTOM_JOB / "migrations")
    first = build_package(inputs, tmp_path / "one")
    second = build_package(inputs, tmp_path / "two")
    assert first.path.read_bytes() == second.path.read_bytes(), "same inputs, same bytes"
    own = {name for name in first.entries if not name.startswith(("vpclambda_runtime/", "pymysql/"))}
    assert own == {"report.py", "lib/util.py", "lib/__init__.py", "data/prices.json", "migrations/0001_stock.sql"}
    assert {"vpclambda_runtime/__init__.py", "vpclambda_runtime/migrate.py", "pymysql/__init__.py",
            "vpclambda_runtime/certs/rds-cn-bundle.pem"} <= set(first.entries)
    assert first.migrations_sha256 == migrations_sha256(CUSTOM_JOB / "migrations")
    assert first.zipped_bytes == first.path.stat().st_size and first.unzipped_bytes > first.zipped_bytes


@pytest.mark.parametrize("taken", ["vpclambda_runtime", "pymysql"])
def test_code_that_would_replace_the_runtime_library_is_refused(tmp_path: Path, taken: str) -> None:
    source = job_dir(tmp_path, {f"{taken}/__init__.py": ""})
    with pytest.raises(PackageError) as caught:
        build_package(PackageInputs(source_dir=source), tmp_path / "build")
    assert caught.value.problems == [Problem(
        "function_source", f"{taken!r} is brought by both the function_source and the runtime library; rename or "
                           "remove one (the runtime library ships vpclambda_runtime and pymysql)")]


def test_sizes_over_lambdas_limits_are_refused_naming_the_argument() -> None:
    mb = 1024 * 1024
    parts = [("boto3", 40 * mb), ("report.py", 1000)]
    assert size_problems(49 * mb, 249 * mb, parts, "function_requirements") == []
    zipped, unzipped = size_problems(51 * mb, 251 * mb, parts, "function_requirements")
    assert zipped == Problem("function_requirements", "the package is 51.0 MB zipped; Lambda accepts at most 50 MB "
                                                      "for a direct upload (largest parts: boto3 40.0 MB, report.py "
                                                      "0.0 MB)")
    assert unzipped.argument == "function_requirements"
    assert unzipped.message.startswith("the package is 251.0 MB unzipped; Lambda accepts at most 250")


def test_an_oversized_package_is_refused_at_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = job_dir(tmp_path)
    (source / "model.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    monkeypatch.setattr(packaging, "ZIPPED_LIMIT", 2 * 1024 * 1024)
    message, mocks = refused({"function_source": str(source), "function_handler": "report.handler"})
    assert "function_source: the package is 3.2 MB zipped; Lambda accepts at most 2 MB" in message
    assert "largest parts: model.bin 3.0 MB" in message
    assert not [r for r in mocks.registered if r.id is not None]


# ------------------------------------------------------------------- the component with it


def test_the_component_deploys_the_consumers_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # packages are built under the working directory
    run: ProgramRun = run_program(lambda: VpcLambdaWithPrivateServices("stock", {  # type: ignore[misc]
        **GOOD,
        "function_source": str(CUSTOM_JOB / "job"),
        "function_handler": "stock_report.handler",
        "function_environment": {"LOW_STOCK_THRESHOLD": "5"},
        "migrations_source": str(CUSTOM_JOB / "migrations"),
    }).outputs())
    job = run.one("aws:lambda/function:Function", "stock-function").inputs
    migration = run.one("aws:lambda/function:Function", "stock-migration").inputs
    assert job["handler"] == "stock_report.handler"
    assert migration["handler"] == "vpclambda_runtime.migrate.handler"
    assert job["code"].path == migration["code"].path, "one package for both functions"
    for fn in (job, migration):
        assert fn["environment"]["variables"]["LOW_STOCK_THRESHOLD"] == "5"
        assert fn["environment"]["variables"]["DB_NAME"] == "myDatabase"
    data = Path(job["code"].path).read_bytes()
    assert job["sourceCodeHash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    with zipfile.ZipFile(job["code"].path) as archive:
        names = set(archive.namelist())
    assert {"stock_report.py", "requirements.txt", "migrations/0001_stock.sql", "vpclambda_runtime/job.py"} <= names
    assert "app.py" not in names and "migrations/0001_employees.sql" not in names
    invocation = run.one("aws:lambda/invocation:Invocation").inputs
    digest = migrations_sha256(CUSTOM_JOB / "migrations")
    assert json.loads(invocation["input"]) == {"migrations_sha256": digest, "db_app_user": "app",
                                               "db_app_grants": "SELECT,INSERT,UPDATE,DELETE,EXECUTE"}
    assert invocation["triggers"]["migrations_sha256"] == digest
