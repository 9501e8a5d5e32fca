"""The job logs in as the application user with an IAM token it signs, and the local database
checks that token the way RDS does (``components.local.token_verifier``, behind MariaDB's PAM plugin):
the real path, not a bypass. The application user is the migration's to create and keep; the
job can read and write rows, nothing more; a wrong token, a password, or a connection without
TLS is refused, and the function says so, typed, within its time budget; the master secret is
the migration's alone."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pymysql
import pytest
from moto.core.authorization import enable_iam_authentication

from components.local.services import APP_USER, DB_HOST_NAME, DB_NAME, DB_PASSWORD, DB_USER
from components.local.wiring import DUMMY_CREDENTIALS

FAST = 5.0
"""A refused token is answered at once: far under the job's 30 s timeout."""


def grants_of(db: Any, user: str = APP_USER) -> set[str]:
    rows = db.query("SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = %s "
                    "AND TABLE_SCHEMA = %s", (f"'{user}'@'%'", DB_NAME), database=None)
    return {str(row[0]) for row in rows}


def token(port: int, user: str = APP_USER, host: str = DB_HOST_NAME) -> str:
    client = boto3.session.Session().client(
        "rds", region_name="cn-northwest-1", aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"])
    return str(client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user))


def test_the_migration_created_the_application_user_identified_by_its_token_check(application_user, db) -> None:
    assert application_user["user"] == APP_USER
    ((plugin, service, ssl_type),) = db.query(
        "SELECT plugin, authentication_string, ssl_type FROM mysql.user WHERE User = %s", (APP_USER,), database=None)
    assert (plugin, service, ssl_type) == ("pam", "vpclambda-iam", "ANY"), "identified through the token check, TLS"
    assert grants_of(db) == {"SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE"}
    assert db.query("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
                    (f"'{APP_USER}'@'%'",), database=None) == [("USAGE",)], "nothing global"


def test_the_job_reads_and_notifies_as_the_application_user_with_a_verified_token(
        start_function, start_cases, employees, db, aws) -> None:
    employees(7)
    seen = len(db.token_events())
    fn = start_function()
    run = fn.invoke()
    assert run.ok, run.error
    assert run.body["employees"] == 7
    assert aws.delivered(run.body["message_id"])["MessageId"] == run.body["message_id"]
    (connected,) = fn.events("db_connected", run.request_id)
    assert (connected["user"], connected["auth"]) == (APP_USER, "iam-token")
    (verified,) = db.token_events()[seen:]
    assert verified["event"] == "iam_token_verified", verified
    assert (verified["user"], verified["host"], verified["action"]) == (APP_USER, f"{DB_HOST_NAME}:{db.port}",
                                                                        "connect")
    assert verified["resource"].startswith("arn:aws-cn:rds-db:cn-northwest-1:123456789012:dbuser:db-")
    assert db.client_threads(APP_USER) and not db.client_threads(DB_USER), "the job holds no master connection"
    whoami = start_cases().invoke({"case": "whoami"})
    assert whoami.ok, whoami.error
    body = json.loads(whoami.payload["body"])
    assert body["user"] == f"{APP_USER}@%" and body["cipher"], body


def test_the_job_cannot_change_the_schema(start_cases, employees, db) -> None:
    employees(3)
    fn = start_cases()
    for sql, denied in (("DROP TABLE employees", "DROP command denied"),
                        ("CREATE TABLE sneaky (id INT)", "CREATE command denied"),
                        ("GRANT SELECT ON myDatabase.* TO 'dbuser'@'%'", "denied"),
                        ("SELECT COUNT(*) FROM mysql.user", "denied")):
        run = fn.invoke({"case": "run_statement", "sql": sql})
        assert run.error_type == "DatabaseQueryError", (sql, run.error)
        assert denied in run.error_message, (sql, run.error_message)
        assert any(f"({code}, " in run.error_message for code in (1142, 1044)), (sql, run.error_message)
    assert db.employee_count() == 3, "the table is still there"
    assert db.table_exists("employees") and not db.table_exists("sneaky")
    ok = fn.invoke({"case": "run_statement", "sql": "UPDATE employees SET department = 'audited'"})
    assert ok.ok and json.loads(ok.payload["body"]) == {"affected": 3}, ok.error


@pytest.mark.parametrize(("forge", "extra", "reason"), [
    ("user", {"user": DB_USER}, f"the token is for user '{DB_USER}'; the login is as '{APP_USER}'"),
    ("host", {"host": "127.0.0.1"}, "the token is for 127.0.0.1:"),
    ("expired", {}, "the token expired"),
    ("password", {"password": DB_PASSWORD}, "not an IAM authentication token"),
], ids=["another-user", "another-host", "expired", "master-password"])
def test_a_wrong_token_is_refused_and_the_function_says_so_in_time(
        start_cases, employees, db, forge: str, extra: dict[str, Any], reason: str) -> None:
    employees(1)
    seen = len(db.token_events())
    fn = start_cases()
    run = fn.invoke({"case": "forged_login", "forge": forge, **extra})
    assert run.error_type == "IamAuthenticationError", run.error
    assert run.elapsed < FAST
    assert "refused the IAM token for user 'app'" in run.error_message
    assert "rds-db:connect" in run.error_message and "AWSAuthenticationPlugin" in run.error_message
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["error_type"], failed["dependency"], failed["phase"]) == (
        "IamAuthenticationError", "database", "handshake")
    (refused,) = db.token_events()[seen:]
    assert refused["event"] == "iam_token_refused" and refused["reason"].startswith(reason), refused
    assert DB_PASSWORD not in fn.output()
    back = fn.invoke({"case": "whoami"})  # the next connection signs a good token again
    assert back.ok, back.error


