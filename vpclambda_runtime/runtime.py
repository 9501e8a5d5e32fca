"""What one execution environment keeps between invocations.

Built on the first invocation, never at import: the settings, the credentials (the job's IAM
token signer, or the migration's cached secret) and the database connection. A configuration
error is raised on every invocation (nothing broken is cached), and a later invocation after a
fix of the environment starts clean.
"""

from __future__ import annotations

from dataclasses import dataclass

from .credentials import IamTokens, SecretCache
from .database import ConnectionKeeper
from .settings import IAM, Settings, load_settings


@dataclass
class Runtime:
    settings: Settings
    secrets: SecretCache | IamTokens
    db: ConnectionKeeper


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        settings = load_settings()
        secrets: SecretCache | IamTokens = IamTokens(settings) if settings.auth == IAM else SecretCache(settings)
        _runtime = Runtime(settings=settings, secrets=secrets, db=ConnectionKeeper(settings, secrets))
    return _runtime


def peek_runtime() -> Runtime | None:
    """The runtime if an invocation has built it, without building it."""
    return _runtime
