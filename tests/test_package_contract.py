"""The package contract (`vpclambda_runtime.contract`) is the one owner of what the component
and the function must agree on; these tests hold both sides to it.

The migration files are the case that drifted once: the preview accepted `0000_init.sql` and two
files of one version, which the migration function then refused in the middle of `pulumi up`,
after the database existed. Here generated directories of file names are judged by both sides:
the preview refuses exactly what the function refuses.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.build.function_code import check_migrations
from components.build.packaging import migrations_sha256
from vpclambda_runtime import contract
from vpclambda_runtime.errors import ConfigurationError, MigrationError
from vpclambda_runtime.migration_runner import load_migrations

STATEMENT = b"CREATE TABLE t (id INT);\n"

versions = st.one_of(st.integers(min_value=0, max_value=12).map(str),
                     st.sampled_from(["0000", "0001", "0002", "01", "001", "10", "0010", "x", ""]))
descriptions = st.sampled_from(["init", "add_title", "a-b", "", "_lead", "-x", "ok2", "na me", "é"])
suffixes = st.sampled_from([".sql", ".SQL", ".sql.bak", ""])
names = st.builds(lambda v, d, s: f"{v}_{d}{s}" if d or v else f"{v}{s}", versions, descriptions, suffixes)
contents = st.sampled_from([STATEMENT, b"-- only a comment\n", b"", "SELECT 'é';".encode("latin-1"), b"SELECT 1;"])
directories = st.dictionaries(names.filter(lambda n: n not in ("", ".", "..") and "/" not in n), contents,
                              max_size=5)


def runtime_verdict(directory: Path) -> str | None:
    try:
        load_migrations(directory)
    except (MigrationError, ConfigurationError) as error:
        return str(error)
    return None


def preview_verdict(directory: Path) -> list[str]:
    problems = check_migrations(str(directory), None)
    assert {p.argument for p in problems} <= {"migrations_source"}
    return [str(p) for p in problems]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(directories)
def test_the_preview_refuses_exactly_what_the_migration_function_refuses(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for name, data in files.items():
            (directory / name).write_bytes(data)
        runtime, preview = runtime_verdict(directory), preview_verdict(directory)
        assert (runtime is None) == (not preview), (sorted(files), runtime, preview)
        if runtime is not None:
            # The same words, and the argument to change named first.
            assert preview == [f"migrations_source: {runtime}"]


@pytest.mark.parametrize(("files", "refused"), [
    ({"0000_init.sql": STATEMENT}, "0000_init.sql"),
    ({"0001_a.sql": STATEMENT, "001_b.sql": STATEMENT}, "have the same version"),
    ({"0001_a.sql": STATEMENT, "0002_b.sql": b"-- nothing\n"}, "holds no SQL statement"),
])
def test_the_cases_that_drifted_are_refused_at_preview(tmp_path: Path, files: dict[str, bytes], refused: str) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (problem,) = preview_verdict(tmp_path)
    assert problem.startswith("migrations_source: ") and refused in problem


def test_both_sides_compute_one_digest(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_bytes(STATEMENT)
    (tmp_path / "0002_b.sql").write_bytes(b"ALTER TABLE t ADD c INT;")
    expected = contract.migrations_sha256(load_migrations(tmp_path))
    assert migrations_sha256(tmp_path) == expected
    (tmp_path / "0002_b.sql").write_bytes(b"ALTER TABLE t ADD d INT;")
    assert migrations_sha256(tmp_path) != expected


def test_a_component_variable_is_read_by_the_runtime_under_that_name() -> None:
    """Every variable the component sets is one the runtime's settings read (no dead wiring)."""
    source = (Path(contract.__file__).parent / "settings.py").read_text()
    for name in contract.COMPONENT_VARIABLES:
        constant = next(key for key, value in vars(contract).items() if value == name and key.isupper())
        assert f"contract.{constant}" in source, name
    assert set(contract.RESOURCE_VARIABLES) <= set(contract.COMPONENT_VARIABLES)
