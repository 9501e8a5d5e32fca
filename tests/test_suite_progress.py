"""`make test` shows its progress: what it installs (the Makefile), how long the suite has run."""

from __future__ import annotations


def test_the_suite_says_how_long_it_has_run() -> None:
    """`make test` is not silent for minutes: a line every minute with the time and the count."""
    from tests.conftest import Elapsed

    lines: list[str] = []
    now = [100.0]
    elapsed = Elapsed(lines.append, every_s=60, clock=lambda: now[0])
    elapsed.total = 3
    for step in (30.0, 31.0, 70.0):
        now[0] += step
        elapsed.pytest_runtest_logfinish("t", ("t.py", None, "t"))
    assert lines == ["[the suite has run 1 min 01 s: 2/3 tests done]", "[the suite has run 2 min 11 s: 3/3 tests done]"]
