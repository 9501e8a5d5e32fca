"""Lambda entry point ``migrate.handler``: apply ``schema.sql`` from inside the VPC.

Invoked once per deployment (and again whenever the schema changes). It uses the same
secret, TLS verification and connection code as the job, so a successful migration also
proves the function's path to the database. Running it any number of times is safe: the
statements are idempotent and the applied schema's SHA-256 is recorded in
``schema_migrations``.

Returns ``{"status": "applied" | "unchanged", "schema_sha256": ..., ...}``: "applied" when
this run recorded a new schema checksum or had to create the ``employees`` table.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from database import EMPLOYEES_TABLE, execute, execute_statements, query_scalar, split_statements
from errors import DatabaseQueryError, DatabaseUnreachableError
from logs import bind_request, get_logger, logged_failure
from runtime import get_runtime

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.sql"
MIGRATIONS_TABLE = "schema_migrations"

_TABLE_EXISTS = (
    "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
)


def handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    request_id = bind_request(context)
    log = get_logger()
    schema = SCHEMA_PATH.read_bytes()
    checksum = hashlib.sha256(schema).hexdigest()
    statements = split_statements(schema.decode("utf-8"))
    with logged_failure(log, "schema migration failed", "migration_failed"):
        rt = get_runtime()
        settings = rt.settings
        conn = rt.db.acquire()
        try:
            existed = bool(query_scalar(conn, settings, _TABLE_EXISTS, (EMPLOYEES_TABLE,)))
            execute_statements(conn, settings, statements)
            if not query_scalar(conn, settings, _TABLE_EXISTS, (EMPLOYEES_TABLE,)):
                raise DatabaseQueryError(f"the schema ran but table `{EMPLOYEES_TABLE}` still does not exist")
            newly_recorded = execute(
                conn, settings, f"INSERT IGNORE INTO `{MIGRATIONS_TABLE}` (checksum) VALUES (%s)", (checksum,)
            )
        except (DatabaseUnreachableError, DatabaseQueryError):
            rt.db.discard()
            raise
    result = {
        "status": "applied" if newly_recorded or not existed else "unchanged",
        "schema_sha256": checksum,
        "statements": len(statements),
        "database": settings.db_name,
        "employees_table_created": not existed,
        "request_id": request_id,
    }
    log.info(
        "schema migration done",
        extra={"event": "migration_done", **result, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return result
