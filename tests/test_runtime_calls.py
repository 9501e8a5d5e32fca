"""The runtime library's Secrets Manager and SNS calls against stand-in clients: the exact request
each sends, what it makes of the answer, the exact text of every refusal and the log line of every
secret read. The real-service tests make the same calls to moto."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from vpclambda_runtime import aws_clients, credentials, sns
from vpclambda_runtime.budget import Budget
from vpclambda_runtime.credentials import (
    DbCredentials,
    SecretCache,
    fetch_from_secrets_manager,
    fetch_pending_from_secrets_manager,
    parse_secret,
)
from vpclambda_runtime.errors import ConfigurationError, NotificationError, SecretError
from vpclambda_runtime.settings import Settings, load_settings

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:report"


def settings() -> Settings:
    return load_settings({"AWS_REGION": "eu-west-1", "DB_HOST": "db.internal", "DB_PORT": "3306", "DB_NAME": "app",
                          "DB_SECRET_ARN": ARN, "TOPIC_ARN": TOPIC})


class NotFound(Exception):
    pass


class FakeClient:
    """A boto3 client of Secrets Manager and SNS: records each call, answers what the test set."""

    class exceptions:  # boto3 spells it so
        ResourceNotFoundException = NotFound

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}

    def _answer(self, name: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, kwargs))
        answer = self.answers[name]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_secret_value(self, **kwargs: Any) -> Any:
        return self._answer("get_secret_value" + ("/pending" if "VersionStage" in kwargs else ""), kwargs)

    def publish(self, **kwargs: Any) -> Any:
        return self._answer("publish", kwargs)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    fake = FakeClient()
    services: list[str] = []
    monkeypatch.setattr(aws_clients, "_clients", {})

    def make(service: str, _: Settings, timeouts: aws_clients.CallTimeouts) -> FakeClient:
        services.append(service)
        return fake

    monkeypatch.setattr(aws_clients, "client", make)
    fake.services = services  # type: ignore[attr-defined]
    return fake


def fields(record: logging.LogRecord, *keys: str) -> dict[str, Any]:
    return {"message": record.getMessage(), **{k: getattr(record, k) for k in keys}}


# ------------------------------------------------------------------ Secrets Manager


def test_the_secret_is_read_by_its_arn_and_its_version_kept(client: FakeClient) -> None:
    client.answers["get_secret_value"] = {"SecretString": '{"username": "app", "password": "pw"}', "VersionId": "v7"}
    credentials = fetch_from_secrets_manager(settings(), Budget(30.0))
    assert credentials == DbCredentials("app", "pw", "v7")
    assert client.calls == [("get_secret_value", {"SecretId": ARN})]
    assert client.services == ["secretsmanager"]  # type: ignore[attr-defined]


def test_the_pending_version_is_read_by_its_stage(client: FakeClient) -> None:
    client.answers["get_secret_value/pending"] = {"SecretString": '{"username": "app", "password": "new"}',
                                                  "VersionId": "v8"}
    assert fetch_pending_from_secrets_manager(settings(), Budget(30.0)) == DbCredentials("app", "new", "v8")
    assert client.calls == [("get_secret_value/pending", {"SecretId": ARN, "VersionStage": "AWSPENDING"})]
    client.answers["get_secret_value/pending"] = NotFound("no such version")
    assert fetch_pending_from_secrets_manager(settings(), Budget(30.0)) is None


def test_a_secret_read_with_no_time_left_is_not_attempted(client: FakeClient) -> None:
    budget = Budget(0.5)  # the margin takes it all
    with pytest.raises(SecretError) as raised:
        fetch_from_secrets_manager(settings(), budget)
    assert str(raised.value) == (f"Secrets Manager GetSecretValue for {ARN} not attempted: 0.0 s left of the "
                                 "invocation's time budget (phase: secret)")
    assert (raised.value.dependency, raised.value.phase) == ("secretsmanager", "secret")
    with pytest.raises(SecretError) as raised:
        fetch_pending_from_secrets_manager(settings(), budget)
    assert str(raised.value) == (f"Secrets Manager GetSecretValue (AWSPENDING) for {ARN} not attempted: 0.0 s left "
                                 "of the invocation's time budget (phase: secret)")
    assert (raised.value.dependency, raised.value.phase) == ("secretsmanager", "secret")
    assert client.calls == []


def test_a_secret_read_that_is_not_credentials_names_the_secret(client: FakeClient) -> None:
    client.answers["get_secret_value"] = {"SecretString": "nope", "VersionId": "v1"}
    client.answers["get_secret_value/pending"] = {"SecretString": "[]", "VersionId": "v2"}
    with pytest.raises(SecretError) as raised:
        fetch_from_secrets_manager(settings(), Budget(30.0))
    assert str(raised.value) == f'secret {ARN} is not JSON; expected {{"username": ..., "password": ...}}'
    with pytest.raises(SecretError) as raised:
        fetch_pending_from_secrets_manager(settings(), Budget(30.0))
    assert str(raised.value) == f"secret {ARN} is JSON but not an object; expected username and password fields"


@pytest.mark.parametrize(("secret", "expected"), [
    (None, f"secret {ARN} has no SecretString (binary secrets are not supported)"),
    ("", f"secret {ARN} has no SecretString (binary secrets are not supported)"),
    ("not json", f'secret {ARN} is not JSON; expected {{"username": ..., "password": ...}}'),
    ('["app"]', f"secret {ARN} is JSON but not an object; expected username and password fields"),
    ('{"password": "pw"}', f"secret {ARN} has no usable 'username' field"),
    ('{"username": "app", "password": ""}', f"secret {ARN} has no usable 'password' field"),
    ('{"username": "app", "password": 5}', f"secret {ARN} has no usable 'password' field"),
    ('{"username": "app", "password": "\\ud800"}',
     f"secret {ARN} has a 'password' that is not valid Unicode text (it cannot be encoded as UTF-8)"),
])
def test_a_secret_that_is_not_credentials_is_refused_saying_why(secret: str | None, expected: str) -> None:
    with pytest.raises(SecretError) as raised:
        parse_secret(ARN, secret)
    assert str(raised.value) == expected
    assert raised.value.__cause__ is None


def test_credentials_are_read_with_their_password_as_utf8() -> None:
    credentials = parse_secret(ARN, '{"username": "app", "password": "pässwörd", "engine": "mysql"}')
    assert credentials == DbCredentials("app", "pässwörd")
    assert credentials.password_bytes == "pässwörd".encode()
    assert "pässwörd" not in repr(credentials)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_read_of_the_secret_is_logged_with_its_reason_and_version(logged: list[logging.LogRecord]) -> None:
    clock = Clock()
    budget = Budget(30.0, clock=clock)
    seen: list[tuple[Settings, Budget]] = []
    versions = iter(["v1", "v2", "v3"])
    config = settings()

    def fetch(settings_: Settings, budget_: Budget) -> DbCredentials:
        seen.append((settings_, budget_))
        return DbCredentials("app", "pw", next(versions))

    cache = SecretCache(config, fetch=fetch, clock=clock, fetch_pending=lambda s, b: None)
    cache.get(budget)
    clock.now = 300.0
    cache.get(budget)
    cache.refresh("auth_failed", budget)
    assert seen == [(config, budget)] * 3
    assert [fields(r, "event", "reason", "secret_version") for r in logged] == [
        {"message": "database secret read", "event": "secret_fetched", "reason": reason, "secret_version": version}
        for reason, version in (("first_use", "v1"), ("ttl_expired", "v2"), ("auth_failed", "v3"))]


def test_the_pending_version_is_read_each_time_it_is_asked_for_and_logged(logged: list[logging.LogRecord]) -> None:
    budget = Budget(30.0)
    answers = iter([DbCredentials("app", "new", "v9"), None])
    asked: list[tuple[Settings, Budget]] = []
    config = settings()

    def pending(settings_: Settings, budget_: Budget) -> DbCredentials | None:
        asked.append((settings_, budget_))
        return next(answers)

    cache = SecretCache(config, fetch=lambda s, b: DbCredentials("app", "pw"), fetch_pending=pending)
    assert cache.pending(budget) == DbCredentials("app", "new", "v9")
    assert cache.pending(budget) is None
    assert asked == [(config, budget)] * 2
    assert [fields(r, "event", "found", "secret_version") for r in logged] == [
        {"message": "pending version of the database secret read", "event": "secret_pending_read", "found": True,
         "secret_version": "v9"},
        {"message": "pending version of the database secret read", "event": "secret_pending_read", "found": False,
         "secret_version": None},
    ]
    cache.adopt(DbCredentials("app", "new", "v9"), "rotation_pending")
    assert cache.cached() == DbCredentials("app", "new", "v9")
    assert fields(logged[-1], "reason") == {"message": "database secret read", "reason": "rotation_pending"}


# ------------------------------------------------------------------ SNS


def test_a_notification_is_published_to_the_topic_as_json_with_its_subject(client: FakeClient) -> None:
    client.answers["publish"] = {"MessageId": "m-1"}
    assert sns.publish(settings(), {"default": '{"rows": 1}', "email": "1 row"}, "Report", Budget(30.0)) == "m-1"
    assert client.calls == [("publish", {"TopicArn": TOPIC, "Message": '{"default": "{\\"rows\\": 1}", '
                                                                       '"email": "1 row"}',
                                         "MessageStructure": "json", "Subject": "Report"})]
    assert client.services == ["sns"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("subject", [None, ""])
def test_without_a_subject_none_is_sent(client: FakeClient, subject: str | None) -> None:
    client.answers["publish"] = {"MessageId": "m-2"}
    sns.publish(settings(), {"default": "报告"}, subject, Budget(30.0))
    assert client.calls == [("publish", {"TopicArn": TOPIC, "Message": '{"default": "报告"}',
                                         "MessageStructure": "json"})]


@pytest.mark.parametrize("answer", [{}, {"MessageId": ""}, {"MessageId": None}])
def test_an_answer_without_a_message_id_is_a_failure(client: FakeClient, answer: dict[str, Any]) -> None:
    client.answers["publish"] = answer
    with pytest.raises(NotificationError) as raised:
        sns.publish(settings(), {"default": "x"}, None, Budget(30.0))
    assert str(raised.value) == f"SNS accepted the message for {TOPIC} but returned no MessageId"


def test_a_publish_with_no_time_left_is_not_attempted(client: FakeClient) -> None:
    with pytest.raises(NotificationError) as raised:
        sns.publish(settings(), {"default": "x"}, None, Budget(0.5))
    assert str(raised.value) == (f"SNS Publish to {TOPIC} not attempted: 0.0 s left of the invocation's time budget "
                                 "(phase: publish)")
    assert (raised.value.dependency, raised.value.phase) == ("sns", "publish")
    assert client.calls == []


@pytest.mark.parametrize(("message", "expected"), [
    ({"email": "x"}, 'a MessageStructure=json message needs a non-empty "default" text'),
    ({"default": ""}, 'a MessageStructure=json message needs a non-empty "default" text'),
    ({"default": 1}, 'a MessageStructure=json message needs a non-empty "default" text'),
    ({"default": "x", "email": 5}, "every value of a MessageStructure=json message must be a string"),
    ({"default": "x", "email": "ab\ud800"},
     "the notification's 'email' text is not valid Unicode text: surrogates not allowed at position 2 ('ab' is "
     "what precedes it)"),
])
def test_a_message_sns_would_refuse_is_refused_saying_why(message: dict[str, Any], expected: str) -> None:
    with pytest.raises(NotificationError) as raised:
        sns.encode_message(message)
    assert str(raised.value) == expected


def test_the_message_keeps_non_ascii_text_as_it_is() -> None:
    assert sns.encode_message({"default": "报告 é"}) == '{"default": "报告 é"}'


def test_text_before_a_bad_character_is_quoted_20_characters_back() -> None:
    text = "0123456789" * 3 + "\ud800"
    with pytest.raises(NotificationError) as raised:
        sns.check_text(text, "report")
    assert str(raised.value) == ("the report is not valid Unicode text: surrogates not allowed at position 30 "
                                 "('01234567890123456789' is what precedes it)")


@pytest.mark.parametrize(("subject", "expected"), [
    ("é" * 101, "the subject is 101 characters; SNS accepts at most 100: '" + "é" * 40 + "'..."),
    ("Report\n2", "the subject has a control character U+000A at position 6: SNS refuses line breaks and control "
                  "characters in a subject"),
    ("\ud800", "the subject is not valid Unicode text: surrogates not allowed at position 0 ('' is what precedes it)"),
])
def test_subjects_sns_refuses_are_refused_exactly(subject: str, expected: str) -> None:
    with pytest.raises(NotificationError) as raised:
        sns.check_subject(subject)
    assert str(raised.value) == expected


def test_what_json_cannot_carry_is_refused_exactly() -> None:
    with pytest.raises(NotificationError) as raised:
        sns.to_json({"ids": {1, 2}})
    assert str(raised.value) == (
        "the notification cannot be written as JSON: a value of type set is not JSON serialisable (a notification "
        "carries text, numbers, booleans, null, lists, mappings with text keys, and Decimal, datetime, date, time, "
        "timedelta and bytes values)")
    with pytest.raises(NotificationError) as raised:
        sns.to_json({"ratio": float("nan")})
    assert str(raised.value) == ("the notification cannot be written as JSON: Out of range float values are not JSON "
                                 "compliant (NaN and infinities are not JSON; send them as text or null)")


def test_row_values_and_text_are_written_as_they_are() -> None:
    assert sns.to_json({"b": b"\x00\xff", "t": timedelta(minutes=1), "name": "张伟"}) == (
        '{"b": "AP8=", "name": "张伟", "t": 60.0}')


def test_without_a_topic_a_notification_is_refused_before_any_call(client: FakeClient) -> None:
    without = load_settings({"AWS_REGION": "eu-west-1", "DB_HOST": "db.internal", "DB_PORT": "3306",
                             "DB_NAME": "app", "DB_SECRET_ARN": ARN})
    with pytest.raises(ConfigurationError) as raised:
        sns.publish(without, {"default": "x"}, None, Budget(30.0))
    assert str(raised.value) == ("environment variable TOPIC_ARN is required to notify but is not set (the component "
                                 "sets it on the job; the migration function does not notify)")
    assert client.calls == []


def test_a_function_that_logs_in_with_a_token_has_no_secret_to_read(client: FakeClient) -> None:
    tokens_only = load_settings({"AWS_REGION": "eu-west-1", "DB_HOST": "db.internal", "DB_PORT": "3306",
                                 "DB_NAME": "app", "DB_USER": "app_user", "TOPIC_ARN": TOPIC})
    for fetch in (fetch_from_secrets_manager, fetch_pending_from_secrets_manager):
        with pytest.raises(ConfigurationError) as raised:
            fetch(tokens_only, Budget(30.0))
        assert str(raised.value) == ("environment variable DB_SECRET_ARN is not set: this function logs in with an "
                                     "IAM token (DB_USER), not with a secret")
    assert client.calls == []


# ------------------------------------------------------------------ IAM tokens


TOKENS_ENV = {"AWS_REGION": "eu-west-1", "DB_HOST": "db.internal", "DB_PORT": "3306", "DB_NAME": "app",
              "DB_USER": "app_user", "TOPIC_ARN": TOPIC}


def test_a_token_is_signed_for_the_user_host_port_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, str]] = []
    asked: list[dict[str, Any]] = []

    class Signer:
        def generate_db_auth_token(self, **kwargs: Any) -> str:
            asked.append(kwargs)
            return "token-1"

    class Session:
        def client(self, service: str, region_name: str) -> Signer:
            made.append((service, region_name))
            return Signer()

    import boto3

    monkeypatch.setattr(credentials, "_signers", {})
    monkeypatch.setattr(boto3.session, "Session", Session)
    config = load_settings(TOKENS_ENV)
    assert credentials.sign_token(config) == "token-1"
    assert credentials.sign_token(config) == "token-1"
    assert made == [("rds", "eu-west-1")], "one signer per region"
    assert asked == [{"DBHostname": "db.internal", "Port": 3306, "DBUsername": "app_user", "Region": "eu-west-1"}] * 2


def test_without_a_database_user_no_token_is_signed() -> None:
    with pytest.raises(ConfigurationError) as raised:
        credentials.sign_token(settings())
    assert str(raised.value) == "environment variable DB_USER is not set: this function logs in with a secret"


def test_tokens_are_signed_per_connection_and_their_15_minutes_counted() -> None:
    clock = Clock()
    clock.now = 1000.0
    signed: list[Settings] = []
    config = load_settings(TOKENS_ENV)

    def sign(settings_: Settings) -> str:
        signed.append(settings_)
        return f"token-{len(signed)}"

    tokens = credentials.IamTokens(config, sign=sign, clock=clock)
    assert tokens.signed_at is None and tokens.expires_in() is None
    budget = Budget(30.0)
    assert tokens.get(budget) == DbCredentials("app_user", "token-1", token=True)
    assert tokens.signed_at == 1000.0
    clock.now = 1100.0
    assert tokens.expires_in() == 800.0
    assert tokens.cached() == DbCredentials("app_user", "token-2", token=True)
    assert tokens.signed_at == 1100.0
    clock.now = 1999.0
    assert tokens.expires_in() == 1.0
    clock.now = 2100.0
    assert tokens.expires_in() == 0.0
    assert signed == [config, config]


def test_a_token_that_cannot_be_signed_fails_typed_in_the_token_phase() -> None:
    def sign(_: Settings) -> str:
        raise ValueError("no credentials")

    tokens = credentials.IamTokens(load_settings(TOKENS_ENV), sign=sign)
    with pytest.raises(credentials.IamAuthenticationError) as raised:
        tokens.get(Budget(30.0))
    assert str(raised.value) == (
        "no IAM token could be signed for database user 'app_user': no credentials; the function signs it with its "
        "execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)")
    assert (raised.value.dependency, raised.value.phase) == ("database", "token")
    assert tokens.signed_at is None


def test_getting_a_token_is_the_token_phase_of_the_database() -> None:
    budget = Budget(30.0)

    def sign(_: Settings) -> str:
        raise KeyError("unforeseen")

    with pytest.raises(KeyError) as raised:
        credentials.IamTokens(load_settings(TOKENS_ENV), sign=sign).get(budget)
    assert budget.phase_of(raised.value) == ("database", "token")
