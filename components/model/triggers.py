"""What runs the job: a schedule (an EventBridge rule) and a queue (an SQS event source mapping),
as pure checks and names. `resources/triggers.py` creates them.

`schedule` takes EventBridge's schedule expressions, checked with EventBridge's own syntax
(EventBridge User Guide, "Schedule expressions for rules"):

* `rate(<value> <unit>)`: a whole number above 0 and `minute`, `hour` or `day`, singular for 1
  and plural otherwise (`rate(1 hour)`, `rate(5 minutes)`; `rate(1 minutes)` is refused);
* `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`: six fields, in UTC,
  one of the two day fields `?`; `, - * /` everywhere, `L` and `W` in the day of month, `L` and
  `#` in the day of week, months `JAN`-`DEC` and days `SUN`-`SAT` by name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .arns import KEY_ARN, QUEUE_ARN
from .aws_limits import LIMITS
from .names import MAX_FUNCTION_NAME
from .problems import Problem, shown
from .settings import QueueTriggerSettings

RATE = re.compile(r"rate\((?P<value>[^ )]*) (?P<unit>[^ )]*)\)")
CRON = re.compile(r"cron\((?P<fields>[^)]*)\)")
RATE_UNITS = ("minute", "hour", "day")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    """Names that stand for low, low + 1, ... (months, days)."""
    question_mark: bool = False
    last: bool = False
    """`L` allowed."""
    weekday: bool = False
    """`W` allowed (nearest weekday)."""
    nth: bool = False
    """`#` allowed (the nth day of the week in the month)."""


CRON_FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31, question_mark=True, last=True, weekday=True),
    CronField("month", 1, 12, MONTHS),
    CronField("day-of-week", 1, 7, DAYS, question_mark=True, last=True, nth=True),
    CronField("year", 1970, 2199),
)


def _number(text: str, field: CronField) -> int | None:
    upper = text.upper()
    if upper in field.names:
        return field.low + field.names.index(upper)
    if text.isdigit() and field.low <= int(text) <= field.high:
        return int(text)
    return None


def _cron_part(part: str, field: CronField) -> str | None:
    """None when `part` (one comma-separated item) is allowed in `field`, else why not."""
    allowed = f"{field.low}-{field.high}" + (f" or {field.names[0]}-{field.names[-1]}" if field.names else "")
    if part == "*":
        return None
    if field.last and part == "L":
        return None
    if field.weekday and (part == "LW" or (part.endswith("W") and _number(part[:-1], field) is not None)):
        return None
    if field.last and field.nth and part.endswith("L") and _number(part[:-1], field) is not None:
        return None
    if field.nth and "#" in part:
        day, _, nth = part.partition("#")
        return None if _number(day, field) is not None and nth in ("1", "2", "3", "4", "5") else \
            f"{part!r} is not <day>#<1-5>"
    base, slash, step = part.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        return f"{part!r}: the increment after / must be a whole number above 0"
    if base == "*" and slash:
        return None
    start, dash, end = base.partition("-")
    for bound in (start, end) if dash else (start,):
        if _number(bound, field) is None:
            return f"{part!r} is not allowed (values {allowed})"
    return None


def cron_problems(fields_text: str) -> list[str]:
    fields = fields_text.split()
    if len(fields) != len(CRON_FIELDS):
        return [f"cron takes six fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
                + ("; add the year, e.g. *" if len(fields) == 5 else "")]
    found = []
    for text, field in zip(fields, CRON_FIELDS, strict=True):
        if text == "?":
            if not field.question_mark:
                found.append(f"{field.name}: ? is allowed only in day-of-month and day-of-week")
            continue
        for part in text.split(","):
            why = _cron_part(part, field) if part else f"{text!r} has an empty item"
            if why:
                found.append(f"{field.name}: {why}")
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        found.append("one of day-of-month and day-of-week must be ?, and only one (EventBridge refuses both set, "
                     "or both ?)")
    return found


def schedule_problems(value: Any) -> list[Problem]:
    """`schedule`: a rate or a six-field cron expression, as EventBridge accepts it."""
    name = "schedule"
    if value is None:
        return []
    example = "rate(1 hour), rate(15 minutes) or cron(0 6 * * ? *)"
    if not isinstance(value, str):
        return [Problem(name, f"got {value!r}; expected a schedule expression such as {example}")]
    rate, cron = RATE.fullmatch(value), CRON.fullmatch(value)
    if rate:
        amount, unit = rate["value"], rate["unit"]
        if not amount.isdigit() or int(amount) < 1:
            return [Problem(name, f"{value!r}: the rate is a whole number above 0, got {amount!r}")]
        singular = int(amount) == 1
        wanted = unit.rstrip("s") if unit.rstrip("s") in RATE_UNITS else None
        if wanted is None:
            close = difflib.get_close_matches(unit, [*RATE_UNITS, *(f"{u}s" for u in RATE_UNITS)], n=1)
            return [Problem(name, f"{value!r}: unknown unit {unit!r}; allowed: minute(s), hour(s), day(s)"
                                  + (f"; did you mean {close[0]!r}?" if close else ""))]
        expected = wanted if singular else f"{wanted}s"
        if unit != expected:
            return [Problem(name, f"{value!r}: EventBridge wants rate({amount} {expected}) (singular for 1, plural "
                                  "otherwise)")]
        return []
    if cron:
        return [Problem(name, f"{value!r}: {why}") for why in cron_problems(cron["fields"])]
    return [Problem(name, f"got {value!r}; expected rate(<value> <unit>) or cron(<six fields>), e.g. {example}")]


# ------------------------------------------------------------------ the queue

QUEUE = "queue"
QUEUE_FIELDS = tuple(QueueTriggerSettings.__dataclass_fields__)
BATCH_SIZE = (1, 10_000)
"""Lambda API: CreateEventSourceMapping BatchSize for a standard queue (FIFO: at most 10)."""
FIFO_BATCH_SIZE = 10
BATCHING_WINDOW = (0, 300)
"""Lambda API: MaximumBatchingWindowInSeconds."""
MAXIMUM_CONCURRENCY = (2, 1000)
"""Lambda API: ScalingConfig MaximumConcurrency for SQS."""
MAX_RECEIVE_COUNT = (1, 1000)
"""SQS: a redrive policy's maxReceiveCount."""
VISIBILITY_MULTIPLE = 6
"""AWS's advice: a queue's visibility timeout at least six times the function's timeout (plus the
batching window), so a batch retried after a throttle is not delivered twice at once."""
MAX_VISIBILITY_TIMEOUT = 43_200
"""SQS: VisibilityTimeout, at most 12 hours."""
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
"""The queue keeps a message 4 days (SQS's default, written out)."""
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
"""Its dead-letter queue the 14 days SQS allows at most: time to look at a poisoned message."""


