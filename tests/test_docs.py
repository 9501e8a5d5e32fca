"""The documentation: the README's and docs/ pages' generated tables match the code, and every
relative link and anchor between the pages resolves."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import doc_links  # noqa: E402
import gen_docs  # noqa: E402

from components.component import output_names  # noqa: E402
from components.model.args import Settings, VpcLambdaWithPrivateServicesArgs  # noqa: E402
from vpclambda_runtime import errors  # noqa: E402


@pytest.mark.parametrize("page", list(gen_docs.GENERATED), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_generated_tables_match_the_code(page: Path) -> None:
    text = page.read_text()
    assert gen_docs.render(text, gen_docs.GENERATED[page], page.name) == text, "run python scripts/gen_docs.py"


def test_the_error_table_is_every_handler_error_of_the_runtime_library() -> None:
    table = gen_docs.errors_table()
    rows = re.findall(r"^\| `(\w+)` \| (.+) \| \[runbook\]\(operations\.md#(runbook-\w+)\) \|$", table, re.M)
    defined = [value for value in vars(errors).values() if isinstance(value, type)
               and issubclass(value, errors.HandlerError) and value is not errors.HandlerError]
    assert [name for name, _, _ in rows] == [cls.__name__ for cls in defined]
    for (name, when, anchor), cls in zip(rows, defined, strict=True):
        assert when.split()[:4] == (cls.__doc__ or "").split()[:4], name
        assert anchor == f"runbook-{name.lower()}"
    assert len(table.splitlines()) == len(defined) + 2, "a header, a rule and one row per type"


def test_a_new_error_type_gets_a_row(monkeypatch: pytest.MonkeyPatch) -> None:
    class QuotaError(errors.HandlerError):
        """A quota was exhausted.

        Further paragraphs stay out of the table."""

    QuotaError.__module__ = errors.__name__
    monkeypatch.setattr(errors, "QuotaError", QuotaError, raising=False)
    table = gen_docs.errors_table()
    assert table.splitlines()[-1] == (
        "| `QuotaError` | A quota was exhausted. | [runbook](operations.md#runbook-quotaerror) |")
    function_page = gen_docs.DOCS / "function.md"
    rendered = gen_docs.render(function_page.read_text(), ("errors",), "function.md")
    assert rendered != function_page.read_text(), "a stale page fails --check"


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves() -> None:
    assert doc_links.broken_links(ROOT) == []
    pages = sorted(path.name for path in (ROOT / "docs").glob("*.md"))
    assert {"function.md", "operations.md", "performance.md"} <= set(pages)


def test_gen_docs_check_passes_and_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen_docs.main(["--check"]) == 0
    monkeypatch.setattr(doc_links, "broken_links", lambda root: ["README.md:1: docs/nowhere.md: no such file"])
    assert gen_docs.main(["--check"]) == 1
    assert "docs/nowhere.md" in capsys.readouterr().err


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Operations: alarms, log metrics, dashboard, runbook", "operations-alarms-log-metrics-dashboard-runbook"),
    ("make local: the dev stack rehearsed on one machine", "make-local-the-dev-stack-rehearsed-on-one-machine"),
    ("Your own job's code", "your-own-jobs-code"),
    ("Secure by default, with an explicit dev profile", "secure-by-default-with-an-explicit-dev-profile"),
    ("`make bench` and [the figures](x.md)", "make-bench-and-the-figures"),
    ("Snake_case and *emphasis*", "snake_case-and-emphasis"),
    ("vpc-lambda: a Lambda function", "vpc-lambda-a-lambda-function"),
])
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert doc_links.slug(heading) == anchor


def test_the_link_check_reports_what_leads_nowhere(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# Title\n\n## Usage\n\n## Usage\n\n"
        "[ok](docs/a.md#a-heading) [ok](#usage-1) [ok](docs/a.md#runbook-x) [ok](https://example.com/#nowhere)\n"
        "[missing file](docs/gone.md) [missing anchor](docs/a.md#no-such-heading)\n"
        "`[in code](docs/gone.md)`\n\n```\n[in a block](docs/gone.md)\n# not a heading\n```\n"
        "[no heading from a code block](#not-a-heading)\n"
        "`docs/a.md` `components/moved.py` `job/app.py` `docs/<page>.md`\n"
        "<!-- bench:start -->\n`components/measured_then.py`\n<!-- bench:end -->\n")
    (tmp_path / "docs" / "a.md").write_text("# A heading\n\n<a id=\"runbook-x\"></a>\n[back](../README.md#usage)\n")
    (tmp_path / "docs" / "unlinked.md").write_text("# Unlinked\n\n[broken](a.md#b)\n")
    assert doc_links.broken_links(tmp_path) == [
        "README.md:16: names `components/moved.py`, which does not exist",
        "README.md:8: docs/gone.md: no such file",
        "README.md:8: docs/a.md#no-such-heading: a.md has no anchor #no-such-heading",
        "README.md:15: #not-a-heading: README.md has no anchor #not-a-heading",
        "docs/unlinked.md:3: a.md#b: a.md has no anchor #b",
        "README.md: does not link to docs/unlinked.md",
    ]


def test_the_quick_start_program_is_the_minimal_example() -> None:
    """The README's quick start shows the program the tests install and evaluate (test_distribution)."""
    readme = gen_docs.README.read_text()
    quick_start = readme[readme.index("<!-- quick-start:start"):readme.index("<!-- quick-start:end -->")]
    program = re.search(r"```python\n# __main__.py\n(.*?)```", quick_start, re.S)
    assert program, "the quick start shows a __main__.py"
    example = ast.parse((ROOT / "examples" / "minimal" / "__main__.py").read_text())
    example.body = [node for node in example.body
                    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]  # the docstring
    assert ast.dump(ast.parse(program.group(1))) == ast.dump(example)
    assert len(program.group(1).splitlines()) <= 10


def test_the_performance_page_holds_the_bench_markers() -> None:
    from bench.report import END_MARKER, START_MARKER

    page = (ROOT / "docs" / "performance.md").read_text()
    assert 0 <= page.find(START_MARKER) < page.find(END_MARKER)


def test_the_readme_is_short() -> None:
    assert len(gen_docs.README.read_text().splitlines()) < 350, "move a section to docs/ and link it"


def test_every_argument_is_documented_with_its_default() -> None:
    documented = gen_docs.field_docs(gen_docs.ARGS_FILE, "VpcLambdaWithPrivateServicesArgs")
    assert [name for name, _, _ in documented] == list(VpcLambdaWithPrivateServicesArgs.__annotations__)
    assert {name for name, _, _ in documented} == set(Settings.__dataclass_fields__)
    for name, _, doc in documented:
        assert doc and ("Default:" in doc or "Required." in doc), f"{name} has no documented default"


def test_every_output_is_documented() -> None:
    documented = gen_docs.field_docs(gen_docs.COMPONENT_FILE, "VpcLambdaWithPrivateServices")
    assert [name for name, _, _ in documented] == output_names()
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
    field = Settings.__dataclass_fields__["db_port"]
    monkeypatch.setattr(field, "default", 3307)
    table = gen_docs.arguments_table()
    assert "| `db_port` | `dbPort` | `int` | `3307` |" in table
