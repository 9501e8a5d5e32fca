"""A migration that is partly applied (MySQL commits DDL statement by statement) can be run
again: its progress is recorded per statement; a re-run resumes after the last applied one
when the file is unchanged up to there, and otherwise refuses, saying what was applied, when,
and how to repair. The same for a run killed in the middle of a statement."""

from __future__ import annotations

import os
import re
import signal

from components.local.services import DB_NAME, DB_USER

from .conftest import Background, running_statements, wait_until
from .test_migration import MIGRATE, columns, history

STEP_1 = "ALTER TABLE employees ADD COLUMN title VARCHAR(100) NULL"
STEP_2 = "CREATE INDEX ix_employees_title ON employees (title)"
BROKEN_STEP_3 = "ALTER TABLE employees ADD COLUMN grade INT NULL AFTER no_such_column"
FIXED_STEP_3 = "ALTER TABLE employees ADD COLUMN grade INT NULL"
NAME = "0002_title_and_grade.sql"


def migration(*statements: str) -> dict[str, str]:
    return {f"migrations/{NAME}": "-- Migration 2: a title and a grade.\n" + "".join(f"{s};\n" for s in statements)}


def progress(db) -> list[tuple[int, int, str]]:
    rows = db.query("SELECT version, statement, state FROM schema_history_statements ORDER BY version, statement")
    return [(int(v), int(n), str(s)) for v, n, s in rows]


def fail_at_step_3(start_function, db, package_copy) -> None:
    assert start_function(MIGRATE).invoke().ok
    db.add_employees(4)
    run = start_function(MIGRATE, package_dir=package_copy(migration(STEP_1, STEP_2, BROKEN_STEP_3))).invoke()
    assert run.error_type == "MigrationError", run.error
    assert f"migration {NAME}, statement 3 of 3 failed" in run.error_message
    assert "no_such_column" in run.error_message
    assert "title" in columns(db, "employees"), "statements 1 and 2 stay applied: MySQL commits DDL at once"
    assert progress(db) == [(2, 1, "applied"), (2, 2, "applied")], "statement 3 was not applied, 1 and 2 were"


def test_a_fixed_migration_resumes_after_its_applied_statements(start_function, empty_db, package_copy):
    db = empty_db
    fail_at_step_3(start_function, db, package_copy)

    fixed = start_function(MIGRATE, package_dir=package_copy(migration(STEP_1, STEP_2, FIXED_STEP_3)))
    run = fixed.invoke()
    assert run.ok, run.error
    assert run.payload["applied"] == [NAME]
    (resumed,) = fixed.events("migration_resumed", run.request_id)
    assert (resumed["migration"], resumed["from_statement"]) == (NAME, 3)
    assert {"title", "grade"} <= set(columns(db, "employees"))
    assert [row[:2] for row in history(db)] == [(1, "0001_employees.sql"), (2, NAME)]
    assert progress(db) == []
    assert db.employee_count() == 4


def test_a_migration_changed_in_its_applied_part_is_refused_with_a_repair(start_function, empty_db,
                                                                           package_copy):
    db = empty_db
    fail_at_step_3(start_function, db, package_copy)

    changed_step_1 = STEP_1.replace("VARCHAR(100)", "VARCHAR(120)")
    package = package_copy(migration(changed_step_1, STEP_2, FIXED_STEP_3))
    run = start_function(MIGRATE, package_dir=package).invoke()
    assert run.error_type == "MigrationError", run.error
    message = run.error_message
    assert f"migration {NAME} was partly applied: statements 1 to 2 of it" in message
    assert re.search(r"applied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", message), "when they were applied"
    assert "statement 1 is no longer the one applied" in message
    assert "DELETE FROM schema_history_statements WHERE version = 2" in message, "how to repair"
    assert "grade" not in columns(db, "employees"), "nothing runs past a refusal"
    assert [row[0] for row in history(db)] == [1]


DEPARTMENTS = "CREATE TABLE departments (id INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL)"
BACKFILL = "UPDATE employees SET department = 'unassigned' WHERE department IS NULL"
DEPARTMENTS_INDEX = "CREATE INDEX ix_departments_name ON departments (name)"


def unassigned(db) -> int:
    return int(db.query("SELECT COUNT(*) FROM employees WHERE department = 'unassigned'")[0][0])


def test_a_migration_killed_mid_statement_is_refused_until_repaired(start_function, empty_db, package_copy):
    """Lambda ends the run (here: the runtime process is killed) while statement 2 waits on a
    row lock; the server finishes statement 2 afterwards. The next run cannot know it did: it
    refuses, says which statement and how to record what happened, and resumes once that is done."""
    db = empty_db
    assert start_function(MIGRATE).invoke().ok
    db.execute("INSERT INTO employees (name) VALUES ('no department')")
    package = package_copy(migration(DEPARTMENTS, BACKFILL, DEPARTMENTS_INDEX))
    holder = db.admin(DB_NAME)
    try:
        with holder.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT * FROM employees WHERE department IS NULL FOR UPDATE")  # statement 2 waits
        killed_run = start_function(MIGRATE, package_dir=package)
        running = Background(killed_run, None)
        wait_until(lambda: bool(running_statements(db, "UPDATE employees SET department%", DB_USER)),
                   "statement 2 runs")
        pid = killed_run.local.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = running.result()
    finally:
        holder.rollback()
        holder.close()  # statement 2, still waiting on the server, now runs
    assert killed.status == "runtime_exit", killed.error
    wait_until(lambda: not running_statements(db, "UPDATE employees%", DB_USER), "statement 2 has ended")
    assert unassigned(db) == 1, "the server finished statement 2 after the run was killed"
    assert progress(db) == [(2, 1, "applied"), (2, 2, "running")]

    refused = start_function(MIGRATE, package_dir=package).invoke()
    assert refused.error_type == "MigrationError", refused.error
    message = refused.error_message
    assert f"statement 2 of {NAME}" in message and "outcome unknown" in message
    assert re.search(r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", message)
    repair = "UPDATE schema_history_statements SET state = 'applied' WHERE version = 2 AND statement = 2"
    assert repair in message and "DELETE FROM schema_history_statements WHERE version = 2 AND statement = 2" in message
    assert [row[0] for row in history(db)] == [1]

    db.execute(repair)  # what the message says to do when statement 2 did take effect
    resumed = start_function(MIGRATE, package_dir=package)
    run = resumed.invoke()
    assert run.ok, run.error
    assert run.payload["applied"] == [NAME]
    (event,) = resumed.events("migration_resumed", run.request_id)
    assert event["from_statement"] == 3
    assert [row[:2] for row in history(db)] == [(1, "0001_employees.sql"), (2, NAME)]
    assert progress(db) == [], "a complete migration's progress is in schema_history alone"
    assert unassigned(db) == 1
