"""The SNS notification: one message per run, ``MessageStructure='json'``.

With ``MessageStructure='json'`` the Message is a JSON object of per-protocol texts and
SNS rejects it unless it has a ``"default"`` key (the text for every protocol without a
key of its own). Here ``default`` carries the machine-readable report (a JSON document,
what SQS, Lambda and HTTP subscribers receive) and ``email`` a sentence for people.

Everything SNS would refuse is refused here, before any call, as a ``NotificationError``: a
message over SNS's 256 KB limit, text that is not valid Unicode (a lone surrogate), a subject
over 100 characters or with a line break or another control character. A report is written as
JSON with what database rows carry converted as documented (``to_json``); anything else JSON
cannot carry (a set, an object, NaN) is refused the same way.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from . import aws_clients
from .budget import Budget
from .errors import ConfigurationError, NotificationError
from .settings import Settings

MAX_MESSAGE_BYTES = 256 * 1024
MAX_SUBJECT_CHARACTERS = 100


def _row_value(value: Any) -> Any:
    """What database rows carry, as JSON: Decimal its exact digits (a string), dates and times ISO
    8601, a duration (MySQL TIME) its seconds, bytes base64."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"a value of type {type(value).__name__} is not JSON serialisable")


def to_json(message: Mapping[str, Any]) -> str:
    """``message`` as sorted JSON, with the conversions of ``_row_value``; a ``NotificationError``
    naming what cannot be written."""
    try:
        return json.dumps(dict(message), sort_keys=True, default=_row_value, allow_nan=False, ensure_ascii=False)
    except TypeError as exc:
        raise NotificationError(
            f"the notification cannot be written as JSON: {exc} (a notification carries text, numbers, booleans, "
            "null, lists, mappings with text keys, and Decimal, datetime, date, time, timedelta and bytes values)"
        ) from None
    except ValueError as exc:
        raise NotificationError(f"the notification cannot be written as JSON: {exc} (NaN and infinities are not "
                                "JSON; send them as text or null)") from None


def check_text(text: str, what: str) -> None:
    """Refuse text that is not valid Unicode (it cannot be encoded as UTF-8, as SNS needs)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotificationError(
            f"the {what} is not valid Unicode text: {exc.reason} at position {exc.start} "
            f"({text[max(0, exc.start - 20):exc.start]!r} is what precedes it)"
        ) from None


def check_subject(subject: str) -> None:
    """SNS's rule for a subject: at most 100 characters, no line break or other control character."""
    check_text(subject, "subject")
    if len(subject) > MAX_SUBJECT_CHARACTERS:
        raise NotificationError(
            f"the subject is {len(subject)} characters; SNS accepts at most {MAX_SUBJECT_CHARACTERS}: "
            f"{subject[:40]!r}..."
        )
    for position, character in enumerate(subject):
        if unicodedata.category(character) == "Cc":
            raise NotificationError(
                f"the subject has a control character U+{ord(character):04X} at position {position}: SNS refuses "
                "line breaks and control characters in a subject"
            )


def encode_message(message: dict[str, str]) -> str:
    """The Message parameter for ``MessageStructure='json'``, checked the way SNS checks it."""
    if not isinstance(message.get("default"), str) or not message["default"]:
        raise NotificationError('a MessageStructure=json message needs a non-empty "default" text')
    if not all(isinstance(value, str) for value in message.values()):
        raise NotificationError("every value of a MessageStructure=json message must be a string")
    for protocol, text in message.items():
        check_text(text, f"notification's {protocol!r} text")
    encoded = json.dumps(message, ensure_ascii=False)
    size = len(encoded.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise NotificationError(f"the notification is {size} bytes; SNS accepts at most {MAX_MESSAGE_BYTES}")
    return encoded


def publish(settings: Settings, message: dict[str, str], subject: str | None, budget: Budget) -> str:
    """Publish to the function's topic within what is left of the budget; returns SNS's MessageId."""
    if settings.topic_arn is None:
        raise ConfigurationError("environment variable TOPIC_ARN is required to notify but is not set (the component "
                                 "sets it on the job; the migration function does not notify)")
    encoded = encode_message(message)
    if subject is not None:
        check_subject(subject)
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
