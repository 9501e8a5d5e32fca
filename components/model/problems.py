"""Problems as data: every check returns `Problem`s, each naming the argument to change.

A check decides what to ask next, and an error says which argument is at fault, by reading
`Problem.argument`, never by parsing a message. `ArgumentError` reports every problem at once;
run from the stack program, the arguments are named by their stack config keys
(`stack_config.named_by_config_key`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Problem:
    argument: str
    """The argument to change (`db_port`), or what stands for it (`name`, the component's name;
    `args`; a stack config key such as `vpc-lambda:dbPort` once translated)."""
    message: str
    """What is wrong and what is allowed, without the argument's name."""

    def __str__(self) -> str:
        return f"{self.argument}: {self.message}"

    def named(self, rename: Callable[[str], str]) -> Problem:
        """The same problem, its argument spelt another way (a config key, a shared argument)."""
        return replace(self, argument=rename(self.argument))


def shown(value: Any) -> str:
    """A given value as a message quotes it; an Output (or an awaitable), known only at deployment,
    by what it is rather than by its object's address."""
    if type(value).__name__ == "Output" or hasattr(value, "__await__"):
        return "an Output, known only at deployment (give the text itself: the preview checks it)"
    return repr(value)


def about(argument: str, messages: Iterable[str]) -> list[Problem]:
    """Problems of one argument from messages that do not name it (a limit's findings)."""
    return [Problem(argument, message) for message in messages]


def arguments(problems: Iterable[Problem]) -> set[str]:
    """The arguments the problems name: what the next checks must not rely on."""
    return {problem.argument for problem in problems}


class ArgumentError(ValueError):
    """Bad arguments; the message lists every problem found, each naming its argument."""

    def __init__(self, problems: Sequence[Problem], source: str = "VpcLambdaWithPrivateServices") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: invalid arguments:\n  - " + "\n  - ".join(map(str, self.problems)))

    @property
    def arguments(self) -> set[str]:
        return arguments(self.problems)
