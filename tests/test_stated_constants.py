"""The runtime library's time and cache constants, stated here as the documentation promises them
(docs/function.md, "Time budget"; the settings' defaults), and the behaviour they produce.

Every expected number in this file is written out, never read from the module under test: a
constant changed by mistake (a 3 s margin made 0.3 s, a 2 s publish reserve made 0, a 300 s
secret time-to-live made a day) fails here. Time is a fake clock the tests move by hand."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from vpclambda_runtime import aws_clients, database, job, migration_runner
from vpclambda_runtime.budget import Budget, Phase
from vpclambda_runtime.credentials import DbCredentials, SecretCache
from vpclambda_runtime.errors import DatabaseTimeoutError, NotificationError
from vpclambda_runtime.settings import Settings, load_settings
from vpclambda_runtime.watchdog import Watchdog

DOCS = Path(__file__).resolve().parent.parent / "docs" / "function.md"

ENV = {
    "AWS_REGION": "eu-west-1",
    "DB_HOST": "db.example.internal",
    "DB_PORT": "3306",
    "DB_NAME": "app",
    "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
    "TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:report",
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings(**overrides: str) -> Settings:
    return load_settings({**ENV, **overrides})


# ------------------------------------------------------------------ the safety margin


def test_the_documentation_states_the_margin_these_tests_hold() -> None:
    text = " ".join(DOCS.read_text().split())
    assert "safety margin of 10 %, at least 0.5 s and at most 3 s** (27 s of a 30 s timeout)" in text


@pytest.mark.parametrize(("timeout_s", "budget_s"), [
    (30.0, 27.0),     # 10 %: 3 s
    (60.0, 57.0),     # 10 % would be 6 s: at most 3 s
    (900.0, 897.0),   # Lambda's longest timeout: still 3 s
    (20.0, 18.0),     # 10 %: 2 s
    (8.0, 7.2),       # 10 %: 0.8 s
    (5.0, 4.5),       # 10 %: exactly the 0.5 s floor
    (3.0, 2.5),       # 10 % would be 0.3 s: at least 0.5 s
    (1.0, 0.5),
])
def test_the_budget_ends_a_tenth_of_the_time_before_lambda_s_deadline_within_half_a_second_and_3_s(
        timeout_s: float, budget_s: float) -> None:
    clock = Clock()
    budget = Budget(timeout_s, clock=clock)
    assert budget.deadline - clock.now == pytest.approx(budget_s)
    assert budget.lambda_deadline - clock.now == pytest.approx(timeout_s)
    assert budget.remaining() == pytest.approx(budget_s)


def test_a_30_s_function_keeps_3_s_to_report_a_failure_and_its_watchdog_speaks_halfway() -> None:
    """A wait that reaches the budget's deadline (27 s) fails by itself; a clean-up may use the first
    quarter of the margin (to 27.75 s), the watchdog logs at half of it (28.5 s): all before 30 s."""
    clock = Clock(0.0)
    budget = Budget(30.0, clock=clock)
    clock.now = 26.0
    with budget.phase("database", "query") as phase:
        assert phase.deadline == pytest.approx(27.0)
        clock.now = 27.0
        assert phase.spent and phase.remaining() == 0.0
    with budget.cleanup("database", "rollback") as cleanup:
        assert cleanup.deadline == pytest.approx(27.75)
    clock.now = 10.0
    with budget.cleanup("database", "rollback") as cleanup:
        assert cleanup.deadline == pytest.approx(11.0)  # at most 1 s

    watchdog = Watchdog()
    watchdog.arm(budget, "request-1")
    try:
        assert watchdog._watch is not None
        assert watchdog._watch.fire_at == pytest.approx(28.5)
    finally:
        watchdog.disarm()


def test_without_a_lambda_context_the_budget_is_30_s() -> None:
    budget = Budget.for_invocation(object())
    assert budget.total_s == 30.0
    assert budget.margin_s == 3.0

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 12_000

    assert Budget.for_invocation(Context()).total_s == 12.0


def test_a_phase_ends_by_its_cap_or_its_reserve_whichever_comes_first() -> None:
    clock = Clock(0.0)
    budget = Budget(30.0, clock=clock)  # the budget ends at 27 s
    with budget.phase("database", "connect", cap=5.0) as phase:
        assert phase.deadline == 5.0
    with budget.phase("sns", "publish", cap=40.0) as phase:
        assert phase.deadline == 27.0
    with budget.phase("database", "query", reserve=2.0, cap=40.0) as phase:
        assert phase.deadline == 25.0
    clock.now = 26.0
    with budget.phase("database", "query", reserve=2.0) as phase:
        assert phase.deadline == 26.0  # never before it started
        assert phase.spent


# ------------------------------------------------------------------ a long read leaves 2 s to publish


class EndlessCursor:
    """An unbuffered cursor over a result that never ends; each batch takes one second."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.connection: Any = "open"

    def execute(self, sql: str, args: Any = None) -> int:
        return 0

    def fetchmany(self, size: int) -> list[tuple[int]]:
        self.clock.now += 1.0
        return [(1,)] * size

    def close(self) -> None:
        pass


