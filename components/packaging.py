"""The function's deployment package: the handler's files plus its pure-Python dependencies,
zipped deterministically (sorted entries, fixed timestamps and modes, no caches), so an
unchanged handler always gives the same bytes and never shows a diff."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


def _find_handler_dir() -> Path:
    here = Path(__file__).resolve().parent
    # Installed: vpclambda/handler; in this repository: components/../handler.
    for candidate in (here / "handler", here.parent / "handler"):
        if (candidate / "app.py").is_file():
            return candidate
    raise FileNotFoundError(f"the function's sources (handler/app.py) are neither in {here} nor beside it")


HANDLER_DIR = _find_handler_dir()
"""The function's sources, shipped at the package's root."""
HANDLER_ERRORS_FILE = HANDLER_DIR / "errors.py"
"""The error types the function raises (each gets a log metric filter)."""

# What the package carries from the handler directory; everything else (tests, docs,
# caches) stays out.
PACKAGED_SUFFIXES = frozenset({".py", ".sql", ".pem", ".txt"})
EXCLUDED_PARTS = frozenset({"__pycache__", "tests", ".pytest_cache"})
EXCLUDED_NAMES = frozenset({"__init__.py"})  # present only when installed as vpclambda.handler
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
MIGRATIONS_DIR = "migrations"
"""The ordered schema migrations the migration function applies (handler/migrations)."""
MIGRATION_FILE = re.compile(r"^(\d+)_[A-Za-z0-9][A-Za-z0-9_-]*\.sql$")
CA_BUNDLES = {"aws": "certs/rds-global-bundle.pem", "aws-cn": "certs/rds-cn-bundle.pem"}
"""The RDS CA bundle each partition's function verifies the database with (handler/certs)."""


def shipped_ca_bundle(partition: str, handler_dir: Path = HANDLER_DIR) -> str | None:
    """The package path of the partition's RDS CA bundle, if one is shipped."""
    bundle = CA_BUNDLES.get(partition)
    return bundle if bundle is not None and (handler_dir / bundle).is_file() else None


CUSTOM_CA_BUNDLE = "certs/custom-ca-bundle.pem"
"""Where a CA bundle given as `db_ca_bundle_file` lands in the package."""
DEFAULT_BUILD_DIR = Path(".build") / "function-packages"


@dataclass(frozen=True)
class FunctionPackage:
    path: Path
    sha256_base64: str
    """What Lambda reports as CodeSha256: base64 of the zip's SHA-256."""
    entries: tuple[str, ...]
    migrations_sha256: str
    """One digest of the ordered migration files: a change to any of them re-runs the migration."""


def migrations_sha256(handler_dir: Path = HANDLER_DIR) -> str:
    """SHA-256 over each migration file's name and SHA-256, in version order: the digest the
    migration function reports (handler/migration_runner.py, `migrations_sha256`)."""
    files = []
    for path in (handler_dir / MIGRATIONS_DIR).glob("*.sql"):
        match = MIGRATION_FILE.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name}: name it <version>_<description>.sql, "
                             "e.g. 0002_add_title.sql")
        files.append((int(match.group(1)), path))
    digest = hashlib.sha256()
    for _, path in sorted(files):
        digest.update(f"{path.name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def bundled_requirements(handler_dir: Path = HANDLER_DIR) -> dict[str, str]:
    """`name==version` pins from the handler's requirements.txt."""
    pins: dict[str, str] = {}
    for line in (handler_dir / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+)", line)
        if not match:
            raise ValueError(f"handler/requirements.txt: pin every bundled dependency as name==version, got {line!r}")
        pins[match.group(1)] = match.group(2)
    return pins


def _distribution_top_level_dirs(dist_name: str) -> list[Path]:
    """The importable package directories of an installed distribution."""
    dist = importlib.metadata.distribution(dist_name)
    tops: set[str] = set()
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if len(parts) > 1 and not parts[0].endswith((".dist-info", ".egg-info")) and parts[0] != "..":
            tops.add(parts[0])
    dirs = []
    for top in sorted(tops):
        spec = importlib.util.find_spec(top)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"{dist_name}: cannot locate installed package {top!r}")
        dirs.append(Path(next(iter(spec.submodule_search_locations))))
    return dirs


def _walk(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_PARTS)
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            rel = path.relative_to(root)
            yield f"{prefix}{rel.as_posix()}", path


def package_files(handler_dir: Path = HANDLER_DIR) -> dict[str, Path]:
    """Archive name -> source file, for the handler and its pinned dependencies."""
    files: dict[str, Path] = {}
    for arcname, path in _walk(handler_dir, ""):
        if path.suffix in PACKAGED_SUFFIXES and path.name not in EXCLUDED_NAMES:
            files[arcname] = path
    for dist_name, pinned in bundled_requirements(handler_dir).items():
        installed = importlib.metadata.version(dist_name)
        if installed != pinned:
            raise RuntimeError(
                f"handler/requirements.txt pins {dist_name}=={pinned} but {installed} is installed; "
                "install the pinned version so the package is reproducible"
            )
        for top_dir in _distribution_top_level_dirs(dist_name):
            for arcname, path in _walk(top_dir, f"{top_dir.name}/"):
                if path.suffix not in {".pyc", ".pyo"}:
                    files[arcname] = path
    return files


def build_zip_bytes(files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is honoured
            info.external_attr = 0o100644 << 16
            archive.writestr(info, files[arcname].read_bytes(), compresslevel=9)
    return buffer.getvalue()


def build_function_package(
    handler_dir: Path = HANDLER_DIR,
    build_dir: Path | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> FunctionPackage:
    """Write the zip under a content-addressed name and return where it is. `extra_files`
    (archive name -> file) are added, e.g. a CA bundle given as an argument."""
    files = {**package_files(handler_dir), **{name: Path(path) for name, path in (extra_files or {}).items()}}
    data = build_zip_bytes(files)
    digest = hashlib.sha256(data).digest()
    out_dir = Path(build_dir) if build_dir is not None else Path.cwd() / DEFAULT_BUILD_DIR
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
        migrations_sha256=migrations_sha256(handler_dir),
    )
