"""function_requirements installed for Lambda's platform (pip, from the package index), cached by
their inputs, and refused at preview when a requirement has no wheel for the platform."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.build import requirements_build
from components.build.packaging import PackageInputs, build_package
from components.build.requirements_build import RequirementsError, cache_key, install
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import AwsMocks, run_program
from tests.problems import refusal

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
CUSTOM_JOB = ROOT / "examples" / "custom-job"
PURE = "humanize==4.12.3"
BINARY = "MarkupSafe==3.0.2"
"""Has a compiled speed-up in its manylinux wheels, one per architecture."""
SOURCE_ONLY = "docopt==0.6.2"
"""Published as a source distribution only: no wheel for any platform."""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("build")


@pytest.mark.parametrize(("architecture", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_binary_wheels_are_the_functions_platforms(build_dir: Path, architecture: str, machine: str) -> None:
    site = install([PURE, BINARY], "python3.12", architecture, build_dir)
    assert site is not None
    assert (site / "humanize" / "__init__.py").is_file()
    (speedups,) = (site / "markupsafe").glob("_speedups*.so")
    assert speedups.name == f"_speedups.cpython-312-{machine}-linux-gnu.so"
    assert not list(site.rglob("*.pyc")), "nothing compiled by the machine that builds"


def test_an_unchanged_requirement_set_is_not_installed_again(build_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = install([PURE], "python3.12", "arm64", build_dir)

    def no_pip(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pip ran for requirements already installed")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert install([PURE], "python3.12", "arm64", build_dir) == first
    assert cache_key([PURE], "python3.12", "arm64") != cache_key([PURE], "python3.12", "x86_64")
    assert cache_key([PURE], "python3.12", "arm64") != cache_key([PURE], "python3.13", "arm64")
    assert cache_key([PURE], "python3.12", "arm64") != cache_key(["humanize==4.12.2"], "python3.12", "arm64")


def test_a_requirement_without_a_wheel_for_the_platform_is_named(build_dir: Path) -> None:
    with pytest.raises(RequirementsError) as caught:
        install([PURE, SOURCE_ONLY], "python3.12", "arm64", build_dir)
    (problem,) = caught.value.problems
    assert problem.argument == "function_requirements"
    assert problem.message.startswith("'docopt==0.6.2' has no wheel for manylinux2014_aarch64 and Python 3.12 (arm64, "
                                      "python3.12)")
    assert not list((build_dir / requirements_build.CACHE_DIR).glob("*.tmp")), "nothing half-installed is kept"


def test_a_requirement_that_does_not_exist_is_refused_at_preview(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
            "vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"],
            "function_requirements": ["vpclambda-no-such-distribution==1.0"]}), mocks=mocks)
    assert ("function_requirements: 'vpclambda-no-such-distribution==1.0' has no wheel for manylinux2014_aarch64"
            in refusal(caught.value))
    assert not [r for r in mocks.registered if r.id is not None], "nothing registered"


def test_a_package_with_requirements_is_reproducible(tmp_path: Path) -> None:
    """Two builds with separate caches (pip runs twice) give the same bytes."""
    inputs = PackageInputs(source_dir=CUSTOM_JOB / "job", migrations_dir=CUSTOM_JOB / "migrations",
                           requirements=(PURE,))
    first = build_package(inputs, tmp_path / "one" / "function-packages")
    second = build_package(inputs, tmp_path / "two" / "function-packages")
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
    assert {"stock_report.py", "humanize/__init__.py", "humanize-4.12.3.dist-info/METADATA"} <= set(names)
    assert not [n for n in names if n.startswith("bin/") or n.endswith(".pyc")]
