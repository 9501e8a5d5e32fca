"""Python's garbage collector in programs of many components.

A Pulumi program keeps every resource it declares alive until it ends, together with the
futures, tasks and closures that resolve their outputs: about 14,000 objects the collector
tracks for each service of this package. CPython runs a full collection, which walks every
tracked object, each time ten collections of the middle generation have happened (and the
objects promoted since the last one have grown by a quarter). In a program of 50 services
those full collections took 40% of the time, and their share grows with the program: measured
without the collector, the time per service is flat; with it, it grew by a third from 10 to 50
services.

So when the first component is built, and only if the program still runs with CPython's
default thresholds, the third threshold is raised from 10 to 1,000: a full collection then
waits for a thousand collections of the middle generation (some seven million allocations)
instead of ten, which a program of 50 services does not reach. Cyclic garbage that reached the
oldest generation is freed later; nothing is kept alive that would otherwise be freed, and the
young generations are collected as before. At 100 the full collections still took a tenth of
the time at 50 services. A program that set its own thresholds keeps them.
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