class RecordingConnection:
    """What the database helpers need of a connection: the bound they set, a cursor."""

    def __init__(self, cursor: Any = None) -> None:
        self.cursor_ = cursor
        self.bound: list[tuple[float, float]] = []

    def bind(self, phase: Phase, wait_cap: float) -> None:
        self.bound.append((phase.deadline, wait_cap))

    def cursor(self, *_: Any) -> Any:
        return self.cursor_


def test_a_long_read_stops_2_s_before_the_budget_s_deadline_and_leaves_them_to_publish() -> None:
    clock = Clock(0.0)
    budget = Budget(30.0, clock=clock)  # the budget ends at 27 s
    conn = RecordingConnection(EndlessCursor(clock))
    batches = 0
    with pytest.raises(DatabaseTimeoutError, match="the read ends 2 s before the invocation's time budget"):
        for _ in database.stream_batches(conn, settings(), budget, "SELECT * FROM employees", batch_rows=10):  # type: ignore[arg-type]
            batches += 1
    assert clock.now == 25.0
    assert batches == 25  # one a second from 1 s to 25 s; the next check finds the phase spent
    assert conn.bound == [(25.0, 10)]  # each wait: DB_READ_TIMEOUT, 10 s by default
    with budget.phase("sns", "publish") as publish:
        assert publish.remaining() == 2.0


def test_the_job_s_stream_keeps_the_same_2_s_for_its_notification() -> None:
    assert inspect.signature(job.stream).parameters["reserve_seconds"].default == 2.0
    assert inspect.signature(database.stream_batches).parameters["reserve"].default == 2.0


# ------------------------------------------------------------------ timeouts by default


def test_the_documented_defaults_of_the_timeouts_and_the_secret_s_time_to_live() -> None:
    loaded = settings()
    assert (loaded.db_connect_timeout, loaded.db_read_timeout) == (5, 10)
    assert (loaded.aws_connect_timeout, loaded.aws_read_timeout) == (3, 5)
    assert loaded.secret_ttl_seconds == 300
    changed = settings(DB_READ_TIMEOUT="60", SECRET_TTL_SECONDS="30", DB_CONNECT_TIMEOUT="2",
                       AWS_CONNECT_TIMEOUT="1", AWS_READ_TIMEOUT="2")
    assert (changed.db_read_timeout, changed.secret_ttl_seconds, changed.db_connect_timeout) == (60, 30, 2)
    assert (changed.aws_connect_timeout, changed.aws_read_timeout) == (1, 2)


