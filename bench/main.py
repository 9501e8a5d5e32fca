"""The benchmark run: set up once, measure each figure, print the table, record it."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from bench import cold, memory, package, preview, warm
from bench.common import ERROR, MISSED, REPO_DIR, Figure
from bench.harness import Workspace, evaluate_dev_stack, function_under_test
from bench.report import rewrite_section, section
from components.local.rehearsal import sigterm_as_interrupt

PERFORMANCE_PAGE = REPO_DIR / "docs" / "performance.md"
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    warm_rounds: int
    warm_per_round: int
    cold_runs: int
    dev_repeat: int
    scale_repeat: int


FULL = Plan(warm_rounds=20, warm_per_round=10, cold_runs=7, dev_repeat=5, scale_repeat=3)
QUICK = Plan(warm_rounds=6, warm_per_round=10, cold_runs=3, dev_repeat=2, scale_repeat=1)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    parser.add_argument("--write-docs", "--write-readme", dest="write_docs", action="store_true",
                        help="record the table in docs/performance.md, between the bench markers")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for trying the benchmarks out)")
    parser.add_argument("--json", type=Path, help="also write every figure with its raw numbers to this file")
    parser.add_argument("--profile-warm", type=int, default=0, metavar="N",
                        help="print a cProfile of N warm invocations of the handler")
    return parser.parse_args(argv)


def progress(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    command = shlex.join(["python", "bench/run.py", *(["--write-docs"] if args.write_docs else []),
                          *(["--quick"] if args.quick else [])])
    started = time.monotonic()
    sections: dict[str, list[Figure]] = {name: [] for name in ("warm", "cold", "memory", "package", "preview")}
    failures: list[str] = []
    profile: str | None = None
    mariadb_version: str | None = None

    def attempt(name: str, what: str, measure: Callable[[], T]) -> T | None:
        progress(started, what)
        try:
            return measure()
        except Exception:  # one figure that cannot be measured does not stop the others
            traceback.print_exc()
            failures.append(what)
            sections[name].append(Figure(name=what, measured="-", verdict=ERROR))
            return None

    with tempfile.TemporaryDirectory(prefix="vpc-lambda-bench-") as tmp, sigterm_as_interrupt():
        workspace = Workspace(Path(tmp))
        progress(started, "evaluating the dev stack under mocks (its package is what is measured)")
        stack = evaluate_dev_stack(workspace)

        dev = attempt("preview", "preview: the dev stack",
                      lambda: preview.measure_dev_stack(stack.pki.ca, workspace, repeat=plan.dev_repeat))
        if dev is not None:
            sections["preview"] += dev[0]
        scaling = attempt("preview", "preview: programs of 1, 10 and 50 instances",
                          lambda: preview.measure_scaling(workspace, repeat=plan.scale_repeat))
        sections["preview"] += scaling or []
        packaged = attempt("package", "package: size against a naive install, reproducibility",
                           lambda: package.measure(stack, workspace, dev[1] if dev else None))
        sections["package"] += packaged or []

        progress(started, "starting MariaDB (TLS) and moto on loopback")
        with function_under_test(stack, workspace) as function:
            mariadb_version = function.mariadb_version()
            measured = attempt("warm", "warm invocation against the inline reference",
                               lambda: warm.measure(function, workspace, rounds=plan.warm_rounds,
                                                    per_round=plan.warm_per_round, profile=args.profile_warm))
            if measured is not None:
                sections["warm"] += measured[0]
                profile = measured[1]
            sections["cold"] += attempt("cold", "cold start against the floor",
                                        lambda: cold.measure(function, workspace, runs=plan.cold_runs)) or []
            sections["memory"] += attempt("memory", "peak RSS at 1k, 100k and 1M rows",
                                          lambda: memory.measure(function, workspace)) or []
    elapsed = time.monotonic() - started
    progress(started, "done")

    figures = [figure for name in ("warm", "cold", "memory", "package", "preview") for figure in sections[name]]
    body = section(figures, command, mariadb_version, elapsed)
    print(body)
    if profile:
        print(f"\n== cProfile of {args.profile_warm} warm invocations\n{profile}")
    missed = [f.name for f in figures if f.verdict == MISSED]
    if missed:
        print(f"\nMISSED: {'; '.join(missed)}")
    if args.json:
        args.json.write_text(json.dumps({"command": command, "elapsed_s": elapsed,
                                         "figures": [asdict(f) for f in figures]}, indent=1, default=str))
    if failures:
        print(f"\nnot measured: {'; '.join(failures)} (docs/performance.md was left as it was)", file=sys.stderr)
        return 1
    if args.write_docs:
        rewrite_section(PERFORMANCE_PAGE, body)
        print("\ndocs/performance.md: figures rewritten", file=sys.stderr)
    return 0
