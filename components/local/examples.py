"""The example jobs a rehearsal can run in place of the built-in one (`--example custom-job`).

An example that can be rehearsed has a `stack-config.yaml` (stack config for this repository's
program, paths read from the repository's root, as in a `Pulumi.<stack>.yaml`), and a `seed.sql`
run after its migrations; a queue's job has `messages.json` (the bodies sent to its queue) and
`stored.sql` (the message IDs its job stored) instead. The paths are made absolute here: a
rehearsal evaluates the program in a scratch directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .stack_model import PROJECT_DIR

EXAMPLES_DIR = PROJECT_DIR / "examples"
PATH_KEYS = ("functionSource", "migrationsSource", "dbCaBundleFile")


@dataclass(frozen=True)
class Example:
    name: str
    config: dict[str, Any]
    """Stack config overrides, paths absolute."""
    seed: Path | None
    messages: Path | None = None
    """The messages a queue's job is rehearsed with (a JSON list)."""
    stored_query: str | None = None
    """A query of the message IDs the job stored, to account for every message."""


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


def load_example(name: str, root: Path = PROJECT_DIR) -> Example:
    directory = EXAMPLES_DIR / name
    config_file = directory / "stack-config.yaml"
    if not config_file.is_file():
        raise ValueError(f"no example {name!r} to rehearse; examples with a stack-config.yaml: {rehearsable()}")
    config = yaml.safe_load(config_file.read_text())["config"]
    def optional(file: str) -> Path | None:
        return directory / file if (directory / file).is_file() else None

    stored = optional("stored.sql")
    return Example(name, {key: absolute(key, value, root) for key, value in config.items()}, optional("seed.sql"),
                   optional("messages.json"), stored.read_text().strip().rstrip(";") if stored else None)
