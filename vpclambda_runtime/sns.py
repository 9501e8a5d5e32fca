"""The SNS notification: one message per run, ``MessageStructure='json'``.

With ``MessageStructure='json'`` the Message is a JSON object of per-protocol texts and
SNS rejects it unless it has a ``"default"`` key (the text for every protocol without a
key of its own). Here ``default`` carries the machine-readable report (a JSON document,
what SQS, Lambda and HTTP subscribers receive) and ``email`` a sentence for people.
A message over SNS's 256 KB limit is refused here, before any call.
"""

from __future__ import annotations

import json
from typing import Any

from . import aws_clients
from .budget import Budget
from .errors import NotificationError
from .settings import Settings

MAX_MESSAGE_BYTES = 256 * 1024


def encode_message(message: dict[str, str]) -> str:
    """The Message parameter for ``MessageStructure='json'``, checked the way SNS checks it."""
    if not isinstance(message.get("default"), str) or not message["default"]:
        raise NotificationError('a MessageStructure=json message needs a non-empty "default" text')
    if not all(isinstance(value, str) for value in message.values()):
        raise NotificationError("every value of a MessageStructure=json message must be a string")
    encoded = json.dumps(message, ensure_ascii=False)
    size = len(encoded.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise NotificationError(f"the notification is {size} bytes; SNS accepts at most {MAX_MESSAGE_BYTES}")
    return encoded


def publish(settings: Settings, message: dict[str, str], subject: str | None, budget: Budget) -> str:
    """Publish to the function's topic within what is left of the budget; returns SNS's MessageId."""
    encoded = encode_message(message)
    with budget.phase("sns", "publish") as phase, aws_clients.aws_call(
        "sns", f"Publish to {settings.topic_arn}", settings, phase, NotificationError
    ) as client:
        extra = {"Subject": subject} if subject else {}
        response: dict[str, Any] = client.publish(
            TopicArn=settings.topic_arn, Message=encoded, MessageStructure="json", **extra
        )
    message_id = response.get("MessageId")
    if not message_id:
        raise NotificationError(f"SNS accepted the message for {settings.topic_arn} but returned no MessageId")
    return str(message_id)
