"""The README's argument and output tables are generated from the code and must match it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import gen_docs  # noqa: E402

from components.args import Settings, VpcLambdaWithPrivateServicesArgs  # noqa: E402
from components.component import output_names  # noqa: E402


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
    assert len(output_names()) == 14
    assert all(doc.endswith(".") for _, _, doc in documented)
