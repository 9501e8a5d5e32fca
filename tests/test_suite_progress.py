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


def test_under_xdist_the_total_comes_from_the_workers_collection() -> None:
    """With workers (`-n auto`), the controller collects nothing itself: the count is a worker's."""
    from tests.conftest import Elapsed

    lines: list[str] = []
    now = [0.0]
    elapsed = Elapsed(lines.append, every_s=60, clock=lambda: now[0])
    elapsed.pytest_xdist_node_collection_finished(object(), ["t.py::a", "t.py::b"])
    now[0] = 61.0
    elapsed.pytest_runtest_logfinish("t.py::a", ("t.py", None, "a"))
    assert lines == ["[the suite has run 1 min 01 s: 1/2 tests done]"]


def test_under_xdist_a_files_tests_share_a_worker_and_the_real_service_tests_all_one() -> None:
    """A file's module fixtures start once; the real-service tests share one MariaDB and the log
    book their last test reads, so they run on one worker, in order."""
    from tests.conftest import worker_scope

    assert worker_scope("tests/test_docs.py::test_a[x::y]") == worker_scope("tests/test_docs.py::test_b")
    assert worker_scope("tests/test_docs.py::test_a") != worker_scope("tests/test_urns.py::test_a")
    assert worker_scope("tests/realsvc/test_deadlines.py::test_a") == worker_scope(
        "tests/realsvc/test_log_metrics.py::test_b") == "tests/realsvc"
