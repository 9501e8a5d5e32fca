"""The function's deployment package: the function's code, the runtime library
(`vpclambda_runtime`, with its CA bundles and PyMySQL), the schema migrations and the
function's own requirements installed for Lambda's platform, zipped deterministically (sorted
entries, fixed timestamps and modes, no caches), so unchanged inputs always give the same bytes
and never show a diff.

Package layout (the task root, `/var/task`):

    <the function's code>        function_source (default: the built-in employees report)
    migrations/*.sql             migrations_source (default: the built-in schema)
    vpclambda_runtime/           the runtime library, its certs/ and the migration entry point
    pymysql/                     the runtime library's one dependency, pinned in handler/requirements.txt and
                                 installed for the function's platform
    <requirements>               function_requirements, installed for the runtime and architecture
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vpclambda_runtime.contract import (
    CUSTOM_CA_BUNDLE,
    MIGRATION_SUFFIX,
    MIGRATIONS_DIR,
    RUNTIME_PACKAGE,
    ca_bundle_path,
    parse_migrations,
)
from vpclambda_runtime.contract import migrations_sha256 as contract_migrations_sha256

from ..model.problems import Problem
from . import requirements_build


def _find_dir(name: str, marker: str) -> Path:
    package = Path(__file__).resolve().parent.parent  # components/ (installed: vpclambda/)
    # Installed: vpclambda/handler, and vpclambda_runtime beside vpclambda; in this repository:
    # components/../handler and components/../vpclambda_runtime.
    for candidate in (package / name, package.parent / name):
        if (candidate / marker).is_file():
            return candidate
    raise FileNotFoundError(f"{name}/{marker} is neither in {package} nor beside it")


HANDLER_DIR = _find_dir("handler", "app.py")
"""The built-in job's sources (the employees report), the default `function_source`."""
RUNTIME_DIR = _find_dir("vpclambda_runtime", "__init__.py")
"""The runtime library, shipped in every package as `vpclambda_runtime/`."""
RUNTIME_REQUIREMENTS = HANDLER_DIR / "requirements.txt"
"""The runtime library's pinned dependencies (PyMySQL), installed for the function's platform."""

# What the package carries from the runtime library; from a function's directory, everything
# but hidden files, caches and compiled files.
RUNTIME_SUFFIXES = frozenset({".py", ".pem"})
EXCLUDED_PARTS = frozenset({"__pycache__", "tests", ".pytest_cache"})
COMPILED_SUFFIXES = frozenset({".pyc", ".pyo"})
ROOT_EXCLUDED = frozenset({"__init__.py"})
"""A package marker at the task root means nothing to Lambda (and the built-in job's installed
copy has one)."""
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
DEFAULT_MIGRATIONS = HANDLER_DIR / MIGRATIONS_DIR
REQUIREMENTS_EXCLUDED = frozenset({"bin"})
"""Console scripts pip writes with this machine's interpreter in their first line."""

ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024
"""Lambda quotas: deployment package 50 MB zipped (direct upload), 250 MB unzipped."""


def shipped_ca_bundle(partition: str, runtime_dir: Path = RUNTIME_DIR, proxy: bool = False) -> str | None:
    """The package path of the partition's RDS CA bundle (with `proxy`, the RDS Proxy one), if one
    is shipped."""
    bundle = ca_bundle_path(partition, proxy)
    if bundle is None:
        return None
    return bundle if (runtime_dir / bundle.removeprefix(f"{RUNTIME_PACKAGE}/")).is_file() else None


DEFAULT_BUILD_DIR = Path(".build") / "function-packages"


class PackageError(ValueError):
    """The package cannot be built from these arguments; each problem names the argument."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class FunctionPackage:
    path: Path
    sha256_base64: str
    """What Lambda reports as CodeSha256: base64 of the zip's SHA-256."""
    entries: tuple[str, ...]
    migrations_sha256: str
    """One digest of the ordered migration files: a change to any of them re-runs the migration."""
    zipped_bytes: int = 0
    unzipped_bytes: int = 0


@dataclass(frozen=True)
class PackageInputs:
    """Everything a package is built from (hashable: one build per program for equal inputs)."""

    source_dir: Path = HANDLER_DIR
    migrations_dir: Path = DEFAULT_MIGRATIONS
    requirements: tuple[str, ...] = ()
    """Requirement lines with `-r` files read (`requirements_build.expand`)."""
    runtime: str = "python3.12"
    architecture: str = "arm64"
    extra_files: tuple[tuple[str, Path], ...] = field(default=())


