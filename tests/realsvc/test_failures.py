"""What goes wrong in a VPC, reproduced for real: each failure must end the invocation
with its own error type, a message that names the cause, and within seconds."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from components.local.services import APP_USER, DB_PASSWORD, DB_USER
from components.local.wiring import SERVICE_ENDPOINT_VARIABLES

from .stand_ins import HttpStub, closed_port

FAST = 5.0
"""Seconds: a missing path must fail well before any sensible function timeout."""


def test_database_restarted_between_invocations(start_function, employees, db):
    employees(10)
    fn = start_function()
    first = fn.invoke()
    assert first.ok, first.error
    (old_thread,) = db.client_threads()

    db.stop()
    down = fn.invoke()
    assert down.error_type == "DatabaseUnreachableError", down.error
    assert f"localhost:{db.port}" in down.error_message
    assert down.elapsed < FAST
    assert fn.events("db_connection_stale", down.request_id), "the kept connection must be detected as gone"

    db.start()
    back = fn.invoke()
    assert back.ok, back.error
    assert back.body["employees"] == 10
    (new_thread,) = db.client_threads()
    assert new_thread != old_thread
    (connected,) = fn.events("db_connected", back.request_id)
    assert connected["thread_id"] == new_thread


def test_killed_connection_is_replaced_on_the_next_invocation(start_function, employees, db):
    """`conn.open` stays True after the server drops the connection: ping must catch it."""
    employees(4)
    fn = start_function()
    assert fn.invoke().ok
    killed = db.kill_client_connections()
    assert len(killed) == 1

    run = fn.invoke()
    assert run.ok, run.error
    assert run.body["employees"] == 4
    (stale,) = fn.events("db_connection_stale", run.request_id)
    assert stale["thread_id"] in killed
    assert db.client_threads().isdisjoint(killed)


def test_database_down_at_cold_start(start_function, employees):
    employees(1)
    with closed_port() as port:
        fn = start_function(env={"DB_PORT": str(port)})
        run = fn.invoke()
    assert run.error_type == "DatabaseUnreachableError", run.error
    assert f"cannot connect to the database at localhost:{port}" in run.error_message
    assert run.elapsed < FAST
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert failed["error_type"] == "DatabaseUnreachableError"


def test_rotated_password_is_fetched_again_once(start_with_secret, employees, db, aws):
    employees(6)
    fn = start_with_secret()
    assert fn.invoke().ok
    rotated = "rotated-Passw0rd-2"
    try:
        # What RDS rotation does: the user's password and the secret change together. The
        # warm connection survives it; the next new connection uses the cached old password.
        db.set_password(rotated)
        aws.put_secret(aws.secret_arn, {"username": DB_USER, "password": rotated})
        db.kill_client_connections(DB_USER)

        run = fn.invoke()
        assert run.ok, run.error
        assert run.body["employees"] == 6
        assert len(fn.events("db_auth_retry", run.request_id)) == 1
        assert [e["reason"] for e in fn.events("secret_fetched")] == ["first_use", "auth_failed"]
    finally:
        db.set_password(DB_PASSWORD)
        aws.put_secret(aws.secret_arn, {"username": DB_USER, "password": DB_PASSWORD})


def test_wrong_password_fails_after_one_refetch(start_with_secret, employees, aws):
    employees(1)
    secret = aws.create_secret("rds!db-wrong-password", {"username": DB_USER, "password": "not-the-password"})
    fn = start_with_secret(env={"DB_SECRET_ARN": secret})
    run = fn.invoke()
    assert run.error_type == "DatabaseAuthenticationError", run.error
    assert f"refused user '{DB_USER}'" in run.error_message
    assert "1045" in run.error_message
    assert "was read again" in run.error_message
    assert len(fn.events("secret_fetched")) == 2, "exactly one re-fetch, no loop"
    assert "not-the-password" not in fn.output()


def test_ca_that_did_not_sign_the_server_certificate_is_refused(start_function, employees, pki):
    employees(1)
    fn = start_function(env={"DB_CA_BUNDLE": str(pki.other_ca)})
    run = fn.invoke()
    assert run.error_type == "DatabaseTLSError", run.error
    assert "failed verification" in run.error_message
    # OpenSSL's words depend on whether the server also sent its CA in the chain.
    assert re.search(r"unable to get local issuer certificate|self-signed certificate in certificate chain",
                     run.error_message)
    assert str(pki.other_ca) in run.error_message


def test_certificate_for_another_host_name_is_refused(start_function, employees, db, pki):
    employees(1)
    db.restart(cert=pki.wrong_name_cert, key=pki.wrong_name_key)
    try:
        fn = start_function()
        run = fn.invoke()
        assert run.error_type == "DatabaseTLSError", run.error
        assert "Hostname mismatch" in run.error_message
    finally:
        db.restart()


def test_shipped_rds_bundle_is_what_verifies_outside_china(start_function, employees, aws):
    """In a commercial region, without DB_CA_BUNDLE, the shipped RDS bundle is the trust
    store: it does not trust the local test CA, so the connection is refused."""
    employees(1)
    fn = start_function(
        env={"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
             "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:lambda-test-topic"},
        unset=("DB_CA_BUNDLE",),
    )
    run = fn.invoke()
    assert run.error_type == "DatabaseTLSError", run.error
    assert "rds-global-bundle.pem" in run.error_message


def test_china_region_verifies_against_the_shipped_china_bundle(start_function, employees):
    """In AWS China, without DB_CA_BUNDLE, AWS China's RDS trust store (shipped) verifies the
    server: it does not trust the local test CA, so the connection is refused."""
    employees(1)
    fn = start_function(unset=("DB_CA_BUNDLE",))
    run = fn.invoke()
    assert run.error_type == "DatabaseTLSError", run.error
    assert "rds-cn-bundle.pem" in run.error_message


def test_sns_unreachable(start_function, employees):
    employees(2)
    with closed_port() as port:
        fn = start_function(env={SERVICE_ENDPOINT_VARIABLES["sns"]: f"http://127.0.0.1:{port}"})
        run = fn.invoke()
    assert run.error_type == "NotificationError", run.error
    assert "SNS is unreachable" in run.error_message
    assert "interface endpoint for sns" in run.error_message
    assert run.elapsed < FAST
    assert fn.events("employees_read", run.request_id), "the database part worked before SNS failed"


def test_secrets_manager_unreachable(start_with_secret, employees):
    employees(1)
    with closed_port() as port:
        fn = start_with_secret(env={SERVICE_ENDPOINT_VARIABLES["secretsmanager"]: f"http://127.0.0.1:{port}"})
        run = fn.invoke()
    assert run.error_type == "SecretError", run.error
    assert "Secrets Manager is unreachable" in run.error_message
    assert "interface endpoint for secretsmanager" in run.error_message
    assert run.elapsed < FAST


@pytest.mark.parametrize(
    ("secret_value", "expected"),
    [
        ({"username": DB_USER}, "no usable 'password' field"),
        ("not json at all", "is not JSON"),
        (json.dumps(["a", "list"]), "not an object"),
        ('{"username": "dbuser", "password": "half a pair \\ud800"}', "'password' that is not valid Unicode"),
    ],
    ids=["missing-password", "not-json", "not-an-object", "password-not-unicode"],
)
def test_bad_secret_content(start_with_secret, employees, aws, secret_value, expected, request):
    employees(1)
    secret = aws.create_secret(f"rds!db-bad-{request.node.callspec.id}", secret_value)
    run = start_with_secret(env={"DB_SECRET_ARN": secret}).invoke()
    assert run.error_type == "SecretError", run.error
    assert expected in run.error_message
    assert secret in run.error_message


def test_secret_that_does_not_exist(start_with_secret, employees, aws):
    employees(1)
    missing = aws.secret_arn[: aws.secret_arn.rindex(":") + 1] + "rds!db-never-created-AbCdEf"
    run = start_with_secret(env={"DB_SECRET_ARN": missing}).invoke()
    assert run.error_type == "SecretError", run.error
    assert "ResourceNotFoundException" in run.error_message


@pytest.mark.parametrize(
    ("env", "unset", "variable"),
    [
        ({}, ("TOPIC_ARN",), "TOPIC_ARN"),
        ({}, ("DB_HOST",), "DB_HOST"),
        ({"DB_PORT": "three-three-o-six"}, (), "DB_PORT"),
        ({"DB_CONNECT_TIMEOUT": "0"}, (), "DB_CONNECT_TIMEOUT"),
        ({"DB_HOST": "db.example.internal:3306"}, (), "DB_HOST"),
        ({"TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:lambda-test-topic"}, (), "TOPIC_ARN"),
        ({"DB_CA_BUNDLE": "/nonexistent/ca.pem"}, (), "DB_CA_BUNDLE"),
    ],
    ids=["topic-missing", "host-missing", "port-not-a-number", "timeout-zero", "host-with-port",
         "topic-other-partition", "ca-bundle-missing"],
)
def test_bad_configuration_names_the_variable(start_function, env, unset, variable):
    run = start_function(env=env, unset=unset).invoke()
    assert run.error_type == "ConfigurationError", run.error
    assert variable in run.error_message
    assert run.elapsed < FAST


def test_table_missing(start_function, employees, db):
    employees(0)
    db.execute("DROP TABLE employees")
    run = start_function().invoke()
    assert run.error_type == "TableMissingError", run.error
    assert "`employees` does not exist" in run.error_message
    assert "vpclambda_runtime.migrate.handler" in run.error_message


@pytest.mark.parametrize("through", ["query", "execute", "stream"])
def test_a_missing_table_is_one_error_whatever_reads_it(start_cases, employees, through):
    """One rule for the three: TableMissingError, naming the table (a DatabaseQueryError too)."""
    from vpclambda_runtime.errors import DatabaseQueryError, TableMissingError

    employees(0)
    run = start_cases().invoke({"case": "missing_table", "through": through})
    assert run.error_type == "TableMissingError", run.error
    assert "table `myDatabase`.`nowhere` does not exist" in run.error_message
    assert "vpclambda_runtime.migrate.handler" in run.error_message
    assert issubclass(TableMissingError, DatabaseQueryError)


def test_a_statement_the_database_refuses_is_a_query_error(start_function, employees, db):
    """The table is there but reading it fails (here a view over a table that is gone): the
    database's own error, typed as a query error, not as a missing table or a lost connection."""
    employees(0)
    db.execute("DROP TABLE employees", "CREATE TABLE gone (id INT)", "CREATE VIEW employees AS SELECT id FROM gone",
               "DROP TABLE gone")
    try:
        run = start_function().invoke()
        assert run.error_type == "DatabaseQueryError", run.error
        assert "1356" in run.error_message and "employees" in run.error_message
    finally:
        db.execute("DROP VIEW IF EXISTS employees")


