"""`make bench`: measure the project's performance figures, each beside its reference, in one
run on the local services `make local` uses (MariaDB with TLS for RDS, moto for Secrets
Manager and SNS), print one table and, with ``--write-docs``, record it in docs/performance.md.

A benchmark reports; it does not judge the machine: the exit status is 0 when a target is
missed (the verdict column says MISSED) and non-zero only when a figure could not be
measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script (`python bench/run.py`): the repository, not bench/, goes first on sys.path.
_REPO = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(_REPO)
elif str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))


def main() -> int:
    from bench.main import main as run

    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
