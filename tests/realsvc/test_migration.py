"""The deploy-time schema migration (migrate.handler), run as Lambda runs it."""

from __future__ import annotations

import hashlib

from localrun.services import free_port


def test_migration_applies_once_and_is_idempotent(start_function, db, function_package_dir):
    db.execute("DROP TABLE IF EXISTS employees", "DROP TABLE IF EXISTS schema_migrations")
    checksum = hashlib.sha256((function_package_dir / "schema.sql").read_bytes()).hexdigest()

    migration = start_function("migrate.handler")
    first = migration.invoke()
    assert first.ok, first.error
    assert first.payload["status"] == "applied"
    assert first.payload["schema_sha256"] == checksum
    assert first.payload["employees_table_created"] is True
    assert first.payload["statements"] == 2
    assert db.table_exists("employees")

    db.add_employees(12)
    again = migration.invoke()
    assert again.ok, again.error
    assert again.payload["status"] == "unchanged"
    assert again.payload["schema_sha256"] == checksum
    assert again.payload["employees_table_created"] is False

    # A new deployment runs it in a fresh execution environment: still nothing changes.
    fresh = start_function("migrate.handler").invoke()
    assert fresh.ok, fresh.error
    assert fresh.payload["status"] == "unchanged"
    assert db.employee_count() == 12, "rows must survive the migration"
    assert db.query("SELECT checksum FROM schema_migrations") == [(checksum,)]

    job = start_function("app.handler").invoke()
    assert job.ok, job.error
    assert job.body["employees"] == 12


def test_migration_reports_an_unreachable_database(start_function, db):
    port = free_port()
    run = start_function("migrate.handler", env={"DB_PORT": str(port)}).invoke()
    assert run.error_type == "DatabaseUnreachableError", run.error
    assert f"localhost:{port}" in run.error_message
    assert run.elapsed < 5


def test_migration_recreates_a_table_dropped_by_hand(start_function, employees, db):
    employees(3)
    assert start_function("migrate.handler").invoke().ok
    db.execute("DROP TABLE employees")

    run = start_function("migrate.handler").invoke()
    assert run.ok, run.error
    assert run.payload["status"] == "applied"
    assert run.payload["employees_table_created"] is True
    assert db.table_exists("employees")
