"""Nothing lost, nothing half-done: writes during a stream, transactions across a lost
connection, transactions a job leaves open, and ``transaction()``, against the real package,
MariaDB with TLS and moto."""

from __future__ import annotations

import json

from .conftest import Background, wait_until


def names(db, *wanted: str) -> list[str]:
    """Which of ``wanted`` are committed in ``employees`` (seen from another session)."""
    rows = db.query("SELECT name FROM employees WHERE name IN %s ORDER BY name", (wanted,))
    return [row[0] for row in rows]


def failure_line(fn, run) -> dict:
    (failed,) = fn.events("invocation_failed", run.request_id)
    return failed


# ------------------------------------------------------------------ a write during a stream


def test_a_write_during_a_stream_does_not_cut_the_stream_short(start_cases, employees, db):
    """Stream 5,000 rows and mark each batch of 100 as read: every row is read and marked."""
    employees(5000)
    fn = start_cases()
    run = fn.invoke({"case": "mark_while_streaming", "batch_rows": 100})
    assert run.ok, run.error
    assert json.loads(run.payload["body"]) == {"rows": 5000}
    assert db.query("SELECT COUNT(*) FROM employees WHERE department = 'read'")[0][0] == 5000
    assert "left incomplete" not in fn.output()
    # The stream kept its connection; the writes had one of their own; one is kept for the next invocation.
    (connected_first, connected_second) = fn.events("db_connected", run.request_id)
    wait_until(lambda: len(db.client_threads()) == 1, "the second connection is closed after the invocation")
    assert db.client_threads() <= {connected_first["thread_id"], connected_second["thread_id"]}


def test_a_statement_on_a_connection_whose_result_is_unread_is_refused(start_cases, employees):
    """PyMySQL would warn "Previous unbuffered result was left incomplete" and silently read
    the rest of the result away: that is an error, typed, never a warning."""
    employees(50)
    fn = start_cases()
    run = fn.invoke({"case": "raw_statement_during_stream"})
    assert run.error_type == "ConnectionBusyError", run.error
    assert "still reading" in run.error_message and "stream" in run.error_message
    assert "left incomplete" not in fn.output()
    assert failure_line(fn, run)["error_type"] == "ConnectionBusyError"

    back = fn.invoke({"case": "count_stream"})
    assert back.ok, back.error
    assert json.loads(back.payload["body"]) == {"rows": 50}


def test_a_write_during_a_stream_inside_a_transaction_is_refused(start_cases, employees, db):
    """Inside a transaction every statement belongs on the transaction's connection, which is
    busy streaming: a connection of its own would write outside the transaction."""
    employees(30)
    fn = start_cases()
    run = fn.invoke({"case": "write_while_streaming_in_transaction"})
    assert run.error_type == "ConnectionBusyError", run.error
    assert "inside a transaction" in run.error_message
    assert db.query("SELECT COUNT(*) FROM employees WHERE department = 'read'")[0][0] == 0
    assert "rolled back" in run.error_message


def test_a_stream_left_early_frees_its_connection(start_cases, employees, db):
    employees(500)
    fn = start_cases()
    run = fn.invoke({"case": "stop_stream_early"})
    assert run.ok, run.error
    assert json.loads(run.payload["body"])["affected"] == 1
    assert "Exception ignored" not in fn.output() and "left incomplete" not in fn.output()
    again = fn.invoke({"case": "count_stream"})
    assert json.loads(again.payload["body"]) == {"rows": 500}


# ------------------------------------------------------------------ a transaction across a lost connection


def test_a_transaction_is_never_carried_over_to_a_new_connection(start_cases, employees, db, pause):
    """START TRANSACTION, a write, the database restarts, a write, COMMIT: the library must not
    reconnect and let the second half commit on its own."""
    employees(0)
    fn = start_cases()
    first, second = "first half", "second half"
    running = Background(fn, {"case": "manual_transaction_across_a_pause", "names": [first, second],
                              **pause.event})
    pause.wait_until_ready()
    db.restart()
    pause.release()
    run = running.result()
    assert names(db, first, second) == [], "neither half may be committed"
    assert run.error_type == "TransactionLostError", run.error
    assert "transaction lost" in run.error_message
    assert "nothing after it committed" in run.error_message
    failed = failure_line(fn, run)
    assert (failed["dependency"], failed["error_type"]) == ("database", "TransactionLostError")

    back = fn.invoke({"case": "insert", "name": "after the loss"})
    assert back.ok, back.error
    assert names(db, "after the loss") == ["after the loss"]


# ------------------------------------------------------------------ a transaction left open


def test_a_failed_invocation_does_not_leave_its_transaction_open(start_cases, employees, db):
    """The failed invocation's transaction must not swallow the next invocation's write."""
    employees(0)
    fn = start_cases()
    failed_run = fn.invoke({"case": "fail_inside_manual_transaction", "name": "written then failed"})
    run = fn.invoke({"case": "insert", "name": "the next invocation's row"})
    assert run.ok, run.error
    assert names(db, "written then failed", "the next invocation's row") == ["the next invocation's row"], \
        "the next invocation's write is committed, the failed one's is not"

    assert failed_run.error_type == "ValueError", failed_run.error
    assert "the job failed after its write" in failed_run.error_message
    assert "rolled back" in failed_run.error_message
    failed = failure_line(fn, failed_run)
    assert (failed["error_type"], failed["error_class"]) == ("JobError", "ValueError")
    assert failed["transaction"] == "rolled back"


def test_a_job_that_returns_with_a_transaction_open_fails(start_cases, employees, db):
    employees(0)
    fn = start_cases()
    run = fn.invoke({"case": "leave_transaction_open", "name": "never committed"})
    assert run.error_type == "TransactionError", run.error
    assert "still open" in run.error_message and "rolled back" in run.error_message
    assert names(db, "never committed") == []
    assert failure_line(fn, run)["transaction"] == "rolled back"

    after = fn.invoke({"case": "insert", "name": "committed"})
    assert after.ok, after.error
    assert names(db, "committed") == ["committed"]


# ------------------------------------------------------------------ transaction()


def test_transaction_commits_on_success(start_cases, employees, db):
    employees(0)
    fn = start_cases()
    run = fn.invoke({"case": "transaction_commits", "names": ["one", "two"]})
    assert run.ok, run.error
    assert json.loads(run.payload["body"]) == {"seen_inside": 2}
    assert names(db, "one", "two") == ["one", "two"]


def test_transaction_rolls_back_on_error(start_cases, employees, db):
    employees(0)
    fn = start_cases()
    run = fn.invoke({"case": "transaction_fails", "name": "undone"})
    assert run.error_type == "RuntimeError", run.error
    assert "the job changed its mind" in run.error_message and "rolled back" in run.error_message
    assert names(db, "undone") == []
    failed = failure_line(fn, run)
    assert (failed["error_class"], failed["transaction"]) == ("RuntimeError", "rolled back")


def test_a_transaction_inside_a_transaction_is_refused(start_cases, employees, db):
    employees(0)
    fn = start_cases()
    run = fn.invoke({"case": "nested_transaction", "name": "nested"})
    assert run.error_type == "TransactionError", run.error
    assert "inside another" in run.error_message
    assert names(db, "nested") == []

