"""Database credentials: an IAM token the job signs for the application user, or (the
migration's) the master user's credentials from the RDS-managed Secrets Manager secret, cached.

The job's credentials are IAM authentication tokens (``IamTokens``): boto3's
``generate_db_auth_token`` signs one with the function's own credentials (its execution role), a
local SigV4 presignature of the ``connect`` action for the host, port and user, which the
database (or its proxy) checks with IAM. No call is made, so no endpoint is needed. A token is
accepted for 15 minutes after it is signed; a connection opened with it lives on, and every new
connection (a reconnect, a side connection for KILL QUERY) signs a new one.

The secret's SecretString is JSON ``{"username": ..., "password": ...}``. It is read on
first use, kept for ``SECRET_TTL_SECONDS``, and read again early when the database
refuses the cached password (RDS rotated it): see ``database.ConnectionKeeper``.

A rotation changes the database's password before it makes the new version of the secret
current: in between, the new password is only in the version staged ``AWSPENDING``. When the
current version is refused even after it was read again, the pending version is read once
(``SecretCache.pending``); the same ``secretsmanager:GetSecretValue`` permission allows it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import aws_clients
from .budget import Budget
from .contract import IAM_TOKEN_LIFETIME_S
from .errors import ConfigurationError, IamAuthenticationError, SecretError
from .logs import get_logger
from .settings import Settings

PENDING_STAGE = "AWSPENDING"
"""The staging label of a secret version a rotation has created but not yet made current."""


@dataclass(frozen=True)
class DbCredentials:
    username: str
    password: str = field(repr=False)
    version_id: str | None = None
    token: bool = False
    """The password is an IAM authentication token (sent in clear text, over TLS only)."""

    @property
    def password_bytes(self) -> bytes:
        """What the client sends: UTF-8, the encoding MySQL hashed the password in when it was set
        over a utf8mb4 connection (PyMySQL would encode a str as Latin-1, and fail beyond it)."""
        return self.password.encode("utf-8")


def parse_secret(secret_arn: str, secret_string: str | None) -> DbCredentials:
    """Credentials from an RDS secret's SecretString, or a SecretError saying what is wrong."""
    if not secret_string:
        raise SecretError(f"secret {secret_arn} has no SecretString (binary secrets are not supported)")
    try:
        data = json.loads(secret_string)
    except json.JSONDecodeError:
        raise SecretError(
            f"secret {secret_arn} is not JSON; expected {{\"username\": ..., \"password\": ...}}"
        ) from None
    if not isinstance(data, dict):
        raise SecretError(f"secret {secret_arn} is JSON but not an object; expected username and password fields")
    values: dict[str, str] = {}
    for key in ("username", "password"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise SecretError(f"secret {secret_arn} has no usable {key!r} field")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SecretError(f"secret {secret_arn} has a {key!r} that is not valid Unicode text "
                              "(it cannot be encoded as UTF-8)") from None
        values[key] = value
    return DbCredentials(username=values["username"], password=values["password"])


def _secret_arn(settings: Settings) -> str:
    if settings.db_secret_arn is None:
        raise ConfigurationError("environment variable DB_SECRET_ARN is not set: this function logs in with an IAM "
                                 "token (DB_USER), not with a secret")
    return settings.db_secret_arn


def fetch_from_secrets_manager(settings: Settings, budget: Budget) -> DbCredentials:
    """One GetSecretValue call within the budget; every failure becomes a SecretError with the cause."""
    secret_arn = _secret_arn(settings)
    with budget.phase("secretsmanager", "secret") as phase, aws_clients.aws_call(
        "secretsmanager", f"GetSecretValue for {secret_arn}", settings, phase, SecretError
    ) as client:
        response: dict[str, Any] = client.get_secret_value(SecretId=secret_arn)
    credentials = parse_secret(secret_arn, response.get("SecretString"))
    return DbCredentials(credentials.username, credentials.password, response.get("VersionId"))


def fetch_pending_from_secrets_manager(settings: Settings, budget: Budget) -> DbCredentials | None:
    """The version of the secret staged ``AWSPENDING`` (a rotation under way), or None when there
    is none; one GetSecretValue call within the budget."""
    secret_arn = _secret_arn(settings)
    with budget.phase("secretsmanager", "secret") as phase, aws_clients.aws_call(
        "secretsmanager", f"GetSecretValue ({PENDING_STAGE}) for {secret_arn}", settings, phase,
        SecretError,
    ) as client:
        try:
            response: dict[str, Any] = client.get_secret_value(SecretId=secret_arn, VersionStage=PENDING_STAGE)
        except client.exceptions.ResourceNotFoundException:
            return None
    credentials = parse_secret(secret_arn, response.get("SecretString"))
    return DbCredentials(credentials.username, credentials.password, response.get("VersionId"))


class SecretCache:
    """The credentials, re-read after ``ttl_seconds`` or when asked to (after an auth failure)."""

    def __init__(
        self,
        settings: Settings,
        fetch: Callable[[Settings, Budget], DbCredentials] = fetch_from_secrets_manager,
        clock: Callable[[], float] = time.monotonic,
        fetch_pending: Callable[[Settings, Budget], DbCredentials | None] = fetch_pending_from_secrets_manager,
    ) -> None:
        self._settings = settings
        self._fetch = fetch
        self._fetch_pending = fetch_pending
        self._clock = clock
        self._credentials: DbCredentials | None = None
        self._fetched_at = 0.0

    def get(self, budget: Budget) -> DbCredentials:
        if self._credentials is None:
            return self.refresh("first_use", budget)
        if self._clock() - self._fetched_at >= self._settings.secret_ttl_seconds:
            return self.refresh("ttl_expired", budget)
        return self._credentials

    def cached(self) -> DbCredentials | None:
        """The credentials in hand, without reading the secret (None before the first read)."""
        return self._credentials

    def refresh(self, reason: str, budget: Budget) -> DbCredentials:
        return self.adopt(self._fetch(self._settings, budget), reason)

    def adopt(self, credentials: DbCredentials, reason: str) -> DbCredentials:
        """Use ``credentials`` from now on (for ``SECRET_TTL_SECONDS``)."""
        self._credentials = credentials
        self._fetched_at = self._clock()
        get_logger().info(
            "database secret read",
            extra={"event": "secret_fetched", "reason": reason, "secret_version": credentials.version_id},
        )
        return credentials

    def pending(self, budget: Budget) -> DbCredentials | None:
        """The secret's pending version (``AWSPENDING``), read once per call, or None."""
        found = self._fetch_pending(self._settings, budget)
        get_logger().info(
            "pending version of the database secret read",
            extra={"event": "secret_pending_read", "found": found is not None,
                   "secret_version": found.version_id if found else None},
        )
        return found


# ------------------------------------------------------------------ IAM tokens

_signers: dict[str, Any] = {}


def sign_token(settings: Settings) -> str:
    """An IAM authentication token for ``DB_USER`` at ``DB_HOST:DB_PORT``, signed with the
    function's credentials by boto3 (a local signature: no request is sent)."""
    user = settings.db_user
    if user is None:
        raise ConfigurationError("environment variable DB_USER is not set: this function logs in with a secret")
    signer = _signers.get(settings.region)
    if signer is None:
        import boto3  # provided by the Lambda runtime; imported on first use

        signer = _signers[settings.region] = boto3.session.Session().client("rds", region_name=settings.region)
    return str(signer.generate_db_auth_token(DBHostname=settings.db_host, Port=settings.db_port, DBUsername=user,
                                             Region=settings.region))


class IamTokens:
    """The job's credentials: a new token for every new connection (``get``); ``cached`` signs one
    too (a token is never kept past its first use, so it cannot expire in hand)."""

    def __init__(self, settings: Settings, sign: Callable[[Settings], str] = sign_token,
                 clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._sign = sign
        self._clock = clock
        self.signed_at: float | None = None
        """When the latest token was signed (``time.time()``)."""

    def get(self, budget: Budget) -> DbCredentials:
        with budget.phase("database", "token"):
            return self.cached()

    def cached(self) -> DbCredentials:
        from botocore.exceptions import BotoCoreError

        user = self._settings.db_user or ""
        try:
            token = self._sign(self._settings)
        except (BotoCoreError, ValueError) as exc:
            raise IamAuthenticationError(
                f"no IAM token could be signed for database user {user!r}: {exc}; the function signs it with its "
                "execution role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)",
                dependency="database", phase="token") from exc
        self.signed_at = self._clock()
        return DbCredentials(username=user, password=token, token=True)

    def expires_in(self) -> float | None:
        """Seconds left of the latest token's 15 minutes (for the log line), or None before one."""
        if self.signed_at is None:
            return None
        return max(0.0, self.signed_at + IAM_TOKEN_LIFETIME_S - self._clock())
