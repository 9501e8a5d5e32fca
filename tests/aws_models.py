"""What AWS's service models state about an API input member, as a limit a value can be judged by.

botocore carries the models of every AWS API: for a member, its shape may state a length or count
(`min`/`max`), a range (`min`/`max` of a number), a pattern or an enum. `model_limit(member)` reads
them for one of `aws_limits.API_MEMBERS`, so the tests judge every value the code builds by what
AWS's own model says as well as by the hand table. botocore is a development dependency: only the
tests import this module.

The model's patterns are Java regular expressions, matched by AWS against the whole value (its
error says "Member must satisfy regular expression pattern"). `python_pattern` converts the part of
Java's syntax the models use: `\\p{L}`-style Unicode categories, Java's `.` (no line terminator) and
its ASCII-only `\\w`, `\\d` and `\\s` (compiled with `re.ASCII`); anything else Java-only is refused,
not guessed.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore
import botocore.model
import botocore.session

from components.model.aws_limits import API_MEMBERS, ApiMember, property_value

NUMBERS = ("integer", "long", "float", "double")


@dataclass(frozen=True)
class ModelLimit:
    """What a member's shape states. `kind` is the shape's type, or `pair` for a structure of two
    members that a Pulumi mapping becomes (a tag's Key and Value, a dimension's Name and Value)."""

    shape: str
    kind: str
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    """As the model states it (Java syntax)."""
    enum: tuple[str, ...] = ()
    item: ModelLimit | None = None
    """A list's member."""
    key: ModelLimit | None = None
    """A map's key, or a pair's first member."""
    value: ModelLimit | None = None
    """A map's value, or a pair's second member."""
    names: tuple[str, str] = ("key", "value")
    """A pair's member names (Key and Value, TagKey and TagValue, Name and Value)."""

    def states_anything(self) -> bool:
        own = self.min is not None or self.max is not None or self.pattern is not None or bool(self.enum)
        return own or any(part.states_anything() for part in (self.item, self.key, self.value) if part)

    def problems(self, value: Any) -> list[str]:
        if not self.states_anything():
            return []
        if self.kind == "string":
            return self._string_problems(value)
        if self.kind in NUMBERS:
            return self._number_problems(value)
        if self.kind == "list":
            return self._list_problems(value)
        if self.kind == "map":
            return self._map_problems(value)
        if self.kind == "pair":
            return [f"{name} {p}" for name, part, limit in zip(self.names, value, (self.key, self.value), strict=True)
                    if limit for p in limit.problems(part)]
        return []

    def _string_problems(self, value: Any) -> list[str]:
        if not isinstance(value, str):
            return [f"got {value!r}; the model expects a string"]
        found = []
        if not (self.min or 0) <= len(value) <= (self.max if self.max is not None else sys.maxsize):
            found.append(f"{value!r} is {len(value)} characters; the model allows {self._bounds()}")
        if self.pattern is not None and not compiled(self.pattern).fullmatch(value):
            found.append(f"{value!r} does not match the model's pattern {self.pattern!r}")
        if self.enum and value not in self.enum:
            found.append(f"{value!r} is not one of the model's values")
        return found

    def _number_problems(self, value: Any) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"got {value!r}; the model expects a number"]
        low = self.min if self.min is not None else -sys.maxsize
        high = self.max if self.max is not None else sys.maxsize
        return [] if low <= value <= high else [f"got {value!r}; the model allows {self._bounds()}"]

    def _list_problems(self, value: Any) -> list[str]:
        if isinstance(value, Mapping) and self.item is not None and self.item.kind == "pair":
            value = list(value.items())
        if isinstance(value, str) or not isinstance(value, Sequence):
            return [f"got {value!r}; the model expects a list"]
        found = self._count_problems(len(value))
        if self.item is not None:
            found += [p for item in value for p in self.item.problems(item)]
        return found

    def _map_problems(self, value: Any) -> list[str]:
        if not isinstance(value, Mapping):
            return [f"got {value!r}; the model expects a mapping"]
        found = self._count_problems(len(value))
        for key, text in value.items():
            found += [f"key {p}" for p in self.key.problems(key)] if self.key else []
            found += [f"value of {key!r}: {p}" for p in self.value.problems(text)] if self.value else []
        return found

    def _count_problems(self, count: int) -> list[str]:
        if (self.min or 0) <= count <= (self.max if self.max is not None else sys.maxsize):
            return []
        return [f"{count} items; the model allows {self._bounds()}"]

    def _bounds(self) -> str:
        if self.max is None:
            return f"at least {self.min}"
        return f"{self.min or 0} to {self.max}"


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


def member_shape(member: ApiMember) -> botocore.model.Shape:
    """The shape of `member.member` in the operation's input: `.` steps into a structure's member,
    through a list to its items, or into a map's value (the part names the key, which must be one
    the model allows)."""
    shape = _session().get_service_model(member.service).operation_model(member.operation).input_shape
    for part in member.member.split("."):
        while isinstance(shape, botocore.model.ListShape):
            shape = shape.member
        if isinstance(shape, botocore.model.StructureShape):
            if part not in shape.members:
                raise KeyError(f"{member}: {shape.name} has no member {part!r} (it has {sorted(shape.members)})")
            shape = shape.members[part]
        elif isinstance(shape, botocore.model.MapShape):
            keys = getattr(shape.key, "enum", None)
            if keys and part not in keys:
                raise KeyError(f"{member}: {part!r} is not a key of {shape.name}")
            shape = shape.value
        else:
            raise KeyError(f"{member}: {shape.name} is a {shape.type_name}; it has no {part!r}")
    return shape


