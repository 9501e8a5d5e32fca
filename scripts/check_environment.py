"""Check that this environment is the lock: every package of requirements-dev.lock installed at
exactly its locked version (`make test` installs the virtualenv from it). A check of the machine,
not of the code: `.ci/run` runs it after the tests.

    python scripts/check_environment.py     # exit 1 and list the differences
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

LOCK = Path(__file__).resolve().parent.parent / "requirements-dev.lock"
LOCK_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


def locked() -> dict[NormalizedName, Version]:
    found: dict[NormalizedName, Version] = {}
    for line in LOCK.read_text().splitlines():
        match = LOCK_ENTRY.match(line)
        if match:
            found[canonicalize_name(match["name"])] = Version(match["version"])
    return found


def differences() -> dict[NormalizedName, tuple[str, str]]:
    installed = {canonicalize_name(dist.metadata["Name"]): Version(dist.version)
                 for dist in importlib.metadata.distributions()}
    return {name: (str(version), str(installed.get(name)))
            for name, version in locked().items() if installed.get(name) != version}


def main() -> int:
    different = differences()
    if different:
        for name, (want, have) in sorted(different.items()):
            print(f"{name}: locked {want}, installed {have}", file=sys.stderr)
        print("the environment is not the lock: `make clean test` reinstalls it", file=sys.stderr)
        return 1
    print(f"the environment is the lock ({len(locked())} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
