"""The runtime library shipped in every function package the component builds.

A job's handler uses it to reach what the component wired, the way the built-in employees
report does (``handler/app.py``)::

    from vpclambda_runtime import execute, invocation, notify, stream, transaction

    def handler(event, context):
        with invocation(context):
            rows = sum(len(batch) for batch in stream("SELECT id FROM orders"))
            with transaction():
                execute("INSERT INTO order_counts (orders) VALUES (%s)", (rows,))
            message_id = notify({"orders": rows}, subject=f"{rows} orders")
        return {"statusCode": 200, "body": json.dumps({"orders": rows, "message_id": message_id})}

Every wait is bounded by the invocation's time budget and every failure is one of the typed
errors below (Lambda reports the class name as ``errorType``). Importing it does no I/O.
What commits, what rolls back and what "outcome unknown" means: ``docs/function.md``.
"""

from .batch import QueueRecord
from .errors import (
    ConfigurationError,
    ConnectionBusyError,
    DatabaseAuthenticationError,
    DatabaseBusyError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    DatabaseTLSError,
    DatabaseUnreachableError,
    EventError,
    HandlerError,
    IamAuthenticationError,
    JobError,
    MigrationError,
    NotificationError,
    RecordError,
    SecretError,
    TableMissingError,
    TransactionError,
    TransactionLostError,
)
from .job import (
    Invocation,
    connection,
    current_invocation,
    execute,
    get_logger,
    get_settings,
    invocation,
    notify,
    process_batch,
    query,
    stream,
    transaction,
)

API = ("invocation", "stream", "query", "execute", "transaction", "connection", "notify", "process_batch",
       "get_logger", "get_settings", "current_invocation")
"""The functions a job calls, in the order the README documents them."""

__all__ = [
    "API",
    "ConfigurationError",
    "ConnectionBusyError",
    "DatabaseAuthenticationError",
    "DatabaseBusyError",
    "DatabaseQueryError",
    "DatabaseTLSError",
    "DatabaseTimeoutError",
    "DatabaseUnreachableError",
    "EventError",
    "HandlerError",
    "IamAuthenticationError",
    "Invocation",
    "JobError",
    "MigrationError",
    "NotificationError",
    "QueueRecord",
    "RecordError",
    "SecretError",
    "TableMissingError",
    "TransactionError",
    "TransactionLostError",
    "connection",
    "current_invocation",
    "execute",
    "get_logger",
    "get_settings",
    "invocation",
    "notify",
    "process_batch",
    "query",
    "stream",
    "transaction",
]
