"""The recorded words of refusals (`refusal_messages.json`): a test hands its refusal's problems to
`check` (or the error to `exact_words`) and they must equal, argument and message and order, the
words recorded under the test's key. The messages are the product's user interface at preview time:
a word dropped, a fallback changed or a limit misquoted shows as a difference to review.

After changing messages on purpose, record them again in one process and review the diff:

    UPDATE_REFUSAL_MESSAGES=1 python -m pytest -n 0 -m "not integration"
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

RECORD = Path(__file__).with_name("refusal_messages.json")
ROOT = Path(__file__).resolve().parent.parent
UPDATING = bool(os.environ.get("UPDATE_REFUSAL_MESSAGES"))
found_while_updating: dict[str, list[list[str]]] = {}


def portable(message: str) -> str:
    """The message without what differs between machines and runs: the checkout's path, a test's
    temporary directory, addresses."""
    message = re.sub(r" at 0x[0-9a-f]+", " at 0x…", message.replace(str(ROOT), "<checkout>"))
    return re.sub(r"/[^\s'\"]*/pytest-of-[^/]+/pytest-\d+/[^/\s'\"]+", "<tmp>", message)


def words_of(problems: Iterable[Any]) -> list[list[str]]:
    return [[p.argument, portable(p.message)] for p in problems]


@cache
def recorded() -> dict[str, list[list[str]]]:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


def current() -> dict[str, list[list[str]]]:
    """The record, with what this run found when it is recording."""
    return {**recorded(), **found_while_updating}


def check(key: str, problems: Iterable[Any]) -> None:
    words = words_of(problems)
    if UPDATING:
        found_while_updating[key] = words
        return
    assert key in recorded(), f"{key}: no recorded words; record them (see tests/refusal_record.py) and review"
    assert words == recorded()[key], f"{key}: the refusal's words changed (recorded, then now)"


_calls: dict[str, int] = {}


def exact_words(error: Any) -> None:
    """The refusal's problems are exactly the ones recorded for the running test (its n-th refusal)."""
    test = os.environ["PYTEST_CURRENT_TEST"].rsplit(" (", 1)[0]
    _calls[test] = _calls.get(test, 0) + 1
    check(f"{test}#{_calls[test]}", error.problems)


def write() -> None:
    """Merges what this run found into the record (run with `-n 0`: one process writes it)."""
    if UPDATING and found_while_updating:
        merged = {**recorded(), **found_while_updating}
        RECORD.write_text(json.dumps(merged, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
