"""The part of CloudWatch Logs' JSON filter-pattern syntax the component's metric filters use
(`{ $.field = "value" }` joined by `&&`), so tests can run the real filters over real log lines."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.model.log_metrics import LogMetric

_CLAUSE = re.compile(r'\$\.([A-Za-z_][A-Za-z0-9_.]*)\s*(=|!=)\s*"((?:[^"\\]|\\.)*)"')


def parse_pattern(pattern: str) -> list[tuple[str, str, str]]:
    """`{ $.a = "x" && $.b != "y" }` -> [(a, =, x), (b, !=, y)]; anything else is refused."""
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"not a JSON filter pattern: {pattern!r}")
    clauses = []
    for part in body[1:-1].split("&&"):
        match = _CLAUSE.fullmatch(part.strip())
        if match is None:
            raise ValueError(f"unsupported clause {part.strip()!r} in {pattern!r}")
        clauses.append((match.group(1), match.group(2), match.group(3)))
    return clauses


def _field(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def matches(pattern: str, line: str) -> bool:
    """Whether CloudWatch Logs would count `line` for `pattern` (the subset above). A line that
    is not a JSON object matches no JSON pattern, as in CloudWatch Logs."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    if not isinstance(record, Mapping):
        return False
    for path, operator, expected in parse_pattern(pattern):
        value = _field(record, path)
        equal = value is not None and str(value) == expected
        if equal != (operator == "="):
            return False
    return True


def counted_by(metrics: Sequence[LogMetric], line: str) -> list[str]:
    """The metrics whose filter counts this line."""
    return [m.metric for m in metrics if matches(m.pattern, line)]
