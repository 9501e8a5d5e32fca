"""Warm invocation: the handler's warm invocation against the same work written inline."""

from __future__ import annotations

from bench.common import FUNCTION_WORKER, Figure, median, ms, ratio, run_worker, trimmed_mean, verdict
from bench.harness import SMALL_TABLE_ROWS, FunctionUnderTest, Workspace

ROWS = SMALL_TABLE_ROWS
TARGET = 1.15


def measure(function: FunctionUnderTest, workspace: Workspace, *, rounds: int, per_round: int,
            profile: int = 0) -> tuple[list[Figure], str | None]:
    """The figure, and with ``profile`` the cProfile of that many warm invocations."""
    function.employees(ROWS)
    result = run_worker(
        FUNCTION_WORKER,
        ["warm", "--rounds", str(rounds), "--per-round", str(per_round), "--profile", str(profile)],
        cwd=function.package_dir, env=function.env, scratch=workspace.scratch, timeout=900,
        stdout_path=workspace.logs / "warm.log",
    )
    handler = [ns / 1e9 for ns in result["handler_ns"]]
    inline = [ns / 1e9 for ns in result["inline_ns"]]
    handler_median, inline_median = median(handler), median(inline)
    measured = handler_median / inline_median
    trimmed = trimmed_mean(handler) / trimmed_mean(inline)
    count = len(handler)
    figure = Figure(
        name=f"Warm invocation ({ROWS:,} rows, median of {count})",
        measured=ms(handler_median),
        reference=f"{ms(inline_median)} inline",
        ratio=ratio(measured),
        target=f"<= {TARGET}",
        verdict=verdict(measured <= TARGET),
        notes=(
            f"Warm invocation: `app.handler` in a warm process (kept connection checked with a ping, "
            f"{ROWS:,} rows streamed, one publish, four JSON log lines through a root log handler "
            "that writes what the Lambda runtime client writes) against the same query and publish written "
            "inline in the same "
            f"process on a connection and a client opened once; {rounds} rounds of {per_round} each, "
            f"alternating which goes first; the handler costs {ms(handler_median - inline_median)} more "
            f"per invocation (ratio of 10%-trimmed means {trimmed:.2f}).",
        ),
        data={"handler_s": handler, "inline_s": inline, "ratio": measured, "trimmed_ratio": trimmed},
    )
    return [figure], result.get("profile")