def limit_of(shape: botocore.model.Shape, list_item: bool = False) -> ModelLimit:
    """What one shape states: min/max (length, count or value), pattern and enum, and those of its
    list items, map keys and values, or of the two members of a pair (a list item of two members)."""
    metadata = shape.metadata
    common: dict[str, Any] = {"shape": shape.name, "min": metadata.get("min"), "max": metadata.get("max")}
    if isinstance(shape, botocore.model.StringShape):
        return ModelLimit(kind="string", pattern=metadata.get("pattern"), enum=tuple(shape.enum), **common)
    if isinstance(shape, botocore.model.ListShape):
        return ModelLimit(kind="list", item=limit_of(shape.member, list_item=True), **common)
    if isinstance(shape, botocore.model.MapShape):
        return ModelLimit(kind="map", key=limit_of(shape.key), value=limit_of(shape.value), **common)
    if list_item and isinstance(shape, botocore.model.StructureShape) and len(shape.members) == 2:
        (first, first_shape), (second, second_shape) = shape.members.items()
        return ModelLimit(shape=shape.name, kind="pair", key=limit_of(first_shape), value=limit_of(second_shape),
                          names=(first, second))
    if shape.type_name in NUMBERS:
        return ModelLimit(kind=shape.type_name, **common)
    return ModelLimit(shape=shape.name, kind=shape.type_name)


@functools.cache
def model_limit(member: ApiMember) -> ModelLimit:
    return limit_of(member_shape(member))


def model_source(member: ApiMember) -> str:
    return f"botocore {botocore.__version__} model: {member.service} {member.operation} {member.member}"


def model_problems_in_resource(type_token: str, properties: Mapping[str, Any], label: str = "") -> list[str]:
    """Every covered property of one resource that AWS's model refuses (`aws_limits.problems_in_resource`,
    judged by the model instead of the hand table)."""
    found = []
    for path, member in API_MEMBERS.get(type_token, {}).items():
        present, value = property_value(properties, path)
        if present and value is not None:
            found += [f"{label or type_token} {path}: {problem} [{model_source(member)}]"
                      for problem in model_limit(member).problems(value)]
    return found


# ----------------------------------------------------------------- Java patterns in Python

JAVA_DOT = r"[^\n\r\x85\u2028\u2029]"
"""Java's `.`: any character but a line terminator (Python's stops only at a line feed)."""
JAVA_ONLY = {"Q": "quoting (\\Q...\\E)", "E": "quoting (\\Q...\\E)", "h": "\\h", "H": "\\H", "R": "\\R",
             "X": "\\X", "G": "\\G", "z": "\\z", "k": "named back-references"}


@functools.cache
def _category_ranges(category: str) -> tuple[tuple[int, int], ...]:
    """The code-point ranges of a Unicode general category (`L`, or a two-letter one such as `Lu`)."""
    if not re.fullmatch(r"[LMNPSZC][a-z]?", category):
        raise ValueError(f"\\p{{{category}}}: only Unicode general categories are converted")
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)).startswith(category):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return tuple(ranges)


def _class_body(ranges: Sequence[tuple[int, int]], negated: bool) -> str:
    if negated:
        complement, start = [], 0
        for low, high in ranges:
            if low > start:
                complement.append((start, low - 1))
            start = high + 1
        if start <= sys.maxunicode:
            complement.append((start, sys.maxunicode))
        ranges = complement
    return "".join(f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


def python_pattern(java: str) -> str:
    """A Java regular expression from an AWS model as a Python one (to compile with `re.ASCII`)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(java):
        char = java[i]
        if char == "\\":
            escaped = java[i + 1:i + 2]
            if escaped in ("p", "P") and java[i + 2:i + 3] == "{":
                end = java.index("}", i)
                body = _class_body(_category_ranges(java[i + 3:end]), negated=escaped == "P")
                out.append(body if in_class else f"[{body}]")
                i = end + 1
                continue
            if escaped in JAVA_ONLY or (escaped == "x" and java[i + 2:i + 3] == "{"):
                raise ValueError(f"{java!r}: {JAVA_ONLY.get(escaped, 'x{...}')} is not converted")
            out.append(java[i:i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            elif char == "[" or java[i:i + 2] == "&&":
                raise ValueError(f"{java!r}: Java's class unions and intersections are not converted")
        elif char == "[":
            in_class = True
            if java[i + 1:i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif char in "*+?}" and java[i + 1:i + 2] == "+":
            raise ValueError(f"{java!r}: possessive quantifiers are not converted")
        elif char == ".":
            out.append(JAVA_DOT)
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


@functools.cache
def compiled(java: str) -> re.Pattern[str]:
    return re.compile(python_pattern(java), re.ASCII)
