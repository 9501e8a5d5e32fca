"""Reads the component's arguments from stack config. Config keys are the arguments' names
in camelCase (`db_instance_class` -> `dbInstanceClass`), typed like the arguments. Problems
are reported with the config key, the way `pulumi config set` spells it."""

from __future__ import annotations

import contextlib
import difflib
import json
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import pulumi

from .model.problems import ArgumentError, Problem
from .model.settings import Settings
from .program import config_keys_set

PROGRAM_KEYS = ("componentName",)
"""Keys the program reads itself, beside the component's arguments."""
NOT_FROM_CONFIG = frozenset({"endpoints", "transforms"})
"""Arguments that are resources or functions, given by a program, not by stack config."""
NESTED_OBJECTS = frozenset({"queue", "existing_database", "function_permissions"})
"""Arguments whose value is an object (or a list of objects) of named fields: stack config spells
the fields in camelCase too (`existingDatabase.securityGroupId`), as other languages do."""


def snake_case(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def nested_fields_in_snake_case(value: Any) -> Any:
    """An object's (or each object's of a list) field names as the component takes them."""
    if isinstance(value, dict):
        return {snake_case(k) if isinstance(k, str) else k: v for k, v in value.items()}
    if isinstance(value, list):
        return [nested_fields_in_snake_case(item) if isinstance(item, dict) else item for item in value]
    return value


def config_key(arg_name: str) -> str:
    head, *rest = arg_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def config_keys() -> Mapping[str, str]:
    """Argument name -> config key."""
    return {name: config_key(name) for name in Settings.__dataclass_fields__ if name not in NOT_FROM_CONFIG}


def _kind(arg_name: str) -> str:
    hint = Settings.__dataclass_fields__[arg_name].type
    members = [t for t in typing.get_args(hint) if t is not type(None)]
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and len(members) == 1:  # `int | None`
        hint = members[0]
    if hint is bool or hint is int or hint is float:
        return hint.__name__
    if "Mapping" in str(hint) or "Sequence" in str(hint):
        return "object"
    return "str"


def _set_keys(project: str) -> list[str]:
    """Every key set in this project's namespace, from the engine's config."""
    keys = config_keys_set()
    prefix = f"{project}:"
    return sorted(k[len(prefix):] for k in keys if k.startswith(prefix))


def _read(config: pulumi.Config, arg_name: str) -> Any:
    key = config_key(arg_name)
    raw = config.get(key)
    if raw is None:
        return None
    kind = _kind(arg_name)
    try:
        if kind == "bool":
            return config.get_bool(key)
        if kind == "int":
            return config.get_int(key)
        if kind == "float":
            return config.get_float(key)
        if kind == "object":
            value = json.loads(raw)
            return nested_fields_in_snake_case(value) if arg_name in NESTED_OBJECTS else value
    except (pulumi.ConfigTypeError, json.JSONDecodeError):
        expected = {"bool": "true or false", "int": "a whole number", "float": "a number",
                    "object": "a list or an object (JSON)"}[kind]
        raise ArgumentError([Problem(arg_name, f"got {raw!r}; expected {expected}")], source="stack config") from None
    return raw


def config_key_of(argument: str, project: str) -> str:
    """`db_port` -> `vpc-lambda:dbPort`; what is not an argument (`name`, a key) stays as it is."""
    key = config_keys().get(argument)
    return f"{project}:{key}" if key is not None else argument


def translate(problem: Problem, project: str) -> Problem:
    """The problem of argument `db_port` as the problem of config key `vpc-lambda:dbPort`."""
    return problem.named(lambda argument: config_key_of(argument, project))


@contextlib.contextmanager
def named_by_config_key(project: str, name_key: str | None = None) -> Iterator[None]:
    """Re-raise argument errors with the config keys the user set; the component's `name` as
    `name_key` when the program reads it from the config (`componentName`)."""
    try:
        yield
    except ArgumentError as error:
        problems = [translate(p, project) for p in error.problems]
        if name_key is not None:
            problems = [p.named(lambda a: f"{project}:{name_key}" if a == "name" else a) for p in problems]
        raise ArgumentError(problems, source="stack config") from None


def args_from_config(config: pulumi.Config) -> dict[str, Any]:
    """Every argument set in the stack config, converted to its type. Unknown keys in the
    project's namespace and values of the wrong type are refused, naming the key."""
    project = pulumi.get_project()
    known = {*config_keys().values(), *PROGRAM_KEYS}
    problems: list[Problem] = []
    for key in _set_keys(project):
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {project}:{close[0]}?" if close else f"allowed: {', '.join(sorted(known))}"
            problems.append(Problem(f"{project}:{key}", f"unknown config key; {hint}"))
    args: dict[str, Any] = {}
    with named_by_config_key(project):
        for arg_name in config_keys():
            try:
                value = _read(config, arg_name)
            except ArgumentError as error:
                problems += [translate(p, project) for p in error.problems]
                continue
            if value is not None:
                args[arg_name] = value
    if problems:
        raise ArgumentError(problems, source="stack config")
    return args
