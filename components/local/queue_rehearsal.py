"""A queue-run job rehearsed end to end: moto's SQS for the queue the stack declares (with its
dead-letter queue and redrive), the messages of the example sent to it, and Lambda's event source
mapping played here (`QueuePoller`): receive a batch, invoke the real package through the real
runtime client with the SQS event Lambda builds, delete the records the function did not report
failed, leave the others to come back after the visibility timeout.

The rehearsal polls until the queue is empty. What it reports, and what a test holds it to: every
message sent is accounted for, stored by the job or in the dead-letter queue (`lost` is 0); the
records the function reported failed are exactly those that came back, and a record that fails
on every receive ends in the dead-letter queue after `max_receive_count` receives, alone.

The queue's visibility timeout is shortened to `VISIBILITY_TIMEOUT_S` here (the stack sets six
times the function's timeout), so a failed record comes back in a second.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.settings import QueueTriggerSettings
from .local_lambda import InvocationResult, LocalLambda
from .services import AwsEmulator

VISIBILITY_TIMEOUT_S = 1
MAX_POLLS = 40
SQS_RECEIVE_MAX = 10
"""SQS returns at most 10 messages per ReceiveMessage; Lambda's poller receives until the batch is full."""


@dataclass
class RehearsedQueue:
    url: str
    arn: str
    dead_letter_url: str
    settings: QueueTriggerSettings


@dataclass
class Poll:
    """One batch: what was delivered, what the function reported failed, what was deleted."""

    delivered: list[str]
    failed: list[str]
    deleted: list[str]
    status: str


@dataclass
class QueueOutcome:
    sent: dict[str, str] = field(default_factory=dict)
    """Message ID -> body."""
    polls: list[Poll] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)

    def returned(self) -> list[str]:
        """Message IDs delivered again after a first delivery."""
        seen: set[str] = set()
        again: list[str] = []
        for poll in self.polls:
            for message_id in poll.delivered:
                if message_id in seen and message_id not in again:
                    again.append(message_id)
                seen.add(message_id)
        return again


def create_queue(aws: AwsEmulator, name: str, settings: QueueTriggerSettings) -> RehearsedQueue:
    """The stack's queue in moto: encrypted there as in AWS is not rehearsed; its redrive is."""
    sqs = aws.client("sqs")
    dead_letter_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url,
                                               AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_S),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn,
                                     "maxReceiveCount": settings.max_receive_count}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return RehearsedQueue(url, arn, dead_letter_url, settings)


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping gives the function for a batch."""
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": {key: str(value) for key, value in m.get("Attributes", {}).items()},
        "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


class QueuePoller:
    """Lambda's event source mapping for one queue, with ReportBatchItemFailures."""

    def __init__(self, aws: AwsEmulator, queue: RehearsedQueue) -> None:
        self.sqs = aws.client("sqs")
        self.region = aws.region
        self.queue = queue

    def receive(self, wait_s: int = 1) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        while len(batch) < self.queue.settings.batch_size:
            found = self.sqs.receive_message(
                QueueUrl=self.queue.url, MaxNumberOfMessages=min(SQS_RECEIVE_MAX,
                                                                 self.queue.settings.batch_size - len(batch)),
                WaitTimeSeconds=wait_s if not batch else 0, AttributeNames=["All"],
                MessageAttributeNames=["All"]).get("Messages", [])
            if not found:
                break
            batch += found
        return batch

    def poll(self, invoke: Callable[[dict[str, Any]], InvocationResult]) -> Poll | None:
        """One batch through the function; None when the queue had nothing to deliver."""
        messages = self.receive()
        if not messages:
            return None
        result = invoke(lambda_event(messages, self.queue.arn, self.region))
        delivered = [m["MessageId"] for m in messages]
        if not result.ok:  # the whole batch comes back
            return Poll(delivered, delivered, [], result.status)
        failures = result.payload.get("batchItemFailures") if isinstance(result.payload, dict) else None
        if not isinstance(failures, list) or any(
                not isinstance(f, dict) or f.get("itemIdentifier") not in delivered for f in failures):
            return Poll(delivered, delivered, [], "invalid partial batch response: the whole batch comes back")
        failed = [f["itemIdentifier"] for f in failures]
        deleted = [m for m in messages if m["MessageId"] not in failed]
        for message in deleted:
            self.sqs.delete_message(QueueUrl=self.queue.url, ReceiptHandle=message["ReceiptHandle"])
        return Poll(delivered, failed, [m["MessageId"] for m in deleted], "ok")

    def dead_lettered(self) -> list[str]:
        found = self.sqs.receive_message(QueueUrl=self.queue.dead_letter_url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=0).get("Messages", [])
        return [m["MessageId"] for m in found]


def rehearse_queue(aws: AwsEmulator, queue_name: str, settings: QueueTriggerSettings, bodies: list[str],
                   function: LocalLambda, out: Callable[[str], None],
                   stored: Callable[[], set[str]]) -> dict[str, Any]:
    """Send `bodies`, poll until the queue is empty, and account for every message: `stored`
    reads the message IDs the job wrote to the database."""
    queue = create_queue(aws, queue_name, settings)
    sqs = aws.client("sqs")
    outcome = QueueOutcome()
    for body in bodies:
        outcome.sent[sqs.send_message(QueueUrl=queue.url, MessageBody=body)["MessageId"]] = body
    out(f"  sent {len(bodies)} messages to {queue.arn} (batch size {settings.batch_size}, "
        f"max receive count {settings.max_receive_count})")
    poller = QueuePoller(aws, queue)
    idle = 0
    for _ in range(MAX_POLLS):
        poll = poller.poll(function.invoke)
        if poll is None:
            idle += 1
            if idle > VISIBILITY_TIMEOUT_S + 1:  # nothing in flight either
                break
            continue
        idle = 0
        outcome.polls.append(poll)
        out(f"  batch of {len(poll.delivered)}: {len(poll.deleted)} deleted, failed {poll.failed} ({poll.status})")
        time.sleep(VISIBILITY_TIMEOUT_S if poll.failed else 0)
    outcome.dead_lettered = poller.dead_lettered()
    written = stored()
    lost = sorted(set(outcome.sent) - written - set(outcome.dead_lettered))
    first = outcome.polls[0] if outcome.polls else Poll([], [], [], "no delivery")
    return {
        "statusCode": 200 if not lost and outcome.polls else None,
        "sent": len(outcome.sent),
        "stored": len(written & set(outcome.sent)),
        "first_batch": {"records": len(first.delivered), "failed": first.failed},
        "returned": outcome.returned(),
        "dead_lettered": outcome.dead_lettered,
        "lost": lost,
        "polls": len(outcome.polls),
    }


def messages_of(path: Path) -> list[str]:
    """The example's messages: a JSON list, each item sent as its JSON text (a string item as it is)."""
    return [item if isinstance(item, str) else json.dumps(item) for item in json.loads(path.read_text())]
