"""A migration run against an in-memory stand-in for the database: the statements it sends, in
order, what it records, what it refuses and what it logs. The real-service tests run the same
code against MariaDB; these hold every statement and message exactly, without a server."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

import pytest

from vpclambda_runtime import migration_runner as runner
from vpclambda_runtime.budget import Budget, Phase
from vpclambda_runtime.contract import Migration, statement_checksum
from vpclambda_runtime.errors import (
    ConfigurationError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    DatabaseUnreachableError,
    MigrationError,
)
from vpclambda_runtime.migration_runner import (
    CREATE_HISTORY,
    CREATE_PROGRESS,
    LEGACY_MIGRATION_SHA256,
    LEGACY_SCHEMA_SHA256,
    MigrationReport,
    MigrationRun,
)
from vpclambda_runtime.settings import Settings, load_settings

WHEN = datetime(2026, 11, 30, 12, 0, 0)
LOCK = "migrations:app"
HISTORY = "SELECT version, filename, checksum, applied_at FROM `schema_history` ORDER BY version"
PROGRESS = ("SELECT version, statement, filename, checksum, state, started_at, finished_at "
            "FROM `schema_history_statements` ORDER BY version, statement")
RECORD = ("INSERT INTO `schema_history` (version, filename, checksum, kind, duration_ms) "
          "VALUES (%s, %s, %s, %s, %s)")
STARTED = ("INSERT INTO `schema_history_statements` (version, statement, filename, checksum, state) "
           "VALUES (%s, %s, %s, %s, %s)")
APPLIED = ("UPDATE `schema_history_statements` SET state = %s, finished_at = CURRENT_TIMESTAMP(6) "
           "WHERE version = %s AND statement = %s")
FORGET = "DELETE FROM `schema_history_statements` WHERE version = %s AND statement = %s"
CLEAR = "DELETE FROM `schema_history_statements` WHERE version = %s"
EXISTS = ("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s")


class Conn:
    def __init__(self) -> None:
        self.open = True
        self.rolled_back = 0

    def rollback(self) -> None:
        self.rolled_back += 1


class FakeDb:
    """What the run asks of the database, answered from memory; `sent` is every statement in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.history: list[tuple[int, str, str, datetime]] = []
        self.progress: dict[tuple[int, int], list[Any]] = {}
        self.tables: set[str] = set()
        self.legacy: list[str] = []
        self.lock_free = True
        self.fail: dict[str, Exception] = {}
        """Statement -> the error it raises."""
        self.phases: list[tuple[str, float, float | None]] = []
        self.dependencies: set[str] = set()
        self.seen: set[tuple[int, int]] = set()
        """(id of the connection, id of the settings) of every statement."""

    def _run(self, phase: Phase, sql: str, args: Any, wait_cap: float | None) -> list[tuple[Any, ...]]:
        self.sent.append((" ".join(sql.split()) if "CREATE TABLE" not in sql else sql, args))
        self.phases.append((phase.name, phase.deadline, wait_cap))
        self.dependencies.add(phase.dependency)
        if sql in self.fail:
            raise self.fail.pop(sql)
        if sql.startswith("SELECT GET_LOCK"):
            return [(1 if self.lock_free else 0,)]
        if sql.startswith("SELECT RELEASE_LOCK"):
            return [(1,)]
        if sql == HISTORY:
            return list(self.history)
        if sql == PROGRESS:
            return [tuple(row) for _, row in sorted(self.progress.items())]
        if sql == EXISTS:
            return [(1 if args[0] in self.tables else 0,)]
        if sql == "SELECT checksum FROM `schema_migrations`":
            return [(c,) for c in self.legacy]
        if sql == RECORD:
            self.history.append((args[0], args[1], args[2], WHEN))
        if sql == STARTED:
            self.progress[(args[0], args[1])] = [args[0], args[1], args[2], args[3], args[4], WHEN, None]
        if sql == APPLIED:
            row = self.progress[(args[1], args[2])]
            row[4], row[6] = args[0], WHEN
        if sql == FORGET:
            self.progress.pop((args[0], args[1]), None)
        if sql == CLEAR:
            for key in [k for k in self.progress if k[0] == args[0]]:
                del self.progress[key]
        return []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def query_rows(conn: Any, settings: Settings, phase: Phase, sql: str, args: Any = None,
                       wait_cap: float | None = None) -> list[tuple[Any, ...]]:
            self.seen.add((id(conn), id(settings)))
            return self._run(phase, sql, args, wait_cap)

        def execute(conn: Any, settings: Settings, phase: Phase, sql: str, args: Any = None,
                    wait_cap: float | None = None) -> int:
            self.seen.add((id(conn), id(settings)))
            self._run(phase, sql, args, wait_cap)
            return 0

        monkeypatch.setattr(runner, "query_rows", query_rows)
        monkeypatch.setattr(runner, "execute", execute)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> FakeDb:
    fake = FakeDb()
    fake.install(monkeypatch)
    return fake


