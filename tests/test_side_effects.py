"""A library changes no process-wide state: building the components leaves the garbage
collector's thresholds, the logging configuration and the environment as the program had them."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator

import pytest

from components import PrivateServiceEndpoints, VpcLambdaWithPrivateServices, tune_for_large_programs
from localrun.pulumi_mocks import run_program

SUBNETS = ["subnet-0a", "subnet-0b"]


@pytest.fixture
def cpython_defaults() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@pytest.mark.usefixtures("cpython_defaults")
def test_building_components_changes_no_process_wide_state() -> None:
    root = logging.getLogger()
    before = (gc.get_threshold(), gc.isenabled(), dict(os.environ), list(root.handlers), root.level)

    def program() -> None:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": "vpc-0a1b2c3d", "subnet_ids": SUBNETS})
        VpcLambdaWithPrivateServices("svc", {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": SUBNETS,
                                             "endpoints": shared})

    run_program(program)
    assert (gc.get_threshold(), gc.isenabled(), dict(os.environ), list(root.handlers), root.level) == before


@pytest.mark.usefixtures("cpython_defaults")
def test_a_program_opts_in_to_the_large_program_collector_settings() -> None:
    assert tune_for_large_programs() is True
    assert gc.get_threshold() == (700, 10, 1000)
    assert tune_for_large_programs() is False, "raised once"
    gc.set_threshold(500, 5, 5)
    assert tune_for_large_programs() is False
    assert gc.get_threshold() == (500, 5, 5), "a program's own thresholds are kept"
