"""Memory: peak RSS of an invocation reading 1k, 100k and 1M employee rows."""

from __future__ import annotations

import dataclasses
import time

from bench.common import FUNCTION_WORKER, INFO, Figure, megabytes, run_worker, secs, verdict
from bench.harness import FunctionUnderTest, Workspace

SIZES = (1_000, 100_000, 1_000_000)
BOUND = 15e6
"""Peak RSS may be at most 15 MB (10^6 bytes) higher at the largest size than at the smallest."""


def measure(function: FunctionUnderTest, workspace: Workspace, sizes: tuple[int, ...] = SIZES) -> list[Figure]:
    results: list[dict[str, float]] = []
    filled = 0
    fill_seconds = 0.0
    for rows in sizes:
        started = time.perf_counter()
        if filled == 0:
            function.employees(rows)
        else:
            function.db.add_employees(rows - filled)
        fill_seconds += time.perf_counter() - started
        filled = rows
        result = run_worker(FUNCTION_WORKER, ["memory"], cwd=function.package_dir, env=function.env,
                            scratch=workspace.scratch, timeout=600, stdout_path=workspace.logs / "memory.log")
        if result["rows"] != rows:
            raise RuntimeError(f"the function counted {result['rows']} rows, the table has {rows}")
        results.append(result)

    smallest = results[0]["hwm_after"]
    figures = []
    for rows, result in zip(sizes, results, strict=True):
        growth = result["hwm_after"] - smallest
        first = rows == sizes[0]
        last = rows == sizes[-1]
        figures.append(Figure(
            name=f"Peak RSS, {rows:,} rows",
            measured=megabytes(result["hwm_after"]),
            reference="-" if first else f"{megabytes(smallest)} at {sizes[0]:,}",
            ratio="-" if first else f"{round(growth / 1e6, 1) + 0.0:+.1f} MB",  # + 0.0: no "-0.0"
            target=f"<= +{megabytes(BOUND)}" if last else "-",
            verdict=verdict(growth <= BOUND) if last else INFO,
            data=dict(result),
        ))
    largest = results[-1]
    figures[-1] = dataclasses.replace(figures[-1], notes=(
        f"Memory: VmHWM of a fresh interpreter after one invocation (boto3's import included), read from "
        f"/proc; before the invocation it was {megabytes(results[0]['hwm_before'])}. The {sizes[-1]:,}-row "
        f"invocation took {secs(largest['seconds'])}; the stack gives the function {function.memory_mb} MB. "
        f"Rows are generated with MariaDB's sequence engine ({secs(fill_seconds)} in all).",
    ))
    return figures
