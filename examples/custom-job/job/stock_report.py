"""A stock report: stream the `stock` table, count the units and the items running low, and
announce it on the component's topic. Entry point `stock_report.handler`."""

from __future__ import annotations

import json
import os
from typing import Any

import humanize

from vpclambda_runtime import get_logger, invocation, notify, stream

DEFAULT_THRESHOLD = 10


def low_stock_threshold() -> int:
    return int(os.environ.get("LOW_STOCK_THRESHOLD", DEFAULT_THRESHOLD))


def handler(event: Any, context: Any) -> dict[str, Any]:
    log = get_logger()
    threshold = low_stock_threshold()
    items = units = 0
    low: list[str] = []
    with invocation(context) as run:
        for batch in stream("SELECT sku, quantity FROM stock ORDER BY sku"):
            for sku, quantity in batch:
                items += 1
                units += quantity
                if quantity < threshold:
                    low.append(sku)
        summary = f"{humanize.intcomma(units)} units in {items} items; {len(low)} below {threshold}"
        log.info("stock read", extra={"event": "stock_read", "items": items, "units": units, "low": len(low)})
        message_id = notify({"kind": "stock_report", "items": items, "units": units, "low_stock": low,
                             "request_id": run.request_id}, subject=f"Stock: {summary}", email=summary)
    body = {"items": items, "units": units, "low_stock": low, "summary": summary, "message_id": message_id}
    return {"statusCode": 200, "body": json.dumps(body)}
