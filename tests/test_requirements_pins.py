"""Dependencies that fit a library: each pin in one place, the distribution accepting a range,
(the program), requirements-dev.in (the toolchain and the tests); exact versions with hashes in
requirements-dev.lock, which `make test` installs; the PyMySQL the function's package bundles
pinned once, in handler/requirements.txt."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from components.build.packaging import bundled_requirements

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-dev.lock"
DEV_IN = ROOT / "requirements-dev.in"
PROGRAM_TXT = ROOT / "requirements.txt"
HANDLER_TXT = ROOT / "handler" / "requirements.txt"
SKIPPED_DIRS = {".git", ".venv", ".build", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
                "mutants"}
"""Caches, and `make mutate`'s work copy of the repository."""
ROOT_SKIPPED = {"build"}
"""setuptools' output at the root (`components/build/` is the package's own)."""


def skipped(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return bool(SKIPPED_DIRS & set(parts)) or parts[0] in ROOT_SKIPPED
LOCK_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def read_requirements(path: Path) -> dict[str, Requirement]:
    """The requirements of a pip requirements file, following ``-r`` includes (relative to the file)."""
    found: dict[str, Requirement] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            found.update(read_requirements(path.parent / line.split(maxsplit=1)[1]))
            continue
        assert not line.startswith("-"), f"{path.name}: unexpected option {line!r}"
        requirement = Requirement(line)
        found[canonicalize_name(requirement.name)] = requirement
    return found


def distribution_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in requirements}


