"""Lambda entry point ``vpclambda_runtime.migrate.handler``: apply the schema migrations from inside the VPC.

The component invokes it during ``pulumi up`` (an ``aws.lambda_.Invocation`` re-run whenever
a migration file changes), so the schema is applied where the database is reachable, and a
successful run also proves the function's path to the database. It applies, in version
order and under a lock, every migration file of ``MIGRATIONS_DIR`` (default ``migrations``
in the package) that ``schema_history`` does not record yet (``migration_runner``);
running it again changes nothing. A migration a previous run applied in part is resumed after
its last applied statement, or refused with what to repair (``migration_runner``).

Then it keeps the application user the job logs in as (``app_user``: created identified by
IAM, TLS required, with exactly ``DB_APP_GRANTS`` on the database).

Returns ``{"status": "applied" | "unchanged", "applied": [file, ...], "baselined": [...],
"current_version": n, "migrations_sha256": ..., "app_user": {...}, ...}``: "applied" exactly
when this run applied at least one migration, and ``applied`` names them in the order they ran;
``app_user`` says what was created, granted and revoked (nothing, when it already was right).
"""

from __future__ import annotations

import time
from typing import Any

from .app_user import keep_app_user
from .contract import migrations_sha256
from .errors import HandlerError
from .job import invocation
from .logs import get_logger
from .migration_runner import MigrationRun, load_migrations
from .runtime import get_runtime


def handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    log = get_logger()
    with invocation(context, failure_message="schema migration failed", failure_event="migration_failed") as run:
        rt = get_runtime()
        settings = rt.settings
        migrations = load_migrations(settings.migrations_dir)
        conn = rt.db.acquire(run.budget)
        migration_run = MigrationRun(conn, settings, run.budget)
        try:
            report = migration_run.run(migrations)
            app_user = keep_app_user(conn, settings, run.budget) if settings.app_user is not None else None
        except HandlerError:
            rt.db.discard(conn)  # a migration is rare: start the next one on a fresh session
            raise
        if not migration_run.lock_released:
            rt.db.discard(conn)
    result = {
        "status": "applied" if report.applied else "unchanged",
        "applied": list(report.applied),
        "baselined": list(report.baselined),
        "current_version": report.current_version,
        "migrations": len(migrations),
        "migrations_sha256": migrations_sha256(migrations),
        "database": settings.db_name,
        "app_user": app_user.as_dict() if app_user is not None else None,
        "request_id": run.request_id,
    }
    log.info(
        "schema migration done",
        extra={"event": "migration_done", **result, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return result