def settings() -> Settings:
    return load_settings({"AWS_REGION": "eu-west-1", "DB_HOST": "db.internal", "DB_PORT": "3306", "DB_NAME": "app",
                          "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
                          "TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:report"})


def migration(version: int, *statements: str, checksum: str | None = None) -> Migration:
    return Migration(version, f"{version:04d}_m{version}.sql", checksum or f"sha-{version}", statements)


def new_run(conn: Conn | None = None, remaining: float = 30.0) -> MigrationRun:
    run = MigrationRun(conn or Conn(), settings(), Budget(remaining, clock=Clock()))  # type: ignore[arg-type]
    run.given = (id(run.conn), id(run.settings))  # type: ignore[attr-defined]
    return run


def events(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    keys = ("event", "migration", "version", "statements", "resumed_after", "from_statement", "reason", "error")
    return [{k: getattr(r, k) for k in keys if hasattr(r, k)} | {"message": r.getMessage()} for r in records]


FIRST = migration(1, "CREATE TABLE a (id INT)", "CREATE INDEX a_id ON a (id)")
SECOND = migration(2, "ALTER TABLE a ADD b INT")


def test_a_first_run_applies_every_migration_statement_by_statement(db: FakeDb,
                                                                    logged: list[logging.LogRecord]) -> None:
    conn, config = Conn(), settings()
    run = MigrationRun(conn, config, Budget(30.0, clock=Clock()))  # type: ignore[arg-type]
    report = run.run([FIRST, SECOND])
    assert db.seen == {(id(conn), id(config))}, "every statement on the run's connection and settings"
    assert db.dependencies == {"database"}
    assert report == MigrationReport(applied=("0001_m1.sql", "0002_m2.sql"), baselined=(), current_version=2)
    s1, s2, s3 = (statement_checksum(s) for s in (*FIRST.statements, *SECOND.statements))
    assert db.sent == [
        ("SELECT GET_LOCK(%s, %s)", (LOCK, 11.0)),
        (CREATE_HISTORY, None), (CREATE_PROGRESS, None), (HISTORY, None),
        (PROGRESS, None),
        (STARTED, (1, 1, "0001_m1.sql", s1, "running")), ("CREATE TABLE a (id INT)", None),
        (APPLIED, ("applied", 1, 1)),
        (STARTED, (1, 2, "0001_m1.sql", s2, "running")), ("CREATE INDEX a_id ON a (id)", None),
        (APPLIED, ("applied", 1, 2)),
        ("START TRANSACTION", None), (RECORD, (1, "0001_m1.sql", "sha-1", "applied", 0)), (CLEAR, (1,)),
        ("COMMIT", None),
        (STARTED, (2, 1, "0002_m2.sql", s3, "running")), ("ALTER TABLE a ADD b INT", None),
        (APPLIED, ("applied", 2, 1)),
        ("START TRANSACTION", None), (RECORD, (2, "0002_m2.sql", "sha-2", "applied", 0)), (CLEAR, (2,)),
        ("COMMIT", None),
        ("SELECT RELEASE_LOCK(%s)", (LOCK,)),
    ]
    assert db.progress == {}
    assert [e for e in events(logged) if e.get("event") == "migration_applied"] == [
        {"event": "migration_applied", "migration": "0001_m1.sql", "version": 1, "statements": 2, "resumed_after": 0,
         "message": "migration applied"},
        {"event": "migration_applied", "migration": "0002_m2.sql", "version": 2, "statements": 1, "resumed_after": 0,
         "message": "migration applied"},
    ]


def test_the_phases_and_bounds_of_a_run(db: FakeDb) -> None:
    new_run().run([SECOND])
    # Budget 30 s: deadline 27 s. The lock waits half of it; each statement leaves 1 s to record it;
    # the release waits at most 2 s.
    assert db.phases[0] == ("lock", 13.5, 13.5)
    migrate = [p for p in db.phases if p[0] == "migrate"]
    assert migrate == [("migrate", 26.0, 26.0)]
    assert {p[0] for p in db.phases} == {"lock", "history", "migrate", "unlock"}
    assert db.phases[-1] == ("unlock", 2.0, None)
    assert all(p[2] is None for p in db.phases if p[0] == "history")


def test_the_lock_wait_is_rounded_to_a_tenth_and_never_negative(db: FakeDb) -> None:
    clock = Clock()
    budget = Budget(30.0, clock=clock)  # the budget ends at 27 s
    clock.now = 0.26  # 26.74 s left: the lock phase 13.37 s, less 1.5 s and 1 s: 10.87 s
    MigrationRun(Conn(), settings(), budget).run([SECOND])  # type: ignore[arg-type]
    assert db.sent[0] == ("SELECT GET_LOCK(%s, %s)", (LOCK, 10.9))
    db.sent.clear()
    db.history.clear()
    MigrationRun(Conn(), settings(), Budget(2.0, clock=Clock())).run([SECOND])  # type: ignore[arg-type]
    assert db.sent[0] == ("SELECT GET_LOCK(%s, %s)", (LOCK, 0.0))


def test_a_migration_s_duration_is_recorded_and_logged_in_milliseconds(db: FakeDb, monkeypatch: pytest.MonkeyPatch,
                                                                       logged: list[logging.LogRecord]) -> None:
    ticks = iter([10.0, 11.5])

    class Time:
        @staticmethod
        def monotonic() -> float:
            return next(ticks)

    monkeypatch.setattr(runner, "time", Time)
    new_run().run([SECOND])
    assert (RECORD, (2, "0002_m2.sql", "sha-2", "applied", 1500)) in db.sent
    (applied,) = [r for r in logged if getattr(r, "event", None) == "migration_applied"]
    assert applied.duration_ms == 1500  # type: ignore[attr-defined]


def test_a_second_run_finds_nothing_to_do(db: FakeDb) -> None:
    new_run().run([FIRST])
    db.sent.clear()
    report = new_run().run([FIRST])
    assert report == MigrationReport(applied=(), baselined=(), current_version=1)
    assert db.sent == [("SELECT GET_LOCK(%s, %s)", (LOCK, 11.0)), (CREATE_HISTORY, None), (CREATE_PROGRESS, None),
                       (HISTORY, None), ("SELECT RELEASE_LOCK(%s)", (LOCK,))]


def test_a_lock_held_by_another_run_is_refused_and_nothing_runs(db: FakeDb) -> None:
    db.lock_free = False
    run = new_run()
    with pytest.raises(MigrationError) as raised:
        run.run([FIRST])
    assert run.lock_released is True, "nothing to release: the connection may be kept"
    assert str(raised.value) == ("another migration run holds the lock 'migrations:app' (waited 0.0 s); the server "
                                 "releases it when that run ends or its connection closes")
    assert db.sent == [("SELECT GET_LOCK(%s, %s)", (LOCK, 11.0))]


def test_the_lock_is_released_when_a_migration_fails(db: FakeDb, logged: list[logging.LogRecord]) -> None:
    db.fail["ALTER TABLE a ADD b INT"] = DatabaseQueryError("Duplicate column name 'b'")
    conn = Conn()
    run = new_run(conn)
    with pytest.raises(MigrationError) as raised:
        run.run([FIRST, SECOND])
    assert str(raised.value) == (
        "migration 0002_m2.sql, statement 1 of 1 failed: Duplicate column name 'b'; it was not applied, nothing of "
        "it was applied; fix statement 1 (and what follows it) and deploy again: the run resumes at statement 1")
    assert isinstance(raised.value.__cause__, DatabaseQueryError)
    assert db.sent[-2:] == [(FORGET, (2, 1)), ("SELECT RELEASE_LOCK(%s)", (LOCK,))]
    assert run.lock_released is True
    assert db.history[0][:2] == (1, "0001_m1.sql") and len(db.history) == 1
    assert db.progress == {}


def test_a_failed_statement_after_others_says_they_stay_applied(db: FakeDb) -> None:
    db.fail["CREATE INDEX a_id ON a (id)"] = DatabaseQueryError("Duplicate key name 'a_id'")
    with pytest.raises(MigrationError) as raised:
        new_run().run([FIRST])
    assert str(raised.value) == (
        "migration 0001_m1.sql, statement 2 of 2 failed: Duplicate key name 'a_id'; it was not applied, statement 1 "
        "of it stay applied and recorded (MySQL does not roll back DDL); fix statement 2 (and what follows it) and "
        "deploy again: the run resumes at statement 2")
    assert list(db.progress) == [(1, 1)] and db.progress[(1, 1)][4] == "applied"


def test_a_failed_statement_on_a_lost_connection_stays_recorded_as_started(db: FakeDb) -> None:
    db.fail["CREATE INDEX a_id ON a (id)"] = DatabaseQueryError("Lost connection")
    conn = Conn()
    conn_closing = db._run

    def closing(phase: Phase, sql: str, args: Any, wait_cap: float | None) -> list[tuple[Any, ...]]:
        if sql == "CREATE INDEX a_id ON a (id)":
            conn.open = False
        return conn_closing(phase, sql, args, wait_cap)

    db._run = closing  # type: ignore[method-assign]
    with pytest.raises(MigrationError) as raised:
        new_run(conn).run([FIRST])
    assert str(raised.value).endswith(
        "the run resumes at statement 2 (it stays recorded as started, the connection being lost: record that it "
        "was not applied with DELETE FROM schema_history_statements WHERE version = 1 AND statement = 2)")
    assert (1, 2) in db.progress


@pytest.mark.parametrize("error", [DatabaseTimeoutError, DatabaseUnreachableError])
def test_a_statement_not_applied_by_its_deadline_is_forgotten(db: FakeDb, error: type[Exception]) -> None:
    db.fail["CREATE INDEX a_id ON a (id)"] = error("stopped at its deadline", outcome="not applied")
    with pytest.raises(error) as raised:
        new_run().run([FIRST])
    assert str(raised.value) == (
        "stopped at its deadline (migration 0001_m1.sql, statement 2 of 2; statement 1 of it stay applied and "
        "recorded (MySQL does not roll back DDL); the next run resumes at statement 2)")
    assert raised.value.outcome == "not applied"  # type: ignore[attr-defined]
    assert list(db.progress) == [(1, 1)]


def test_a_statement_whose_outcome_is_unknown_stays_recorded_as_started(db: FakeDb) -> None:
    db.fail["CREATE TABLE a (id INT)"] = DatabaseTimeoutError("no answer", outcome="unknown")
    with pytest.raises(DatabaseTimeoutError) as raised:
        new_run().run([FIRST])
    assert str(raised.value) == (
        "no answer (migration 0001_m1.sql, statement 1 of 2; nothing of it was applied; statement 1 stays recorded "
        "as started: the next run asks to settle its outcome first)")
    assert raised.value.outcome == "unknown"
    assert db.progress[(1, 1)][4] == "running"


def test_a_run_resumes_after_the_statements_an_earlier_run_applied(db: FakeDb,
                                                                   logged: list[logging.LogRecord]) -> None:
    db.progress[(1, 1)] = [1, 1, "0001_m1.sql", statement_checksum(FIRST.statements[0]), "applied", WHEN, WHEN]
    report = new_run().run([FIRST])
    assert report.applied == ("0001_m1.sql",)
    assert [sql for sql, _ in db.sent if not sql.startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "START",
                                                             "COMMIT", "CREATE TABLE IF"))] == [
        "CREATE INDEX a_id ON a (id)"]
    assert [e for e in events(logged) if e.get("event") in ("migration_resumed", "migration_applied")] == [
        {"event": "migration_resumed", "migration": "0001_m1.sql", "version": 1, "from_statement": 2,
         "statements": 2, "message": "migration resumed"},
        {"event": "migration_applied", "migration": "0001_m1.sql", "version": 1, "statements": 2,
         "resumed_after": 1, "message": "migration applied"},
    ]


