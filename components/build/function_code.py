"""The consumer's function: its code, handler, requirements, environment and migrations.

Checks of `function_source`, `function_handler`, `function_requirements`, `function_environment`
and `migrations_source` (each message starts with the argument's name), and the one package
build per program they lead to (`checked_package`), run at preview before anything is
registered. The handler is found by reading the module's source (`ast`), never by importing
the consumer's code on the machine that deploys it.
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vpclambda_runtime.contract import COMPONENT_VARIABLES
from vpclambda_runtime.errors import MigrationError

from ..model import aws_limits as limits
from ..model.problems import Problem
from ..model.settings import Settings
from . import requirements_build
from .packaging import (
    CUSTOM_CA_BUNDLE,
    DEFAULT_BUILD_DIR,
    DEFAULT_MIGRATIONS,
    HANDLER_DIR,
    MIGRATIONS_DIR,
    FunctionPackage,
    PackageError,
    PackageInputs,
    build_package,
    migration_files,
)

HANDLER_PATTERN = re.compile(r"(?P<module>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.(?P<function>"
                             r"[A-Za-z_][A-Za-z0-9_]*)")
MAX_HANDLER = 128
"""Lambda API: CreateFunction Handler, at most 128 characters."""
COMPONENT_ENVIRONMENT_BYTES = 1024
"""Room kept for the component's variables within Lambda's 4 KB (their values are only known at
deployment: a host name, two ARNs; together well under this)."""
USER_ENVIRONMENT = limits.Environment(
    "Lambda quotas: environment variables 4 KB in all, less the component's own variables",
    max_bytes=4096 - COMPONENT_ENVIRONMENT_BYTES,
)
ARGUMENTS = frozenset({"function_source", "function_handler", "function_requirements", "function_environment",
                       "migrations_source"})
PACKAGE_ARGUMENTS = ARGUMENTS | {"function_runtime", "function_architecture", "db_ca_bundle_file"}
"""A package is built only when all of these are valid."""


def source_dir(settings: Settings) -> Path:
    return Path(settings.function_source).resolve() if settings.function_source else HANDLER_DIR


def migrations_dir(settings: Settings) -> Path:
    return Path(settings.migrations_source).resolve() if settings.migrations_source else DEFAULT_MIGRATIONS


def check_directory(name: str, value: Any) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, str) or not value.strip():
        return [Problem(name, f"got {value!r}; expected the path of a directory")]
    path = Path(value)
    if not path.exists():
        return [Problem(name, f"{value!r} does not exist (resolved from {Path.cwd()}: {path.resolve()})")]
    if not path.is_dir():
        return [Problem(name, f"{value!r} is not a directory")]
    return []


def check_handler(handler: Any, directory: Path) -> list[Problem]:
    """`module.function` (module may be dotted: `jobs.report.handler`) names a function defined at
    the top level of `<directory>/module.py` (or `module/__init__.py`)."""
    name = "function_handler"
    if not isinstance(handler, str) or not (match := HANDLER_PATTERN.fullmatch(handler)):
        return [Problem(name, f"got {handler!r}; expected module.function, e.g. app.handler")]
    if len(handler) > MAX_HANDLER:
        return [Problem(name, f"{handler!r} is {len(handler)} characters; Lambda allows at most {MAX_HANDLER}")]
    module, function = match.group("module"), match.group("function")
    relative = Path(*module.split("."))
    candidates = [directory / relative.with_suffix(".py"), directory / relative / "__init__.py"]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        modules = sorted(path.stem for path in (directory / relative.parent).glob("*.py") if path.stem != "__init__")
        close = difflib.get_close_matches(relative.name, modules, n=1)
        hint = f"; did you mean {'.'.join((*module.split('.')[:-1], close[0]))}.{function}?" if close else ""
        return [Problem(name, f"{handler!r}: the module {module} is not in {directory} (looked for "
                f"{relative.with_suffix('.py').as_posix()} and {(relative / '__init__.py').as_posix()}){hint}")]
    try:
        tree = ast.parse(found.read_bytes(), filename=str(found))
    except (SyntaxError, ValueError) as error:
        return [Problem(name, f"{handler!r}: {found.name} cannot be parsed ({error}); Lambda could not import it")]
    names = top_level_names(tree)
    if function not in names:
        close = difflib.get_close_matches(function, sorted(functions_in(tree)) or sorted(names), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return [Problem(name, f"{handler!r}: {found.relative_to(directory).as_posix()} defines no {function}{hint}")]
    return []


def functions_in(tree: ast.Module) -> set[str]:
    """The functions a module defines at its top level."""
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level: functions, classes, assignments and imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def check_requirements(value: Any) -> list[Problem]:
    name = "function_requirements"
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [Problem(name, f"got {value!r}; expected a list of requirement lines, e.g. ['humanize==4.12.3'] or "
                "['-r requirements.txt']")]
    try:
        requirements_build.expand(value)
    except requirements_build.RequirementsError as error:
        return error.problems
    return []


def check_environment(value: Any) -> list[Problem]:
    name = "function_environment"
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [Problem(name, f"got {value!r}; expected a mapping of variable names to strings")]
    problems = limits.check(USER_ENVIRONMENT, name, value)
    taken = sorted(set(value) & set(COMPONENT_VARIABLES))
    if taken:
        problems.append(Problem(name, f"{', '.join(taken)} set by the component itself (from its arguments and "
                        "resources); choose other names"))
    return problems


def check_migrations(value: Any, function_source: Any) -> list[Problem]:
    name = "migrations_source"
    problems = check_directory(name, value)
    if problems:
        return problems
    directory = Path(value).resolve() if value else DEFAULT_MIGRATIONS
    try:
        migration_files(directory)
    except MigrationError as error:
        # The runtime's own rule: what the migration function would refuse mid-deployment.
        return [Problem(name, str(error))]
    if isinstance(function_source, str) and not check_directory("function_source", function_source):
        own = Path(function_source).resolve() / MIGRATIONS_DIR
        if own.is_dir() and own != directory:
            given = value or "the built-in schema"
            return [Problem("function_source", f"{function_source!r} has a {MIGRATIONS_DIR}/ directory, but the "
                                               f"package's migrations come from migrations_source ({given}); pass "
                                               f"migrations_source={str(own)!r}, or move that directory out")]
    return []


def problems_in(args: Mapping[str, Any]) -> list[Problem]:
    """Every problem with the function's code arguments (pure but for reading the files named)."""
    source, handler = args.get("function_source"), args.get("function_handler")
    problems = check_directory("function_source", source)
    if not problems and (source is not None or handler is not None):
        directory = Path(source).resolve() if source else HANDLER_DIR
        problems += check_handler(handler if handler is not None else Settings.function_handler, directory)
    problems += check_requirements(args.get("function_requirements"))
    problems += check_environment(args.get("function_environment"))
    problems += check_migrations(args.get("migrations_source"), source)
    return problems


