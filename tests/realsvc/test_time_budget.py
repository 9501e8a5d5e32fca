"""Dependencies that accept and never answer, met as Lambda meets them: each must end the
invocation with its own error type, naming the dependency and the phase, a safety margin
before the function's timeout, and never by Lambda's "Task timed out".

The timeouts are the stack's (30 s) and the function's defaults (DB_READ_TIMEOUT 10 s, two
Secrets Manager or SNS attempts of AWS_READ_TIMEOUT 5 s); ``duration_s`` is measured from
the delivery of the event, the moment Lambda's deadline is counted from. Every wait ends by
the budget's deadline, ``timeout - margin``; the failure must be reported before half the
margin has passed (where the watchdog would speak).
"""

from __future__ import annotations

import json
import textwrap

from components.local.services import DB_NAME
from components.local.wiring import SERVICE_ENDPOINT_VARIABLES

from .stand_ins import Tarpit


def assert_failed_by_itself(fn, run, timeout: float, margin: float, error_type: str, dependency: str,
                            phase: str) -> dict:
    assert run.error_type == error_type, run.error
    assert run.status == "function_error", "the function must fail by itself, not by Lambda's timeout"
    # Waits end by the budget's deadline (timeout - margin); the failure is reported in the first
    # half of the margin, before the watchdog's moment.
    limit = timeout - margin / 2
    assert run.duration_s < limit, f"{run.duration_s:.2f} s; budget {timeout - margin:.2f} s, limit {limit:.2f} s"
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["error_type"], failed["dependency"], failed["phase"]) == (error_type, dependency, phase)
    assert not fn.events("invocation_overrun"), "the watchdog is the last resort, not the way out"
    return failed


def test_database_that_never_sends_its_greeting(start_function, employees, timeout_s, margin_for):
    employees(1)
    with Tarpit() as tarpit:
        fn = start_function(env={"DB_PORT": str(tarpit.port)})
        run = fn.invoke()
        assert tarpit.accepted, "the TCP connection was made: the wait is on the handshake"
    assert_failed_by_itself(fn, run, timeout_s, margin_for(timeout_s), "DatabaseTimeoutError", "database",
                            "handshake")
    assert f"the database at localhost:{tarpit.port} accepted the connection but did not complete the " \
           "handshake" in run.error_message


def test_secrets_manager_that_never_answers(start_with_secret, employees, timeout_s, margin_for):
    employees(1)
    with Tarpit() as tarpit:
        fn = start_with_secret(env={SERVICE_ENDPOINT_VARIABLES["secretsmanager"]: tarpit.url})
        run = fn.invoke()
        attempts = len(tarpit.accepted)
    assert_failed_by_itself(fn, run, timeout_s, margin_for(timeout_s), "SecretError", "secretsmanager", "secret")
    assert "Secrets Manager at" in run.error_message and "did not answer GetSecretValue" in run.error_message
    assert "2 attempts" in run.error_message
    assert attempts == 2, "two attempts in all: the first and one retry"


def test_sns_that_never_answers(start_function, employees, timeout_s, margin_for):
    employees(2)
    with Tarpit() as tarpit:
        fn = start_function(env={SERVICE_ENDPOINT_VARIABLES["sns"]: tarpit.url})
        run = fn.invoke()
        attempts = len(tarpit.accepted)
    assert_failed_by_itself(fn, run, timeout_s, margin_for(timeout_s), "NotificationError", "sns", "publish")
    assert "did not answer Publish" in run.error_message and "2 attempts" in run.error_message
    assert attempts == 2
    assert fn.events("employees_read", run.request_id), "the database part worked before SNS hung"


def test_table_locked_by_another_session(start_function, employees, db, timeout_s, margin_for):
    employees(3)
    fn = start_function()
    holder = db.admin(DB_NAME)
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLES employees WRITE")
        run = fn.invoke()
    finally:
        holder.close()  # releases the table lock
    assert_failed_by_itself(fn, run, timeout_s, margin_for(timeout_s), "DatabaseTimeoutError", "database", "query")
    # The server itself gives up the wait (lock_wait_timeout, set from the budget), before the client would.
    assert "gave up waiting for a lock while reading `employees`, after 0 rows (phase: query" in run.error_message
    assert "Lock wait timeout exceeded" in run.error_message

    back = fn.invoke()
    assert back.ok, back.error
    assert back.body["employees"] == 3
    assert fn.events("db_connection_reused", back.request_id), "the server answered: the connection stays usable"


