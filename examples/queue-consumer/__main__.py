"""A job run by a queue: the component makes an SQS queue (encrypted with its key, with its own
dead-letter queue) and an event source mapping with partial batch responses; `job/orders.py`
stores each order in the private database with the runtime library's `process_batch`, so a record
it cannot store comes back alone and the others are not run twice."""

from pathlib import Path

import pulumi
from vpclambda import VpcLambdaWithPrivateServices

HERE = Path(__file__).resolve().parent
config = pulumi.Config()
service = VpcLambdaWithPrivateServices("orders", {
    "vpc_id": config.require("vpcId"),
    "private_subnet_ids": config.require_object("privateSubnetIds"),
    "function_source": str(HERE / "job"),
    "function_handler": "orders.handler",
    "migrations_source": str(HERE / "migrations"),
    "queue": {"batch_size": 10, "maximum_batching_window_seconds": 5, "maximum_concurrency": 5,
              "max_receive_count": 3},
    "alarm_thresholds": {"queue-oldest-message": 600},
})
pulumi.export("queue_url", service.queue_url)
pulumi.export("queue_arn", service.queue_arn)
pulumi.export("dead_letter_queue_url", service.queue_dead_letter_queue.url if service.queue_dead_letter_queue else "")
