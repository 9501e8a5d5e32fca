"""Read one CSV object from S3 (through the VPC's gateway endpoint) and announce its size on the
component's topic. Entry point `read_report.handler`; the object is `REPORT_BUCKET`/`REPORT_KEY`."""

from __future__ import annotations

import json
import os
from typing import Any

from vpclambda_runtime import current_invocation, get_logger, get_settings, invocation, notify

CONNECT_TIMEOUT_S = 3


def read_object(bucket: str, key: str) -> bytes:
    """The object's bytes, within what is left of the invocation's budget."""
    import boto3  # provided by Lambda's runtime
    from botocore.config import Config

    left = max(1.0, current_invocation().budget.remaining() - 2)
    config = Config(connect_timeout=min(CONNECT_TIMEOUT_S, left), read_timeout=left,
                    retries={"mode": "standard", "total_max_attempts": 2})
    s3 = boto3.session.Session().client("s3", region_name=get_settings().region, config=config)
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def handler(event: Any, context: Any) -> dict[str, Any]:
    bucket, key = os.environ["REPORT_BUCKET"], os.environ["REPORT_KEY"]
    with invocation(context):
        text = read_object(bucket, key).decode("utf-8", errors="replace")
        rows = max(0, len(text.splitlines()) - 1)  # less the header
        get_logger().info("report read", extra={"event": "report_read", "bucket": bucket, "key": key, "rows": rows})
        message_id = notify({"kind": "report_rows", "bucket": bucket, "key": key, "rows": rows},
                            subject=f"{key}: {rows} rows")
    return {"statusCode": 200, "body": json.dumps({"rows": rows, "message_id": message_id})}
