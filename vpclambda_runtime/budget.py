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
carries (``logs.logged_failure``); for an exception of another type (a mistake in the job, an
unforeseen library error) the budget remembers the innermost phase it went through.

Clean-up after the job (rolling back a transaction it left open) runs in a ``cleanup`` phase,
which may use the first quarter of the safety margin: it ends before the watchdog speaks.
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
CLEANUP_S = 1.0
"""The longest a clean-up phase waits (less when the safety margin is short)."""
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
        self._untyped: tuple[BaseException, str, str] | None = None

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
        with self._entered(Phase(dependency, name, now, max(now, deadline), self.clock)) as current:
            yield current

    @contextmanager
    def cleanup(self, dependency: str, name: str) -> Iterator[Phase]:
        """A phase for clean-up after the job: at most ``CLEANUP_S``, and at most until a quarter of
        the safety margin has passed, even when the budget is spent."""
        now = self.clock()
        deadline = min(now + CLEANUP_S, self.deadline + self.margin_s / 4)
        with self._entered(Phase(dependency, name, now, max(now, deadline), self.clock)) as current:
            yield current

    @contextmanager
    def _entered(self, current: Phase) -> Iterator[Phase]:
        outer, self.current = self.current, current
        try:
            yield current
        except HandlerError as exc:
            if exc.phase is None:
                exc.phase, exc.dependency = current.name, current.dependency
            raise
        except BaseException as exc:
            if self._untyped is None or self._untyped[0] is not exc:  # the innermost phase it left
                self._untyped = (exc, current.dependency, current.name)
            raise
        finally:
            self.current = outer

    def phase_of(self, exc: BaseException) -> tuple[str, str] | None:
        """(dependency, phase) of the innermost phase an exception of another type than
        ``HandlerError`` went through, or None when it was raised outside every phase."""
        if self._untyped is not None and self._untyped[0] is exc:
            return self._untyped[1], self._untyped[2]
        return None
