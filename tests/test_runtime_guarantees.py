"""The pure logic behind the runtime library's guarantees (docs/function.md, "What is
guaranteed"), without a database: the server-side bounds a statement gets, which statements
have an outcome, when a partly applied migration resumes or is refused, what a notification
may carry, and what the failure line says. The real-service tests hold the same promises
against MariaDB and moto."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from vpclambda_runtime.budget import Budget
from vpclambda_runtime.contract import Migration, statement_checksum
from vpclambda_runtime.db_connection import is_commit, is_read, kill_reserve, server_bounds_sql
from vpclambda_runtime.errors import DatabaseTimeoutError, MigrationError, NotificationError
from vpclambda_runtime.logs import failure_fields
from vpclambda_runtime.migration_runner import APPLIED, RUNNING, StatementProgress, resume_point
from vpclambda_runtime.sns import check_subject, check_text, to_json

# ------------------------------------------------------------------ server-side bounds


def test_mariadb_gets_only_what_rds_mysql_accepts_too() -> None:
    bounds, sql = server_bounds_sql(20.0, 10.0, mysql=False)
    assert bounds == (9, None)
    assert sql == "SET SESSION lock_wait_timeout = 9, innodb_lock_wait_timeout = 9"
    assert "max_statement_time" not in sql and "SET STATEMENT" not in sql


def test_mysql_also_bounds_reads_with_max_execution_time() -> None:
    bounds, sql = server_bounds_sql(20.7, 10.0, mysql=True)
    assert bounds == (9, 20_000)
    assert sql.endswith(", max_execution_time = 20000")


@pytest.mark.parametrize(("left", "cap", "lock_s"), [
    (9.0, 10.0, 8),     # a second under the statement's bound: the server gives up first
    (9.4, 10.0, 9),
    (30.0, 10.0, 9),    # never longer than the longest wait for one answer
    (1.5, 10.0, 1),
    (0.2, 10.0, 1),     # at least 1 s, what both servers accept
    (-3.0, 10.0, 1),
])
def test_lock_waits_end_before_the_statement_s_deadline(left: float, cap: float, lock_s: int) -> None:
    assert server_bounds_sql(left, cap, mysql=False)[0][0] == lock_s


def test_a_statement_is_stopped_at_most_1_5_s_and_a_quarter_of_its_phase_before_its_deadline() -> None:
    assert kill_reserve(30.0) == 1.5
    assert kill_reserve(2.0) == 0.5
    assert kill_reserve(-1.0) == 0.0


@pytest.mark.parametrize(("sql", "read", "commit"), [
    ("SELECT * FROM employees", True, False),
    ("  select 1", True, False),
    ("(SELECT 1) UNION (SELECT 2)", True, False),
    ("SHOW SESSION STATUS LIKE 'Ssl_version'", True, False),
    ("UPDATE employees SET name = 'x'", False, False),
    ("INSERT INTO t SELECT * FROM u", False, False),
    ("COMMIT", False, True),
    ("commit work", False, True),
    ("START TRANSACTION", False, False),
])
def test_which_statements_have_an_outcome(sql: str, read: bool, commit: bool) -> None:
    assert (is_read(sql), is_commit(sql)) == (read, commit)


# ------------------------------------------------------------------ partly applied migrations

STATEMENTS = ("ALTER TABLE t ADD COLUMN a INT", "CREATE INDEX ix_a ON t (a)", "ALTER TABLE t ADD COLUMN b INT")
MIGRATION = Migration(2, "0002_a_and_b.sql", "0" * 64, STATEMENTS)
WHEN = datetime(2026, 11, 30, 12, 0, 0)


def row(statement: int, state: str = APPLIED, text: str | None = None) -> StatementProgress:
    checksum = statement_checksum(text if text is not None else STATEMENTS[statement - 1])
    finished = WHEN if state == APPLIED else None
    return StatementProgress(2, statement, MIGRATION.filename, checksum, state, WHEN, finished)


def test_a_migration_without_progress_starts_at_its_first_statement() -> None:
    assert resume_point(MIGRATION, []) == 0


def test_a_partly_applied_migration_resumes_after_its_last_applied_statement() -> None:
    assert resume_point(MIGRATION, [row(1), row(2)]) == 2


def test_a_migration_changed_in_its_applied_part_is_refused() -> None:
    with pytest.raises(MigrationError) as refused:
        resume_point(MIGRATION, [row(1), row(2, text="CREATE INDEX ix_a ON t (a, b)")])
    message = str(refused.value)
    assert "0002_a_and_b.sql was partly applied: statements 1 to 2 of it were applied 2026-11-30 12:00:00" in message
    assert "statement 2 is no longer the one applied" in message
    assert "DELETE FROM schema_history_statements WHERE version = 2" in message


def test_a_statement_whose_end_was_never_recorded_is_refused_with_both_repairs() -> None:
    with pytest.raises(MigrationError) as refused:
        resume_point(MIGRATION, [row(1), row(2, RUNNING)])
    message = str(refused.value)
    assert "statement 2 of 0002_a_and_b.sql was started 2026-11-30 12:00:00" in message
    assert "outcome unknown" in message
    assert "UPDATE schema_history_statements SET state = 'applied' WHERE version = 2 AND statement = 2" in message
    assert "DELETE FROM schema_history_statements WHERE version = 2 AND statement = 2" in message


def test_progress_with_a_gap_is_refused() -> None:
    with pytest.raises(MigrationError, match=r"progress recorded for statements \[1, 3\]"):
        resume_point(MIGRATION, [row(1), row(3)])


def test_progress_of_another_migration_is_not_this_one_s() -> None:
    other = StatementProgress(3, 1, "0003_c.sql", "f" * 64, RUNNING, WHEN, None)
    assert resume_point(MIGRATION, [other]) == 0


def test_a_file_shorter_than_what_was_applied_is_refused() -> None:
    shorter = Migration(2, MIGRATION.filename, "1" * 64, STATEMENTS[:1])
    with pytest.raises(MigrationError, match="statement 2 is no longer the one applied"):
        resume_point(shorter, [row(1), row(2)])


# ------------------------------------------------------------------ notifications


def test_row_values_are_written_as_documented() -> None:
    written = json.loads(to_json({
        "amount": Decimal("1234.50"), "day": date(2020, 1, 2), "at": datetime(2020, 1, 2, 3, 4, 5),
        "clock": time(6, 7, 8), "lasted": timedelta(minutes=1, seconds=30), "raw": b"\x00\xffab",
        "nested": [{"amount": Decimal("-0.001")}],
    }))
    assert written == {"amount": "1234.50", "day": "2020-01-02", "at": "2020-01-02T03:04:05", "clock": "06:07:08",
                       "lasted": 90.0, "raw": "AP9hYg==", "nested": [{"amount": "-0.001"}]}


@pytest.mark.parametrize(("message", "expected"), [
    ({"tags": {"a"}}, "a value of type set is not JSON serialisable"),
    ({"when": object()}, "a value of type object is not JSON serialisable"),
    ({"ratio": float("inf")}, "NaN and infinities are not JSON"),
    ({1: "a", "b": 2}, "not supported between"),
])
def test_what_json_cannot_carry_is_a_notification_error(message: dict, expected: str) -> None:
    with pytest.raises(NotificationError, match=expected):
        to_json(message)


def test_text_that_is_not_valid_unicode_is_refused() -> None:
    with pytest.raises(NotificationError, match="not valid Unicode text: surrogates not allowed at position 4"):
        check_text("half\ud800", "subject")


@pytest.mark.parametrize("subject", ["s" * 100, "Rapport : 42 employés", "employees report: 42 rows"])
def test_subjects_sns_accepts(subject: str) -> None:
    check_subject(subject)


@pytest.mark.parametrize(("subject", "expected"), [
    ("s" * 101, "the subject is 101 characters; SNS accepts at most 100"),
    ("two\nlines", "control character U+000A at position 3"),
    ("carriage\rreturn", "control character U+000D"),
    ("bell\x07", "control character U+0007"),
    ("delete\x7f", "control character U+007F"),
])
def test_subjects_sns_refuses(subject: str, expected: str) -> None:
    with pytest.raises(NotificationError, match=re.escape(expected)):
        check_subject(subject)


# ------------------------------------------------------------------ the failure line


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_untyped_exception_is_labelled_with_its_class_and_innermost_phase() -> None:
    budget = Budget(30.0, clock=Clock())
    with pytest.raises(KeyError) as raised, budget.phase("database", "query"), budget.phase("database", "ping"):
        raise KeyError("id")
    fields = failure_fields(raised.value, "invocation_failed", budget.phase_of)
    assert fields == {"event": "invocation_failed", "error_type": "JobError", "error_class": "KeyError",
                      "error_message": "'id'", "dependency": "database", "phase": "ping"}


def test_an_untyped_exception_outside_every_phase_is_the_job_s() -> None:
    budget = Budget(30.0, clock=Clock())
    fields = failure_fields(ValueError("bad input"), "invocation_failed", budget.phase_of)
    assert (fields["error_type"], fields["error_class"], fields["dependency"], fields["phase"]) == (
        "JobError", "ValueError", None, "job")


def test_a_typed_error_keeps_its_type_phase_and_outcome() -> None:
    budget = Budget(30.0, clock=Clock())
    with pytest.raises(DatabaseTimeoutError) as raised, budget.phase("database", "query"):
        raise DatabaseTimeoutError("no answer; outcome unknown", outcome="unknown")
    fields = failure_fields(raised.value, "invocation_failed", budget.phase_of)
    assert fields == {"event": "invocation_failed", "error_type": "DatabaseTimeoutError",
                      "error_class": "DatabaseTimeoutError", "error_message": "no answer; outcome unknown",
                      "dependency": "database", "phase": "query", "outcome": "unknown"}


def test_clean_up_after_the_job_may_use_a_quarter_of_the_margin_and_no_more() -> None:
    clock = Clock()
    budget = Budget(30.0, clock=clock)  # margin 3 s: the budget ends at 127
    clock.now = 127.5  # the budget is spent
    with budget.cleanup("database", "rollback") as phase:
        assert phase.deadline == 127.75
    clock.now = 110.0
    with budget.cleanup("database", "rollback") as phase:
        assert phase.deadline == 111.0
