"""Preview cost: evaluating the dev stack under the project's Pulumi mocks, and how the time
grows with the number of services sharing one VPC and one endpoint set in one program."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from bench.common import INFO, NONE, PROGRAM_WORKER, REPO_DIR, Figure, median, ratio, run_worker, secs, verdict
from bench.harness import Workspace
from bench.workers.program_worker import SUBNETS

INSTANCES = (1, 10, 50)
LINEAR_SLACK = 1.2
"""Linear or better: the per-instance time at the largest count at most 1.2 x that at the middle one."""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_DIR)}


def measure_dev_stack(ca_bundle: Path, workspace: Workspace, *, repeat: int) -> tuple[list[Figure], str]:
    """The figure, and the SHA-256 of the package this evaluation built."""
    result = run_worker(PROGRAM_WORKER, ["dev", "--ca-bundle", str(ca_bundle), "--repeat", str(repeat)],
                        cwd=workspace.dir("preview-dev"), env=_env(), scratch=workspace.scratch, timeout=600)
    warm = median(result["warm_s"])
    figure = Figure(
        name=f"Dev stack under mocks (median of {repeat})",
        measured=secs(warm),
        notes=(
            f"Preview cost: `localrun.stack_model.evaluate_stack(\"dev\")` ({result['resources']} resources) in "
            f"a process that has evaluated it once; the first evaluation took {secs(result['first_s'])} "
            f"(building the package included) after {secs(result['import_s'])} of imports. Pulumi's mocks stand "
            "in for the engine and the provider, so this is the program's own share of a preview.",
        ),
        data=result,
    )
    return [figure], str(result["package_sha256"])


def measure_scaling(workspace: Workspace, *, repeat: int, counts: tuple[int, ...] = INSTANCES) -> list[Figure]:
    """The growth as the library leaves the process (the target applies to it), then with the
    program's opt-in `vpclambda.tune_for_large_programs()` (for information)."""
    figures = _scaling(workspace, repeat=repeat, counts=counts, tune_gc=False)
    opted_in = _scaling(workspace, repeat=repeat, counts=counts, tune_gc=True)
    return figures + opted_in[-1:]


def _scaling(workspace: Workspace, *, repeat: int, counts: tuple[int, ...], tune_gc: bool) -> list[Figure]:
    results: dict[int, dict[str, Any]] = {}
    variant = "tuned" if tune_gc else "default"
    for count in counts:  # a fresh process per count
        results[count] = run_worker(PROGRAM_WORKER, ["scale", "--instances", str(count), "--repeat", str(repeat),
                                                     *(["--tune-gc"] if tune_gc else [])],
                                    cwd=workspace.dir(f"preview-{variant}-{count}"), env=_env(),
                                    scratch=workspace.scratch, timeout=1800)
    seconds = {count: median(result["seconds"]) for count, result in results.items()}
    per = {count: seconds[count] / count for count in counts}
    middle, largest = counts[-2], counts[-1]
    growth = per[largest] / per[middle]
    figures = []
    suffix = ", the program opted in to tune_for_large_programs()" if tune_gc else ""
    for count in counts:
        last = count == largest
        figures.append(Figure(
            name=f"Program of {count} service{'s' if count > 1 else ''} in one VPC{suffix} (median of {repeat})",
            measured=f"{secs(seconds[count])} ({per[count] * 1000:.0f} ms each)",
            reference=f"{per[middle] * 1000:.0f} ms each at {middle}" if last else NONE,
            ratio=ratio(growth) if last else NONE,
            target=f"<= {LINEAR_SLACK}" if last and not tune_gc else NONE,
            verdict=verdict(growth <= LINEAR_SLACK) if last and not tune_gc else INFO,
            data=results[count],
        ))
    gc_full = median(results[largest].get("gc_full_s") or [0.0])
    if tune_gc:
        notes = [f"The same programs, each opting in to `vpclambda.tune_for_large_programs()` first (the oldest "
                 f"generation's threshold {results[largest]['gc_threshold']}): full collections at {largest}: "
                 f"{secs(gc_full)}. The components never change the collector themselves."]
    else:
        notes = [
            f"Growth: programs of {', '.join(map(str, counts))} services sharing one VPC and one endpoint set (one "
            f"`PrivateServiceEndpoints`, then `VpcLambdaWithPrivateServices` with distinct names and `endpoints`; "
            f"partition aws, {results[largest]['resources']} resources at {largest}) under the mocks, a fresh "
            "process per count after a one-service warm-up, garbage collected before each timed run, the "
            f"collector's time included, with CPython's default thresholds (the library changes no process-wide "
            f"state). Linear or better means the time per service at {largest} is at most {LINEAR_SLACK} x the "
            f"time per service at {middle}. Full collections at {largest}: {secs(gc_full)}.",
        ]
        if growth > LINEAR_SLACK:
            notes.append(why_superlinear(results, middle, largest))
    figures[-1] = dataclasses.replace(figures[-1], notes=tuple(notes))
    return figures


def why_superlinear(results: dict[int, dict[str, Any]], middle: int, largest: int) -> str:
    """What the largest program spent its extra time on: invokes or the collector."""
    invokes: dict[str, int] = results[largest].get("invokes") or {}
    fixed = sum((results[middle].get("invokes") or {}).values())
    calls = sum(invokes.values())
    parts = [f"Why it grows faster than linear: the program of {largest} makes {calls} invokes against {fixed} at "
             f"{middle} (each synchronous look-up is kept for the program; {len(SUBNETS)} subnets here)."]
    gc_s = {count: median(results[count].get("gc_full_s") or [0.0]) for count in (middle, largest)}
    run_s = {count: median(results[count]["seconds"]) for count in (middle, largest)}
    if gc_s[largest]:
        without = {count: (run_s[count] - gc_s[count]) / count for count in (middle, largest)}
        parts.append(
            f"Python's full garbage collections took {secs(gc_s[largest])} of the {secs(run_s[largest])} at "
            f"{largest} against {secs(gc_s[middle])} of {secs(run_s[middle])} at {middle}: each full collection "
            "walks every live object, and a program of more resources keeps more of them alive. Without that "
            f"time an instance costs {without[middle] * 1000:.0f} ms at {middle} and {without[largest] * 1000:.0f} "
            f"ms at {largest} (ratio {without[largest] / without[middle]:.2f}). A program of many services opts in "
            "to `vpclambda.tune_for_large_programs()` (the next figure)."
        )
    return " ".join(parts)