def migration_files(migrations_dir: Path) -> list[Path]:
    """The migration files in version order, judged by the runtime's own rule
    (`vpclambda_runtime.contract.parse_migrations`): what it would refuse raises `MigrationError`."""
    paths = {path.name: path for path in migrations_dir.glob(f"*{MIGRATION_SUFFIX}")}
    migrations = parse_migrations(((name, path.read_bytes()) for name, path in paths.items()), str(migrations_dir))
    return [paths[migration.filename] for migration in migrations]


def migrations_sha256(migrations_dir: Path = DEFAULT_MIGRATIONS) -> str:
    """The digest the migration function reports for these files (`contract.migrations_sha256`)."""
    files = ((path.name, path.read_bytes()) for path in migrations_dir.glob(f"*{MIGRATION_SUFFIX}"))
    return contract_migrations_sha256(parse_migrations(files, str(migrations_dir)))


def bundled_requirements(requirements_file: Path = RUNTIME_REQUIREMENTS) -> dict[str, str]:
    """`name==version` pins of the runtime library's dependencies (handler/requirements.txt)."""
    pins: dict[str, str] = {}
    for line in requirements_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+)", line)
        if not match:
            raise ValueError(f"handler/requirements.txt: pin every bundled dependency as name==version, got {line!r}")
        pins[match.group(1)] = match.group(2)
    return pins


def _walk(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_PARTS and not d.startswith("."))
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if filename.startswith(".") or path.suffix in COMPILED_SUFFIXES:
                continue
            yield f"{prefix}{path.relative_to(root).as_posix()}", path


def runtime_files(dependencies_dir: Path | None, runtime_dir: Path = RUNTIME_DIR) -> dict[str, Path]:
    """The runtime library, and its pinned dependencies (PyMySQL) as installed for the function's
    platform in `dependencies_dir` (their code only: no `*.dist-info`, whose RECORD differs from one
    install to the next; the pins themselves ship in the built-in job's requirements.txt)."""
    files = {name: path for name, path in _walk(runtime_dir, f"{RUNTIME_PACKAGE}/") if path.suffix in RUNTIME_SUFFIXES}
    if dependencies_dir is not None:
        files.update((name, path) for name, path in _walk(dependencies_dir, "")
                     if not name.split("/", 1)[0].endswith(".dist-info") and name.split("/", 1)[0] != "bin")
    return files


def install_runtime_dependencies(runtime: str, architecture: str, build_dir: Path) -> Path | None:
    """The runtime library's pins (handler/requirements.txt) installed for the function's platform
    (cached), whatever PyMySQL, if any, is installed beside the program."""
    pins = [f"{name}=={version}" for name, version in bundled_requirements().items()]
    try:
        return requirements_build.install(pins, runtime, architecture, build_dir)
    except requirements_build.RequirementsError as error:
        raise RuntimeError(f"the runtime library's dependencies ({', '.join(pins)}) could not be installed for "
                           f"the function: {'; '.join(map(str, error.problems))}") from None


def source_files(source_dir: Path) -> dict[str, Path]:
    """The function's own files, at the package's root: everything but hidden files, caches,
    compiled files, a `tests` directory, a root package marker and the `migrations` directory
    (the package's migrations come from `migrations_source`)."""
    return {name: path for name, path in _walk(source_dir, "")
            if name not in ROOT_EXCLUDED and not name.startswith(f"{MIGRATIONS_DIR}/")}


def package_layers(inputs: PackageInputs, requirements_dir: Path | None,
                   dependencies_dir: Path | None) -> dict[str, dict[str, Path]]:
    """Archive name -> file for each part of the package, by the argument it comes from."""
    return {
        "function_source": source_files(inputs.source_dir),
        "migrations_source": {f"{MIGRATIONS_DIR}/{path.name}": path
                              for path in migration_files(inputs.migrations_dir)},
        "runtime library": runtime_files(dependencies_dir),
        "function_requirements": dict(_walk(requirements_dir, "")) if requirements_dir else {},
        "db_ca_bundle_file": {name: Path(path) for name, path in inputs.extra_files},
    }


def overlap_problems(layers: Mapping[str, Mapping[str, str | Path]]) -> list[Problem]:
    """Top-level names that two parts of the package both bring (one would silently replace the
    other): each named with the argument to change."""
    owners: dict[str, str] = {}
    problems = []
    for layer, files in layers.items():
        for top in sorted({name.split("/", 1)[0] for name in files}):
            other = owners.setdefault(top, layer)
            if other != layer and layer != "db_ca_bundle_file":
                changed = layer if layer.startswith("function_") else other
                problems.append(Problem(changed, f"{top!r} is brought by both the {other} and the {layer}; rename or "
                                "remove one (the runtime library ships vpclambda_runtime and pymysql)"))
    return problems


