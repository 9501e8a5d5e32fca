"""The deploy-time schema migrations (vpclambda_runtime.migrate.handler), run as Lambda runs them."""

from __future__ import annotations

import hashlib
import json
import threading
import time

from .stand_ins import closed_port

MIGRATION_2 = """-- Migration 2: a job title for each employee.
ALTER TABLE employees ADD COLUMN title VARCHAR(100) NULL AFTER department;
"""
LEGACY_SCHEMA = """CREATE TABLE IF NOT EXISTS schema_migrations (
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (checksum)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4"""
RELEASE_0_1_0_SCHEMA_SHA256 = "482edcbb1b027a88407788e2f82ff57369496c4afcf242babd5100eedff54a43"
LOCK = "migrations:myDatabase"
MIGRATE = "vpclambda_runtime.migrate.handler"


def history(db) -> list[tuple[int, str, str, str]]:
    return [(int(v), f, c, k) for v, f, c, k in
            db.query("SELECT version, filename, checksum, kind FROM schema_history ORDER BY version")]


def columns(db, table: str) -> list[str]:
    rows = db.query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
    return [row[0] for row in rows]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_migrations_apply_once_and_say_what_ran(start_function, empty_db, function_package_dir, stack_model):
    db = empty_db
    first_file = function_package_dir / "migrations" / "0001_employees.sql"
    migration = start_function(MIGRATE)
    first = migration.invoke()
    assert first.ok, first.error
    assert first.payload["status"] == "applied"
    assert first.payload["applied"] == ["0001_employees.sql"]
    assert first.payload["current_version"] == 1
    assert history(db) == [(1, "0001_employees.sql", sha256(first_file), "applied")]
    assert db.table_exists("employees")
    # The digest the deployment re-runs the migration on is the one the function reports.
    invocation_input = json.loads(stack_model.run.one("aws:lambda/invocation:Invocation").inputs["input"])
    assert first.payload["migrations_sha256"] == invocation_input["migrations_sha256"]
    (applied,) = migration.events("migration_applied", first.request_id)
    assert applied["migration"] == "0001_employees.sql" and applied["statements"] == 1

    db.add_employees(12)
    again = migration.invoke()
    assert again.ok, again.error
    assert again.payload["status"] == "unchanged" and again.payload["applied"] == []

    # A new deployment runs it in a fresh execution environment: still nothing changes.
    fresh = start_function(MIGRATE).invoke()
    assert fresh.ok, fresh.error
    assert fresh.payload["status"] == "unchanged"
    assert db.employee_count() == 12, "rows must survive the migration"
    assert len(history(db)) == 1

    job = start_function("app.handler").invoke()
    assert job.ok, job.error
    assert job.body["employees"] == 12


def test_a_new_migration_lands_on_an_existing_table(start_function, empty_db, package_copy):
    db = empty_db
    assert start_function(MIGRATE).invoke().ok
    db.add_employees(12)
    assert "title" not in columns(db, "employees")

    package = package_copy({"migrations/0002_employee_title.sql": MIGRATION_2})
    run = start_function(MIGRATE, package_dir=package).invoke()
    assert run.ok, run.error
    assert run.payload["status"] == "applied"
    assert run.payload["applied"] == ["0002_employee_title.sql"], "only the new file runs"
    assert run.payload["current_version"] == 2
    assert columns(db, "employees") == ["id", "name", "email", "department", "title", "hired_on", "created_at"]
    assert db.employee_count() == 12
    assert [row[:2] for row in history(db)] == [(1, "0001_employees.sql"), (2, "0002_employee_title.sql")]

    job = start_function("app.handler", package_dir=package).invoke()
    assert job.ok, job.error
    assert job.body["employees"] == 12


def test_an_applied_migration_that_changed_is_refused(start_function, empty_db, function_package_dir, tmp_path):
    """The migrations directory is a parameter (MIGRATIONS_DIR): here a copy in which the applied
    file was edited and a new one added."""
    db = empty_db
    assert start_function(MIGRATE).invoke().ok
    before = history(db)

    edited = tmp_path / "edited-migrations"
    edited.mkdir()
    original = (function_package_dir / "migrations" / "0001_employees.sql").read_text()
    (edited / "0001_employees.sql").write_text(original.replace("hired_on DATE NULL,", "hired_on DATETIME NULL,"))
    (edited / "0002_employee_title.sql").write_text(MIGRATION_2)

    migration = start_function(MIGRATE, env={"MIGRATIONS_DIR": str(edited)})
    run = migration.invoke()
    assert run.error_type == "MigrationError", run.error
    assert "migration 0001_employees.sql was changed after it was applied" in run.error_message
    assert before[0][2] in run.error_message, "the applied checksum is named"
    assert history(db) == before, "nothing is applied past a changed file"
    assert "title" not in columns(db, "employees")
    (failed,) = migration.events("migration_failed", run.request_id)
    assert failed["error_type"] == "MigrationError"


