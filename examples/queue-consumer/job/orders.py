"""Orders from the queue, stored in the private database. Entry point `orders.handler`.

Each record's body is an order, `{"sku": "...", "quantity": n}`. `process_batch` runs
`store_order` once per record and answers Lambda which records failed: a body that is not an
order raises `RecordError`, so that record alone comes back to the queue (and, after the queue's
`max_receive_count` receives, lands in its dead-letter queue); the others are deleted. Storing is
idempotent (the message ID is the key): a record delivered twice is stored once.
"""

from __future__ import annotations

from typing import Any

from vpclambda_runtime import QueueRecord, RecordError, execute, invocation, process_batch

MAX_QUANTITY = 10_000


def order_of(record: QueueRecord) -> tuple[str, int]:
    order = record.json()
    sku = order.get("sku") if isinstance(order, dict) else None
    quantity = order.get("quantity") if isinstance(order, dict) else None
    if not isinstance(sku, str) or not sku or len(sku) > 64:
        raise RecordError(f"record {record.message_id}: no sku in {record.body[:100]!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
        raise RecordError(f"record {record.message_id}: quantity {quantity!r} is not 1 to {MAX_QUANTITY}")
    return sku, quantity


def store_order(record: QueueRecord) -> None:
    sku, quantity = order_of(record)
    execute("INSERT INTO orders (message_id, sku, quantity) VALUES (%s, %s, %s) "
            "ON DUPLICATE KEY UPDATE message_id = message_id", (record.message_id, sku, quantity))


def handler(event: Any, context: Any) -> dict[str, Any]:
    with invocation(context):
        return process_batch(event, store_order)
