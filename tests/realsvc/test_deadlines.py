"""Deadlines, not per-read timeouts: a server that keeps sending, too slowly to finish, and a job
that keeps reading, too slowly to finish, both end typed before the function's timeout; and
what a failed read or name look-up leaves behind (a traceback at garbage collection, a thread
per attempt) is gone."""

from __future__ import annotations

import json

from components.local.services import APP_USER

from .conftest import Background, wait_until
from .job_cases import UNANSWERED_HOST
from .stand_ins import TrickleProxy
from .test_time_budget import assert_failed_by_itself

TIMEOUT_S = 6.0


def no_stray_output(fn) -> None:
    """Everything the function printed is a JSON line or a line of the Lambda platform's."""
    output = fn.output()
    assert "Exception ignored" not in output, output[-3000:]
    assert "Traceback (most recent call last)" not in output, output[-3000:]
    for line in output.splitlines():
        if line.strip() and "Task timed out" not in line:
            json.loads(line)


def test_a_server_that_trickles_its_greeting_ends_the_handshake_by_its_deadline(start_function, employees, db,
                                                                               margin_for):
    """One byte every 0.2 s: each read gets a byte long before any per-read timeout."""
    employees(1)
    with TrickleProxy(db.port, delay_s=0.2) as proxy, db.reached_through(proxy.port):
        fn = start_function(env={"DB_PORT": str(proxy.port)}, timeout_s=TIMEOUT_S)
        run = fn.invoke()
        assert proxy.trickled.is_set()
    assert_failed_by_itself(fn, run, TIMEOUT_S, margin_for(TIMEOUT_S), "DatabaseTimeoutError", "database",
                            "handshake")
    assert "did not complete the handshake" in run.error_message


def test_a_result_that_trickles_ends_the_read_by_its_deadline(start_function, employees, db, margin_for):
    """The handshake and the first rows arrive at full speed, then a byte every 0.1 s."""
    employees(20_000)
    with TrickleProxy(db.port, delay_s=0.1, fast_bytes=256 * 1024) as proxy, db.reached_through(proxy.port):
        fn = start_function(env={"DB_PORT": str(proxy.port)}, timeout_s=TIMEOUT_S)
        run = fn.invoke()
        assert proxy.trickled.is_set()
    assert_failed_by_itself(fn, run, TIMEOUT_S, margin_for(TIMEOUT_S), "DatabaseTimeoutError", "database", "query")
    assert "while reading `employees`, after" in run.error_message
    no_stray_output(fn)


def test_a_slow_consumer_of_a_stream_ends_by_the_budget(start_cases, employees, margin_for):
    """Every row is already at hand (no wait on the network at all): the budget is checked
    between batches."""
    employees(1000)
    fn = start_cases(timeout_s=TIMEOUT_S)
    run = fn.invoke({"case": "slow_consumer", "batch_rows": 50, "sleep_s": 0.5})
    assert_failed_by_itself(fn, run, TIMEOUT_S, margin_for(TIMEOUT_S), "DatabaseTimeoutError", "database", "query")
    assert "time budget" in run.error_message and "rows" in run.error_message
    back = fn.invoke({"case": "count_stream"})
    assert back.ok, back.error
    assert json.loads(back.payload["body"]) == {"rows": 1000}
    no_stray_output(fn)


def test_a_stream_that_timed_out_prints_nothing_at_garbage_collection(start_function, employees, db):
    """The server freezes mid-stream: the read times out, and the unbuffered result it leaves
    must not try to read itself to the end when it is collected."""
    employees(300_000)
    fn = start_function()
    running = Background(fn, None)
    try:
        wait_until(lambda: bool(db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND "
                                         "INFO LIKE 'SELECT * FROM `employees`%%'", (APP_USER,), database=None)),
                   "the read is running")
        db.freeze()
        run = running.result()
    finally:
        db.thaw()
    assert run.error_type == "DatabaseTimeoutError", run.error
    back = fn.invoke()
    assert back.ok, back.error
    no_stray_output(fn)


def test_a_name_look_up_that_never_answers_leaves_one_thread_not_one_per_attempt(start_cases, employees):
    employees(1)
    fn = start_cases(env={"DB_HOST": UNANSWERED_HOST, "DB_CONNECT_TIMEOUT": "1"})
    for _ in range(3):
        run = fn.invoke({"case": "connect_only", "unanswered_lookups": True})
        assert run.error_type == "DatabaseUnreachableError", run.error
        assert f"cannot resolve the database host '{UNANSWERED_HOST}'" in run.error_message
    threads = fn.invoke({"case": "lookup_threads"})
    assert threads.ok, threads.error
    assert json.loads(threads.payload["body"]) == {"lookup_threads": 1}
