"""Every way the function can fail, as one exception type each.

Lambda reports an unhandled exception's class name as ``errorType`` and its text as
``errorMessage``, so each failure below has a class of its own and a message that says
what was being reached, where, and what to check. Nothing here is caught and hidden by
the handler: every one of them ends the invocation as a failure.
"""

from __future__ import annotations


class HandlerError(Exception):
    """Base class of the function's own failures."""


class ConfigurationError(HandlerError):
    """An environment variable is missing or malformed, or a CA bundle cannot be found."""


class SecretError(HandlerError):
    """The database secret could not be read from Secrets Manager, or its content is unusable."""


class DatabaseUnreachableError(HandlerError):
    """No connection to the database: nothing listening, no network path, or a timeout."""


class DatabaseTLSError(HandlerError):
    """The database's TLS certificate was refused (unknown CA, wrong host name, expired)."""


class DatabaseAuthenticationError(HandlerError):
    """The database refused the credentials, even after re-reading the secret once."""


class TableMissingError(HandlerError):
    """The table the function reads does not exist: the schema migration has not run."""


class DatabaseQueryError(HandlerError):
    """A statement failed on an open connection."""


class NotificationError(HandlerError):
    """The SNS notification could not be published, or would be rejected by SNS."""
