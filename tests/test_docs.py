"""The README's argument and output tables are generated from the code and must match it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import gen_docs  # noqa: E402

from components.component import output_names  # noqa: E402
from components.model.args import Settings, VpcLambdaWithPrivateServicesArgs  # noqa: E402


def test_readme_tables_match_the_code() -> None:
    readme = gen_docs.README.read_text()
    assert gen_docs.render(readme) == readme, "run python scripts/gen_docs.py"


def test_every_argument_is_documented_with_its_default() -> None:
    documented = gen_docs.field_docs(gen_docs.ARGS_FILE, "VpcLambdaWithPrivateServicesArgs")
    assert [name for name, _, _ in documented] == list(VpcLambdaWithPrivateServicesArgs.__annotations__)
    assert {name for name, _, _ in documented} == set(Settings.__dataclass_fields__)
    for name, _, doc in documented:
        assert doc and ("Default:" in doc or "Required." in doc), f"{name} has no documented default"


def test_every_output_is_documented() -> None:
    documented = gen_docs.field_docs(gen_docs.COMPONENT_FILE, "VpcLambdaWithPrivateServices")
    assert [name for name, _, _ in documented] == output_names()
    assert len(output_names()) == 16
    assert all(doc.endswith(".") for _, _, doc in documented)


def test_every_literal_default_in_a_docstring_is_the_settings_default() -> None:
    """The README's default column comes from `Settings`; a docstring that names a default must
    name the same one, so neither can change without the other."""
    checked = 0
    for name, _, doc in gen_docs.field_docs(gen_docs.ARGS_FILE, "VpcLambdaWithPrivateServicesArgs"):
        value = gen_docs.settings_default(name)
        if value is None:
            continue
        assert gen_docs.documented_default(doc).startswith(gen_docs.format_default(value)), (
            f"{name}: the docstring says {gen_docs.documented_default(doc)!r}, Settings has {value!r}")
        checked += 1
    assert checked >= 20


def test_a_changed_settings_default_changes_the_readme(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    field = Settings.__dataclass_fields__["db_port"]
    monkeypatch.setattr(field, "default", 3307)
    table = gen_docs.arguments_table()
    assert "| `db_port` | `dbPort` | `int` | `3307` |" in table
    assert dataclasses.fields(Settings)
