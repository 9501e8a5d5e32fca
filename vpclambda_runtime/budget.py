"""The invocation's time budget: every wait ends by itself, a safety margin before Lambda's timeout.

Lambda stops an invocation at its timeout and reports nothing but "Task timed out", so the
function must never be the one still waiting then. Each invocation starts a :class:`Budget`
from ``context.get_remaining_time_in_millis()``::

    budget deadline = Lambda's deadline - margin
    margin          = 10 % of the time left at the start, at least 0.5 s and at most 3 s

Every wait on a dependency happens inside ``budget.phase(dependency, name, cap=..., reserve=...)``.
The phase's deadline is the earliest of ``now + cap`` and ``budget deadline - reserve`` (time
kept for the phases after it); the dependency's code turns that deadline into socket and
botocore timeouts, so the wait ends with the dependency's own error type. A failure raised
inside a phase is tagged with the phase's dependency and name, which the failure's log line
carries (``logs.logged_failure``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import HandlerError

MARGIN_FRACTION = 0.1
MIN_MARGIN_S = 0.5
MAX_MARGIN_S = 3.0
DEFAULT_REMAINING_S = 30.0
"""The budget when there is no Lambda context to ask (the handler called directly)."""


def safety_margin(remaining_s: float) -> float:
    """Seconds kept free before Lambda's deadline: time to log the failure and answer the runtime."""
    return min(MAX_MARGIN_S, max(MIN_MARGIN_S, remaining_s * MARGIN_FRACTION))


@dataclass
class Phase:
    """One bounded wait on a dependency (or several waits that share one deadline)."""

    dependency: str
    name: str
    started: float
    deadline: float
    clock: Callable[[], float] = field(repr=False)

    def remaining(self) -> float:
        """Seconds until the phase's deadline (0 once it has passed)."""
        return max(0.0, self.deadline - self.clock())

    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def spent(self) -> bool:
        return self.clock() >= self.deadline


class Budget:
    """The time one invocation may spend waiting, split into phases."""

    def __init__(self, remaining_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.total_s = max(0.0, remaining_s)
        self.margin_s = safety_margin(self.total_s)
        self.lambda_deadline = self.started + self.total_s
        self.deadline = self.lambda_deadline - self.margin_s
        self.current: Phase | None = None
        """The phase in progress, read by the watchdog."""

    @classmethod
    def for_invocation(cls, context: Any) -> Budget:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return cls(remaining() / 1000 if callable(remaining) else DEFAULT_REMAINING_S)

    def remaining(self) -> float:
        """Seconds left before the budget's deadline."""
        return max(0.0, self.deadline - self.clock())

    @contextmanager
    def phase(self, dependency: str, name: str, *, cap: float | None = None, reserve: float = 0.0) -> Iterator[Phase]:
        """A phase whose deadline is ``now + cap`` or ``deadline - reserve``, whichever comes first."""
        now = self.clock()
        deadline = self.deadline - reserve
        if cap is not None:
            deadline = min(deadline, now + cap)
        current = Phase(dependency, name, now, max(now, deadline), self.clock)
        outer, self.current = self.current, current
        try:
            yield current
        except HandlerError as exc:
            if exc.phase is None:
                exc.phase, exc.dependency = name, dependency
            raise
        finally:
            self.current = outer