def test_a_statement_that_cannot_be_forgotten_stays_recorded_as_started(db: FakeDb) -> None:
    db.fail["CREATE TABLE a (id INT)"] = DatabaseQueryError("syntax")
    db.fail[FORGET] = DatabaseUnreachableError("gone")
    run = new_run()
    with pytest.raises(MigrationError) as raised:
        run.run([FIRST])
    assert db.seen == {run.given}  # type: ignore[attr-defined]
    assert str(raised.value).endswith(
        "(it stays recorded as started, the connection being lost: record that it was not applied with DELETE FROM "
        "schema_history_statements WHERE version = 1 AND statement = 1)")
    assert db.dependencies == {"database"}
    forget = [p for p in db.phases if p[0] == "history"][-1]
    assert forget[1] == 1.0, "forgetting it is a clean-up: at most 1 s (a phase would end with the budget)"


def test_a_rollback_that_fails_does_not_hide_the_failure(db: FakeDb) -> None:
    class Failing(Conn):
        def rollback(self) -> None:
            raise OSError("closed")

    db.fail[CLEAR] = DatabaseQueryError("lost")
    with pytest.raises(DatabaseQueryError, match=r"^lost$"):
        new_run(Failing()).run([SECOND])


def test_recording_a_migration_that_fails_rolls_back(db: FakeDb) -> None:
    db.fail[CLEAR] = DatabaseQueryError("lost")
    conn = Conn()
    with pytest.raises(DatabaseQueryError):
        new_run(conn).run([SECOND])
    assert conn.rolled_back == 1
    conn = Conn()
    conn.open = False
    db.history.clear()
    db.fail[CLEAR] = DatabaseQueryError("lost")
    with pytest.raises(DatabaseQueryError):
        new_run(conn).run([migration(3, "SELECT 3")])
    assert conn.rolled_back == 0


