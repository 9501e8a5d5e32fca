"""The jobs a rehearsal can run in place of the built-in one: this repository's examples
(`--example custom-job`), and a job of one's own (`--source job --handler audit_job.handler ...`,
or `--stack-config Pulumi.dev.yaml`), given as the component's arguments.

An example that can be rehearsed has a `stack-config.yaml` (stack config for this repository's
program, paths read from the repository's root, as in a `Pulumi.<stack>.yaml`) and a `seed.sql`
run after its migrations. The paths are made absolute here: a rehearsal evaluates the program
in a scratch directory.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..stack_config import config_keys
from .stack_model import PROJECT_DIR

EXAMPLES_DIR = PROJECT_DIR / "examples"
PATH_KEYS = ("functionSource", "migrationsSource", "dbCaBundleFile")


@dataclass(frozen=True)
class Example:
    name: str
    config: dict[str, Any]
    """Stack config overrides, paths absolute."""
    seed: Path


def rehearsable() -> list[str]:
    return sorted(p.parent.name for p in EXAMPLES_DIR.glob("*/stack-config.yaml"))


def absolute(key: str, value: Any, root: Path) -> Any:
    name = key.split(":", 1)[-1]
    if name in PATH_KEYS and isinstance(value, str):
        return str((root / value).resolve())
    if name == "functionRequirements" and isinstance(value, list):
        return [f"-r {(root / line.split(None, 1)[1]).resolve()}" if line.startswith("-r ") else line
                for line in value]
    return value


@dataclass(frozen=True)
class Job:
    """A job of one's own: the component's function arguments (paths absolute) and a seed."""

    args: dict[str, Any]
    seed: Path | None = None
    region: str = "us-east-1"
    name: str = "job"
    """The component's name in the rehearsal's program."""


JOB_ARGUMENTS = ("function_source", "function_handler", "function_requirements", "function_environment",
                 "migrations_source", "function_runtime", "function_architecture", "function_timeout_seconds",
                 "function_memory_mb")
"""What a rehearsal takes from a stack file: the function, not the network or the database."""


def args_from_stack_file(path: Path) -> dict[str, Any]:
    """The job's arguments set in a Pulumi stack file (`<project>:functionSource`...), paths read
    from the file's directory (the program's, as Pulumi reads them)."""
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    by_key = {config_keys()[name]: name for name in JOB_ARGUMENTS}
    args = {}
    for key, value in config.items():
        name = by_key.get(str(key).split(":", 1)[-1])
        if name is not None:
            args[name] = absolute(key, value, path.resolve().parent)
    return args


def job_from_options(options: argparse.Namespace, cwd: Path | None = None) -> Job | None:
    """The job the command line names (None: the repository's own), paths read from `cwd`."""
    cwd = cwd or Path.cwd()
    given = [options.source, options.handler, options.requirements, options.migrations, options.environment,
             options.seed, options.stack_config]
    if not any(given):
        return None
    args = args_from_stack_file(cwd / options.stack_config) if options.stack_config else {}
    if options.source:
        args["function_source"] = str((cwd / options.source).resolve())
    if options.handler:
        args["function_handler"] = options.handler
    if options.requirements:
        args["function_requirements"] = [f"-r {(cwd / file).resolve()}" for file in options.requirements]
    if options.migrations:
        args["migrations_source"] = str((cwd / options.migrations).resolve())
    for pair in options.environment:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise ValueError(f"--environment {pair!r}: expected NAME=VALUE")
        args.setdefault("function_environment", {})[name] = value
    if "function_source" not in args:
        raise ValueError("give the function's code: --source DIR (or functionSource in --stack-config)")
    seed = (cwd / options.seed).resolve() if options.seed else None
    if seed is not None and not seed.is_file():
        raise ValueError(f"--seed {options.seed!r}: no such file")
    return Job(args, seed, options.region)


def load_example(name: str, root: Path = PROJECT_DIR) -> Example:
    directory = EXAMPLES_DIR / name
    config_file = directory / "stack-config.yaml"
    if not config_file.is_file():
        raise ValueError(f"no example {name!r} to rehearse; examples with a stack-config.yaml: {rehearsable()}")
    config = yaml.safe_load(config_file.read_text())["config"]
    return Example(name, {key: absolute(key, value, root) for key, value in config.items()}, directory / "seed.sql")