def lock_entries() -> dict[str, tuple[Version, list[str]]]:
    """Name -> (pinned version, sha256 hashes) of every entry of the lock."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    current: str | None = None
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LOCK_ENTRY.match(line)
        if match:
            current = canonicalize_name(match["name"])
            entries[current] = (Version(match["version"]), [])
        else:
            assert line.startswith(" ") and current is not None, f"not a pinned requirement: {line!r}"
            entries[current][1].extend(HASH.findall(line))
    return entries


def requirement_files() -> list[Path]:
    """Every file of the repository that declares Python dependencies (the generated lock aside)."""
    files = []
    for path in ROOT.rglob("*"):
        if SKIPPED_DIRS & set(path.relative_to(ROOT).parts) or not path.is_file():
            continue
        if path.name == "pyproject.toml" or path.suffix == ".in" or re.fullmatch(r"requirements.*\.txt", path.name):
            files.append(path)
    return files


def test_the_bundled_pymysql_is_pinned_in_one_file() -> None:
    pinned_in = [path.relative_to(ROOT).as_posix() for path in requirement_files()
                 if re.search(r"(?im)^\s*\"?pymysql\s*==", path.read_text())]
    assert pinned_in == ["handler/requirements.txt"]
    assert bundled_requirements() == {"PyMySQL": bundled_requirements()["PyMySQL"]}
    assert Version(bundled_requirements()["PyMySQL"]).release[0] == 1


def test_the_distribution_accepts_a_pymysql_range_holding_the_bundled_version() -> None:
    specifier = distribution_requirements()["pymysql"].specifier
    assert specifier == SpecifierSet(">=1.1,<2")
    assert specifier.contains(bundled_requirements()["PyMySQL"])
    assert specifier.contains("1.1.1"), "a consumer pinning PyMySQL 1.1.x can install the distribution"
    assert not specifier.contains("1.0.3") and not specifier.contains("2.0.0")


def extra_requirements(extra: str) -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["optional-dependencies"][extra]]
    return {canonicalize_name(r.name): r for r in requirements}


LOCAL_EXTRA_UNIMPORTED = {"flask", "flask-cors", "awslambdaric"}
"""Run, never imported by the rehearsal: what moto's server needs beyond moto, and the Lambda runtime
client (`python -m awslambdaric`)."""


def test_the_distribution_declares_what_it_imports_and_nothing_else() -> None:
    declared = set(distribution_requirements())
    assert declared == {"pulumi", "pulumi-aws", "pymysql"}
    imported = {dist for name in third_party_imports(ROOT / "components", without=ROOT / "components" / "local")
                for dist in distributions_of(name)}
    assert imported == {"pulumi", "pulumi-aws"}, "vpclambda and vpclambda.testing need no extra"
    # The rehearsal (vpclambda.local) imports what the `local` extra brings, and the extra nothing else.
    rehearsal = {dist for name in third_party_imports(ROOT / "components" / "local") for dist in distributions_of(name)}
    extra = set(extra_requirements("local"))
    assert rehearsal - declared == extra - LOCAL_EXTRA_UNIMPORTED
    assert extra >= LOCAL_EXTRA_UNIMPORTED
    assert '"-m", "awslambdaric"' in (ROOT / "components" / "local" / "local_lambda.py").read_text()
    runtime = {dist for name in third_party_imports(ROOT / "vpclambda_runtime") for dist in distributions_of(name)}
    # The runtime library (installed with the distribution) imports PyMySQL; boto3 is Lambda's own.
    assert runtime - {"boto3", "botocore"} == {"pymysql"}


def test_the_local_extra_has_the_development_ranges() -> None:
    """The rehearsal a consumer installs runs what `make local` runs here."""
    dev = read_requirements(DEV_IN)
    for name, requirement in extra_requirements("local").items():
        assert name in dev and dev[name].specifier == requirement.specifier, name


def test_the_program_requirements_are_the_distributions_ranges() -> None:
    program = read_requirements(PROGRAM_TXT)
    distribution = distribution_requirements()
    for name in ("pulumi", "pulumi-aws"):
        assert program[name].specifier == distribution[name].specifier, name
    assert "pymysql" not in program, "the package installs its PyMySQL for Lambda; the program needs none"


def test_the_lock_pins_every_declared_requirement_within_its_range_with_hashes() -> None:
    entries = lock_entries()
    declared = read_requirements(DEV_IN)
    assert {"pulumi", "pulumi-aws", "pymysql", "pytest", "ruff", "mypy", "pyyaml", "pip-tools"} <= set(declared)
    for name, requirement in declared.items():
        assert name in entries, f"{name} is declared in requirements-dev.in but not locked: run `make lock`"
        version = entries[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in the lock is outside {requirement.specifier}: run `make lock`")
    assert str(entries["pymysql"][0]) == bundled_requirements()["PyMySQL"]
    for name, (_, hashes) in entries.items():
        assert hashes, f"{name} has no hash in the lock"
    assert "pip-compile --allow-unsafe --generate-hashes" in LOCK.read_text()


def function_requirement_names() -> set[str]:
    """What the examples' and the tests' own jobs declare for their packages (a `requirements.txt`
    beside a job's code): installed for Lambda when the package is built, not in this environment."""
    names: set[str] = set()
    jobs = [*(ROOT / "examples").glob("*/*/requirements.txt"), *(ROOT / "tests" / "data").glob("*/*/requirements.txt")]
    for path in jobs:
        names.update(read_requirements(path))
    return names


def test_every_third_party_import_is_declared() -> None:
    declared = set(read_requirements(DEV_IN)) | set(distribution_requirements())
    function_declared = function_requirement_names()
    assert "humanize" in function_declared, "the custom-job example's requirement"
    undeclared: dict[str, set[str]] = {}
    for name in third_party_imports(ROOT):
        if canonicalize_name(name) in function_declared:
            continue
        dists = distributions_of(name)
        assert dists, f"`import {name}`: no installed distribution provides it"
        if not dists & declared:
            undeclared.setdefault(name, set()).update(dists)
    assert not undeclared, f"imported but not declared in requirements-dev.in or pyproject.toml: {undeclared}"


def distributions_of(module: str) -> set[str]:
    return {canonicalize_name(d) for d in importlib.metadata.packages_distributions().get(module, [])}


def local_module_names() -> set[str]:
    """Top-level names that resolve to this repository's own files (any directory may be on the path),
    and the distribution's import name."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    names = {package.split(".")[0] for package in setuptools["packages"]}
    for path in ROOT.rglob("*.py"):
        if skipped(path):
            continue
        names.add(path.stem)
        names.update(part for part in path.relative_to(ROOT).parts[:-1])
    return names


def third_party_imports(under: Path, without: Path | None = None) -> set[str]:
    """Top-level names imported by the Python files under ``under`` (those under ``without`` aside)
    that are neither the standard library nor this repository's own modules."""
    local = local_module_names()
    names: set[str] = set()
    for path in under.rglob("*.py"):
        if skipped(path) or (without is not None and path.is_relative_to(without)):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in local}