def test_a_lock_that_cannot_be_released_is_left_to_the_connection(db: FakeDb,
                                                                  logged: list[logging.LogRecord]) -> None:
    db.fail["SELECT RELEASE_LOCK(%s)"] = DatabaseUnreachableError("gone")
    run = new_run()
    run.run([SECOND])
    assert run.lock_released is False
    assert [e for e in events(logged) if e.get("event") == "migration_lock_release_failed"] == [
        {"event": "migration_lock_release_failed", "error": "gone",
         "message": "migration lock not released; the connection will be closed"}]


# ------------------------------------------------------------------ release 0.1.0's databases


LEGACY = Migration(1, "0001_employees.sql", LEGACY_MIGRATION_SHA256, ("CREATE TABLE employees (id INT)",))


def test_a_database_of_release_0_1_0_is_baselined_not_migrated_again(db: FakeDb,
                                                                     logged: list[logging.LogRecord]) -> None:
    db.tables = {"schema_migrations", "employees"}
    db.legacy = ["other", LEGACY_SCHEMA_SHA256]
    run = new_run()
    report = run.run([LEGACY, SECOND])
    assert db.seen == {run.given}  # type: ignore[attr-defined]
    assert {p[0] for p in db.phases} == {"lock", "history", "migrate", "unlock"}
    assert db.dependencies == {"database"}
    assert report == MigrationReport(applied=("0002_m2.sql",), baselined=("0001_employees.sql",), current_version=2)
    assert (EXISTS, ("schema_migrations",)) in db.sent and (EXISTS, ("employees",)) in db.sent
    assert (RECORD, (1, "0001_employees.sql", LEGACY_MIGRATION_SHA256, "baselined", 0)) in db.sent
    assert "CREATE TABLE employees (id INT)" not in [sql for sql, _ in db.sent]
    assert [e for e in events(logged) if e.get("event") == "migration_baselined"] == [
        {"event": "migration_baselined", "migration": "0001_employees.sql",
         "reason": "`employees` was created by release 0.1.0's schema (schema_migrations)",
         "message": "migration baselined"}]
    db.sent.clear()
    assert new_run().run([LEGACY, SECOND]) == MigrationReport(applied=(), baselined=(), current_version=2)
    assert [sql for sql, _ in db.sent if sql in (EXISTS, "SELECT checksum FROM `schema_migrations`")] == [], (
        "a database with a history is not looked at for release 0.1.0's tables")


