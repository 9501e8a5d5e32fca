"""Every bad value of `test_argument_constraints.BAD_VALUES` gives exactly its recorded problems
(`tests/refusal_record.py` says how they are recorded and why)."""

from __future__ import annotations

import pytest

from tests import refusal_record
from tests.test_argument_constraints import BAD_VALUES, problems_of


def test_every_bad_value_is_refused_in_its_recorded_words() -> None:
    differing = []
    for name, values in BAD_VALUES.items():
        for kind, value in values.items():
            try:
                refusal_record.check(f"{name}: {kind}", problems_of(name, value))
            except AssertionError as error:
                differing.append(str(error).split("\n")[0])
    assert differing == []


def test_each_recorded_bad_value_names_only_its_argument() -> None:
    for name, values in BAD_VALUES.items():
        for kind in values:
            words = refusal_record.current().get(f"{name}: {kind}")
            assert words, f"{name}: {kind}: nothing recorded"
            assert {argument for argument, _ in words} == {name}, (name, kind, words)


@pytest.mark.parametrize(("message", "expected"), [
    (f"{refusal_record.ROOT}/tests/x.py is not a PEM bundle", "<checkout>/tests/x.py is not a PEM bundle"),
    ("got <function <lambda> at 0x7f3a2b1c>; expected", "got <function <lambda> at 0x…>; expected"),
])
def test_the_recorded_words_are_the_same_on_every_machine(message: str, expected: str) -> None:
    assert refusal_record.portable(message) == expected


def test_every_recorded_refusal_belongs_to_a_test_that_exists() -> None:
    """A renamed or removed test leaves no words behind in the record."""
    root = refusal_record.ROOT
    for key in refusal_record.recorded():
        if not key.startswith("tests/"):
            continue
        path, _, test = key.rsplit("#", 1)[0].partition("::")
        function = test.split("[", 1)[0]
        assert (root / path).is_file() and f"def {function}(" in (root / path).read_text(), key