def test_server_frozen_while_a_warm_connection_is_open(start_function, employees, db, timeout_s, margin_for):
    employees(3)
    fn = start_function()
    assert fn.invoke().ok
    db.freeze()
    try:
        run = fn.invoke()
    finally:
        db.thaw()
    # The ping gets no answer; so does the new connection's handshake (the kernel still accepts).
    (stale,) = fn.events("db_connection_stale", run.request_id)
    assert stale["reason"] == "no answer"
    assert_failed_by_itself(fn, run, timeout_s, margin_for(timeout_s), "DatabaseTimeoutError", "database",
                            "handshake")

    back = fn.invoke()
    assert back.ok, back.error
    assert back.body["employees"] == 3


def test_the_budget_binds_when_the_timeout_is_short(start_function, employees, margin_for):
    """With a 6 s function, the handshake's own 10 s bound is too long: the budget ends it."""
    employees(1)
    timeout, margin = 6.0, margin_for(6.0)
    with Tarpit() as tarpit:
        fn = start_function(env={"DB_PORT": str(tarpit.port)}, timeout_s=timeout)
        run = fn.invoke()
    assert_failed_by_itself(fn, run, timeout, margin, "DatabaseTimeoutError", "database", "handshake")
    assert run.duration_s > timeout - margin - 0.5, "the budget's deadline ended the wait, not the 10 s bound"


HANGING_HANDLER = textwrap.dedent('''
    """A handler that waits on something nothing bounds."""
    import time

    from vpclambda_runtime.budget import Budget
    from vpclambda_runtime.watchdog import watched


    def handler(event, context):
        budget = Budget.for_invocation(context)
        with watched(budget, context.aws_request_id), budget.phase("database", "query"):
            time.sleep(3600)
''')


def test_watchdog_names_the_phase_of_an_unforeseen_hang(start_function, package_copy, margin_for):
    timeout = 4.0
    package = package_copy({"hang.py": HANGING_HANDLER})
    fn = start_function("hang.handler", timeout_s=timeout, package_dir=package)
    run = fn.invoke()
    assert run.status == "timeout", run.error
    (overrun,) = fn.events("invocation_overrun", run.request_id)
    assert overrun["level"] == "ERROR"
    assert (overrun["dependency"], overrun["phase"]) == ("database", "query")
    assert any(frame.startswith("hang.py:") and frame.endswith(" handler") for frame in overrun["where"])
    margin = margin_for(timeout)
    assert 0 < overrun["lambda_remaining_ms"] <= margin * 1000
    assert overrun["budget_ms"] <= (timeout - margin) * 1000
    overrun_line = next(i for i, line in enumerate(run.logs) if "invocation_overrun" in line)
    timed_out_line = next(i for i, line in enumerate(run.logs) if "Task timed out" in line)
    assert overrun_line < timed_out_line, "the line is written before Lambda ends the invocation"


def test_aws_calls_are_sized_to_the_time_left(run_in_package):
    """Two attempts at the configured timeouts while they fit, then one, then one with shorter
    timeouts, then none: the worst case of a call never exceeds what its phase has left."""
    result = run_in_package(
        "import json, types\nfrom vpclambda_runtime import aws_clients\n"
        "cfg = types.SimpleNamespace(aws_connect_timeout=3, aws_read_timeout=5)\n"
        "out = {}\n"
        "for available in (27.0, 17.0, 12.0, 4.0, 0.1):\n"
        "    t = aws_clients.call_timeouts(cfg, available)\n"
        "    out[available] = None if t is None else [t.connect, t.read, t.attempts, t.worst_case]\n"
        "print(json.dumps(out))\n"
    )
    assert result.returncode == 0, result.stderr
    sized = {float(k): v for k, v in json.loads(result.stdout).items()}
    assert sized[27.0] == [3, 5, 2, 17] and sized[17.0] == [3, 5, 2, 17]
    assert sized[12.0] == [3, 5, 1, 8]
    assert sized[4.0][2] == 1 and sized[4.0][3] <= 4.0 and sized[4.0][1] > sized[4.0][0]
    assert sized[0.1] is None