@pytest.mark.parametrize(("tables", "legacy", "first"), [
    ({"schema_migrations", "employees"}, ["other"], LEGACY),
    ({"employees"}, [LEGACY_SCHEMA_SHA256], LEGACY),
    ({"schema_migrations"}, [LEGACY_SCHEMA_SHA256], LEGACY),
    ({"schema_migrations", "employees"}, [LEGACY_SCHEMA_SHA256], migration(1, "CREATE TABLE employees (id INT)")),
    ({"schema_migrations", "employees"}, [LEGACY_SCHEMA_SHA256],
     Migration(2, "0002_employees.sql", LEGACY_MIGRATION_SHA256, ("CREATE TABLE employees (id INT)",))),
])
def test_anything_else_is_migrated(db: FakeDb, tables: set[str], legacy: list[str], first: Migration) -> None:
    db.tables, db.legacy = tables, legacy
    report = new_run().run([first])
    assert report.baselined == () and report.applied == (first.filename,)
    assert first.statements[0] in [sql for sql, _ in db.sent]


# ------------------------------------------------------------------ small pieces, exactly


def test_lock_names_fit_mysql_s_64_characters() -> None:
    assert runner.lock_name("d" * 53) == "migrations:" + "d" * 53  # 64 characters
    long = runner.lock_name("d" * 54)  # 65 characters: the database's digest instead
    assert long == "migrations:" + hashlib.sha256(("d" * 54).encode()).hexdigest()[:40]
    assert len(long) == 51


