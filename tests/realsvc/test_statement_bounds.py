"""A statement reported as not done must not be done later: the server side of every statement
is bounded by the invocation's budget too (lock waits from the session's lock_wait_timeout and
innodb_lock_wait_timeout; on a client timeout the statement is stopped with KILL QUERY from a
side connection), and where the outcome cannot be known the failure says "outcome unknown"."""

from __future__ import annotations

import contextlib

from localrun.services import DB_NAME

from .conftest import Background, running_statements, wait_until
from .test_migration import LOCK, MIGRATE, history

ORIGINAL_NAME = "Employee 1"


def name_of_first(db) -> str:
    return str(db.query("SELECT name FROM employees WHERE id = 1")[0][0])


def stop_statements(db, like: str) -> None:
    """Clean up after a test that left a statement of the function running on purpose."""
    for thread, _ in running_statements(db, like):
        with contextlib.suppress(Exception):  # it may have ended meanwhile
            db.execute(f"KILL QUERY {thread}", database=None)
    wait_until(lambda: not running_statements(db, like), f"no statement like {like!r} runs")


def test_an_update_waiting_on_a_row_lock_past_the_budget_never_commits(start_cases, employees, db, margin_for):
    employees(3)
    timeout = 6.0
    fn = start_cases(timeout_s=timeout)
    holder = db.admin(DB_NAME)
    try:
        with holder.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT * FROM employees WHERE id = 1 FOR UPDATE")
        run = fn.invoke({"case": "update_name", "id": 1, "name": "reported as not done"})
    finally:
        holder.rollback()
        holder.close()  # the row lock is released: a statement still waiting would now run
    wait_until(lambda: not running_statements(db, "UPDATE employees%"), "the function's UPDATE has ended")
    assert name_of_first(db) == ORIGINAL_NAME, "a statement reported as timed out must not commit later"
    assert run.error_type == "DatabaseTimeoutError", run.error
    assert "not applied" in run.error_message and "lock" in run.error_message
    assert run.duration_s < timeout - margin_for(timeout) / 2
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["phase"], failed["outcome"]) == ("query", "not applied")


def test_a_statement_past_its_budget_is_stopped_on_the_server(start_cases, employees, db, margin_for):
    """No lock to wait for: the server is busy with the statement itself (SLEEP), past the
    budget. The client stops it with KILL QUERY from a side connection and says so."""
    employees(3)
    timeout = 5.0
    fn = start_cases(timeout_s=timeout)
    run = fn.invoke({"case": "update_name", "id": 1, "name": "reported as not done", "sleep_s": 8})
    wait_until(lambda: not running_statements(db, "UPDATE employees%"), "the function's UPDATE has ended")
    assert name_of_first(db) == ORIGINAL_NAME, "a statement reported as timed out must not commit later"
    assert run.error_type == "DatabaseTimeoutError", run.error
    assert "KILL QUERY" in run.error_message and "not applied" in run.error_message
    assert run.duration_s < timeout - margin_for(timeout) / 2
    (killed,) = fn.events("db_statement_killed", run.request_id)
    assert killed["confirmed"] is True
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert failed["outcome"] == "not applied"


def test_a_statement_whose_outcome_cannot_be_known_says_so(start_cases, employees, db, margin_for):
    """The server freezes while the UPDATE runs: neither its answer nor a KILL QUERY can get
    through, so nobody can tell whether it will be applied."""
    employees(3)
    timeout = 10.0
    fn = start_cases(timeout_s=timeout)
    running = Background(fn, {"case": "update_name", "id": 1, "name": "maybe", "sleep_s": 30})
    try:
        wait_until(lambda: bool(running_statements(db, "UPDATE employees%")), "the UPDATE is running")
        db.freeze()
        run = running.result()
    finally:
        db.thaw()
        stop_statements(db, "UPDATE employees%")
    assert run.error_type == "DatabaseTimeoutError", run.error
    assert "outcome unknown" in run.error_message
    assert run.duration_s < timeout - margin_for(timeout) / 2
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert failed["outcome"] == "unknown"
    (kill,) = fn.events("db_statement_killed", run.request_id)
    assert kill["confirmed"] is False


BACKFILL = "UPDATE employees SET department = 'unassigned' WHERE department IS NULL;\n"


def test_a_migration_statement_past_its_budget_is_not_applied_later(start_function, empty_db, package_copy,
                                                                     margin_for):
    """A data migration waits on a row lock past the budget: it must fail on the server too, so
    it neither lands later nor keeps the migration lock from the next deploy."""
    db = empty_db
    assert start_function(MIGRATE).invoke().ok
    db.execute("INSERT INTO employees (name) VALUES ('no department')")
    package = package_copy({"migrations/0002_backfill_department.sql": BACKFILL})
    timeout = 8.0
    holder = db.admin(DB_NAME)
    try:
        with holder.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT * FROM employees WHERE department IS NULL FOR UPDATE")
        migration = start_function(MIGRATE, package_dir=package, timeout_s=timeout)
        run = migration.invoke()
        lock_free = db.query("SELECT IS_FREE_LOCK(%s)", (LOCK,))[0][0]
    finally:
        holder.rollback()
        holder.close()  # the row lock is released: a statement still waiting would now run
    wait_until(lambda: not running_statements(db, "UPDATE employees%"), "the backfill has ended")
    assert lock_free == 1, "the migration lock must be free once the run has failed"
    assert db.query("SELECT COUNT(*) FROM employees WHERE department = 'unassigned'")[0][0] == 0, \
        "a statement reported as not applied must not land later"
    assert run.error_type == "DatabaseTimeoutError", run.error
    assert "0002_backfill_department.sql, statement 1 of 1" in run.error_message
    assert "not applied" in run.error_message
    assert run.duration_s < timeout - margin_for(timeout) / 2

    again = start_function(MIGRATE, package_dir=package).invoke()
    assert again.ok, again.error
    assert again.payload["applied"] == ["0002_backfill_department.sql"]
    assert [row[:2] for row in history(db)] == [(1, "0001_employees.sql"), (2, "0002_backfill_department.sql")]
    assert db.query("SELECT COUNT(*) FROM employees WHERE department = 'unassigned'")[0][0] == 1
