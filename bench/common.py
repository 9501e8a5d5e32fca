"""What every measurement shares: the figure a row of the table shows, statistics, and
running a worker script in a fresh interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
WORKERS_DIR = Path(__file__).resolve().parent / "workers"
FUNCTION_WORKER = WORKERS_DIR / "function_worker.py"
PROGRAM_WORKER = WORKERS_DIR / "program_worker.py"

OK = "ok"
MISSED = "MISSED"
INFO = "info"
ERROR = "ERROR"
NONE = "-"


@dataclass(frozen=True)
class Figure:
    """One row of the table; values are already formatted for reading."""

    name: str
    measured: str
    reference: str = NONE
    ratio: str = NONE
    target: str = NONE
    verdict: str = INFO
    notes: tuple[str, ...] = ()
    """Sentences printed under the table: how it was measured, and why a target was missed."""
    data: dict[str, Any] = field(default_factory=dict)
    """The raw numbers, for ``--json``."""


class BenchError(RuntimeError):
    """A measurement could not be made (not a missed target: that is a verdict)."""


def verdict(ok: bool) -> str:
    return OK if ok else MISSED


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def trimmed_mean(values: Sequence[float], cut: float = 0.1) -> float:
    """Mean of the values without the lowest and highest ``cut`` fraction."""
    ordered = sorted(values)
    drop = int(len(ordered) * cut)
    kept = ordered[drop:len(ordered) - drop] or ordered
    return float(statistics.fmean(kept))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def megabytes(size: float) -> str:
    """Decimal megabytes (10^6 bytes), the unit of the targets."""
    return f"{size / 1e6:.1f} MB"


def kilobytes(size: float) -> str:
    return f"{size / 1e3:.1f} kB"


def ratio(value: float) -> str:
    return f"{value:.2f}"


def run_worker(script: Path, args: Sequence[str], *, cwd: Path, env: Mapping[str, str], scratch: Path,
               timeout: float, stdout_path: Path | None = None) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter and return the JSON document it wrote to ``--out``
    (a file in ``scratch``). Its standard output (the function's log lines) is appended to
    ``stdout_path`` or discarded."""
    out = scratch / f"result-{uuid.uuid4().hex}.json"
    command = [sys.executable, str(script), *args, "--out", str(out)]
    what = f"{script.name} {' '.join(args)}"
    with open(stdout_path or os.devnull, "ab") as sink:
        try:
            completed = subprocess.run(command, cwd=cwd, env=dict(env), stdout=sink, stderr=subprocess.PIPE,
                                       timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"{what} did not finish within {timeout:.0f} s") from exc
    try:
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.decode(errors="replace").splitlines()[-25:])
            raise BenchError(f"{what} failed (exit status {completed.returncode}):\n{tail}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result
    finally:
        out.unlink(missing_ok=True)
