"""The job's happy path, cold and warm, as Lambda runs it: count, body, notification, logs."""

from __future__ import annotations

import json

from components.local.services import DB_NAME


def test_cold_then_warm_invocation_reuses_one_connection(start_function, employees, db):
    employees(25)
    fn = start_function()

    cold = fn.invoke()
    assert cold.ok, cold.error
    assert cold.cold_start
    pid = fn.local.pid
    assert cold.payload["statusCode"] == 200
    body = cold.body
    assert body["employees"] == 25
    assert body["message_id"]
    assert body["database"] == DB_NAME
    threads_after_cold = db.client_threads()
    assert len(threads_after_cold) == 1, threads_after_cold

    db.add_employees(5)
    warm = fn.invoke()
    assert warm.ok, warm.error
    assert not warm.cold_start and fn.local.pid == pid, "the warm invocation must run in the same process"
    assert warm.body["employees"] == 30, "the warm invocation must read the table afresh (no stale snapshot)"
    assert warm.body["message_id"] != body["message_id"]
    assert db.client_threads() == threads_after_cold, "the warm invocation must reuse the same MySQL connection"

    # What the logs say matches what the server saw: one connect (as the application user, with
    # a token: one token checked by the database), one reuse, no secret read.
    (connected,) = fn.events("db_connected")
    assert connected["thread_id"] in threads_after_cold
    assert connected["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert (connected["user"], connected["auth"]) == ("app", "iam-token")
    (reused,) = fn.events("db_connection_reused", warm.request_id)
    assert reused["thread_id"] == connected["thread_id"]
    assert fn.events("secret_fetched") == []


def test_logs_are_json_lines_with_a_summary_and_no_rows(start_function, employees):
    employees(1500)
    fn = start_function()
    run = fn.invoke()
    assert run.ok, run.error

    records = fn.log_records(run.request_id)
    assert records, fn.output()
    assert all(r["logger"] == "vpclambda_runtime" and r["level"] == "INFO" for r in records)
    assert len(records) < 10, "a summary per invocation, never a line per row"
    (summary,) = [r for r in records if r.get("event") == "employees_read"]
    assert summary["employees"] == 1500
    assert summary["batches"] == 2
    assert "Employee 1" not in fn.output(), "row content must not be logged"
    assert "initial-Passw0rd" not in fn.output(), "the password must never be logged"
    for line in fn.output().splitlines():
        if line.startswith("{"):
            json.loads(line)


def test_lambda_json_log_format_carries_the_fields(start_function, employees, stack_model):
    """With the logging config the stack gives the function, Lambda sets its JSON log format and
    application log level: the runtime's formatter then writes the records, fields included."""
    logging_config = stack_model.job_function.inputs["loggingConfig"]
    assert logging_config["logFormat"] == "JSON"
    employees(3)
    fn = start_function(env={"AWS_LAMBDA_LOG_FORMAT": logging_config["logFormat"],
                             "AWS_LAMBDA_LOG_LEVEL": logging_config["applicationLogLevel"]})
    run = fn.invoke()
    assert run.ok, run.error
    (summary,) = fn.events("employees_read", run.request_id)
    assert summary["employees"] == 3
    assert summary["level"] == "INFO"
    assert "initial-Passw0rd" not in fn.output(), "the password must never be logged"


def test_notification_is_delivered_with_the_count_and_a_default_text(start_function, employees, aws,
                                                                     run_in_package):
    employees(42)
    fn = start_function()
    run = fn.invoke()
    assert run.ok, run.error
    message_id = run.body["message_id"]

    envelope = aws.delivered(message_id)
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == aws.topic_arn
    assert envelope["Subject"] == "employees report: 42 rows"
    # The queue has no protocol key of its own, so SNS delivered the "default" text.
    report = json.loads(envelope["Message"])
    assert report["employees"] == 42
    assert report["kind"] == "employees_report"
    assert report["database"] == DB_NAME
    assert report["table"] == "employees"
    assert report["request_id"] == run.request_id

    # moto does not insist on "default" (real SNS does): check the message the handler builds.
    check = run_in_package(
        "import json, app\n"
        "from vpclambda_runtime import errors, sns\n"
        "report, sentence = app.report(employees=1000000, database='myDatabase', table='employees', request_id='r')\n"
        "m = {'default': json.dumps(report, sort_keys=True), 'email': sentence}\n"
        "encoded = sns.encode_message(m)\n"
        "print(json.dumps({'keys': sorted(m), 'size': len(encoded.encode()), 'default': json.loads(m['default'])}))\n"
        "for bad in ({'email': 'x'}, {'default': 'x' * (256 * 1024)}):\n"
        "    try:\n"
        "        sns.encode_message(bad)\n"
        "    except errors.NotificationError as exc:\n"
        "        print('refused:', exc)\n"
    )
    assert check.returncode == 0, check.stderr
    first, *refusals = check.stdout.splitlines()
    built = json.loads(first)
    assert "default" in built["keys"]
    assert built["size"] < 256 * 1024
    assert built["default"]["employees"] == 1000000
    assert len(refusals) == 2
    assert '"default"' in refusals[0]
    assert "at most 262144" in refusals[1]
