"""`make local` as a user runs it (`python -m localrun`): the dev stack rehearsed end to end,
and the article's three stages reproduced with the failures AWS would give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def rehearse(*args: str) -> tuple[int, str, dict[str, Any]]:
    result = subprocess.run([sys.executable, "-m", "localrun", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
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


@pytest.mark.parametrize(
    ("stage", "verdict", "error"),
    [
        ("1", "BLOCKED  database: function not attached to the VPC: the database in private subnets is unreachable, "
              "connections time out",
         "DatabaseUnreachableError: cannot connect to the database"),
        ("2", "BLOCKED  sns: no NAT egress and no interface endpoint for sns: publish times out",
         "NotificationError: SNS is unreachable"),
    ],
)
def test_blocked_stages_fail_with_a_timeout_as_in_aws(stage: str, verdict: str, error: str) -> None:
    code, out, outcome = rehearse("--stage", stage)
    assert code == 1
    assert verdict in out
    assert outcome["statusCode"] is None and outcome["delivered"] is False
    assert outcome["error"].startswith(error)
    assert "timeout" in outcome["error"].lower() or "timed out" in outcome["error"].lower()
    assert outcome["seconds"] < 25, "a missing path fails in seconds, well before the function's 30 s timeout"


def local_mariadb_processes() -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "mariadbd" in cmdline and "vpc-lambda-local-" in cmdline:
                found.append(cmdline)
    return found


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_interrupted_rehearsal_cleans_up(signal_name: str) -> None:
    import re
    import signal
    import socket
    import time

    process = subprocess.Popen([sys.executable, "-m", "localrun"], cwd=ROOT, stdout=subprocess.PIPE,
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
    assert port and local_mariadb_processes(), "".join(seen)
    process.send_signal(getattr(signal, signal_name))
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    assert json.loads(rest.strip().splitlines()[-1]) == {"statusCode": None, "error": "interrupted",
                                                          "delivered": False}
    assert local_mariadb_processes() == []
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the local database no longer listens"
