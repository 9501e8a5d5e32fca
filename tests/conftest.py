"""Shared test set-up."""

from __future__ import annotations

import logging


class _DropAbandonedPulumiFutures(logging.Filter):
    """Tests that expect a deployment to fail (a bad argument given as an Output) leave Pulumi's
    internal futures holding that same error; asyncio would print each one at exit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Future exception was never retrieved")


logging.getLogger("asyncio").addFilter(_DropAbandonedPulumiFutures())
