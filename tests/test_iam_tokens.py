"""The application user's login without a database: how the runtime reads which user and which
credentials a function has, the token it signs (checked by the local database's verifier, which
refuses each wrong token for what is wrong with it), the typed error a refused token becomes, and
what the migration sends to keep the user."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pymysql
import pytest

from components.local.token_verifier import PAM_MAX_RESPONSE, Refused, TrustConfig, signature, verify
from vpclambda_runtime import contract
from vpclambda_runtime import credentials as credentials_module
from vpclambda_runtime.app_user import identified_sql, schema_pattern
from vpclambda_runtime.budget import Budget
from vpclambda_runtime.credentials import IamTokens, sign_token
from vpclambda_runtime.db_connection import _handshake_error
from vpclambda_runtime.errors import ConfigurationError, DatabaseAuthenticationError, IamAuthenticationError
from vpclambda_runtime.settings import AppUser, Settings, load_settings

REGION = "cn-northwest-1"
SECRET = f"arn:aws-cn:secretsmanager:{REGION}:123456789012:secret:rds!db-abc-AbCdEf"
TOPIC = f"arn:aws-cn:sns:{REGION}:123456789012:lambda-test-topic"
JOB = {"AWS_REGION": REGION, "DB_HOST": "localhost", "DB_PORT": "3306", "DB_NAME": "myDatabase", "DB_USER": "app",
       "DB_PROXY": "false", "TOPIC_ARN": TOPIC}
MIGRATION = {"AWS_REGION": REGION, "DB_HOST": "localhost", "DB_PORT": "3306", "DB_NAME": "myDatabase",
             "DB_SECRET_ARN": SECRET, "DB_APP_USER": "app", "DB_APP_GRANTS": "SELECT,INSERT,UPDATE,DELETE,EXECUTE"}
KEY = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
       "AWS_SESSION_TOKEN": "session-token"}
RESOURCE_ID = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in KEY.items():
        monkeypatch.setenv(name, value)
    yield


def settings(**changes: str) -> Settings:
    return load_settings({**JOB, **changes})


def trust(**changes: Any) -> TrustConfig:
    allowed = [contract.db_user_arn("aws-cn", REGION, "123456789012", RESOURCE_ID, "app")]
    base: dict[str, Any] = {"host": "localhost", "port": 3306, "region": REGION, "partition": "aws-cn",
                            "account_id": "123456789012", "resource_id": RESOURCE_ID,
                            "secret_keys": {KEY["AWS_ACCESS_KEY_ID"]: KEY["AWS_SECRET_ACCESS_KEY"]},
                            "allowed": {KEY["AWS_ACCESS_KEY_ID"]: allowed}}
    return TrustConfig(**{**base, **changes})


# ------------------------------------------------------------------ settings


def test_the_job_logs_in_as_its_user_with_a_token_and_has_no_secret() -> None:
    job = load_settings(JOB)
    assert (job.auth, job.db_user, job.db_secret_arn, job.app_user, job.db_proxy) == ("iam", "app", None, None, False)
    assert load_settings({**JOB, "DB_PROXY": "true"}).db_proxy is True


def test_the_migration_logs_in_with_the_secret_and_keeps_the_application_user() -> None:
    migration = load_settings(MIGRATION)
    assert (migration.auth, migration.db_secret_arn, migration.db_user, migration.topic_arn) == (
        "secret", SECRET, None, None)
    assert migration.app_user == AppUser("app", ("SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE"),
                                         "AWSAuthenticationPlugin")
    assert load_settings({**MIGRATION, "DB_APP_USER_PLUGIN": "pam"}).app_user == AppUser(
        "app", ("SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE"), "pam")


@pytest.mark.parametrize(("env", "names"), [
    ({**JOB, "DB_SECRET_ARN": SECRET}, "both are set"),
    ({k: v for k, v in JOB.items() if k != "DB_USER"}, "one is required"),
    ({**JOB, "DB_USER": "app-user"}, "DB_USER must be a MySQL user name"),
    ({**JOB, "DB_PROXY": "yes"}, "DB_PROXY must be true or false"),
    ({**JOB, "DB_APP_USER": "app", "DB_APP_GRANTS": "SELECT"}, "DB_APP_USER is the migration's"),
    ({**MIGRATION, "DB_APP_GRANTS": "SELECT,DROP"}, "'DROP' is not granted to the application user"),
    ({**MIGRATION, "DB_APP_GRANTS": ""}, "DB_APP_GRANTS is required"),
    ({**MIGRATION, "DB_APP_USER_PLUGIN": "mysql_native_password"}, "DB_APP_USER_PLUGIN must be"),
])
def test_a_wrong_login_configuration_names_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigurationError, match=names):
        load_settings(env)


def test_the_grants_rule_is_the_contracts() -> None:
    assert contract.parse_grants(" select, show   view ,") == ("SELECT", "SHOW VIEW")
    assert contract.grants_problems(["SELECT", "EXECUTE"]) == []
    for refused in ("DROP", "ALTER", "CREATE", "GRANT OPTION", "ALL PRIVILEGES", "SUPER", "FILE", "PROCESS"):
        (problem,) = contract.grants_problems(["SELECT", refused])
        assert problem.startswith(f"{refused!r} is not granted"), refused


# ------------------------------------------------------------------ the token


def test_the_token_the_runtime_signs_is_one_the_local_database_admits(credentials: None) -> None:
    job = settings()
    before = time.time()
    credentials_ = IamTokens(job).get(Budget(30.0))
    assert (credentials_.username, credentials_.token) == ("app", True)
    token = credentials_.password
    assert token.startswith("localhost:3306/?Action=connect&DBUser=app&")
    assert "X-Amz-Expires=900" in token and f"%2F{REGION}%2Frds-db%2Faws4_request" in token
    assert len(token) < PAM_MAX_RESPONSE
    verified = verify(token, "app", trust())
    assert verified["resource"] == contract.db_user_arn("aws-cn", REGION, "123456789012", RESOURCE_ID, "app")
    assert 895 <= int(verified["expires_in_s"]) <= 900
    assert time.time() - before < 5, "a local signature: no call is made"


def test_a_new_token_for_every_connection(credentials: None) -> None:
    tokens = IamTokens(settings())
    with mock.patch("botocore.auth.get_current_datetime") as now:
        import datetime

        now.return_value = datetime.datetime(2026, 1, 1, 12, 0, 0)
        first = tokens.cached().password
        now.return_value = datetime.datetime(2026, 1, 1, 12, 20, 0)
        second = tokens.cached().password
    assert "X-Amz-Date=20260101T120000Z" in first and "X-Amz-Date=20260101T122000Z" in second


@pytest.mark.parametrize(("token_of", "login_as", "config", "reason"), [
    (lambda: sign_token(settings(DB_USER="dbuser")), "app", {},
     "the token is for user 'dbuser'; the login is as 'app'"),
    (lambda: sign_token(settings(DB_HOST="127.0.0.1")), "app", {},
     "the token is for 127.0.0.1:3306; this database is localhost:3306"),
    (lambda: sign_token(settings(DB_PORT="3307")), "app", {},
     "the token is for localhost:3307; this database is localhost:3306"),
    (lambda: "initial-Passw0rd", "app", {},
     "not an IAM authentication token (<host>:<port>/?Action=connect&...): a password?"),
    (lambda: sign_token(settings(AWS_REGION="cn-north-1")), "app", {},
     "the token is signed for region 'cn-north-1'; this database is in 'cn-northwest-1'"),
    (lambda: sign_token(settings()), "app", {"secret_keys": {}},
     "the token is signed with access key 'AKIDEXAMPLE', which no principal here has"),
    (lambda: sign_token(settings()), "app", {"secret_keys": {"AKIDEXAMPLE": "another-secret"}},
     "the token's signature does not match its content"),
    (lambda: sign_token(settings()), "app", {"allowed": {"AKIDEXAMPLE": []}},
     "access key 'AKIDEXAMPLE''s policy does not allow rds-db:connect on arn:aws-cn:rds-db:cn-northwest-1:"
     "123456789012:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXYZ/app"),
])
def test_the_local_database_refuses_each_wrong_token_for_what_is_wrong(
        credentials: None, token_of: Any, login_as: str, config: dict[str, Any], reason: str) -> None:
    with pytest.raises(Refused) as refused:
        verify(token_of(), login_as, trust(**config))
    assert str(refused.value) == reason


def test_an_expired_or_tampered_or_truncated_token_is_refused(credentials: None) -> None:
    import datetime

    with mock.patch("botocore.auth.get_current_datetime", return_value=datetime.datetime.now(datetime.UTC).replace(
            tzinfo=None) - datetime.timedelta(minutes=16)):
        old = sign_token(settings())
    with pytest.raises(Refused, match=r"^the token expired \d+ s ago \(signed 9\d\d s ago, valid 900 s\)$"):
        verify(old, "app", trust())
    token = sign_token(settings())
    verify(token, "app", trust())
    last = token[-1]
    tampered = token[:-1] + ("0" if last != "0" else "1")
    with pytest.raises(Refused, match="signature does not match"):
        verify(tampered, "app", trust())
    with pytest.raises(Refused, match="signature does not match"):
        verify(token.replace("DBUser=app", "DBUser=app").replace("X-Amz-Expires=900", "X-Amz-Expires=899"), "app",
               trust())
    with pytest.raises(Refused, match=r"pam_exec passes at most 511 bytes"):
        verify(token + "&" + "x" * PAM_MAX_RESPONSE, "app", trust())


def test_the_verifier_signs_the_way_botocore_does_written_independently(credentials: None) -> None:
    """The verifier's SigV4 (from AWS's specification) and botocore's agree on a token signed at a
    fixed time; the canonical query is sorted, so the order of its parameters does not matter."""
    import datetime
    from urllib.parse import parse_qsl

    with mock.patch("botocore.auth.get_current_datetime", return_value=datetime.datetime(2015, 8, 30, 12, 36)):
        token = sign_token(settings())
    host, _, query = token.partition("/?")
    params = parse_qsl(query)
    given = dict(params).pop("X-Amz-Signature")
    unsigned = [(k, v) for k, v in params if k != "X-Amz-Signature"]
    scope = f"20150830/{REGION}/rds-db/aws4_request"
    assert signature(KEY["AWS_SECRET_ACCESS_KEY"], host, unsigned, "20150830T123600Z", scope) == given
    assert signature(KEY["AWS_SECRET_ACCESS_KEY"], host, list(reversed(unsigned)), "20150830T123600Z", scope) == given
    assert signature(KEY["AWS_SECRET_ACCESS_KEY"], "localhost:3307", unsigned, "20150830T123600Z", scope) != given


def test_no_credentials_to_sign_with_is_an_iam_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in (*KEY, "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(credentials_module, "_signers", {})  # a client keeps the credentials it was made with
    with pytest.raises(IamAuthenticationError) as caught:
        IamTokens(settings(), sign=lambda s: sign_token(s)).get(Budget(30.0))
    assert caught.value.phase == "token" and "execution role's credentials" in str(caught.value)


# ------------------------------------------------------------------ a refused token


@pytest.mark.parametrize("proxy", [False, True])
def test_a_refused_token_is_a_typed_error_naming_what_to_check(proxy: bool) -> None:
    from vpclambda_runtime.credentials import DbCredentials

    refused = pymysql.err.OperationalError(1045, "Access denied for user 'app'@'10.0.1.7' (using password: YES)")
    phase = Budget(30.0).phase("database", "handshake").__enter__()
    job = settings(DB_PROXY="true" if proxy else "false")
    error = _handshake_error(job, DbCredentials("app", "token", token=True), phase, refused)
    assert type(error) is IamAuthenticationError and isinstance(error, DatabaseAuthenticationError)
    message = str(error)
    for what in ("IAM token for user 'app'", "rds-db:connect on arn:aws-cn:rds-db:cn-northwest-1:<account>:dbuser:",
                 "AWSAuthenticationPlugin", "IAM database authentication", "within its 15 minutes"):
        assert what in message, what
    assert ("prx-... proxy" in message) is proxy and ("IAM_AUTH" in message) is proxy
    password = _handshake_error(job, DbCredentials("dbuser", "pw"), phase, refused)
    assert type(password) is DatabaseAuthenticationError


# ------------------------------------------------------------------ what the migration sends


def test_the_user_is_identified_by_rds_plugin_or_the_rehearsals_pam_and_requires_tls() -> None:
    grants = ("SELECT",)
    assert identified_sql(AppUser("app", grants)) == "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
    assert identified_sql(AppUser("app", grants, "pam")) == "IDENTIFIED VIA pam USING 'vpclambda-iam' REQUIRE SSL"


def test_a_database_name_is_granted_literally() -> None:
    assert schema_pattern("myDatabase") == "myDatabase"
    assert schema_pattern("my_db") == "my\\_db", "an underscore would match any character in a database grant"
