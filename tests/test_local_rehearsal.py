"""`make local` as a user runs it (`python -m components.local`): the dev stack rehearsed end to end,
and the article's three stages reproduced with the failures AWS would give."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent


def rehearse(*args: str, cwd: Path = ROOT) -> tuple[int, str, dict[str, Any]]:
    result = subprocess.run([sys.executable, "-m", "components.local", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=300, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), (
        f"the rehearsal ended without its outcome line (exit status {result.returncode}):\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.returncode, result.stdout, json.loads(lines[-1])


def test_stage_3_the_components_design_works_end_to_end() -> None:
    code, out, outcome = rehearse("--employees", "7")
    assert code == 0, out
    assert outcome["statusCode"] == 200
    assert outcome["employees"] == 7
    assert outcome["delivered"] is True
    assert len(outcome["message_id"]) >= 16
    assert "├─ lambda-test (vpclambda:index:VpcLambdaWithPrivateServices)" in out
    assert "└─ lambda-test-network (vpclambda:index:PrivateVpc)" in out
    assert "lambda/function lambda-test-function" in out
    assert "ok       database: TCP 3306 from lambda-sg to rds-sg" in out
    assert "ok       sns: interface endpoint for sns with private DNS" in out
    assert '"event": "employees_read", "employees": 7' in out
    assert '"status": "applied"' in out
    # The job logged in as the application user with a token the local database verified.
    assert (outcome["db_user"], outcome["token_verified"]) == ("app", True)
    assert "application user 'app': created True, granted SELECT, INSERT, UPDATE, DELETE, EXECUTE" in out
    assert re.search(r"database: IAM token verified, login as 'app' admitted \(host localhost:\d+, action connect, "
                     r"signed by key testing, rds-db:connect on arn:aws-cn:rds-db:cn-northwest-1:123456789012:"
                     r"dbuser:db-[0-9A-F]{26}/app, expires in \d+ s\)", out), out[-3000:]
    assert '"user": "app", "auth": "iam-token"' in out


@pytest.mark.parametrize(
    ("stage", "verdict", "error", "timed_out"),
    [
        ("1", "BLOCKED  database: function not attached to the VPC: the database in private subnets is unreachable, "
              "connections time out",
         "DatabaseUnreachableError: cannot connect to the database", r"\(connect timeout 5s\): timed out$"),
        ("2", "BLOCKED  sns: no NAT egress and no interface endpoint for sns: publish times out",
         "NotificationError: SNS is unreachable", r"\(Connect timeout on endpoint URL: .*; connect timeout 3 s, "
                                                   r"2 attempts; phase: publish\)"),
    ],
)
def test_blocked_stages_fail_with_a_timeout_as_in_aws(stage: str, verdict: str, error: str, timed_out: str) -> None:
    code, out, outcome = rehearse("--stage", stage)
    assert code == 0, "the stage failed exactly as the article says: the expected outcome"
    assert outcome["expected"] is True and "\n  as expected: " in out
    assert verdict in out
    assert outcome["statusCode"] is None and outcome["delivered"] is False
    assert outcome["error"].startswith(error)
    # A dropped path: the client waited out its connect timeout (a refused connection fails at once).
    assert re.search(timed_out, outcome["error"]), outcome["error"]
    assert outcome["seconds"] < 25, "a missing path fails in seconds, well before the function's 30 s timeout"
    entry = outcome["runbook"]
    assert entry == f"docs/operations.md#runbook-{error.split(':')[0].lower()}"
    assert f"what it means and what to check: {entry}" in out
    page, anchor = entry.split("#")
    assert f'<a id="{anchor}"></a>' in (ROOT / page).read_text(), "the entry exists"


@dataclass(frozen=True)
class Process:
    pid: int
    started: int
    """Start time in clock ticks since boot: with the pid, names one process even if the pid is reused."""
    argv: tuple[str, ...]


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) from /proc/<pid>/stat, or None when the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> list[Process]:
    """The processes below ``root`` (children, their children...): only what the test started."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[0]
    found, frontier = [], {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier}
        for pid in children:
            stat = _stat(pid)
            try:
                argv = tuple(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0"))
            except OSError:
                continue
            if stat is not None:
                found.append(Process(pid, stat[1], argv))
        frontier = children
    return found


def alive(process: Process) -> bool:
    stat = _stat(process.pid)
    return stat is not None and stat[1] == process.started


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_interrupted_rehearsal_cleans_up(signal_name: str) -> None:
    """Only this rehearsal's own processes and files are looked at: another rehearsal or test
    suite running on the machine at the same time has a MariaDB of its own."""
    import re
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "components.local"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen, port = [], None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        match = re.search(r"MariaDB on 127\.0\.0\.1:(\d+)", line)
        if match:
            port = int(match.group(1))
        if "SNS, Secrets Manager -> moto" in line:
            break
    servers = [p for p in descendants(process.pid) if p.argv[0].endswith("mariadbd")]
    assert port and len(servers) == 1, "".join(seen)
    (server,) = servers
    (datadir,) = [Path(arg.split("=", 1)[1]) for arg in server.argv if arg.startswith("--datadir=")]
    assert f"--port={port}" in server.argv and datadir.is_dir()

    process.send_signal(getattr(signal, signal_name))
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    assert json.loads(rest.strip().splitlines()[-1]) == {"statusCode": None, "error": "interrupted",
                                                          "delivered": False}
    # Its port is not probed: once it is free, another suite on the machine may take it.
    assert not alive(server), "the rehearsal's database is stopped"
    assert not datadir.exists(), "the rehearsal's work directory is removed"


def test_the_custom_job_example_is_rehearsed_end_to_end() -> None:
    """`make local ARGS="--example custom-job"`: the example's own code, requirement and migration,
    given to the dev stack as stack config, run as the built-in job is."""
    code, out, outcome = rehearse("--example", "custom-job")
    assert code == 0, out
    assert outcome["statusCode"] == 200 and outcome["delivered"] is True
    assert outcome["handler"] == "stock_report.handler"
    body = outcome["body"]
    assert (body["items"], body["units"], body["low_stock"]) == (4, 1295, ["A-101", "C-300"])
    assert body["summary"] == "1,295 units in 4 items; 2 below 5", "humanize, installed for the function's platform"
    assert '"applied": ["0001_stock.sql"]' in out
    assert "Schema migration (vpclambda_runtime.migrate.handler" in out
    assert '"event": "stock_read"' in out


def test_a_job_of_ones_own_with_binary_wheels_runs_as_a_twin_under_the_default_architecture(tmp_path: Path) -> None:
    """MarkupSafe has binary wheels only: the Lambda package carries its compiled module for arm64 and
    Python 3.12 (verified), which this machine cannot load, so a twin built for this machine runs."""
    project = tmp_path / "audit"
    shutil.copytree(ROOT / "tests" / "data" / "binary-job", project)
    code, out, outcome = rehearse("--source", "job", "--handler", "audit_job.handler", "--requirements",
                                  "job/requirements.txt", "--migrations", "migrations", "--seed", "seed.sql",
                                  cwd=project)
    assert code == 0, out[-3000:]
    assert outcome["statusCode"] == 200 and outcome["delivered"] is True and outcome["expected"] is True
    assert outcome["body"]["entries"] == 2, "the seeded row and the job's insert"
    assert "== Deployment package (arm64, python3.12)" in out
    assert "every wheel and binary in it is for arm64, python3.12" in out
    (twin_line,) = [line for line in out.splitlines() if "rehearsing a twin package built for this machine" in line]
    assert "markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so (arm64 and Python 3.12)" in twin_line
    machine = os.uname().machine
    assert outcome["body"]["compiled"] == (f"_speedups.cpython-{sys.version_info.major}{sys.version_info.minor}-"
                                           f"{machine}-linux-gnu.so"), "the twin's compiled module was imported"
    assert '"applied": ["0001_audit.sql"]' in out and "seeded from seed.sql" in out


def test_a_handler_that_does_not_exist_is_refused_before_anything_starts(tmp_path: Path) -> None:
    project = tmp_path / "audit"
    shutil.copytree(ROOT / "tests" / "data" / "binary-job", project)
    code, out, outcome = rehearse("--source", "job", "--handler", "audit_job.handle", cwd=project)
    assert code == 2
    assert "function_handler: 'audit_job.handle': audit_job.py defines no handle; did you mean handler?" in (
        outcome["error"])
    assert "MariaDB" not in out


def test_a_job_of_ones_own_is_a_stack_like_this_repositorys(tmp_path: Path) -> None:
    """The program a job of one's own is given declares and exports what the repository's dev stack
    does (the packet rehearsal reads the security groups from the exports)."""
    from components.local.jobs import Job
    from components.local.stack_model import evaluate_job

    shutil.copytree(ROOT / "tests" / "data" / "binary-job", tmp_path / "audit")
    job = Job({"function_source": str(tmp_path / "audit" / "job"), "function_handler": "audit_job.handler",
               "migrations_source": str(tmp_path / "audit" / "migrations")}, region="cn-northwest-1")
    (tmp_path / "work").mkdir()
    model = evaluate_job(job, ROOT / "tests" / "data" / "extra-ca.pem", tmp_path / "work")
    assert (model.stack, model.region, model.partition) == ("local", "cn-northwest-1", "aws-cn")
    assert set(model.run.exports["security_group_ids"]) == {"lambda-sg", "rds-sg", "endpoint-sg", "placeholder-sg"}
    assert model.job_function.inputs["handler"] == "audit_job.handler"
    assert model.package_path.is_relative_to(tmp_path / "work"), "built in the rehearsal's work directory"


@pytest.mark.integration
def test_the_queue_consumer_is_rehearsed_end_to_end_and_only_the_poisoned_record_comes_back() -> None:
    """`make local ARGS="--example queue-consumer"`: the example's messages in moto's SQS (one not
    JSON), polled as Lambda's event source mapping does, the real package run per batch: the four
    good orders are stored and deleted at once, the bad one alone comes back on every receive until
    the redrive moves it to the dead-letter queue, and nothing is lost."""
    code, out, outcome = rehearse("--example", "queue-consumer")
    assert code == 0, out
    assert outcome["statusCode"] == 200 and outcome["handler"] == "orders.handler"
    assert (outcome["sent"], outcome["stored"], outcome["lost"]) == (5, 4, [])
    (poisoned,) = outcome["first_batch"]["failed"]
    assert outcome["first_batch"]["records"] == 5
    assert outcome["returned"] == [poisoned], "it alone comes back"
    assert outcome["dead_lettered"] == [poisoned], "after max_receive_count (3) receives, in the dead-letter queue"
    assert outcome["polls"] == 3
    assert out.count('"event": "record_failed"') == 3 and '"error_type": "RecordError"' in out
    assert '"records": 5, "succeeded": 4, "failed": 1, "not_started": 0' in out
    assert '"applied": ["0001_orders.sql"]' in out
    assert "Lambda polls the queue from outside the VPC: no SQS endpoint" in out
