"""Metrics from the function's own JSON log lines: one CloudWatch Logs metric filter per error
type the handler raises, so an alarm or a graph says which dependency failed, not only that the
function did.

The handler logs every failure once, as a JSON line with `error_type` (the exception's class
name), `error_message`, and `dependency`/`phase` when known. The error types are read from the
handler's `errors.py` (every subclass of `HandlerError`), so a new one gets its filter without
a second list to keep. `matches` implements the part of CloudWatch Logs' JSON filter syntax the
filters use (`{ $.field = "value" }` joined by `&&`), so tests can run the real filters against
real log lines.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_ERROR = "HandlerError"
OVERRUN_EVENT = "invocation_overrun"
"""The watchdog's line when an invocation runs past its time budget anyway."""
OVERRUN_METRIC = "InvocationOverrun"


@dataclass(frozen=True)
class LogMetric:
    metric: str
    """The metric's name (the error type's class name)."""
    pattern: str
    """The CloudWatch Logs filter pattern."""
    what: str
    """What it counts, for the dashboard and docs."""


@functools.cache
def handler_error_types(errors_file: Path) -> tuple[tuple[str, str], ...]:
    """(class name, first docstring line) of every `HandlerError` subclass in the handler, in
    source order (read once per program, however many components ask)."""
    tree = ast.parse(errors_file.read_text())
    known = {BASE_ERROR}
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in known for b in node.bases):
            known.add(node.name)
            doc = ast.get_docstring(node) or ""
            found.append((node.name, doc.splitlines()[0] if doc else ""))
    return tuple(found)


def log_metrics(errors_file: Path) -> list[LogMetric]:
    metrics = [LogMetric(name, f'{{ $.error_type = "{name}" }}', doc) for name, doc in handler_error_types(errors_file)]
    metrics.append(LogMetric(OVERRUN_METRIC, f'{{ $.event = "{OVERRUN_EVENT}" }}',
                             "An invocation ran past its time budget; the line names the phase in progress."))
    return metrics


# ------------------------------------------------------ the filter syntax the metrics use

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
