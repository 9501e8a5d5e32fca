"""Reads the component's arguments from stack config. Config keys are the arguments' names
in camelCase (`db_instance_class` -> `dbInstanceClass`), typed like the arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from .args import Settings


def config_key(arg_name: str) -> str:
    head, *rest = arg_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _kind(arg_name: str) -> str:
    # The annotations are strings (postponed evaluation); read them as written.
    text = str(Settings.__dataclass_fields__[arg_name].type)
    if text == "bool":
        return "bool"
    if text == "int":
        return "int"
    if "Mapping" in text or "Sequence" in text:
        return "object"
    return "str"


def args_from_config(config: pulumi.Config) -> dict[str, Any]:
    """Every argument set in the stack config, converted to its type. A value of the wrong
    type fails with an error naming the config key (Pulumi's ConfigTypeError)."""
    args: dict[str, Any] = {}
    for arg_name in Settings.__dataclass_fields__:
        key = config_key(arg_name)
        kind = _kind(arg_name)
        if kind == "bool":
            value: Any = config.get_bool(key)
        elif kind == "int":
            value = config.get_int(key)
        elif kind == "object":
            value = config.get_object(key)
        else:
            value = config.get(key)
        if value is not None:
            args[arg_name] = value
    return args


def config_keys() -> Mapping[str, str]:
    """Argument name -> config key."""
    return {name: config_key(name) for name in Settings.__dataclass_fields__}
