"""A consumer's virtualenv for the tests: a fresh environment into which the distribution (or a
wheel of it) is installed for real, that sees this environment's packages (pulumi, pulumi-aws) as
already installed so nothing is downloaded: its site-packages holds a `.pth` line naming ours,
after its own on `sys.path`. pip installs into the new environment only (it leaves distributions
outside it alone), so what the consumer installs shadows ours."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def consumer_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    (Path(own) / "parent-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path