def test_a_connection_without_tls_is_refused_even_with_a_good_token(db, pki) -> None:
    good = token(db.port)
    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(host="127.0.0.1", port=db.port, user=APP_USER, password=good.encode(), database=DB_NAME,
                        connect_timeout=5, ssl_disabled=True)
    assert refused.value.args[0] in (1045, 3159), refused.value  # insecure transport, or the user's REQUIRE SSL
    with pymysql.connect(host=DB_HOST_NAME, port=db.port, user=APP_USER, password=token(db.port).encode(),
                         database=DB_NAME, ssl_ca=str(pki.ca), ssl_verify_cert=True, ssl_verify_identity=True,
                         connect_timeout=5) as verified, verified.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == (f"{APP_USER}@%",)


def test_a_token_is_good_for_one_login_at_a_time_and_a_reconnect_signs_a_new_one(start_function, employees,
                                                                                  db) -> None:
    """A warm connection outlives its token: when the server has closed it, the next invocation
    signs a new token for its new connection."""
    employees(2)
    fn = start_function()
    assert fn.invoke().ok
    seen = len(db.token_events())
    db.kill_client_connections(APP_USER)
    time.sleep(1.1)  # the next token is signed in another second
    run = fn.invoke()
    assert run.ok, run.error
    (stale,) = fn.events("db_connection_stale", run.request_id)
    (verified,) = db.token_events()[seen:]
    assert verified["event"] == "iam_token_verified" and int(verified["expires_in_s"]) >= 898
    assert fn.events("db_connected", run.request_id)[0]["auth"] == "iam-token"
    assert stale


def test_changed_grants_are_applied_and_revoked_ones_revoked_idempotently(start_function, empty_db) -> None:
    db = empty_db
    migrate = "vpclambda_runtime.migrate.handler"
    try:
        db.execute(f"GRANT SELECT ON `mysql`.* TO '{APP_USER}'@'%'", database=None)  # granted by hand elsewhere
        run = start_function(migrate, env={"DB_APP_GRANTS": "SELECT,SHOW VIEW"}).invoke()
        assert run.ok, run.error
        report = run.payload["app_user"]
        assert (report["created"], report["granted"]) == (False, ["SHOW VIEW"])
        assert sorted(report["revoked"]) == ["DELETE ON `myDatabase`.*", "EXECUTE ON `myDatabase`.*",
                                             "INSERT ON `myDatabase`.*", "SELECT ON `mysql`.*",
                                             "UPDATE ON `myDatabase`.*"]
        assert grants_of(db) == {"SELECT", "SHOW VIEW"}
        again = start_function(migrate, env={"DB_APP_GRANTS": "SELECT,SHOW VIEW"}).invoke()
        assert again.ok, again.error
        assert again.payload["app_user"] == {"user": APP_USER, "created": False, "identity_changed": False,
                                             "granted": [], "revoked": []}, "a re-run changes nothing"
    finally:
        restored = start_function(migrate).invoke()
        assert restored.ok, restored.error
    assert grants_of(db) == {"SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE"}
    assert restored.payload["app_user"]["granted"] == ["INSERT", "UPDATE", "DELETE", "EXECUTE"]


def test_a_user_of_that_name_with_a_password_is_made_the_application_user(start_function, empty_db) -> None:
    db = empty_db
    db.execute(f"ALTER USER '{APP_USER}'@'%' IDENTIFIED BY 'a-password' REQUIRE NONE", database=None)
    run = start_function("vpclambda_runtime.migrate.handler").invoke()
    assert run.ok, run.error
    assert run.payload["app_user"]["identity_changed"] is True
    ((plugin, ssl_type),) = db.query("SELECT plugin, ssl_type FROM mysql.user WHERE User = %s", (APP_USER,),
                                     database=None)
    assert (plugin, ssl_type) == ("pam", "ANY")


def test_the_migration_not_the_job_can_read_the_master_secret(start_function, start_cases, empty_db, aws,
                                                              stack_model) -> None:
    """IAM as moto enforces it: each function runs with the credentials of a principal holding its
    own role's policy as the component wrote it. moto judges actions, not resources, so the
    resources are widened to `*` here (the resources are held under mocks)."""
    iam = aws.client("iam")
    keys = {}
    for principal in ("job", "migration"):
        name = f"{principal}-role-holder-{time.monotonic_ns()}"
        iam.create_user(UserName=name)
        policy = stack_model.role_policy(principal)
        for statement in policy["Statement"]:
            statement["Resource"] = "*"
        iam.put_user_policy(UserName=name, PolicyName="role", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[principal] = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    job = start_cases(env=keys["job"], unset=("AWS_SESSION_TOKEN",))
    migration = start_function("vpclambda_runtime.migrate.handler", env=keys["migration"],
                               unset=("AWS_SESSION_TOKEN",))
    with enable_iam_authentication():
        denied = job.invoke({"case": "read_secret", "secret_arn": aws.secret_arn})
        allowed = migration.invoke()
    assert denied.error_type == "SecretError", denied.error
    assert "AccessDenied" in denied.error_message and "secretsmanager:GetSecretValue" in denied.error_message
    assert allowed.ok, allowed.error
    assert [e["reason"] for e in migration.events("secret_fetched")] == ["first_use"]
