"""What `make mutate` adds to mutmut's runs of the tests (loaded by conftest.py only under mutmut).

mutmut runs, for each mutant, the tests that called the mutated function while it collected its
statistics, with a time limit from their measured duration. Two things in this suite mislead it:

- A module-scoped fixture (a whole stack under Pulumi's mocks) runs during the setup of its file's
  first test, so mutmut credits the model's and the checks' functions to that one test only, while
  the file's other tests assert on the same stack. A mutant would then "survive" tests that were
  never run. Each function is credited to every test of each file in which it was called.
- mutmut times only the test's call, not its setup: the stacks built by fixtures went uncounted and
  a mutant's time limit came out shorter than its tests' clean run, so mutants whose tests were
  merely slow were reported as caught by the time limit. Setup and teardown are counted.

And, for each mutant, the files whose selected tests cost least run first (a file's tests stay
together so that its module fixtures are built once): `-x` stops at the first failure, and the
quick tests of a pure function catch most mutants long before a stack is built.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pytest

STATS = "stats"
"""mutmut's name for its statistics run (MUTANT_UNDER_TEST)."""


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def credit_whole_files(tests_by_function: dict[str, set[str]], all_tests: Iterable[str]) -> None:
    """Credit each function to every test of each file one of its tests is in."""
    by_file: dict[str, set[str]] = defaultdict(set)
    for test in all_tests:
        by_file[file_of(test)].add(test)
    for tests in tests_by_function.values():
        for test_file in {file_of(t) for t in tests}:
            tests |= by_file[test_file]


def cheapest_files_first(nodeids: list[str], cost_of: dict[str, float]) -> list[str]:
    """The node ids reordered by the summed cost of their file's selected tests, each file's own
    order kept."""
    file_cost: dict[str, float] = defaultdict(float)
    first_seen: dict[str, int] = {}
    for position, nodeid in enumerate(nodeids):
        file_cost[file_of(nodeid)] += cost_of.get(nodeid, 0.0)
        first_seen.setdefault(file_of(nodeid), position)
    return sorted(nodeids, key=lambda n: (file_cost[file_of(n)], first_seen[file_of(n)]))


class MutationRunSupport:
    def __init__(self, mutant_under_test: str) -> None:
        from mutmut.state import state

        self.state = state()
        self.stats_run = mutant_under_test == STATS

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
        yield
        if self.stats_run and call.when in ("setup", "teardown"):
            self.state.duration_by_test[item.nodeid] += call.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.stats_run:
            credit_whole_files(self.state.tests_by_mangled_function_name, self.state.duration_by_test)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.stats_run or not self.state.duration_by_test:
            return
        order = {nodeid: i for i, nodeid in enumerate(
            cheapest_files_first([item.nodeid for item in items], self.state.duration_by_test))}
        items.sort(key=lambda item: order[item.nodeid])
