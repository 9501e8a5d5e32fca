"""Every way the function can fail, as one exception type each.

Lambda reports an unhandled exception's class name as ``errorType`` and its text as
``errorMessage``, so each failure below has a class of its own and a message that says
what was being reached, where, and what to check. Nothing here is caught and hidden by
the handler: every one of them ends the invocation as a failure.

A failure that happened while the function waited on a dependency also carries that
``dependency`` (``secretsmanager``, ``database``, ``sns``) and the ``phase`` of the
invocation (``secret``, ``token``, ``connect``, ``handshake``, ``ping``, ``query``, ``commit``,
``publish``, ``lock``, ``migrate``, ``app-user``); a failed statement may also carry its ``outcome``
(``not applied``, or ``unknown`` when nobody can tell whether the server will apply it); the
failure's log line has each of them as a field.
"""

from __future__ import annotations


class HandlerError(Exception):
    """Base class of the function's own failures."""

    def __init__(self, message: str, *, dependency: str | None = None, phase: str | None = None,
                 outcome: str | None = None) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.phase = phase
        self.outcome = outcome


class ConfigurationError(HandlerError):
    """An environment variable is missing or malformed, or a CA bundle or the migrations directory
    cannot be found."""


class SecretError(HandlerError):
    """The master secret (the migration's login) could not be read: Secrets Manager unreachable, not
    answering in time or refusing, or a secret without a usable username and password."""


class DatabaseUnreachableError(HandlerError):
    """No connection to the database (nothing listening, no network path, connect timeout), or the
    connection was lost while in use (server restart, failover, connection killed)."""


class DatabaseTimeoutError(HandlerError):
    """The database accepted the connection but did not answer in time: a frozen server, a server
    that never sends its greeting, a statement waiting on a lock or running past the time budget
    (stopped on the server; ``outcome`` says whether it was applied), or the time budget spent."""


class DatabaseBusyError(HandlerError):
    """The database refused the connection for being full (MySQL error 1040, or 1203 per user):
    its connection budget (``max_connections``) is exhausted; lower the function's reserved
    concurrency or give the database more connections."""


class DatabaseTLSError(HandlerError):
    """The database's TLS certificate was refused (unknown CA, wrong host name, expired)."""


class DatabaseAuthenticationError(HandlerError):
    """The database refused the master credentials of the secret, even after re-reading it once (and,
    during a rotation, its pending version once); the message names the rotation's state."""


class IamAuthenticationError(DatabaseAuthenticationError):
    """The database (or its proxy) refused the IAM token the job signed for the application user:
    the role's ``rds-db:connect`` on that user, the user's plugin (``AWSAuthenticationPlugin``) and
    the instance's IAM database authentication are what to check; or the token could not be signed
    (no credentials)."""


class DatabaseQueryError(HandlerError):
    """A statement failed on an open connection."""


class TableMissingError(DatabaseQueryError):
    """A table a statement names does not exist (``employees`` for the built-in job), whether it came
    from ``query``, ``execute`` or ``stream``: the schema migration has not run, or the statement names
    another table. A ``DatabaseQueryError`` too."""


class ConnectionBusyError(HandlerError):
    """A statement was sent on a database connection that is still reading a stream's result
    (inside a transaction, or through the raw connection); finish or leave the stream first."""


class TransactionError(HandlerError):
    """A transaction was used in a way that would lose writes: the job ended with one still open
    (it was rolled back), or ``transaction()`` was opened inside another."""


class TransactionLostError(TransactionError):
    """The connection that held an open transaction was lost (server restart, failover, a
    statement past its budget): the server rolled the transaction back, and nothing after it
    committed in this invocation."""


class MigrationError(HandlerError):
    """The schema migrations cannot be applied: a malformed or changed migration file, a
    migration that failed, a partly applied one whose file changed in its applied part or whose
    last statement's outcome is unknown, or another run holding the migration lock for too long."""


class NotificationError(HandlerError):
    """The SNS notification could not be published: SNS unreachable, not answering in time,
    refusing, or answering something that is not an SNS response; or a message SNS would reject
    or that cannot be written as JSON (refused before any call)."""


class JobError(HandlerError):
    """A failure of the job's own code. A job may raise it for its own errors; when an exception
    of any other type escapes a job, the failure line is labelled with this type and names the
    exception's own class as ``error_class`` (Lambda still reports the original exception)."""


class EventError(HandlerError):
    """The event is not what the job expects: a queue's job invoked with something other than an
    SQS batch, or a record without the ``messageId`` its failure would be reported by. The whole
    batch comes back to the queue."""


class RecordError(HandlerError):
    """One queue record cannot be processed (a body that is not JSON, a value the job refuses): the
    job raises it for that record, which alone is reported failed and comes back to the queue."""