def test_a_statement_waits_at_most_10_s_for_each_answer_by_default() -> None:
    clock = Clock(0.0)
    budget = Budget(60.0, clock=clock)

    class Cursor:
        def __enter__(self) -> Cursor:
            return self

        def __exit__(self, *_: Any) -> None:
            pass

        def execute(self, sql: str, args: Any = None) -> int:
            return 1

        def fetchall(self) -> list[tuple[int]]:
            return [(1,)]

    conn = RecordingConnection(Cursor())
    with budget.phase("database", "query") as phase:
        database.execute(conn, settings(), phase, "DELETE FROM t")  # type: ignore[arg-type]
        database.query_rows(conn, settings(), phase, "SELECT 1")  # type: ignore[arg-type]
        database.query_rows(conn, settings(), phase, "SELECT 1", wait_cap=40.0)  # type: ignore[arg-type]
    assert conn.bound == [(57.0, 10), (57.0, 10), (57.0, 40.0)]


# ------------------------------------------------------------------ AWS calls: attempts and the first client


@pytest.fixture
def no_clients(monkeypatch: pytest.MonkeyPatch) -> list[aws_clients.CallTimeouts]:
    """``aws_clients`` without boto3: the timeouts each call's client would get."""
    made: list[aws_clients.CallTimeouts] = []
    monkeypatch.setattr(aws_clients, "_clients", {})

    def client(service: str, _: Settings, timeouts: aws_clients.CallTimeouts) -> object:
        made.append(timeouts)
        aws_clients._clients[(service, timeouts)] = object()
        return aws_clients._clients[(service, timeouts)]

    monkeypatch.setattr(aws_clients, "client", client)
    return made


def phase_with(left_s: float) -> Phase:
    clock = Clock(0.0)
    return Phase("sns", "publish", 0.0, left_s, clock)


def test_two_attempts_of_3_plus_5_s_take_at_most_17_s() -> None:
    timeouts = aws_clients.call_timeouts(settings(), 17.0)
    assert timeouts == aws_clients.CallTimeouts(3.0, 5.0, 2)
    assert timeouts.worst_case == 17.0  # 2 x (3 + 5) and 1 s between them
    assert aws_clients.call_timeouts(settings(), 16.9) == aws_clients.CallTimeouts(3.0, 5.0, 1)
    assert aws_clients.call_timeouts(settings(), 8.0) == aws_clients.CallTimeouts(3.0, 5.0, 1)
    assert aws_clients.call_timeouts(settings(), 4.0) == aws_clients.CallTimeouts(1.5, 2.5, 1)
    assert aws_clients.call_timeouts(settings(), 0.2) == aws_clients.CallTimeouts(0.1, 0.1, 1)
    assert aws_clients.call_timeouts(settings(), 0.19) is None


def test_the_first_client_of_a_service_gives_0_3_s_of_its_call_to_its_creation(
        no_clients: list[aws_clients.CallTimeouts]) -> None:
    # 17.29 s left: after 0.3 s for creating the client, two attempts (17 s) no longer fit.
    with aws_clients.aws_call("sns", "Publish", settings(), phase_with(17.29), NotificationError):
        pass
    # The client exists now: the same time left is two attempts.
    with aws_clients.aws_call("sns", "Publish", settings(), phase_with(17.0), NotificationError):
        pass
    assert no_clients == [aws_clients.CallTimeouts(3.0, 5.0, 1), aws_clients.CallTimeouts(3.0, 5.0, 2)]


def test_a_first_client_with_exactly_0_3_s_more_gets_both_attempts(no_clients: list[aws_clients.CallTimeouts]) -> None:
    with aws_clients.aws_call("secretsmanager", "GetSecretValue", settings(), phase_with(17.3), NotificationError):
        pass
    assert no_clients == [aws_clients.CallTimeouts(3.0, 5.0, 2)]


def test_a_call_with_too_little_time_is_not_attempted(no_clients: list[aws_clients.CallTimeouts]) -> None:
    with pytest.raises(NotificationError, match=r"not attempted: 0\.4 s left"), aws_clients.aws_call(
            "sns", "Publish", settings(), phase_with(0.4), NotificationError):
        pass  # 0.4 s less 0.3 s for the first client: under the 0.2 s a call needs
    assert no_clients == []


# ------------------------------------------------------------------ the migration lock: half of what is left


