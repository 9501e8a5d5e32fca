"""Measure the Pulumi side in a fresh interpreter: the dev stack and programs of N component
instances evaluated under the project's mocks (``localrun``), and the deployment package's
build. Run with the repository on ``PYTHONPATH`` and a scratch working directory (packages
are written under it). Writes one JSON document to ``--out``.

Modes:

* ``dev``: import, then evaluate the dev stack (``__main__.py``, ``Pulumi.dev.yaml``) once
  cold and ``--repeat`` times warm.
* ``scale``: after a warm-up program of one service (imports, the package's build, which
  the component caches per program), time ``--repeat`` programs of ``--instances``
  services sharing one VPC and one endpoint set (one ``PrivateServiceEndpoints``, then
  ``VpcLambdaWithPrivateServices`` with distinct names and ``endpoints``), partition ``aws``;
  with ``--tune-gc`` the program first opts in to ``vpclambda.tune_for_large_programs()``.
* ``build``: build the deployment package into ``--build-dir``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

VPC_ID = "vpc-0a1b2c3d"
SUBNETS = ["subnet-0001", "subnet-0002"]


def dev(ca_bundle: Path, repeat: int) -> dict[str, Any]:
    started = time.perf_counter()
    from localrun.stack_model import CA_BUNDLE_CONFIG_KEY, evaluate_stack

    imported = time.perf_counter()
    overrides = {CA_BUNDLE_CONFIG_KEY: str(ca_bundle)}
    model = evaluate_stack("dev", overrides)
    first = time.perf_counter() - imported
    warm = []
    for _ in range(repeat):
        begun = time.perf_counter()
        evaluate_stack("dev", overrides)
        warm.append(time.perf_counter() - begun)
    return {
        "import_s": imported - started,
        "first_s": first,
        "warm_s": warm,
        "resources": len(model.run.resources),
        "package_sha256": hashlib.sha256(model.package_path.read_bytes()).hexdigest(),
    }


def scale(instances: int, repeat: int, tune_gc: bool) -> dict[str, Any]:
    from components import PrivateServiceEndpoints, VpcLambdaWithPrivateServices, tune_for_large_programs
    from localrun.pulumi_mocks import run_program

    if tune_gc:  # what a program of many services opts in to (the components never do it)
        tune_for_large_programs()

    def program(count: int, prefix: str) -> None:
        shared = PrivateServiceEndpoints(f"{prefix}-endpoints", {"vpc_id": VPC_ID, "subnet_ids": SUBNETS})
        for index in range(count):
            VpcLambdaWithPrivateServices(f"{prefix}{index:02d}", {"vpc_id": VPC_ID, "private_subnet_ids": SUBNETS,
                                                                 "endpoints": shared})

    run_program(lambda: program(1, "warmup"), partition="aws")  # imports, package build
    seconds, gc_seconds = [], []
    resources = 0
    for _ in range(repeat):
        gc.collect()  # no run pays for collecting the garbage of the one before
        with GcClock() as clock:
            started = time.perf_counter()
            run = run_program(lambda: program(instances, "svc"), partition="aws")
            seconds.append(time.perf_counter() - started)
        gc_seconds.append(clock.full_collections_s)
        resources = len(run.resources)
        invokes = Counter(token for token, _ in run.mocks.calls)  # as the mocks answered them
    return {"instances": instances, "seconds": seconds, "gc_full_s": gc_seconds, "resources": resources,
            "invokes": dict(invokes), "gc_threshold": list(gc.get_threshold())}


class GcClock:
    """Time spent in the garbage collector's full (generation 2) collections: their cost grows
    with every object alive, so a program that keeps more resources pays more per collection."""

    def __init__(self) -> None:
        self.full_collections_s = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.full_collections_s += time.perf_counter() - self._started

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def build(build_dir: Path) -> dict[str, Any]:
    from components.build.packaging import build_function_package

    package = build_function_package(build_dir=build_dir)
    return {"path": str(package.path), "sha256": hashlib.sha256(package.path.read_bytes()).hexdigest(),
            "entries": len(package.entries)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the Pulumi program under mocks.")
    parser.add_argument("mode", choices=["dev", "scale", "build"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ca-bundle", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--build-dir", type=Path)
    parser.add_argument("--tune-gc", action="store_true", help="scale: the program opts in to tune_for_large_programs")
    args = parser.parse_args()
    if args.mode == "dev":
        if args.ca_bundle is None:
            parser.error("dev needs --ca-bundle")
        result = dev(args.ca_bundle, args.repeat)
    elif args.mode == "scale":
        result = scale(args.instances, args.repeat, args.tune_gc)
    else:
        if args.build_dir is None:
            parser.error("build needs --build-dir")
        result = build(args.build_dir)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