def test_connection_lost_mid_stream(start_function, employees, db):
    """An RDS reboot or failover during the read: the original MySQL error, typed, logged once,
    and the connection discarded (not drained, which would raise an unrelated error instead)."""
    employees(300_000)
    fn = start_function()
    killed: list[int] = []

    def kill_the_read() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s "
                            "AND INFO LIKE 'SELECT * FROM `employees`%%'", (APP_USER,), database=None)
            if rows:
                time.sleep(0.2)  # let rows flow first
                db.execute(f"KILL CONNECTION {rows[0][0]}", database=None)
                killed.append(int(rows[0][0]))
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_read)
    killer.start()
    run = fn.invoke()
    killer.join()
    assert killed, "the read was never seen running"
    assert run.error_type == "DatabaseUnreachableError", run.error
    assert "lost the connection to the database" in run.error_message
    assert re.search(r"while reading `employees`, after \d+ rows \(phase: query\)", run.error_message)
    assert re.search(r"\((2013|2006|1927), ", run.error_message), "the original MySQL error is in the message"
    assert "AttributeError" not in fn.output() and "NoneType" not in fn.output()
    (failed,) = fn.events("invocation_failed")
    assert (failed["dependency"], failed["phase"]) == ("database", "query")

    back = fn.invoke()
    assert back.ok, back.error
    assert back.body["employees"] == 300_000
    (connected,) = fn.events("db_connected", back.request_id)
    assert connected["thread_id"] not in killed, "the lost connection was discarded, not pinged again"
    assert not fn.events("db_connection_stale", back.request_id)


