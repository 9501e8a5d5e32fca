"""The last resort: a log line that names the phase when an invocation outlives its budget.

Every known wait is bounded by the invocation's :class:`budget.Budget`, so an invocation
normally fails by itself before the budget's deadline. Should something unforeseen hang
anyway, Lambda would kill the invocation with nothing but "Task timed out". The watchdog
thread wakes halfway through the safety margin (after the budget's deadline, before Lambda's)
and, if the invocation is still running, logs one ERROR line ``invocation_overrun`` with the
phase in progress, its dependency, how long it has run, and where the handler's thread is.

One daemon thread serves the execution environment; it is armed at the start of each
invocation and disarmed at its end, and sleeps while Lambda freezes the environment.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .budget import Budget
from .contract import OVERRUN_EVENT
from .logs import get_logger

STACK_FRAMES = 8
"""Innermost frames of the handler's thread logged with an overrun."""


@dataclass(frozen=True)
class _Watch:
    budget: Budget
    fire_at: float
    request_id: str | None
    thread_id: int


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watch: _Watch | None = None
        self._thread: threading.Thread | None = None

    def arm(self, budget: Budget, request_id: str | None) -> None:
        watch = _Watch(budget, budget.deadline + budget.margin_s / 2, request_id, threading.get_ident())
        with self._cond:
            self._watch = watch
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="invocation-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def disarm(self) -> None:
        with self._cond:
            self._watch = None
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                watch = self._watch
                if watch is None:
                    self._cond.wait()
                    continue
                delay = watch.fire_at - watch.budget.clock()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                self._watch = None  # once per invocation
            report_overrun(watch)


def _where(thread_id: int) -> list[str]:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return []
    stack = traceback.extract_stack(frame)[-STACK_FRAMES:]
    return [f"{entry.filename.rsplit('/', 1)[-1]}:{entry.lineno} {entry.name}" for entry in stack]


def report_overrun(watch: _Watch) -> None:
    budget = watch.budget
    phase = budget.current
    now = budget.clock()
    get_logger().error(
        "invocation still running after its time budget",
        extra={
            "event": OVERRUN_EVENT,
            "phase": phase.name if phase else None,
            "dependency": phase.dependency if phase else None,
            "phase_elapsed_ms": round((now - phase.started) * 1000) if phase else None,
            "budget_ms": round((budget.deadline - budget.started) * 1000),
            "lambda_remaining_ms": round((budget.lambda_deadline - now) * 1000),
            "where": _where(watch.thread_id),
            "aws_request_id": watch.request_id,
        },
    )


_watchdog = Watchdog()


@contextmanager
def watched(budget: Budget, request_id: str | None) -> Iterator[None]:
    """Watch the invocation for as long as the block runs."""
    _watchdog.arm(budget, request_id)
    try:
        yield
    finally:
        _watchdog.disarm()
