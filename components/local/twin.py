"""The Lambda package checked against the function's platform, and its twin for this machine.

The component installs the function's requirements for Lambda (`function_architecture`,
`function_runtime`): a requirement with binary wheels then carries extension modules built for,
say, aarch64 and Python 3.12, which an x86_64 machine or another Python cannot import. The
rehearsal therefore

1. verifies the Lambda package itself: every wheel in it is tagged for the function's runtime and
   architecture, and every compiled module is built for that architecture (and that Python, when
   its name says so): `platform_problems`;
2. finds what in it cannot load on this machine (`foreign_binaries`), and when something cannot,
   runs a twin instead: the same code, migrations and requirement lines, the requirements
   installed for this machine's architecture and Python (`twin_inputs`).
"""

from __future__ import annotations

import dataclasses
import platform
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..build.packaging import PackageInputs
from ..build.requirements_build import PLATFORM_TAGS, python_version

ELF_MAGIC = b"\x7fELF"
ELF_MACHINES = {183: "arm64", 62: "x86_64", 3: "x86", 40: "arm"}
"""ELF `e_machine` values (AArch64, x86-64, i386, 32-bit ARM) as Lambda's architecture names."""
MACHINE_NAMES = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
"""`platform.machine()` as Lambda's architecture names."""
EXTENSION_PYTHON = re.compile(r"\.cpython-(?P<major>\d)(?P<minor>\d+)[^/]*\.so$")
WHEEL_PLATFORM_ARCH = {"aarch64": "arm64", "x86_64": "x86_64"}


@dataclass(frozen=True)
class Binary:
    """A compiled file of the package: an extension module or a shared library."""

    name: str
    architecture: str | None
    """From its ELF header; None when it is not an ELF file of a known machine."""
    python: str | None
    """`3.12` when its name says which Python it was built for (`.cpython-312-...so`)."""

    def describe(self) -> str:
        built = [self.architecture or "an unknown machine"] + ([f"Python {self.python}"] if self.python else [])
        return f"{self.name} ({' and '.join(built)})"


def elf_architecture(head: bytes) -> str | None:
    """The architecture an ELF file is built for, from its first 20 bytes."""
    if len(head) < 20 or not head.startswith(ELF_MAGIC):
        return None
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    return ELF_MACHINES.get(machine)


def binaries(package: Path) -> list[Binary]:
    """Every ELF file in the package (by content, whatever its name)."""
    found = []
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.file_size < 20:
                continue
            with archive.open(info) as member:
                head = member.read(20)
            if not head.startswith(ELF_MAGIC):
                continue
            match = EXTENSION_PYTHON.search(info.filename)
            found.append(Binary(info.filename, elf_architecture(head),
                                f"{match['major']}.{match['minor']}" if match else None))
    return found


def wheel_tags(package: Path) -> dict[str, list[str]]:
    """`<name>.dist-info` -> the tags its WHEEL file declares, for every wheel installed in the package."""
    tags: dict[str, list[str]] = {}
    with zipfile.ZipFile(package) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "WHEEL":
                lines = archive.read(name).decode("utf-8", "replace").splitlines()
                tags[parts[0]] = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]
    return tags


def _runs_on(interpreter: str, abi: str, minor: int) -> bool:
    """Whether a wheel's interpreter tag (`py3`, `cp312`, `cp39` with `abi3`) runs on Python 3.<minor>."""
    match = re.fullmatch(r"(?P<kind>py|cp)3(?P<minor>\d*)", interpreter)
    if match is None:
        return False
    built = int(match["minor"]) if match["minor"] else None
    if match["kind"] == "py":
        return built is None or built <= minor
    return built == minor or (built is not None and built <= minor and abi in ("abi3", "none"))


def tag_problem(tag: str, runtime: str, architecture: str) -> str | None:
    """Why a wheel tag (`cp312-cp312-manylinux_2_17_aarch64`) does not run on the function's platform."""
    try:
        interpreter, abi, platform_tag = tag.split("-")
    except ValueError:
        return f"{tag!r} is not a wheel tag"
    minor = int(python_version(runtime).split(".")[1])
    if not any(_runs_on(each, abi, minor) for each in interpreter.split(".")):
        return f"{tag} is for another Python than {runtime}"
    if abi not in ("none", "abi3", f"cp3{minor}"):
        return f"{tag} is for another Python ABI than {runtime}'s (cp3{minor})"
    if platform_tag == "any":
        return None
    arches = {WHEEL_PLATFORM_ARCH.get(p.rsplit("_", 1)[-1]) for p in platform_tag.split(".")
              if p.startswith(("manylinux", "musllinux", "linux"))}
    if not arches:
        return f"{tag} is not for Linux"
    if architecture not in arches:
        return f"{tag} is for {', '.join(sorted(a or 'another machine' for a in arches))}, not {architecture}"
    return None


def platform_problems(package: Path, runtime: str, architecture: str) -> list[str]:
    """What in the Lambda package would not run on the function's runtime and architecture: wheels
    tagged for another platform, compiled files built for another machine or Python."""
    problems = []
    for dist_info, tags in sorted(wheel_tags(package).items()):
        refused = [problem for tag in tags if (problem := tag_problem(tag, runtime, architecture))]
        if tags and len(refused) == len(tags):
            problems.append(f"{dist_info.removesuffix('.dist-info')}: {refused[0]}")
    version = python_version(runtime)
    for binary in binaries(package):
        if binary.architecture != architecture or (binary.python and binary.python != version):
            problems.append(f"{binary.describe()} does not run on {architecture} with {runtime}")
    return problems


def this_machine() -> tuple[str | None, str]:
    """This machine's architecture (Lambda's name for it; None when Lambda has none) and Python."""
    return MACHINE_NAMES.get(platform.machine().lower()), f"{sys.version_info.major}.{sys.version_info.minor}"


def foreign_binaries(package: Path, machine: str | None = None, python: str | None = None) -> list[Binary]:
    """The package's compiled files this machine (default: the one running) cannot load."""
    here, own_python = this_machine()
    machine = machine or here
    python = python or own_python
    return [b for b in binaries(package) if b.architecture != machine or (b.python and b.python != python)]


class NoTwin(RuntimeError):
    """This machine cannot run a twin: Lambda has no platform like it."""


def twin_inputs(inputs: PackageInputs, machine: str | None = None, python: str | None = None) -> PackageInputs:
    """The same package's inputs, its requirements for this machine's architecture and Python."""
    here, own_python = this_machine()
    machine = machine or here
    if platform.system() != "Linux" or machine not in PLATFORM_TAGS:
        raise NoTwin(f"this machine ({platform.system()} {platform.machine()}) has no Linux wheels like Lambda's; "
                     "rehearse on Linux x86_64 or aarch64")
    return dataclasses.replace(inputs, runtime=f"python{python or own_python}", architecture=machine)


def twin_reason(foreign: list[Binary], architecture: str, runtime: str) -> str:
    """One line: the twin is run, and why."""
    machine, python = this_machine()
    shown = ", ".join(binary.describe() for binary in foreign[:2]) + (f" and {len(foreign) - 2} more"
                                                                       if len(foreign) > 2 else "")
    return (f"rehearsing a twin package built for this machine ({machine or platform.machine()}, Python {python}): "
            f"the Lambda package ({architecture}, {runtime}) carries binaries this machine cannot load: {shown}")
