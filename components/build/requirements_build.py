"""The function's third-party requirements, installed for Lambda's platform, not this machine's.

`pip install --target` with `--platform manylinux2014_<arch> --implementation cp
--python-version <runtime> --only-binary=:all:` takes only wheels that run on the function's
runtime and architecture: pure-Python wheels, or binary wheels built for Lambda's Linux. A
requirement without such a wheel is refused, named, before anything is registered.

The installed tree is cached under the build directory, keyed by the requirement lines (after
`-r` files are read), the Python version and the platform: an unchanged function installs
nothing and its package keeps the same bytes. Pin versions (`name==1.2.3`) so that a new build
directory resolves the same wheels.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ..model.problems import Problem

ARGUMENT = "function_requirements"
PLATFORM_TAGS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
"""Lambda's architectures as pip platform tags (Amazon Linux 2023 meets manylinux2014)."""
CACHE_DIR = "function-requirements"
CACHE_FORMAT = 1
"""Part of the cache key: bump it when what is installed for the same lines changes."""
PIP_TIMEOUT_S = 600
INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s+|=)(?P<path>.+)$")


class RequirementsError(ValueError):
    """The requirements cannot be read or installed for the function's platform."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


def python_version(runtime: str) -> str:
    """`python3.12` -> `3.12`."""
    match = re.fullmatch(r"python(\d+\.\d+)", runtime)
    if match is None:
        raise RequirementsError([Problem("function_runtime", f"{runtime!r} is not a Python runtime such as "
                                                             "python3.12")])
    return match.group(1)


def expand(lines: Sequence[str], base: Path | None = None, seen: tuple[Path, ...] = ()) -> list[str]:
    """Requirement lines with comments and blanks dropped and `-r <file>` lines replaced by the
    file's lines (a relative path is read from `base`, the working directory by default, or from
    the including file's directory)."""
    base = base or Path.cwd()
    found: list[str] = []
    for raw in lines:
        if not isinstance(raw, str):
            raise RequirementsError([Problem(ARGUMENT, f"{raw!r} is not a requirement line (a string)")])
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        include = INCLUDE.match(line)
        if include is None:
            found.append(line)
            continue
        path = (base / include.group("path").strip()).resolve()
        if path in seen:
            raise RequirementsError([Problem(ARGUMENT, f"{path} includes itself")])
        try:
            text = path.read_text()
        except OSError as error:
            raise RequirementsError([Problem(ARGUMENT, f"cannot read the requirements file {include.group('path')!r} "
                                     f"({error.strerror or error}); give an existing file or requirement lines")]
                                    ) from None
        found += expand(text.splitlines(), path.parent, (*seen, path))
    return found


def cache_key(lines: Sequence[str], runtime: str, architecture: str) -> str:
    inputs = {"lines": list(lines), "python": python_version(runtime), "platform": PLATFORM_TAGS[architecture],
              "format": CACHE_FORMAT}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def pip_command(requirements_file: Path, target: Path, runtime: str, architecture: str) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
        "--target", str(target), "--platform", PLATFORM_TAGS[architecture], "--implementation", "cp",
        "--python-version", python_version(runtime), "--only-binary=:all:", "--no-compile",
        "--no-warn-script-location", "-r", str(requirements_file),
    ]


def explain_pip_failure(stderr: str, runtime: str, architecture: str) -> Problem:
    """pip's refusal as one sentence that names the requirement."""
    platform = f"{PLATFORM_TAGS[architecture]} and Python {python_version(runtime)} ({architecture}, {runtime})"
    missing = re.search(r"No matching distribution found for (\S+)", stderr)
    if missing:
        return (Problem(ARGUMENT, f"{missing.group(1)!r} has no wheel for {platform}, or no such version exists; "
                "choose a version with a pure-Python wheel or a manylinux wheel for that platform"))
    conflict = re.search(r"ResolutionImpossible|conflicting dependencies", stderr)
    if conflict:
        return Problem(ARGUMENT, f"the requirements conflict: {_last_error(stderr)}")
    return Problem(ARGUMENT, f"pip could not install the requirements for {platform}: {_last_error(stderr)}")


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1]


def install(lines: Sequence[str], runtime: str, architecture: str, build_dir: Path) -> Path | None:
    """The directory holding the requirements installed for the function's platform (cached), or
    None when there are none."""
    if not lines:
        return None
    key = cache_key(lines, runtime, architecture)
    cached = build_dir / CACHE_DIR / key[:24]
    site = cached / "site"
    if (cached / "complete").is_file():
        return site
    work = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    requirements_file = work / "requirements.txt"
    requirements_file.write_text("".join(f"{line}\n" for line in lines))
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    try:
        result = subprocess.run(pip_command(requirements_file, work / "site", runtime, architecture),
                                capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        shutil.rmtree(work, ignore_errors=True)
        raise RequirementsError([Problem(ARGUMENT, f"pip did not finish within {PIP_TIMEOUT_S} s; check that the "
                                                   "package index is reachable")]) from None
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise RequirementsError([explain_pip_failure(result.stderr + result.stdout, runtime, architecture)])
    (work / "site").mkdir(exist_ok=True)
    (work / "complete").write_text(json.dumps({"lines": list(lines), "runtime": runtime,
                                               "architecture": architecture}, indent=1))
    if cached.exists():  # another build finished first: keep its tree
        shutil.rmtree(work, ignore_errors=True)
    else:
        work.rename(cached)
    return site
