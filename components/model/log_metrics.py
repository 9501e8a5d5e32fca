"""Metrics from the function's own JSON log lines: one CloudWatch Logs metric filter per error
type the runtime library raises, so an alarm or a graph says which dependency failed, not only
that the function did.

The runtime logs every failure once, as a JSON line with `error_type` (the exception's class
name), `error_message`, and `dependency`/`phase` when known. The error types are the runtime
library's own `HandlerError` subclasses (`vpclambda_runtime.errors`), so a new one gets its filter
without a second list to keep.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpclambda_runtime import errors
from vpclambda_runtime.contract import OVERRUN_EVENT

OVERRUN_METRIC = "InvocationOverrun"


@dataclass(frozen=True)
class LogMetric:
    metric: str
    """The metric's name (the error type's class name)."""
    pattern: str
    """The CloudWatch Logs filter pattern."""
    what: str
    """What it counts, for the dashboard and docs."""


def handler_error_types() -> tuple[type[errors.HandlerError], ...]:
    """Every `HandlerError` subclass of the runtime library, in the order `errors.py` defines them."""
    return tuple(value for value in vars(errors).values()
                 if isinstance(value, type) and issubclass(value, errors.HandlerError)
                 and value is not errors.HandlerError)


def summary(error_type: type[errors.HandlerError]) -> str:
    """The first line of the type's docstring."""
    return (error_type.__doc__ or "").strip().splitlines()[0] if error_type.__doc__ else ""


def log_metrics() -> list[LogMetric]:
    metrics = [LogMetric(error_type.__name__, f'{{ $.error_type = "{error_type.__name__}" }}', summary(error_type))
               for error_type in handler_error_types()]
    metrics.append(LogMetric(OVERRUN_METRIC, f'{{ $.event = "{OVERRUN_EVENT}" }}',
                             "An invocation ran past its time budget; the line names the phase in progress."))
    return metrics