def size_problems(zipped: int, unzipped: int, largest: Sequence[tuple[str, int]], argument: str,
                  zipped_limit: int = ZIPPED_LIMIT, unzipped_limit: int = UNZIPPED_LIMIT) -> list[Problem]:
    """Lambda refuses a package over 50 MB zipped (uploaded directly) or 250 MB unzipped."""
    mb = 1024 * 1024
    biggest = ", ".join(f"{name} {size / mb:.1f} MB" for name, size in largest)
    problems = []
    if zipped > zipped_limit:
        problems.append(Problem(argument, f"the package is {zipped / mb:.1f} MB zipped; Lambda accepts at most "
                        f"{zipped_limit / mb:.0f} MB for a direct upload (largest parts: {biggest})"))
    if unzipped > unzipped_limit:
        problems.append(Problem(argument, f"the package is {unzipped / mb:.1f} MB unzipped; Lambda accepts at most "
                        f"{unzipped_limit / mb:.0f} MB (largest parts: {biggest})"))
    return problems


def build_zip_bytes(files: Mapping[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is honoured
            info.external_attr = 0o100644 << 16
            archive.writestr(info, files[arcname].read_bytes(), compresslevel=9)
    return buffer.getvalue()


def _largest_parts(layers: Mapping[str, Mapping[str, Path]], count: int = 3) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for files in layers.values():
        for name, path in files.items():
            top = name.split("/", 1)[0]
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:count]


def _heaviest_argument(layers: Mapping[str, Mapping[str, Path]]) -> str:
    """The argument whose files weigh most: the one to change when the package is too large."""
    weights = {layer: sum(path.stat().st_size for path in files.values())
               for layer, files in layers.items() if layer.startswith("function_")}
    return max(sorted(weights), key=lambda layer: weights[layer])


def build_package(inputs: PackageInputs, build_dir: Path | None = None) -> FunctionPackage:
    """Install the requirements (cached), check the layout and the size, write the zip under a
    content-addressed name and return where it is; `PackageError` names the argument to change."""
    out_dir = Path(build_dir) if build_dir is not None else Path.cwd() / DEFAULT_BUILD_DIR
    try:
        requirements_dir = requirements_build.install(inputs.requirements, inputs.runtime, inputs.architecture,
                                                      out_dir.parent)
    except requirements_build.RequirementsError as error:
        raise PackageError(error.problems) from None
    dependencies_dir = install_runtime_dependencies(inputs.runtime, inputs.architecture, out_dir.parent)
    layers = package_layers(inputs, requirements_dir, dependencies_dir)
    if requirements_dir is not None:
        layers["function_requirements"] = {name: path for name, path in layers["function_requirements"].items()
                                           if name.split("/", 1)[0] not in REQUIREMENTS_EXCLUDED}
    problems = overlap_problems(layers)
    if problems:
        raise PackageError(problems)
    files = {name: path for layer in layers.values() for name, path in layer.items()}
    data = build_zip_bytes(files)
    unzipped = sum(path.stat().st_size for path in files.values())
    problems = size_problems(len(data), unzipped, _largest_parts(layers), _heaviest_argument(layers),
                             ZIPPED_LIMIT, UNZIPPED_LIMIT)
    if problems:
        raise PackageError(problems)
    digest = hashlib.sha256(data).digest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"function-{digest.hex()[:16]}.zip"
    if not path.exists() or path.read_bytes() != data:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return FunctionPackage(
        path=path,
        sha256_base64=base64.b64encode(digest).decode(),
        entries=tuple(sorted(files)),
        migrations_sha256=migrations_sha256(inputs.migrations_dir),
        zipped_bytes=len(data),
        unzipped_bytes=unzipped,
    )


def build_function_package(
    handler_dir: Path = HANDLER_DIR,
    build_dir: Path | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> FunctionPackage:
    """The built-in job's package (the default arguments); `extra_files` (archive name -> file)
    are added, e.g. a CA bundle given as an argument."""
    return build_package(PackageInputs(source_dir=handler_dir, migrations_dir=handler_dir / MIGRATIONS_DIR,
                                       extra_files=tuple(sorted((extra_files or {}).items()))), build_dir)


def ca_bundle_in_package(package: FunctionPackage, partition: str, custom: bool, proxy: bool = False) -> str:
    """The package path of the CA bundle a function verifies the database (`proxy`: the database
    proxy) with."""
    if custom:
        return CUSTOM_CA_BUNDLE
    bundle = ca_bundle_path(partition, proxy)
    if bundle is None or bundle not in package.entries:
        raise ValueError(
            f"db_ca_bundle_file: the function runs in partition {partition!r}, whose RDS CA bundle is not in "
            f"the package ({bundle or 'none known'} missing); download that partition's RDS trust store "
            "(see vpclambda_runtime/certs/README.md) and pass its path as db_ca_bundle_file"
        )
    return bundle
