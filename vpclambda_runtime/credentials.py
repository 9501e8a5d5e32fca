"""Database credentials from the RDS-managed Secrets Manager secret, cached for a while.

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
from .errors import SecretError
from .logs import get_logger
from .settings import Settings

PENDING_STAGE = "AWSPENDING"
"""The staging label of a secret version a rotation has created but not yet made current."""


@dataclass(frozen=True)
class DbCredentials:
    username: str
    password: str = field(repr=False)
    version_id: str | None = None

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


def fetch_from_secrets_manager(settings: Settings, budget: Budget) -> DbCredentials:
    """One GetSecretValue call within the budget; every failure becomes a SecretError with the cause."""
    with budget.phase("secretsmanager", "secret") as phase, aws_clients.aws_call(
        "secretsmanager", f"GetSecretValue for {settings.db_secret_arn}", settings, phase, SecretError
    ) as client:
        response: dict[str, Any] = client.get_secret_value(SecretId=settings.db_secret_arn)
    credentials = parse_secret(settings.db_secret_arn, response.get("SecretString"))
    return DbCredentials(credentials.username, credentials.password, response.get("VersionId"))


def fetch_pending_from_secrets_manager(settings: Settings, budget: Budget) -> DbCredentials | None:
    """The version of the secret staged ``AWSPENDING`` (a rotation under way), or None when there
    is none; one GetSecretValue call within the budget."""
    with budget.phase("secretsmanager", "secret") as phase, aws_clients.aws_call(
        "secretsmanager", f"GetSecretValue ({PENDING_STAGE}) for {settings.db_secret_arn}", settings, phase,
        SecretError,
    ) as client:
        try:
            response: dict[str, Any] = client.get_secret_value(SecretId=settings.db_secret_arn,
                                                               VersionStage=PENDING_STAGE)
        except client.exceptions.ResourceNotFoundException:
            return None
    credentials = parse_secret(settings.db_secret_arn, response.get("SecretString"))
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
