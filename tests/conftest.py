"""Shared test set-up: the test tiers, the local wheelhouse every pip of the tests uses, and a
filter for Pulumi's abandoned futures."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from tests import wheelhouse

INTEGRATION_DIRS = ("realsvc",)
"""Test folders whose every test starts real services (MariaDB, moto, the Lambda runtime client)."""


class _DropAbandonedPulumiFutures(logging.Filter):
    """Tests that expect a deployment to fail (a bad argument given as an Output) leave Pulumi's
    internal futures holding that same error; asyncio would print each one at exit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Future exception was never retrieved")


logging.getLogger("asyncio").addFilter(_DropAbandonedPulumiFutures())


def pytest_configure(config: pytest.Config) -> None:
    """Every pip the tests start installs from the local wheelhouse, never from the network: the
    suite runs offline once the wheelhouse exists (it is downloaded here the first time)."""
    if not wheelhouse.is_complete():
        wheelhouse.main()
    os.environ["PIP_FIND_LINKS"] = str(wheelhouse.WHEELHOUSE)
    os.environ["PIP_NO_INDEX"] = "1"
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under an integration folder are `integration` without each file saying so."""
    for item in items:
        if Path(str(item.path)).parent.name in INTEGRATION_DIRS:
            item.add_marker(pytest.mark.integration)
