"""Package: the component's zipped deployment package against a naive
`pip install --target` of what the handler imports, and two builds byte for byte."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from bench.common import NONE, PROGRAM_WORKER, REPO_DIR, BenchError, Figure, kilobytes, megabytes, run_worker, verdict
from bench.harness import StackUnderTest, Workspace
from components.build.packaging import bundled_requirements

TARGET = 0.05
RUNTIME_PROVIDED = ("boto3", "botocore")
"""What the handler imports that Lambda's Python runtime provides (the package does not bundle it)."""


def pip_install_target(requirements: list[str], target: Path) -> None:
    """What one would do without the component: install the requirements into a directory."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
               "--no-compile", "--target", str(target), *requirements]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if completed.returncode != 0:
        raise BenchError(f"pip install --target failed ({completed.returncode}):\n{completed.stderr[-2000:]}")


def zip_directory(directory: Path, archive: Path) -> int:
    """Zip every file under ``directory`` with zipfile's default compression; the archive's size."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            out.write(path, path.relative_to(directory).as_posix())
    return archive.stat().st_size


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(stack: StackUnderTest, workspace: Workspace, dev_package_sha256: str | None) -> list[Figure]:
    """``dev_package_sha256``: the dev stack's package as another process built it (or None)."""
    package = stack.model.package_path
    size = package.stat().st_size
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    bundled = sorted({name.split("/", 1)[0] for name in names if "/" in name})
    if any(name in RUNTIME_PROVIDED for name in bundled):
        raise BenchError(f"the package bundles {bundled}: boto3/botocore were not expected in it")

    pins = [f"{name}=={version}" for name, version in bundled_requirements().items()]
    runtime = [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PROVIDED]
    naive_dir = workspace.dir("naive")
    pip_install_target([*pins, *runtime], naive_dir / "all")
    naive_size = zip_directory(naive_dir / "all", naive_dir / "all.zip")
    pip_install_target(pins, naive_dir / "pins")
    pins_size = zip_directory(naive_dir / "pins", naive_dir / "pins.zip")
    share = size / naive_size

    builds = []
    for seed in ("1", "2"):  # separate processes, different hash seeds and working directories
        cwd = workspace.dir(f"build-{seed}")
        builds.append(run_worker(PROGRAM_WORKER, ["build", "--build-dir", str(cwd / "out")], cwd=cwd,
                                 env={**os.environ, "PYTHONPATH": str(REPO_DIR), "PYTHONHASHSEED": seed},
                                 scratch=workspace.scratch, timeout=300))
    same_build = builds[0]["sha256"] == builds[1]["sha256"]
    same_stack = dev_package_sha256 is None or dev_package_sha256 == sha256(package)
    if dev_package_sha256 is None:
        stack_note = ""
    elif same_stack:
        stack_note = " The dev stack evaluated in two processes gave the same package (with its CA bundle) too."
    else:
        stack_note = " The dev stack evaluated in two processes gave DIFFERENT packages."
    return [
        Figure(
            name="Deployment package (zip)",
            measured=kilobytes(size),
            reference=f"{megabytes(naive_size)} naive",
            ratio=f"{share:.1%}",
            target=f"<= {TARGET:.0%}",
            verdict=verdict(share <= TARGET),
            notes=(
                f"Package: the zip the component hands to the dev stack's function ({len(names)} entries: the "
                f"handler, migrations, CA bundles, and {', '.join(pins)}), against `pip install --target` of "
                f"{', '.join(pins + runtime)} (bytecode not compiled) zipped with zipfile's default "
                f"compression. The component does not bundle {' or '.join(RUNTIME_PROVIDED)}: Lambda's Python "
                f"runtime provides them. `pip install --target` of {', '.join(pins)} alone zips to "
                f"{kilobytes(pins_size)}.",
            ),
            data={"package_bytes": size, "naive_bytes": naive_size, "pins_bytes": pins_size, "entries": names},
        ),
        Figure(
            name="Reproducible package (2 builds)",
            measured="same bytes" if same_build and same_stack else "different bytes",
            reference=NONE,
            ratio=NONE,
            target="same bytes",
            verdict=verdict(same_build and same_stack),
            notes=(
                "Reproducibility: `components.build.packaging.build_function_package()` (the default package, "
                f"{builds[0]['entries']} entries) run in two processes with different hash seeds and working "
                f"directories gave {'identical' if same_build else 'DIFFERENT'} zips.{stack_note}",
            ),
            data={"builds": builds, "dev_stack_same": same_stack},
        ),
    ]
