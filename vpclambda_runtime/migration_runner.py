"""Versioned schema migrations: ordered SQL files, each applied once and recorded with its checksum.

* The files are ``<version>_<description>.sql`` in one directory (``MIGRATIONS_DIR``, by
  default ``migrations`` in the package): a positive integer version, unique, applied in
  ascending order, for example ``0001_employees.sql``, ``0002_employee_title.sql``.
* Each applied file is recorded in ``schema_history`` with its version, name and SHA-256.
  A recorded file whose content or name changed since is refused with an error naming it;
  so is a recorded version the directory no longer has (an older package against a newer
  schema) and a new file numbered below one already applied.
* One run at a time: the run holds the MySQL named lock ``migrations:<database>``
  (``GET_LOCK``), waiting at most half of what is left of the invocation's budget. The
  server releases it when the session ends, so a run that Lambda kills cannot leave it behind.
* MySQL commits DDL statement by statement: a migration that fails halfway is not undone
  and is not recorded. Keep one schema change per file.
* Databases migrated by release 0.1.0 (a ``schema_migrations`` table holding the checksum of
  its ``schema.sql``) have migration 1 recorded as "baselined" instead of applied again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .budget import Budget
from .contract import MIGRATION_SUFFIX, Migration, parse_migrations
from .database import execute, query_rows
from .db_connection import DeadlineConnection
from .errors import (
    ConfigurationError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    DatabaseUnreachableError,
    MigrationError,
)
from .logs import get_logger
from .settings import Settings

HISTORY_TABLE = "schema_history"
CREATE_HISTORY = f"""CREATE TABLE IF NOT EXISTS `{HISTORY_TABLE}` (
    version INT UNSIGNED NOT NULL,
    filename VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    duration_ms INT UNSIGNED NOT NULL,
    applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4"""

LEGACY_TABLE = "schema_migrations"
EMPLOYEES_TABLE = "employees"
"""The table release 0.1.0's schema created (the built-in job's)."""
LEGACY_SCHEMA_SHA256 = "482edcbb1b027a88407788e2f82ff57369496c4afcf242babd5100eedff54a43"
"""SHA-256 of release 0.1.0's schema.sql, which its migration recorded in ``schema_migrations``."""
LEGACY_MIGRATION_SHA256 = "4373c7f05e164cbdd1aab66b0aaffa1b95dbbc41823607556c366fda59c1932f"
"""SHA-256 of ``0001_employees.sql``: the table 0.1.0's schema.sql created."""

LOCK_SHARE = 0.5
"""The share of the remaining budget a run waits for the lock."""
LOCK_ANSWER_S = 1.0
"""GET_LOCK gives up this long before the lock phase's deadline, so its answer arrives in time."""
RECORD_RESERVE_S = 1.0
"""Time a statement leaves in the budget for recording its migration."""


@dataclass(frozen=True)
class Recorded:
    version: int
    filename: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationReport:
    applied: tuple[str, ...]
    baselined: tuple[str, ...]
    current_version: int


def load_migrations(directory: Path) -> list[Migration]:
    """The migration files of ``directory`` in version order; refuses anything ambiguous
    (``contract.parse_migrations``, the rule the component's preview applies too)."""
    if not directory.is_dir():
        raise ConfigurationError(f"the migrations directory {directory} does not exist (MIGRATIONS_DIR)")
    return parse_migrations(((path.name, path.read_bytes()) for path in directory.glob(f"*{MIGRATION_SUFFIX}")),
                            str(directory))


def lock_name(database: str) -> str:
    name = f"migrations:{database}"
    # MySQL refuses lock names over 64 characters.
    return name if len(name) <= 64 else f"migrations:{hashlib.sha256(database.encode()).hexdigest()[:40]}"


def pending_migrations(recorded: Sequence[Recorded], migrations: Sequence[Migration]) -> list[Migration]:
    """What is left to apply, after checking the history against the files."""
    by_version = {m.version: m for m in migrations}
    for row in recorded:
        migration = by_version.get(row.version)
        when = row.applied_at.isoformat(sep=" ", timespec="seconds")
        if migration is None:
            raise MigrationError(
                f"the database has migration {row.filename} (applied {when}) but this package has no migration "
                f"{row.version}: the package is older than the database's schema"
            )
        if migration.filename != row.filename:
            raise MigrationError(
                f"migration {row.version} was applied as {row.filename} ({when}) but is now named "
                f"{migration.filename}; restore its name"
            )
        if migration.checksum != row.checksum:
            raise MigrationError(
                f"migration {migration.filename} was changed after it was applied ({when}): its SHA-256 was "
                f"{row.checksum}, it is now {migration.checksum}; restore the applied file and put the change "
                "in a new migration with a higher version"
            )
    done = {row.version for row in recorded}
    latest = max(done, default=0)
    pending = [m for m in migrations if m.version not in done]
    below = [m.filename for m in pending if m.version < latest]
    if below:
        raise MigrationError(
            f"{', '.join(below)} not applied but migration {latest} is: a new migration needs a version above "
            "the latest applied one; renumber it"
        )
    return pending


