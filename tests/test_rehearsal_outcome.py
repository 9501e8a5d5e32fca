"""What the rehearsal concludes, without running it: the outcome held to the verdicts (the exit
status), the runbook entry of every error type it may print, and the job a command line names."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from components.local.jobs import job_from_options
from components.local.rehearsal import LIBRARY_ERRORS, Printer, judged, runbook_entry

ROOT = Path(__file__).resolve().parent.parent
SUCCESS = {"statusCode": 200, "delivered": True}
NO_DATABASE = {"statusCode": None, "failed": "invocation", "error": "DatabaseUnreachableError: cannot connect"}
NO_SNS = {"statusCode": None, "failed": "invocation", "error": "NotificationError: SNS is unreachable"}


def judge(outcome: dict[str, Any], blocked: tuple[str, ...]) -> tuple[bool, list[str]]:
    lines: list[str] = []
    return judged(outcome, blocked, Printer(lines.append))["expected"], lines


@pytest.mark.parametrize(("outcome", "blocked", "expected"), [
    (SUCCESS, (), True),
    (NO_DATABASE, (), False),
    (NO_DATABASE, ("database",), True),          # stage 1, as the article says
    (NO_SNS, ("sns",), True),                    # stage 2
    (SUCCESS, ("sns",), False),                  # a blocked path that worked: the verdict was wrong
    (NO_SNS, ("database",), False),              # another failure than the blocked path's
    ({"statusCode": 500, "body": "{}"}, (), False),
    ({"statusCode": None, "body": "done"}, (), True),  # a job of one's own that returns no status code
    ({"statusCode": None, "failed": "package", "error": "the Lambda package does not match"}, (), False),
])
def test_the_outcome_is_held_to_the_verdicts(outcome: dict[str, Any], blocked: tuple[str, ...],
                                             expected: bool) -> None:
    assert judge(outcome, blocked)[0] is expected


def test_the_expectation_is_printed() -> None:
    assert judge(NO_DATABASE, ("database",))[1][-1] == (
        "  as expected: database BLOCKED: the functions fail with DatabaseTimeoutError or DatabaseUnreachableError, "
        "as in AWS")
    assert judge(NO_SNS, ())[1][-1] == ("  NOT as expected: every path is reachable: the function succeeds; got "
                                        "NotificationError: SNS is unreachable")


@pytest.mark.parametrize("error_type", [*sorted(LIBRARY_ERRORS), "Runtime.ImportModuleError", "Runtime.ExitError",
                                        "Runtime.HandlerNotFound", "Sandbox.Timedout", "KeyError", None])
def test_every_error_type_the_rehearsal_prints_has_a_runbook_entry(error_type: str | None) -> None:
    page, anchor = runbook_entry(error_type).split("#")
    assert f'<a id="{anchor}"></a>' in (ROOT / page).read_text(), anchor


def test_lambdas_own_errors_and_a_jobs_exceptions_have_their_own_entries() -> None:
    assert runbook_entry("Runtime.ImportModuleError").endswith("#runbook-lambda-runtime-errors")
    assert runbook_entry("KeyError").endswith("#runbook-joberror")
    assert runbook_entry("NotificationError").endswith("#runbook-notificationerror")
    assert "DatabaseUnreachableError" in LIBRARY_ERRORS and "JobError" in LIBRARY_ERRORS


def options(**given: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {"source": None, "handler": None, "requirements": [], "migrations": None,
                                "environment": [], "seed": None, "stack_config": None, "region": "us-east-1"}
    return argparse.Namespace(**{**defaults, **given})


def test_a_jobs_paths_are_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "seed.sql").write_text("SELECT 1;\n")
    job = job_from_options(options(source="job", handler="audit_job.handler", requirements=["job/requirements.txt"],
                                   migrations="migrations", seed="seed.sql", environment=["LEVEL=debug"]), tmp_path)
    assert job is not None and job.args == {
        "function_source": str(tmp_path / "job"), "function_handler": "audit_job.handler",
        "function_requirements": [f"-r {tmp_path / 'job' / 'requirements.txt'}"],
        "migrations_source": str(tmp_path / "migrations"), "function_environment": {"LEVEL": "debug"}}
    assert job.seed == tmp_path / "seed.sql"
    assert job_from_options(options(), tmp_path) is None, "no job given: the repository's own stack"


def test_a_job_from_a_stack_file_with_the_options_over_it(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  orders:functionSource: job\n  orders:functionHandler: audit_job.handler\n"
        "  orders:functionRequirements: ['-r job/requirements.txt']\n  orders:migrationsSource: migrations\n"
        "  orders:dbPort: 3307\n")
    job = job_from_options(options(stack_config="Pulumi.dev.yaml", handler="audit_job.other"), tmp_path)
    assert job is not None and job.args == {
        "function_source": str(tmp_path / "job"), "function_handler": "audit_job.other",
        "function_requirements": [f"-r {tmp_path / 'job' / 'requirements.txt'}"],
        "migrations_source": str(tmp_path / "migrations")}, "the function's keys only, paths from the file's directory"


@pytest.mark.parametrize(("given", "message"), [
    ({"handler": "audit_job.handler"}, "give the function's code: --source DIR"),
    ({"source": "job", "seed": "missing.sql"}, "--seed 'missing.sql': no such file"),
    ({"source": "job", "environment": ["LEVEL"]}, "--environment 'LEVEL': expected NAME=VALUE"),
])
def test_a_job_missing_what_it_needs_is_refused(tmp_path: Path, given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        job_from_options(options(**given), tmp_path)


def test_without_mariadb_the_rehearsal_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.local import services

    monkeypatch.setattr(services.shutil, "which", lambda tool: None)
    with pytest.raises(services.ServiceError, match=r"sudo apt-get install -y --no-install-recommends mariadb-server "
                                                    r"mariadb-client"):
        services.require_mariadb()


def test_without_the_local_extra_the_command_names_it(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """What the extra brings, missing (here moto and the runtime client): the command says which extra to
    install, before anything starts."""
    import importlib.util

    from components.local import rehearsal

    found = importlib.util.find_spec
    monkeypatch.setattr(rehearsal.importlib.util, "find_spec",
                        lambda name: None if name in ("moto", "awslambdaric") else found(name))
    with pytest.raises(SystemExit) as exited:
        rehearsal.main([])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "moto, awslambdaric not installed" in err
    assert "the rehearsal needs the distribution's `local` extra: pip install 'pulumi-vpc-lambda[local]'" in err
