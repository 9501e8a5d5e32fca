"""What `make mutate` changes in mutmut's picture of the tests (tests/mutation_support.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.mutation_support import cheapest_files_first, credit_whole_files

ROOT = Path(__file__).resolve().parent.parent


def test_a_function_called_by_a_files_fixture_is_credited_to_every_test_of_that_file() -> None:
    tests_by_function = {
        "model.f": {"tests/test_a.py::first"},
        "model.g": {"tests/test_b.py::one", "tests/test_c.py::two"},
    }
    all_tests = ["tests/test_a.py::first", "tests/test_a.py::second", "tests/test_a.py::third[x]",
                 "tests/test_b.py::one", "tests/test_b.py::other", "tests/test_c.py::two",
                 "tests/test_d.py::unrelated"]
    credit_whole_files(tests_by_function, all_tests)
    assert tests_by_function == {
        "model.f": {"tests/test_a.py::first", "tests/test_a.py::second", "tests/test_a.py::third[x]"},
        "model.g": {"tests/test_b.py::one", "tests/test_b.py::other", "tests/test_c.py::two"},
    }


def test_the_cheapest_files_run_first_and_each_file_keeps_its_order() -> None:
    nodeids = ["tests/test_stack.py::a", "tests/test_stack.py::b", "tests/test_pure.py::c",
               "tests/test_mid.py::d", "tests/test_pure.py::e", "tests/test_unmeasured.py::f"]
    cost = {"tests/test_stack.py::a": 4.0, "tests/test_stack.py::b": 0.1, "tests/test_pure.py::c": 0.01,
            "tests/test_pure.py::e": 0.02, "tests/test_mid.py::d": 1.0}
    assert cheapest_files_first(nodeids, cost) == [
        "tests/test_unmeasured.py::f", "tests/test_pure.py::c", "tests/test_pure.py::e",
        "tests/test_mid.py::d", "tests/test_stack.py::a", "tests/test_stack.py::b"]


def test_files_of_equal_cost_keep_the_order_they_were_given_in() -> None:
    nodeids = ["tests/test_z.py::a", "tests/test_y.py::b", "tests/test_z.py::c"]
    assert cheapest_files_first(nodeids, {}) == ["tests/test_z.py::a", "tests/test_z.py::c", "tests/test_y.py::b"]


# The sample of `make mutate SAMPLE=n` and its report (scripts/mutation_sample.py, mutation_report.py).

def _scripts() -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutation_report
        import mutation_sample
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return mutation_sample, mutation_report


def test_the_sample_takes_each_modules_share_and_the_same_seed_draws_the_same_mutants() -> None:
    sample_module, _ = _scripts()
    population = {"m.big": [f"m.big.x_f__mutmut_{i}" for i in range(600)],
                  "m.mid": [f"m.mid.x_g__mutmut_{i}" for i in range(300)],
                  "m.small": [f"m.small.x_h__mutmut_{i}" for i in range(100)]}
    sample = sample_module.stratified_sample(population, 50, seed=7)
    assert len(sample) == len(set(sample)) == 50
    by_module = {m: sum(name.startswith(m + ".") for name in sample) for m in population}
    assert by_module == {"m.big": 30, "m.mid": 15, "m.small": 5}
    assert sample == sample_module.stratified_sample(population, 50, seed=7)
    assert sample != sample_module.stratified_sample(population, 50, seed=8)


def test_the_remainders_go_to_the_largest_fractions_and_the_total_is_exact() -> None:
    sample_module, _ = _scripts()
    population = {"a": ["a.1", "a.2", "a.3"], "b": ["b.1", "b.2", "b.3"], "c": ["c.1", "c.2", "c.3", "c.4"]}
    sample = sample_module.stratified_sample(population, 5, seed=0)
    assert len(sample) == 5
    # shares 1.5, 1.5 and 2.0: the one left over goes to a tied remainder, the first module's by name
    assert [sum(n.startswith(m + ".") for n in sample) for m in "abc"] == [2, 1, 2]


def test_a_sample_larger_than_the_population_is_refused_naming_the_option() -> None:
    sample_module, _ = _scripts()
    with pytest.raises(ValueError, match=r"^--size must be between 1 and the 3 mutants"):
        sample_module.stratified_sample({"a": ["a.1", "a.2", "a.3"]}, 4, seed=0)
    with pytest.raises(ValueError, match=r"^--size"):
        sample_module.stratified_sample({"a": ["a.1"]}, 0, seed=0)


def test_the_interval_of_a_sampled_score_is_wilsons() -> None:
    _, report_module = _scripts()
    low, high = report_module.wilson_interval(95, 100)
    assert (round(low, 1), round(high, 1)) == (88.8, 97.8)
    low, high = report_module.wilson_interval(300, 300)
    assert (round(low, 1), round(high, 1)) == (98.7, 100.0)


def test_the_sampled_report_counts_only_the_mutants_drawn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, report_module = _scripts()
    (tmp_path / "pkg").mkdir()
    codes = {"pkg.mod.x_f__mutmut_1": 1, "pkg.mod.x_f__mutmut_2": 0, "pkg.mod.x_f__mutmut_3": 0,
             "pkg.mod.x_f__mutmut_4": 1, "pkg.mod.x_f__mutmut_5": None}
    (tmp_path / "pkg" / "mod.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    (tmp_path / "sample.txt").write_text("pkg.mod.x_f__mutmut_1\npkg.mod.x_f__mutmut_2\npkg.mod.x_f__mutmut_4\n")
    assert report_module.main(["--directory", str(tmp_path), "--sample"]) == 0
    out = capsys.readouterr().out
    assert "sample of 3 checked mutants: score 66.7 %" in out
    assert "pkg.mod.x_f__mutmut_2  (survived)" in out
    assert "mutmut_3" not in out
