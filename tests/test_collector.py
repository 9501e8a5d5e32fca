"""The collector's oldest-generation threshold is raised for programs of many components, but
only when the program still runs with CPython's defaults."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from components import VpcLambdaWithPrivateServices
from components.collector import CPYTHON_DEFAULT_THRESHOLDS, OLDEST_GENERATION_THRESHOLD, tune_for_large_programs
from localrun.pulumi_mocks import run_program


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@pytest.mark.usefixtures("thresholds")
def test_default_thresholds_are_raised_by_the_first_component() -> None:
    gc.set_threshold(*CPYTHON_DEFAULT_THRESHOLDS)
    run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}))
    assert gc.get_threshold() == (700, 10, OLDEST_GENERATION_THRESHOLD)
    assert OLDEST_GENERATION_THRESHOLD >= 100


@pytest.mark.usefixtures("thresholds")
def test_a_programs_own_thresholds_are_kept() -> None:
    gc.set_threshold(500, 5, 5)
    assert tune_for_large_programs() is False
    assert gc.get_threshold() == (500, 5, 5)
    gc.set_threshold(*CPYTHON_DEFAULT_THRESHOLDS)
    assert tune_for_large_programs() is True
    assert tune_for_large_programs() is False, "raised once"
