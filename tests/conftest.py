"""Shared test set-up: the test tiers, the local wheelhouse every pip of the tests uses, and a
filter for Pulumi's abandoned futures."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import refusal_record, wheelhouse
from vpclambda_runtime.logs import LOGGER_NAME

INTEGRATION_DIRS = ("realsvc",)
"""Test folders whose every test starts real services (MariaDB, moto, the Lambda runtime client)."""


class _DropAbandonedPulumiFutures(logging.Filter):
    """Tests that expect a deployment to fail (a bad argument given as an Output) leave Pulumi's
    internal futures holding that same error; asyncio would print each one at exit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Future exception was never retrieved")


logging.getLogger("asyncio").addFilter(_DropAbandonedPulumiFutures())


class Elapsed:
    """A line now and then while the suite runs: how long it has run, how many tests are done."""

    def __init__(self, write_line: Callable[[str], None], every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.write_line, self.every_s, self.clock = write_line, every_s, clock
        self.started = self.last = clock()
        self.total = self.done = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        """Under xdist the workers collect; each collects every test."""
        self.total = len(ids)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.done += 1
        now = self.clock()
        if now - self.last >= self.every_s:
            self.last = now
            minutes, seconds = divmod(int(now - self.started), 60)
            self.write_line(f"[the suite has run {minutes} min {seconds:02d} s: {self.done}/{self.total} tests done]")


def pytest_configure(config: pytest.Config) -> None:
    """Every pip the tests start installs from the local wheelhouse, never from the network: the
    suite runs offline once the wheelhouse exists (it is downloaded here the first time)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and config.get_verbosity() >= 0:
        def write_line(text: str) -> None:
            reporter.ensure_newline()
            reporter.write_line(text)

        config.pluginmanager.register(Elapsed(write_line), "elapsed")
    if not wheelhouse.is_complete():
        wheelhouse.main()
    os.environ["PIP_FIND_LINKS"] = str(wheelhouse.WHEELHOUSE)
    os.environ["PIP_NO_INDEX"] = "1"
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    mutant_under_test = os.environ.get("MUTANT_UNDER_TEST")
    if mutant_under_test is not None:  # run by `make mutate` (mutmut sets it in every run of the tests)
        from tests.mutation_support import MutationRunSupport

        config.pluginmanager.register(MutationRunSupport(mutant_under_test), "mutation-run-support")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if refusal_record.UPDATING and hasattr(session.config, "workerinput"):
        raise pytest.UsageError("UPDATE_REFUSAL_MESSAGES needs one process (-n 0): workers would each rewrite it")
    refusal_record.write()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under an integration folder are `integration` without each file saying so."""
    for item in items:
        if Path(str(item.path)).parent.name in INTEGRATION_DIRS:
            item.add_marker(pytest.mark.integration)


def worker_scope(nodeid: str) -> str:
    """What runs on one worker under xdist, in order: a file's tests (its module fixtures start
    once), or an integration folder's (they share session fixtures: one MariaDB, and a log book a
    later test reads)."""
    path = nodeid.split("::", 1)[0]
    folder = path.rpartition("/")[0]
    return folder if folder.rpartition("/")[2] in INTEGRATION_DIRS else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ByTestScope(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_scope(nodeid)

    return ByTestScope(config, log)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """The runtime library's log records while a test runs (its logger only, not the root's)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(LOGGER_NAME)
    handler = Keep()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