def test_database_full_says_the_connection_budget_is_exhausted(start_function, employees, db):
    """MySQL error 1040: every connection the server allows is taken."""
    employees(1)
    (previous,) = db.query("SELECT @@GLOBAL.max_connections", database=None)[0]
    holders = []
    try:
        db.execute("SET GLOBAL max_connections = 10", database=None)
        while True:  # take every connection (root may take one more than the limit)
            try:
                holders.append(db.admin())
            except Exception:
                break
            assert len(holders) < 20
        run = start_function().invoke()
    finally:
        for holder in holders:
            holder.close()
        db.execute(f"SET GLOBAL max_connections = {int(previous)}", database=None)
    assert run.error_type == "DatabaseBusyError", run.error
    assert "Too many connections" in run.error_message and "MySQL error 1040" in run.error_message
    assert "connection budget (max_connections) is exhausted" in run.error_message
    assert "function_reserved_concurrency" in run.error_message
    assert run.elapsed < FAST


def test_password_beyond_latin1_authenticates(start_with_secret, employees, db, aws):
    """PyMySQL encodes a str password as Latin-1; MySQL hashed it as UTF-8 when it was set."""
    employees(2)
    password = "pässwört-€-密码-🔑"
    try:
        db.set_password(password)
        aws.put_secret(aws.secret_arn, {"username": DB_USER, "password": password})
        db.kill_client_connections(DB_USER)
        fn = start_with_secret()
        run = fn.invoke()
        assert run.ok, run.error
        assert run.body["employees"] == 2
        assert password not in fn.output()
    finally:
        db.set_password(DB_PASSWORD)
        aws.put_secret(aws.secret_arn, {"username": DB_USER, "password": DB_PASSWORD})


def test_sns_answer_that_is_not_sns_xml(start_function, employees):
    employees(1)
    with HttpStub(200, b"<html>captive portal</html", content_type="text/html") as stub:
        fn = start_function(env={SERVICE_ENDPOINT_VARIABLES["sns"]: stub.url})
        run = fn.invoke()
        assert len(stub.requests) == 1 and "Action=Publish" in stub.requests[0]
    assert run.error_type == "NotificationError", run.error
    assert f"SNS at {stub.url} answered Publish to" in run.error_message
    assert "not a valid SNS response" in run.error_message
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["dependency"], failed["phase"]) == ("sns", "publish")
