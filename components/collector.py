"""Python's garbage collector in programs of many components.

A Pulumi program keeps every resource it declares alive until it ends, together with the
futures, tasks and closures that resolve their outputs: about 14,000 objects the collector
tracks for each service of this package. CPython runs a full collection, which walks every
tracked object, each time ten collections of the middle generation have happened (and the
objects promoted since the last one have grown by a quarter). In a program of 50 services
those full collections took 40% of the time, and their share grows with the program: measured
without the collector, the time per service is flat; with it, it grew by a third from 10 to 50
services.

Changing the collector is the program's decision, not the library's: the components never call
this. A program of many services opts in, first thing::

    import vpclambda
    vpclambda.tune_for_large_programs()

It raises the third threshold from 10 to 1,000 when the program still runs with CPython's
defaults: a full collection then waits for a thousand collections of the middle generation
(some seven million allocations) instead of ten, which a program of 50 services does not reach.
Cyclic garbage that reached the oldest generation is freed later; nothing is kept alive that
would otherwise be freed, and the young generations are collected as before. A program that set
its own thresholds keeps them. docs/performance.md has the figures with and without it.
"""

from __future__ import annotations

import gc

CPYTHON_DEFAULT_THRESHOLDS = (700, 10, 10)
OLDEST_GENERATION_THRESHOLD = 1000


def tune_for_large_programs() -> bool:
    """Raise the oldest generation's threshold if it is still CPython's default; True if raised."""
    if gc.get_threshold() != CPYTHON_DEFAULT_THRESHOLDS:
        return False
    young, middle, _ = CPYTHON_DEFAULT_THRESHOLDS
    gc.set_threshold(young, middle, OLDEST_GENERATION_THRESHOLD)
    return True