def package_inputs(settings: Settings) -> PackageInputs:
    extra = ((CUSTOM_CA_BUNDLE, Path(settings.db_ca_bundle_file)),) if settings.db_ca_bundle_file else ()
    return PackageInputs(
        source_dir=source_dir(settings),
        migrations_dir=migrations_dir(settings),
        requirements=tuple(requirements_build.expand(settings.function_requirements)),
        runtime=settings.function_runtime,
        architecture=settings.function_architecture,
        extra_files=extra,
    )


def _fingerprint(inputs: PackageInputs) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the input files: an edited file is a new input."""
    paths = [*inputs.source_dir.rglob("*"), *inputs.migrations_dir.glob("*.sql"), *(p for _, p in inputs.extra_files)]
    return tuple(sorted((str(p), s.st_size, s.st_mtime_ns) for p in paths if p.is_file() and (s := p.stat())))


@functools.cache
def _built(inputs: PackageInputs, build_dir: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> FunctionPackage:
    # Built once per program for equal inputs, however many components use them.
    return build_package(inputs, build_dir)


def checked_package(settings: Settings) -> tuple[FunctionPackage | None, list[Problem]]:
    """The function's package, or the problems (each naming its argument) that prevent it."""
    try:
        inputs = package_inputs(settings)
        return _built(inputs, Path.cwd() / DEFAULT_BUILD_DIR, _fingerprint(inputs)), []
    except PackageError as error:
        return None, error.problems
    except requirements_build.RequirementsError as error:
        return None, error.problems
