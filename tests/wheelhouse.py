"""The wheels the tests install, downloaded once into a local wheelhouse, so the suite runs
offline after the first set-up: `tests/conftest.py` points pip at it (`PIP_FIND_LINKS`,
`PIP_NO_INDEX`) for every pip the tests start (the function's requirements installed for Lambda's
platform, the consumer virtualenvs, the build of the distribution).

    python tests/wheelhouse.py      # download what is missing (`make test` does it)

A requirement a test installs that is not here fails as a missing distribution would: add it to
the lists below.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".build" / "wheelhouse"
STAMP = WHEELHOUSE / "complete.json"

FUNCTION_REQUIREMENTS = (
    *(line.strip() for line in (ROOT / "handler" / "requirements.txt").read_text().splitlines()
      if line.strip() and not line.startswith("#")),
    "humanize==4.12.3",  # the custom-job example's requirement (pure Python)
    "MarkupSafe==3.0.2",  # a requirement with binary wheels only
)
"""What function packages install, for each of Lambda's platforms below."""
LAMBDA_PLATFORMS = ("manylinux2014_aarch64", "manylinux2014_x86_64")
LAMBDA_PYTHONS = ("3.11", "3.12", "3.13")
LOCAL_REQUIREMENTS = (
    "setuptools>=68", "wheel",  # building the distribution (pip's build isolation)
    "PyMySQL==1.1.1",  # a consumer with another PyMySQL than the package bundles
    *FUNCTION_REQUIREMENTS,  # a local twin of a function package, for this machine
)
"""What the tests install for this machine's Python."""


def inputs() -> dict[str, object]:
    return {"function": list(FUNCTION_REQUIREMENTS), "platforms": list(LAMBDA_PLATFORMS),
            "pythons": list(LAMBDA_PYTHONS), "local": list(LOCAL_REQUIREMENTS),
            "local_python": f"{sys.version_info.major}.{sys.version_info.minor}"}


def digest() -> str:
    return hashlib.sha256(json.dumps(inputs(), sort_keys=True).encode()).hexdigest()


def is_complete() -> bool:
    try:
        return json.loads(STAMP.read_text()).get("digest") == digest()
    except (OSError, ValueError):
        return False


def download(requirements: tuple[str, ...], *platform_args: str) -> None:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-input",
               "--dest", str(WHEELHOUSE), "--only-binary=:all:", *platform_args, *requirements]
    subprocess.run(command, check=True, timeout=900)


def main() -> int:
    if is_complete():
        print(f"wheelhouse up to date ({len(list(WHEELHOUSE.glob('*.whl')))} wheels)")
        return 0
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    for platform in LAMBDA_PLATFORMS:
        for python in LAMBDA_PYTHONS:
            print(f"wheelhouse: function requirements for {platform}, Python {python}", flush=True)
            download(FUNCTION_REQUIREMENTS, "--platform", platform, "--implementation", "cp",
                     "--python-version", python)
    print("wheelhouse: requirements for this machine", flush=True)
    for requirement in LOCAL_REQUIREMENTS:  # one at a time: they are alternatives, not one environment
        download((requirement,))
    STAMP.write_text(json.dumps({"digest": digest(), **inputs()}, indent=1))
    print(f"wheelhouse ready ({len(list(WHEELHOUSE.glob('*.whl')))} wheels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
