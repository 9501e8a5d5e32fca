"""Structured logs: one JSON object per line, through the standard logging module.

With Lambda's JSON log format (``AWS_LAMBDA_LOG_FORMAT=JSON``) the runtime's own root
handler already writes JSON, adds ``requestId`` and copies ``extra`` fields, so records
simply propagate to it. Otherwise (Lambda's text format, or any other host) this module
writes the same shape of JSON line to stdout itself, so the output reads the same either
way. Fields are passed as ``extra={...}``; secrets are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

LOGGER_NAME = "vpclambda_runtime"
"""One logger for the runtime library and the job's own lines: one shape for every line."""
# Libraries whose INFO lines would otherwise reach Lambda's JSON root handler on every
# invocation ("Found credentials in environment variables.", connection-pool chatter).
QUIET_LIBRARIES = ("boto3", "botocore", "urllib3")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# LogRecord's own attributes: everything else on a record came from `extra`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """The shape of Lambda's JSON log lines: timestamp, level, message, logger, requestId, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        request_id = getattr(record, "aws_request_id", None) or _request_id.get()
        if request_id:
            entry["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry and key != "aws_request_id":
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["errorType"] = record.exc_info[0].__name__
            entry["errorMessage"] = str(record.exc_info[1])
        return json.dumps(entry, default=str, ensure_ascii=False)


def _configure(logger: logging.Logger) -> None:
    # LOG_LEVEL wins; else Lambda's application log level (AWS_LAMBDA_LOG_LEVEL); else INFO.
    level = (os.environ.get("LOG_LEVEL", "") or os.environ.get("AWS_LAMBDA_LOG_LEVEL", "")).strip().upper()
    level = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level)
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(logging.WARNING)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        logger.propagate = True
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False


def get_logger() -> logging.Logger:
    """The function's logger, configured on first use (nothing happens at import)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not getattr(logger, "_configured", False):
        _configure(logger)
        logger._configured = True  # type: ignore[attr-defined]
    return logger


def bind_request(context: object | None) -> str | None:
    """Remember the invocation's request id for every line logged during it."""
    request_id = getattr(context, "aws_request_id", None)
    _request_id.set(request_id)
    return request_id


UNTYPED_ERROR = "JobError"
"""The ``error_type`` of the failure line of an exception that is not one of the library's types."""
OUTSIDE_PHASES = "job"
"""The ``phase`` of such a failure raised by the job's own code, outside every dependency's phase."""


def failure_fields(exc: BaseException, event: str,
                   phase_of: Callable[[BaseException], tuple[str, str] | None] | None = None) -> dict[str, Any]:
    """The fields of the failure line: ``event``, ``error_type`` (the library's error type, or
    ``JobError`` for any other exception), ``error_class`` (the exception's own class),
    ``error_message``, ``dependency`` and ``phase``, and ``outcome`` when the error has one."""
    from .errors import HandlerError

    fields: dict[str, Any] = {"event": event, "error_class": type(exc).__name__, "error_message": str(exc)}
    if isinstance(exc, HandlerError):
        fields["error_type"] = type(exc).__name__
        if exc.phase is not None:
            fields.update(dependency=exc.dependency, phase=exc.phase)
        if exc.outcome is not None:
            fields["outcome"] = exc.outcome
    else:
        where = phase_of(exc) if phase_of is not None else None
        dependency, phase = where if where is not None else (None, OUTSIDE_PHASES)
        fields.update(error_type=UNTYPED_ERROR, dependency=dependency, phase=phase)
    return fields


@contextmanager
def logged_failure(log: logging.Logger, message: str, event: str,
                   phase_of: Callable[[BaseException], tuple[str, str] | None] | None = None,
                   extra: Callable[[], Mapping[str, Any]] | None = None) -> Iterator[None]:
    """Log any exception that escapes the block as one structured line (``failure_fields``, plus
    what ``extra`` returns then), then let it propagate (Lambda keeps the event). The line names
    the failed dependency and phase when the error was raised inside one."""
    try:
        yield
    except Exception as exc:
        log.error(message, extra={**failure_fields(exc, event, phase_of), **(extra() if extra else {})})
        raise
