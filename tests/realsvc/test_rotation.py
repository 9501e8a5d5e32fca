"""The database refuses the master password (the migration's login, with the secret): the failure
line keeps its dependency and phase, and during a rotation (the database already has the pending
password) the pending version of the secret is read once before failing, the error naming the
rotation's state."""

from __future__ import annotations

from components.local.services import DB_PASSWORD, DB_USER

PENDING = "AWSPENDING"


def test_refused_credentials_keep_the_failure_lines_dependency_and_phase(start_with_secret, employees, aws):
    employees(1)
    secret = aws.create_secret("rds!db-refused", {"username": DB_USER, "password": "not-the-password"})
    fn = start_with_secret(env={"DB_SECRET_ARN": secret})
    run = fn.invoke()
    assert run.error_type == "DatabaseAuthenticationError", run.error
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["dependency"], failed["phase"]) == ("database", "handshake")
    assert "no rotation in progress" in run.error_message and PENDING in run.error_message
    assert "not-the-password" not in fn.output()


def rotate_halfway(db, aws, secret: str, new_password: str, pending_password: str) -> None:
    """What a rotation does before it finishes: the pending version holds the new password, and
    the database already has it; the current version still holds the old one."""
    db.set_password(new_password)
    aws.client("secretsmanager").put_secret_value(
        SecretId=secret, SecretString=f'{{"username": "{DB_USER}", "password": "{pending_password}"}}',
        VersionStages=[PENDING])
    db.kill_client_connections(DB_USER)


def test_during_a_rotation_the_pending_version_is_read_once(start_with_secret, employees, db, aws):
    employees(5)
    secret = aws.create_secret("rds!db-rotating", {"username": DB_USER, "password": DB_PASSWORD})
    fn = start_with_secret(env={"DB_SECRET_ARN": secret})
    assert fn.invoke().ok
    try:
        rotate_halfway(db, aws, secret, "rotated-Passw0rd-3", "rotated-Passw0rd-3")
        run = fn.invoke()
        assert run.ok, run.error
        assert run.body["employees"] == 5
        (pending,) = fn.events("secret_pending_read", run.request_id)
        assert pending["found"] is True
        assert [e["reason"] for e in fn.events("secret_fetched")] == ["first_use", "auth_failed", "rotation_pending"]
    finally:
        db.set_password(DB_PASSWORD)
        db.kill_client_connections(DB_USER)


def test_a_pending_version_that_is_refused_too_names_the_rotation(start_with_secret, employees, db, aws):
    employees(1)
    secret = aws.create_secret("rds!db-rotation-stuck", {"username": DB_USER, "password": DB_PASSWORD})
    fn = start_with_secret(env={"DB_SECRET_ARN": secret})
    assert fn.invoke().ok
    try:
        rotate_halfway(db, aws, secret, "rotated-Passw0rd-4", "yet-another-Passw0rd")
        run = fn.invoke()
    finally:
        db.set_password(DB_PASSWORD)
        db.kill_client_connections(DB_USER)
    assert run.error_type == "DatabaseAuthenticationError", run.error
    assert "rotation in progress" in run.error_message
    assert "rotation in progress: the pending version (" in run.error_message
    assert f"{PENDING}) was refused as well" in run.error_message
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["dependency"], failed["phase"]) == ("database", "handshake")
    assert len(fn.events("secret_pending_read", run.request_id)) == 1, "read once, no loop"
