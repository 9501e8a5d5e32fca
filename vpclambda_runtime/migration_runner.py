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
* MySQL commits DDL statement by statement, so a migration that fails halfway stays half
  applied. Its progress is recorded per statement in ``schema_history_statements`` (the
  statement's SHA-256, ``running`` before it is sent, ``applied`` once the server has
  answered). A re-run resumes after the last applied statement when the file is unchanged up
  to there, and refuses otherwise, naming what was applied, when, and how to repair. A
  statement whose end was never recorded (the run was killed while it ran, or its outcome is
  unknown) is refused the same way until someone records what it did. Once a migration is
  complete it is recorded in ``schema_history`` and its progress rows are deleted. Keep one
  schema change per file all the same: a file applied in one go is easier to repair.
* Every statement is bounded on the server too (``db_connection``): a statement waiting on a
  lock past the budget fails there, not applied; one running past it is stopped with KILL
  QUERY; so a statement reported as not applied does not land later, and does not keep the
  migration lock from the next run.
* Databases migrated by release 0.1.0 (a ``schema_migrations`` table holding the checksum of
  its ``schema.sql``) have migration 1 recorded as "baselined" instead of applied again.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .budget import Budget
from .contract import MIGRATION_SUFFIX, Migration, parse_migrations, statement_checksum
from .database import execute, query_rows
from .db_connection import NOT_APPLIED, DeadlineConnection, kill_reserve
from .errors import (
    ConfigurationError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    DatabaseUnreachableError,
    HandlerError,
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
PROGRESS_TABLE = "schema_history_statements"
CREATE_PROGRESS = f"""CREATE TABLE IF NOT EXISTS `{PROGRESS_TABLE}` (
    version INT UNSIGNED NOT NULL,
    statement INT UNSIGNED NOT NULL,
    filename VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    started_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at TIMESTAMP(6) NULL,
    PRIMARY KEY (version, statement)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4"""
RUNNING = "running"
APPLIED = "applied"

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
class StatementProgress:
    """One row of ``schema_history_statements``."""

    version: int
    statement: int
    filename: str
    checksum: str
    state: str
    started_at: datetime
    finished_at: datetime | None


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


def _when(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else "at an unrecorded time"


def _statements(count: int) -> str:
    return "statement 1" if count == 1 else f"statements 1 to {count}"


def resume_point(migration: Migration, progress: Sequence[StatementProgress]) -> int:
    """How many statements of a pending migration a run applied before (0: none); refuses when the
    file changed in that part, or when a statement's outcome is unknown."""
    rows = sorted((row for row in progress if row.version == migration.version), key=lambda row: row.statement)
    if not rows:
        return 0
    version, name = migration.version, migration.filename
    unsettled = [row for row in rows if row.state != APPLIED]
    if unsettled:
        row = unsettled[0]
        where = f"version = {version} AND statement = {row.statement}"
        raise MigrationError(
            f"statement {row.statement} of {name} was started {_when(row.started_at)} and its outcome is unknown "
            "(outcome unknown: the run that sent it ended before the database answered, killed at the function's "
            "timeout or cut off from the database, and the server may have applied it after). Check whether it "
            f"took effect, then record what happened: if it did, UPDATE {PROGRESS_TABLE} SET state = 'applied' "
            f"WHERE {where}; if it did not, DELETE FROM {PROGRESS_TABLE} WHERE {where}; then deploy again "
            f"(the run resumes after the last applied statement)"
        )
    applied = len(rows)
    if [row.statement for row in rows] != list(range(1, applied + 1)):
        raise MigrationError(
            f"migration {name} has progress recorded for statements {[row.statement for row in rows]}, which is not "
            f"a run from statement 1: check what is applied, then correct or DELETE FROM {PROGRESS_TABLE} "
            f"WHERE version = {version}"
        )
    for row in rows:
        now = (statement_checksum(migration.statements[row.statement - 1])
               if row.statement <= len(migration.statements) else "missing")
        if now != row.checksum:
            raise MigrationError(
                f"migration {name} was partly applied: {_statements(applied)} of it were applied "
                f"{_when(rows[0].started_at)} to {_when(rows[-1].finished_at)}, but statement {row.statement} is no "
                f"longer the one applied (its SHA-256 was {row.checksum}, it is now {now}). Repair: restore "
                f"{_statements(applied)} as they were applied and change only what follows them; or undo what they "
                f"did by hand, then DELETE FROM {PROGRESS_TABLE} WHERE version = {version}, and deploy again"
            )
    return applied


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
                execute(self.conn, self.settings, phase, CREATE_PROGRESS)
                recorded = self.recorded()
                baselined = self.baseline_legacy(migrations) if not recorded else None
            if baselined is not None:
                recorded = [Recorded(baselined.version, baselined.filename, baselined.checksum, datetime.now())]
            pending = pending_migrations(recorded, migrations)
            progress = self.progress() if pending else []
            for migration in pending:
                self.apply(migration, resume_point(migration, progress))
        finally:
            self.lock_released = self.release_lock()
        current = max([m.version for m in pending] + [r.version for r in recorded], default=0)
        return MigrationReport(applied=tuple(m.filename for m in pending),
                               baselined=(baselined.filename,) if baselined else (), current_version=current)

    # the lock ---------------------------------------------------------------------------

    def acquire_lock(self) -> None:
        with self.budget.phase("database", "lock", cap=self.budget.remaining() * LOCK_SHARE) as phase:
            # GET_LOCK gives up by itself before the statement's own bound (see db_connection).
            wait = round(max(phase.remaining() - kill_reserve(phase.remaining()) - LOCK_ANSWER_S, 0.0), 1)
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
        """Record a migration as done and delete its per-statement progress, in one transaction."""
        with self.budget.phase("database", "history") as phase:
            execute(self.conn, self.settings, phase, "START TRANSACTION")
            try:
                execute(self.conn, self.settings, phase,
                        f"INSERT INTO `{HISTORY_TABLE}` (version, filename, checksum, kind, duration_ms) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        (migration.version, migration.filename, migration.checksum, kind, duration_ms))
                execute(self.conn, self.settings, phase, f"DELETE FROM `{PROGRESS_TABLE}` WHERE version = %s",
                        (migration.version,))
                execute(self.conn, self.settings, phase, "COMMIT")
            except HandlerError:
                if self.conn.open:
                    with contextlib.suppress(Exception):
                        self.conn.rollback()
                raise

    def progress(self) -> list[StatementProgress]:
        with self.budget.phase("database", "history") as phase:
            rows = query_rows(self.conn, self.settings, phase,
                              "SELECT version, statement, filename, checksum, state, started_at, finished_at "
                              f"FROM `{PROGRESS_TABLE}` ORDER BY version, statement")
        return [StatementProgress(int(v), int(n), str(f), str(c), str(s), a, b) for v, n, f, c, s, a, b in rows]

    def statement_started(self, migration: Migration, index: int) -> None:
        with self.budget.phase("database", "history") as phase:
            execute(self.conn, self.settings, phase,
                    f"INSERT INTO `{PROGRESS_TABLE}` (version, statement, filename, checksum, state) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (migration.version, index, migration.filename,
                     statement_checksum(migration.statements[index - 1]), RUNNING))

    def statement_applied(self, migration: Migration, index: int) -> None:
        with self.budget.phase("database", "history") as phase:
            execute(self.conn, self.settings, phase,
                    f"UPDATE `{PROGRESS_TABLE}` SET state = %s, finished_at = CURRENT_TIMESTAMP(6) "
                    "WHERE version = %s AND statement = %s", (APPLIED, migration.version, index))

    def statement_not_applied(self, migration: Migration, index: int) -> bool:
        """Forget a statement the server did not apply; False when that cannot be recorded."""
        try:
            with self.budget.cleanup("database", "history") as phase:
                execute(self.conn, self.settings, phase,
                        f"DELETE FROM `{PROGRESS_TABLE}` WHERE version = %s AND statement = %s",
                        (migration.version, index))
        except HandlerError:
            return False
        return True

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

    def apply(self, migration: Migration, done: int = 0) -> None:
        """Apply a migration's statements after the first ``done`` (applied by an earlier run)."""
        started = time.monotonic()
        total = len(migration.statements)
        if done:
            get_logger().info("migration resumed", extra={
                "event": "migration_resumed", "migration": migration.filename, "version": migration.version,
                "from_statement": done + 1, "statements": total})
        for index in range(done + 1, total + 1):
            statement = migration.statements[index - 1]
            where = f"migration {migration.filename}, statement {index} of {total}"
            before = (f"{_statements(index - 1)} of it stay applied and recorded (MySQL does not roll back DDL)"
                      if index > 1 else "nothing of it was applied")
            self.statement_started(migration, index)
            with self.budget.phase("database", "migrate", reserve=RECORD_RESERVE_S) as phase:
                try:
                    # A schema change may take long without a byte on the wire: the budget bounds it.
                    execute(self.conn, self.settings, phase, statement, wait_cap=phase.remaining())
                except DatabaseQueryError as exc:
                    settled = self._not_applied(migration, index)
                    raise MigrationError(
                        f"{where} failed: {exc}; it was not applied, {before}; fix statement {index} (and what "
                        f"follows it) and deploy again: the run resumes at statement {index}{settled}") from exc
                except (DatabaseTimeoutError, DatabaseUnreachableError) as exc:
                    if exc.outcome == NOT_APPLIED:
                        settled = self._not_applied(migration, index)
                        note = f"{before}; the next run resumes at statement {index}{settled}"
                    else:
                        note = (f"{before}; statement {index} stays recorded as started: the next run asks to "
                                "settle its outcome first")
                    raise type(exc)(f"{exc} ({where}; {note})", outcome=exc.outcome) from exc
            self.statement_applied(migration, index)
        duration_ms = round((time.monotonic() - started) * 1000)
        self.record(migration, "applied", duration_ms)
        get_logger().info("migration applied", extra={
            "event": "migration_applied", "migration": migration.filename, "version": migration.version,
            "statements": total, "resumed_after": done, "duration_ms": duration_ms})

    def _not_applied(self, migration: Migration, index: int) -> str:
        if self.conn.open and self.statement_not_applied(migration, index):
            return ""
        where = f"version = {migration.version} AND statement = {index}"
        return (f" (it stays recorded as started, the connection being lost: record that it was not applied with "
                f"DELETE FROM {PROGRESS_TABLE} WHERE {where})")