class MigrationRun:
    """One run of the migrations on one connection, within one invocation's budget."""

    def __init__(self, conn: DeadlineConnection, settings: Settings, budget: Budget) -> None:
        self.conn = conn
        self.settings = settings
        self.budget = budget
        self.lock = lock_name(settings.db_name)
        self.lock_released = True
        """False when releasing the lock failed: the caller closes the connection, which releases it."""

    def run(self, migrations: Sequence[Migration]) -> MigrationReport:
        self.acquire_lock()
        try:
            with self.budget.phase("database", "history") as phase:
                execute(self.conn, self.settings, phase, CREATE_HISTORY)
                recorded = self.recorded()
                baselined = self.baseline_legacy(migrations) if not recorded else None
            if baselined is not None:
                recorded = [Recorded(baselined.version, baselined.filename, baselined.checksum, datetime.now())]
            pending = pending_migrations(recorded, migrations)
            for migration in pending:
                self.apply(migration)
        finally:
            self.lock_released = self.release_lock()
        current = max([m.version for m in pending] + [r.version for r in recorded], default=0)
        return MigrationReport(applied=tuple(m.filename for m in pending),
                               baselined=(baselined.filename,) if baselined else (), current_version=current)

    # the lock ---------------------------------------------------------------------------

    def acquire_lock(self) -> None:
        with self.budget.phase("database", "lock", cap=self.budget.remaining() * LOCK_SHARE) as phase:
            wait = round(max(phase.remaining() - LOCK_ANSWER_S, 0.0), 1)
            rows = query_rows(self.conn, self.settings, phase, "SELECT GET_LOCK(%s, %s)", (self.lock, wait),
                              wait_cap=phase.remaining())
            if not rows or rows[0][0] != 1:
                raise MigrationError(
                    f"another migration run holds the lock {self.lock!r} (waited {phase.elapsed():.1f} s); "
                    "the server releases it when that run ends or its connection closes"
                )

    def release_lock(self) -> bool:
        """Release the lock; False when that failed (closing the connection releases it then)."""
        try:
            with self.budget.phase("database", "unlock", cap=2.0) as phase:
                query_rows(self.conn, self.settings, phase, "SELECT RELEASE_LOCK(%s)", (self.lock,))
        except (DatabaseUnreachableError, DatabaseTimeoutError, DatabaseQueryError) as exc:
            get_logger().warning("migration lock not released; the connection will be closed",
                                 extra={"event": "migration_lock_release_failed", "error": str(exc)})
            return False
        return True

    # the history ------------------------------------------------------------------------

    def recorded(self) -> list[Recorded]:
        with self.budget.phase("database", "history") as phase:
            rows = query_rows(self.conn, self.settings, phase,
                              f"SELECT version, filename, checksum, applied_at FROM `{HISTORY_TABLE}` ORDER BY version")
        return [Recorded(int(v), str(f), str(c), a) for v, f, c, a in rows]

    def record(self, migration: Migration, kind: str, duration_ms: int) -> None:
        with self.budget.phase("database", "history") as phase:
            execute(self.conn, self.settings, phase,
                    f"INSERT INTO `{HISTORY_TABLE}` (version, filename, checksum, kind, duration_ms) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (migration.version, migration.filename, migration.checksum, kind, duration_ms))

    def table_exists(self, table: str) -> bool:
        with self.budget.phase("database", "history") as phase:
            rows = query_rows(self.conn, self.settings, phase,
                              "SELECT COUNT(*) FROM information_schema.TABLES "
                              "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,))
        return bool(rows and rows[0][0])

    def baseline_legacy(self, migrations: Sequence[Migration]) -> Migration | None:
        """Record migration 1 without running it when release 0.1.0 already created its table."""
        first = migrations[0]
        if (first.version, first.checksum) != (1, LEGACY_MIGRATION_SHA256):
            return None
        if not (self.table_exists(LEGACY_TABLE) and self.table_exists(EMPLOYEES_TABLE)):
            return None
        with self.budget.phase("database", "history") as phase:
            rows = query_rows(self.conn, self.settings, phase, f"SELECT checksum FROM `{LEGACY_TABLE}`")
        if LEGACY_SCHEMA_SHA256 not in {row[0] for row in rows}:
            return None
        self.record(first, "baselined", 0)
        get_logger().info("migration baselined", extra={
            "event": "migration_baselined", "migration": first.filename,
            "reason": f"`{EMPLOYEES_TABLE}` was created by release 0.1.0's schema ({LEGACY_TABLE})"})
        return first

    # applying ---------------------------------------------------------------------------

    def apply(self, migration: Migration) -> None:
        started = time.monotonic()
        total = len(migration.statements)
        for index, statement in enumerate(migration.statements, 1):
            where = f"migration {migration.filename}, statement {index} of {total}"
            ran = f"statements 1 to {index - 1} of it ran and stay applied" if index > 1 else "nothing of it ran"
            with self.budget.phase("database", "migrate", reserve=RECORD_RESERVE_S) as phase:
                try:
                    # A schema change may take long without a byte on the wire: the budget bounds it.
                    execute(self.conn, self.settings, phase, statement, wait_cap=phase.remaining())
                except DatabaseQueryError as exc:
                    raise MigrationError(f"{where} failed: {exc}; {ran} (MySQL does not roll back DDL)") from exc
                except (DatabaseTimeoutError, DatabaseUnreachableError) as exc:
                    raise type(exc)(f"{exc} ({where}; {ran})") from exc
        duration_ms = round((time.monotonic() - started) * 1000)
        self.record(migration, "applied", duration_ms)
        get_logger().info("migration applied", extra={
            "event": "migration_applied", "migration": migration.filename, "version": migration.version,
            "statements": total, "duration_ms": duration_ms})
