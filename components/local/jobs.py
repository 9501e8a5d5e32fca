"""A job of one's own, rehearsed in place of the built-in one: `--source job --handler
audit_job.handler --requirements job/requirements.txt --migrations migrations --seed seed.sql`, or
`--stack-config Pulumi.dev.yaml`, read from the working directory and given as the component's
arguments (paths absolute: the rehearsal evaluates its program in a scratch directory)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..stack_config import config_keys
from .examples import absolute


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
                 "function_memory_mb", "db_app_user", "db_app_grants")
"""What a rehearsal takes from a stack file: the function and the database user it logs in as, not the
network or the database."""


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
