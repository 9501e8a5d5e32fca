"""Cold start: importing the package and the first invocation, against the floor of any
function that talks to MySQL and AWS (importing boto3 and PyMySQL, creating two clients)."""

from __future__ import annotations

from bench.common import FUNCTION_WORKER, Figure, median, ms, ratio, run_worker
from bench.harness import SMALL_TABLE_ROWS, FunctionUnderTest, Workspace


def measure(function: FunctionUnderTest, workspace: Workspace, *, runs: int) -> list[Figure]:
    function.employees(SMALL_TABLE_ROWS)
    cold: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    for _ in range(runs):  # interleaved, so drift falls on both
        for mode, sink in (("cold", cold), ("floor", floor)):
            sink.append(run_worker(FUNCTION_WORKER, [mode], cwd=function.package_dir, env=function.env,
                                   scratch=workspace.scratch, timeout=120, stdout_path=workspace.logs / "cold.log"))

    def part(runs_: list[dict[str, float]], key: str) -> float:
        return median([run[key] for run in runs_])

    total, floor_total = part(cold, "total_s"), part(floor, "total_s")
    figure = Figure(
        name=f"Cold start (import + first invocation, median of {runs})",
        measured=ms(total),
        reference=f"{ms(floor_total)} floor",
        ratio=ratio(total / floor_total),
        target="none set",
        notes=(
            "Cold start: timed inside a fresh interpreter, its own start-up excluded, with root logging already "
            f"set up as the Lambda runtime client sets it. `import app` took {ms(part(cold, 'import_s'))} "
            f"(boto3 is imported on first use) and the first invocation {ms(part(cold, 'invoke_s'))}: "
            f"import boto3, read the secret, verified-TLS connect, query ({SMALL_TABLE_ROWS} rows), create the "
            "SNS client, publish, all against the local services. The floor is `import boto3, pymysql` "
            f"({ms(part(floor, 'import_s'))}) plus creating the Secrets Manager and SNS clients "
            f"({ms(part(floor, 'clients_s'))}). Both run from the unpacked package without bytecode caches, "
            "as from Lambda's read-only task root, so PyMySQL is compiled on every cold start on both sides.",
        ),
        data={"cold": cold, "floor": floor},
    )
    return [figure]
