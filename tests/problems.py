"""A refusal read as data: the problems an error carries, each naming its argument.

`refusal(error)` is the error's text, but `"<argument>: <text>" in refusal(error)` holds only when
a problem names exactly that argument and its message contains the text: `"endpoints: ..."` is not
found in a problem of `interface_endpoints` whose message reads the same. A needle that does not
start with an argument's name (it has a space before its first `": "`) is looked for in the whole
text, as in a string.
"""

from __future__ import annotations

import re
from typing import Any

from components.model.problems import Problem

ARGUMENT = re.compile(r"[A-Za-z_][\w.:\[\]-]*")
"""An argument's name: `db_port`, a stack config key `vpc-lambda:dbPort`, an item `transforms[topic]`."""


class Refusal(str):
    problems: list[Problem]

    def __new__(cls, error: BaseException) -> Refusal:
        problems = getattr(error, "problems", None)
        assert problems is not None, f"{type(error).__name__} carries no problems: {error}"
        text = super().__new__(cls, str(error))
        text.problems = [p if isinstance(p, Problem) else Problem(*p) for p in problems]
        return text

    @property
    def arguments(self) -> list[str]:
        return [p.argument for p in self.problems]

    def __contains__(self, needle: object) -> bool:
        assert isinstance(needle, str)
        head, sep, text = needle.partition(": ")
        if sep and ARGUMENT.fullmatch(head):
            return any(p.argument == head and text in p.message for p in self.problems)
        return super().__contains__(needle)


def refusal(error: Any) -> Refusal:
    return Refusal(error)