def test_time_and_statement_wording() -> None:
    assert runner._when(None) == "at an unrecorded time"
    assert runner._when(datetime(2026, 1, 2, 3, 4, 5, 678)) == "2026-01-02 03:04:05"
    assert runner._statements(1) == "statement 1"
    assert runner._statements(3) == "statements 1 to 3"


def test_a_history_date_is_written_to_the_second() -> None:
    first = migration(1, "SELECT 1")
    changed = Migration(1, first.filename, "sha-other", first.statements)
    with pytest.raises(MigrationError, match=r"applied \(2026-11-30 12:00:00\)"):
        runner.pending_migrations([runner.Recorded(1, first.filename, "sha-1", datetime(2026, 11, 30, 12, 0, 0, 5))],
                                  [changed])


def test_with_nothing_applied_every_migration_is_pending_even_version_1() -> None:
    first = migration(1, "SELECT 1")
    assert runner.pending_migrations([], [first]) == [first]
    applied = migration(2, "SELECT 2")
    with pytest.raises(MigrationError, match=r"^0001_m1\.sql not applied but migration 2 is"):
        runner.pending_migrations([runner.Recorded(2, applied.filename, "sha-2", WHEN)], [first, applied])


def test_partly_applied_migrations_are_refused_with_what_was_applied_when(db: FakeDb) -> None:
    first = migration(1, "CREATE TABLE a (id INT)", "CREATE INDEX i ON a (id)", "ALTER TABLE a ADD c INT", "SELECT 4")
    started, finished = datetime(2026, 11, 30, 12, 0, 1, 500), datetime(2026, 11, 30, 12, 0, 9, 900)
    db.progress[(1, 1)] = [1, 1, first.filename, statement_checksum(first.statements[0]), "applied", started, WHEN]
    db.progress[(1, 2)] = [1, 2, first.filename, "sha-of-another", "applied", WHEN, WHEN]
    db.progress[(1, 3)] = [1, 3, first.filename, statement_checksum(first.statements[2]), "applied", WHEN, finished]
    with pytest.raises(MigrationError) as raised:
        new_run().run([first])
    assert str(raised.value) == (
        "migration 0001_m1.sql was partly applied: statements 1 to 3 of it were applied 2026-11-30 12:00:01 to "
        f"2026-11-30 12:00:09, but statement 2 is no longer the one applied (its SHA-256 was sha-of-another, it is "
        f"now {statement_checksum(first.statements[1])}). Repair: restore statements 1 to 3 as they were applied "
        "and change only what follows them; or undo what they did by hand, then DELETE FROM "
        "schema_history_statements WHERE version = 1, and deploy again")