def queue_name_of(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def visibility_timeout(function_timeout_seconds: int, window_seconds: int) -> int:
    return min(MAX_VISIBILITY_TIMEOUT, VISIBILITY_MULTIPLE * function_timeout_seconds + window_seconds)


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def queue_problems(value: Any, place: tuple[str, str] | None = None) -> tuple[QueueTriggerSettings | None,
                                                                                list[Problem]]:
    """`queue`: a mapping of `QueueTriggerSettings`' fields (`{}` for a queue with every default);
    `place` is (partition, region) once known, to hold an existing queue and its key to it."""
    if value is None:
        return None, []
    if not isinstance(value, Mapping):
        return None, [Problem(QUEUE, f"got {value!r}; expected a mapping such as {{}} (a queue made with the "
                                     "defaults) or {queue_arn: ..., batch_size: ...}")]
    problems = []
    for key in value:
        if key not in QUEUE_FIELDS:
            close = difflib.get_close_matches(str(key), QUEUE_FIELDS, n=1)
            problems.append(Problem(QUEUE, f"unknown field {key!r}" + (f"; did you mean {close[0]!r}?" if close
                                                                       else f"; allowed: {', '.join(QUEUE_FIELDS)}")))
    given = {k: v for k, v in value.items() if k in QUEUE_FIELDS and v is not None}
    settings = QueueTriggerSettings(**given)
    arn, key = settings.queue_arn, settings.kms_key_arn
    fifo = False
    if arn is not None:
        match = QUEUE_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None:
            problems.append(Problem(QUEUE, f"queue_arn got {shown(arn)}; expected an SQS queue ARN "
                                           "(arn:<partition>:sqs:<region>:<account>:<name>)"))
        else:
            fifo = match["name"].endswith(".fifo")
            if place is not None and (match["partition"], match["region"]) != place:
                problems.append(Problem(QUEUE, f"queue_arn {arn} is in {match['partition']} {match['region']}; the "
                                               f"function runs in {place[0]} {place[1]}, and Lambda reads queues of "
                                               "its own region only"))
        if "max_receive_count" in given:
            problems.append(Problem(QUEUE, "max_receive_count sets the redrive of the queue the component makes; "
                                           "with queue_arn the queue's own redrive policy applies: remove it"))
    if key is not None:
        match = KEY_ARN.fullmatch(key) if isinstance(key, str) else None
        if arn is None:
            problems.append(Problem(QUEUE, "kms_key_arn is the key of an existing queue (queue_arn); the queue the "
                                           "component makes uses the component's key"))
        elif match is None:
            problems.append(Problem(QUEUE, f"kms_key_arn got {shown(key)}; expected a KMS key ARN "
                                           "(arn:<partition>:kms:<region>:<account>:key/<key id>)"))
        elif place is not None and (match["partition"], match["region"]) != place:
            problems.append(Problem(QUEUE, f"kms_key_arn {key} is in {match['partition']} {match['region']}, not in "
                                           f"{place[0]} {place[1]}"))
    batch_high = FIFO_BATCH_SIZE if fifo else BATCH_SIZE[1]
    if not _whole(settings.batch_size, BATCH_SIZE[0], batch_high):
        problems.append(Problem(QUEUE, f"batch_size got {settings.batch_size!r}; allowed: 1 to {batch_high}"
                                       + (" (a FIFO queue)" if fifo else "")))
    if not _whole(settings.maximum_batching_window_seconds, *BATCHING_WINDOW):
        problems.append(Problem(QUEUE, f"maximum_batching_window_seconds got "
                                       f"{settings.maximum_batching_window_seconds!r}; allowed: 0 to 300"))
    elif fifo and settings.maximum_batching_window_seconds:
        problems.append(Problem(QUEUE, "maximum_batching_window_seconds: Lambda batches a FIFO queue without a "
                                       "window; remove it"))
    elif (isinstance(settings.batch_size, int) and settings.batch_size > FIFO_BATCH_SIZE
          and not settings.maximum_batching_window_seconds):
        problems.append(Problem(QUEUE, f"batch_size {settings.batch_size} needs maximum_batching_window_seconds of "
                                       "1 or more (Lambda refuses a batch above 10 without a window)"))
    if settings.maximum_concurrency is not None and not _whole(settings.maximum_concurrency, *MAXIMUM_CONCURRENCY):
        problems.append(Problem(QUEUE, f"maximum_concurrency got {settings.maximum_concurrency!r}; allowed: 2 to "
                                       "1000"))
    if not _whole(settings.max_receive_count, *MAX_RECEIVE_COUNT):
        problems.append(Problem(QUEUE, f"max_receive_count got {settings.max_receive_count!r}; allowed: 1 to 1000"))
    return (settings if not problems else None), problems


# ------------------------------------------------------------------ names

SCHEDULE_SUFFIX = "-schedule"
RULE_NAME = LIMITS["aws:cloudwatch/eventRule:EventRule"]["name"]


def schedule_rule_name(function_name: str) -> str:
    """`<function name>-schedule`: fixed, so the key policy can name the rule before it exists."""
    return function_name[:MAX_FUNCTION_NAME - len(SCHEDULE_SUFFIX)] + SCHEDULE_SUFFIX


def schedule_rule_arn(partition: str, region: str, account_id: str, rule_name: str) -> str:
    """The rule's ARN on the default event bus."""
    return f"arn:{partition}:events:{region}:{account_id}:rule/{rule_name}"


SCHEDULE_RETRY_ATTEMPTS = 4
"""EventBridge's retries of a delivery to the function (throttled, or Lambda unavailable) before the
event goes to the dead-letter queue; AWS's default is 185 over 24 hours."""
SCHEDULE_EVENT_AGE_SECONDS = 3600
"""An hour: a scheduled run that cannot be delivered within it is not worth running late."""
EVENTS_PRINCIPAL = "events.amazonaws.com"