def test_the_migration_run_waits_for_its_lock_half_of_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(0.0)
    budget = Budget(30.0, clock=clock)  # 27 s left
    asked: list[tuple[float, Any, float | None]] = []

    def query_rows(conn: Any, settings_: Settings, phase: Phase, sql: str, args: Any = None,
                   wait_cap: float | None = None) -> list[tuple[int]]:
        asked.append((phase.deadline, args, wait_cap))
        return [(1,)]

    monkeypatch.setattr(migration_runner, "query_rows", query_rows)
    run = migration_runner.MigrationRun(object(), settings(), budget)  # type: ignore[arg-type]
    run.acquire_lock()
    # The lock phase: 13.5 s. GET_LOCK gives up 1.5 s (a KILL's reserve) and 1 s (its answer) before it.
    assert asked == [(13.5, ("migrations:app", 11.0), 13.5)]


# ------------------------------------------------------------------ the secret's time-to-live


def test_a_rotated_secret_is_read_again_after_300_s_without_a_refused_login() -> None:
    clock = Clock(0.0)
    versions = iter([DbCredentials("app", "old", "v1"), DbCredentials("app", "new", "v2")])
    reads: list[float] = []

    def fetch(_: Settings, __: Budget) -> DbCredentials:
        reads.append(clock.now)
        return next(versions)

    cache = SecretCache(settings(), fetch=fetch, clock=clock)
    budget = Budget(30.0, clock=clock)
    assert cache.get(budget).password == "old"
    clock.now = 299.9  # the secret was rotated meanwhile; the cached password still serves
    assert cache.get(budget).password == "old"
    assert reads == [0.0]
    clock.now = 300.0
    assert cache.get(budget).version_id == "v2"
    assert reads == [0.0, 300.0]
    clock.now = 599.9
    assert cache.get(budget).version_id == "v2"
    assert reads == [0.0, 300.0]


def test_a_time_to_live_of_0_reads_the_secret_at_every_use() -> None:
    clock = Clock(0.0)
    reads: list[float] = []

    def fetch(_: Settings, __: Budget) -> DbCredentials:
        reads.append(clock.now)
        return DbCredentials("app", "pw", "v1")

    cache = SecretCache(settings(SECRET_TTL_SECONDS="0"), fetch=fetch, clock=clock)
    budget = Budget(30.0, clock=clock)
    cache.get(budget)
    cache.get(budget)
    assert reads == [0.0, 0.0]


def test_the_time_to_live_counts_from_the_last_read_even_an_early_one() -> None:
    clock = Clock(0.0)
    reads: list[float] = []

    def fetch(_: Settings, __: Budget) -> DbCredentials:
        reads.append(clock.now)
        return DbCredentials("app", "pw", f"v{len(reads)}")

    cache = SecretCache(settings(), fetch=fetch, clock=clock)
    budget = Budget(30.0, clock=clock)
    assert cache.cached() is None
    cache.get(budget)
    clock.now = 200.0
    cache.refresh("auth_failed", budget)  # read early: a refused password
    clock.now = 499.9
    assert cache.get(budget).version_id == "v2"
    clock.now = 500.0
    assert cache.get(budget).version_id == "v3"
    assert reads == [0.0, 200.0, 500.0]


def test_a_budget_counts_what_is_left_and_nothing_below_zero() -> None:
    clock = Clock(0.0)
    assert Budget(0.4, clock=clock).total_s == 0.4
    spent = Budget(-2.0, clock=clock)
    assert (spent.total_s, spent.margin_s, spent.deadline, spent.remaining()) == (0.0, 0.5, -0.5, 0.0)


def test_a_phase_says_how_long_it_has_run_and_none_is_current_outside_phases() -> None:
    clock = Clock(100.0)
    budget = Budget(30.0, clock=clock)
    assert budget.current is None
    with budget.phase("database", "query") as phase:
        assert budget.current is phase
        clock.now = 102.5
        assert phase.elapsed() == 2.5
    assert budget.current is None