def test_a_statement_of_unknown_outcome_is_refused_with_both_repairs(db: FakeDb) -> None:
    db.progress[(1, 1)] = [1, 1, FIRST.filename, statement_checksum(FIRST.statements[0]), "running", WHEN, None]
    with pytest.raises(MigrationError) as raised:
        new_run().run([FIRST])
    assert str(raised.value) == (
        "statement 1 of 0001_m1.sql was started 2026-11-30 12:00:00 and its outcome is unknown (outcome unknown: "
        "the run that sent it ended before the database answered, killed at the function's timeout or cut off from "
        "the database, and the server may have applied it after). Check whether it took effect, then record what "
        "happened: if it did, UPDATE schema_history_statements SET state = 'applied' WHERE version = 1 AND "
        "statement = 1; if it did not, DELETE FROM schema_history_statements WHERE version = 1 AND statement = 1; "
        "then deploy again (the run resumes after the last applied statement)")


def test_progress_beyond_the_file_is_refused_as_missing(db: FakeDb) -> None:
    db.progress[(2, 1)] = [2, 1, SECOND.filename, statement_checksum(SECOND.statements[0]), "applied", WHEN, WHEN]
    db.progress[(2, 2)] = [2, 2, SECOND.filename, "sha-x", "applied", WHEN, None]
    with pytest.raises(MigrationError) as raised:
        new_run().run([SECOND])
    assert str(raised.value) == (
        "migration 0002_m2.sql was partly applied: statements 1 to 2 of it were applied 2026-11-30 12:00:00 to at an "
        "unrecorded time, but statement 2 is no longer the one applied (its SHA-256 was sha-x, it is now missing). "
        "Repair: restore statements 1 to 2 as they were applied and change only what follows them; or undo what they "
        "did by hand, then DELETE FROM schema_history_statements WHERE version = 2, and deploy again")


def test_migration_files_are_read_from_their_directory(tmp_path: Any) -> None:
    (tmp_path / "0002_b.sql").write_text("ALTER TABLE a ADD b INT;\n")
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (id INT);\n")
    (tmp_path / "notes.txt").write_text("not a migration")
    loaded = runner.load_migrations(tmp_path)
    assert [(m.version, m.filename, m.statements) for m in loaded] == [
        (1, "0001_a.sql", ("CREATE TABLE a (id INT)",)), (2, "0002_b.sql", ("ALTER TABLE a ADD b INT",))]
    assert loaded[0].checksum == hashlib.sha256(b"CREATE TABLE a (id INT);\n").hexdigest()
    with pytest.raises(MigrationError, match=f"^no migration files \\(<version>_<description>\\.sql\\) in "
                                             f"{tmp_path / 'empty'}$"):
        (tmp_path / "empty").mkdir()
        runner.load_migrations(tmp_path / "empty")
    missing = tmp_path / "gone"
    with pytest.raises(ConfigurationError) as raised:
        runner.load_migrations(missing)
    assert str(raised.value) == f"the migrations directory {missing} does not exist (MIGRATIONS_DIR)"


def test_applying_a_migration_alone_starts_at_its_first_statement(db: FakeDb) -> None:
    new_run().apply(SECOND)
    assert [sql for sql, _ in db.sent if sql == "ALTER TABLE a ADD b INT"] == ["ALTER TABLE a ADD b INT"]
