"""Database credentials from the RDS-managed Secrets Manager secret, cached for a while.

The secret's SecretString is JSON ``{"username": ..., "password": ...}``. It is read on
first use, kept for ``SECRET_TTL_SECONDS``, and read again early when the database
refuses the cached password (RDS rotated it): see ``database.ConnectionKeeper``.
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


class SecretCache:
    """The credentials, re-read after ``ttl_seconds`` or when asked to (after an auth failure)."""

    def __init__(
        self,
        settings: Settings,
        fetch: Callable[[Settings, Budget], DbCredentials] = fetch_from_secrets_manager,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._fetch = fetch
        self._clock = clock
        self._credentials: DbCredentials | None = None
        self._fetched_at = 0.0

    def get(self, budget: Budget) -> DbCredentials:
        if self._credentials is None:
            return self.refresh("first_use", budget)
        if self._clock() - self._fetched_at >= self._settings.secret_ttl_seconds:
            return self.refresh("ttl_expired", budget)
        return self._credentials

    def refresh(self, reason: str, budget: Budget) -> DbCredentials:
        credentials = self._fetch(self._settings, budget)
        self._credentials = credentials
        self._fetched_at = self._clock()
        get_logger().info(
            "database secret read",
            extra={"event": "secret_fetched", "reason": reason, "secret_version": credentials.version_id},
        )
        return credentials