def test_a_table_of_another_shape_is_not_passed_over(start_function, empty_db):
    db = empty_db
    db.execute("CREATE TABLE employees (id INT PRIMARY KEY, full_name TEXT)")
    run = start_function(MIGRATE).invoke()
    assert run.error_type == "MigrationError", run.error
    assert "migration 0001_employees.sql, statement 1 of 1 failed" in run.error_message
    assert "already exists" in run.error_message
    assert history(db) == [], "a failed migration is not recorded"
    assert columns(db, "employees") == ["id", "full_name"]


def test_a_database_migrated_by_release_0_1_0_is_baselined(start_function, empty_db, employees, package_copy):
    """0.1.0 applied its schema.sql and recorded its checksum in schema_migrations: migration 1
    is that schema, so it is recorded as baselined, not run again; later migrations apply."""
    employees(5)  # the table as 0.1.0 created it
    db = empty_db
    db.execute(LEGACY_SCHEMA, f"INSERT INTO schema_migrations (checksum) VALUES ('{RELEASE_0_1_0_SCHEMA_SHA256}')")

    run = start_function(MIGRATE).invoke()
    assert run.ok, run.error
    assert run.payload["status"] == "unchanged"
    assert run.payload["baselined"] == ["0001_employees.sql"] and run.payload["applied"] == []
    assert [row[3] for row in history(db)] == ["baselined"]

    package = package_copy({"migrations/0002_employee_title.sql": MIGRATION_2})
    upgraded = start_function(MIGRATE, package_dir=package).invoke()
    assert upgraded.ok, upgraded.error
    assert upgraded.payload["applied"] == ["0002_employee_title.sql"]
    assert "title" in columns(db, "employees")
    assert db.employee_count() == 5


def test_concurrent_runs_apply_each_migration_once(start_function, empty_db, package_copy):
    db = empty_db
    package = package_copy({"migrations/0002_employee_title.sql": MIGRATION_2})
    environments = [start_function(MIGRATE, package_dir=package) for _ in range(2)]
    holder = db.admin()
    results: dict[int, object] = {}
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 5)", (LOCK,))
            assert cur.fetchone()[0] == 1
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, environments[i].invoke()))
                   for i in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT GET_LOCK%%'",
                           database=None)) < 2:
            assert time.monotonic() < deadline, "both runs must be waiting for the lock"
            time.sleep(0.02)
        with holder.cursor() as cur:
            cur.execute("SELECT RELEASE_LOCK(%s)", (LOCK,))
        for thread in threads:
            thread.join(timeout=60)
    finally:
        holder.close()
    runs = [results[0], results[1]]
    assert all(run.ok for run in runs), [run.error for run in runs]
    applied = sorted((run.payload["applied"] for run in runs), key=len)
    assert applied == [[], ["0001_employees.sql", "0002_employee_title.sql"]]
    assert [row[:2] for row in history(db)] == [(1, "0001_employees.sql"), (2, "0002_employee_title.sql")]


def test_a_lock_held_past_the_budget_fails_before_the_timeout(start_function, empty_db, margin_for):
    """The lock wait is bounded like every other wait: at most half the remaining budget."""
    timeout = 8.0
    holder = empty_db.admin()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 5)", (LOCK,))
        migration = start_function(MIGRATE, timeout_s=timeout)
        run = migration.invoke()
    finally:
        holder.close()
    assert run.error_type == "MigrationError", run.error
    assert f"another migration run holds the lock '{LOCK}'" in run.error_message
    assert run.duration_s < timeout - margin_for(timeout)
    (failed,) = migration.events("migration_failed", run.request_id)
    assert (failed["dependency"], failed["phase"]) == ("database", "lock")


def test_migration_reports_an_unreachable_database(start_function, db):
    with closed_port() as port:
        run = start_function(MIGRATE, env={"DB_PORT": str(port)}).invoke()
    assert run.error_type == "DatabaseUnreachableError", run.error
    assert f"localhost:{port}" in run.error_message
    assert run.elapsed < 5
