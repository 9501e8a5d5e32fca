"""The rehearsal's check of the Lambda package against the function's platform, and its decision to
run a twin: judged on packages made here (ELF headers and wheel tags), whatever machine runs the test."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from components.build.packaging import PackageInputs
from components.local.twin import (
    NoTwin,
    binaries,
    elf_architecture,
    foreign_binaries,
    platform_problems,
    tag_problem,
    twin_inputs,
)


def elf(machine: int) -> bytes:
    """The start of a little-endian 64-bit ELF shared object for `machine` (`e_machine`)."""
    return b"\x7fELF\x02\x01\x01" + bytes(9) + (3).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44)


AARCH64, X86_64 = 183, 62


def package(tmp_path: Path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "function.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def wheel(tag: str) -> bytes:
    return f"Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()


ARM_PACKAGE = {
    "job.py": b"import markupsafe\n",
    "markupsafe/__init__.py": b"",
    "markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so": elf(AARCH64),
    "MarkupSafe-3.0.2.dist-info/WHEEL": wheel("cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64"),
    "humanize-4.12.3.dist-info/WHEEL": wheel("py3-none-any"),
}


def test_a_package_built_for_the_function_passes_and_its_binaries_are_found(tmp_path: Path) -> None:
    path = package(tmp_path, ARM_PACKAGE)
    assert platform_problems(path, "python3.12", "arm64") == []
    (binary,) = binaries(path)
    assert (binary.name, binary.architecture, binary.python) == (
        "markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so", "arm64", "3.12")


@pytest.mark.parametrize(("runtime", "architecture", "problem"), [
    ("python3.12", "x86_64", "MarkupSafe-3.0.2: cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64 is for "
                             "arm64, not x86_64"),
    ("python3.13", "arm64", "MarkupSafe-3.0.2: cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64 is for "
                            "another Python than python3.13"),
])
def test_wheels_for_another_platform_are_refused(tmp_path: Path, runtime: str, architecture: str,
                                                  problem: str) -> None:
    found = platform_problems(package(tmp_path, ARM_PACKAGE), runtime, architecture)
    assert found[0] == problem
    assert found[1].startswith("markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so (arm64 and Python 3.12) does "
                               f"not run on {architecture} with {runtime}")


def test_a_binary_for_another_machine_is_refused_whatever_its_name(tmp_path: Path) -> None:
    path = package(tmp_path, {"vendor/libfast.so.1": elf(X86_64), "README": b"not a binary"})
    assert platform_problems(path, "python3.12", "arm64") == [
        "vendor/libfast.so.1 (x86_64) does not run on arm64 with python3.12"]
    assert platform_problems(path, "python3.12", "x86_64") == []


@pytest.mark.parametrize(("tag", "problem"), [
    ("py3-none-any", None),
    ("py2.py3-none-any", None),
    ("cp39-abi3-manylinux_2_17_aarch64", None),
    ("cp312-cp312-musllinux_1_2_aarch64", None),
    ("cp311-cp311-manylinux_2_17_aarch64", "cp311-cp311-manylinux_2_17_aarch64 is for another Python than python3.12"),
    ("cp312-cp312-win_amd64", "cp312-cp312-win_amd64 is not for Linux"),
    ("cp312-cp312-macosx_11_0_arm64", "cp312-cp312-macosx_11_0_arm64 is not for Linux"),
    ("pp310-pypy310_pp73-manylinux_2_17_aarch64", "pp310-pypy310_pp73-manylinux_2_17_aarch64 is for another Python "
                                                  "than python3.12"),
])
def test_wheel_tags_are_judged_for_the_runtime_and_architecture(tag: str, problem: str | None) -> None:
    assert tag_problem(tag, "python3.12", "arm64") == problem


def test_the_twin_is_needed_exactly_when_a_binary_cannot_load_on_this_machine(tmp_path: Path) -> None:
    path = package(tmp_path, ARM_PACKAGE)
    assert [b.name for b in foreign_binaries(path, machine="x86_64", python="3.12")] == [
        "markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so"]
    assert [b.name for b in foreign_binaries(path, machine="arm64", python="3.11")] == [
        "markupsafe/_speedups.cpython-312-aarch64-linux-gnu.so"]
    assert foreign_binaries(path, machine="arm64", python="3.12") == []
    (tmp_path / "pure").mkdir()
    pure = package(tmp_path / "pure", {"job.py": b"", "humanize-4.12.3.dist-info/WHEEL": wheel("py3-none-any")})
    assert foreign_binaries(pure, machine="x86_64", python="3.11") == []


def test_the_twin_has_the_same_inputs_for_this_machine() -> None:
    inputs = PackageInputs(requirements=("MarkupSafe==3.0.2",), runtime="python3.12", architecture="arm64")
    twin = twin_inputs(inputs, machine="x86_64", python="3.11")
    assert (twin.runtime, twin.architecture) == ("python3.11", "x86_64")
    assert (twin.source_dir, twin.migrations_dir, twin.requirements) == (
        inputs.source_dir, inputs.migrations_dir, inputs.requirements)
    with pytest.raises(NoTwin, match="no Linux wheels like Lambda's"):
        twin_inputs(inputs, machine="riscv64")


def test_elf_headers_name_their_machine() -> None:
    assert (elf_architecture(elf(AARCH64)), elf_architecture(elf(X86_64))) == ("arm64", "x86_64")
    assert elf_architecture(b"#!/bin/sh\n" + bytes(20)) is None
