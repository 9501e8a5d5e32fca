"""Release 0.2.0 as a consumer gets it: the wheel and sdist `python -m build` makes (`make dist`), each
installed with pip from a file path into a new virtualenv; then the README's quick start, exactly as
written, in a new project: its files, the wheel with its `local` extra installed from
`requirements.txt`, the ten-line unit test under `vpclambda.testing` (one refusal in it), and the
rehearsal of the project's own job, whose requirement has binary wheels only, under the default
architecture. Offline: pip installs from the local wheelhouse; the consumer's virtualenv sees this
environment's packages (tests/consumer_env.py), the distribution itself is installed into it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from components.version import __version__
from tests.consumer_env import consumer_venv
from tests.quick_start import quick_start, write
from tests.test_distribution import COPY_IGNORE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
WHEEL = f"pulumi_vpc_lambda-{__version__}-py3-none-any.whl"
SDIST = f"pulumi_vpc_lambda-{__version__}.tar.gz"


def consumer_env() -> dict[str, str]:
    """This process's environment (the wheelhouse's pip settings) without a path into the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=consumer_env(),
                          check=False)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` on a copy of the repository: the sdist, then the wheel built from it."""
    base = tmp_path_factory.mktemp("release")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    result = run([sys.executable, "-m", "build", "--outdir", str(base / "dist"), str(source)], base)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return base / "dist"


def test_the_release_is_a_wheel_and_an_sdist_of_this_version(release: Path) -> None:
    assert sorted(path.name for path in release.iterdir()) == sorted([SDIST, WHEEL])
    with zipfile.ZipFile(release / WHEEL) as wheel:
        names = set(wheel.namelist())
        metadata = Parser().parsestr(wheel.read(f"pulumi_vpc_lambda-{__version__}.dist-info/METADATA").decode())
    assert {"vpclambda/__init__.py", "vpclambda/testing/pulumi_mocks.py", "vpclambda/local/rehearsal.py",
            "vpclambda/local/twin.py", "vpclambda/local/__main__.py", "vpclambda/handler/app.py",
            "vpclambda/handler/migrations/0001_employees.sql", "vpclambda/handler/requirements.txt",
            "vpclambda_runtime/certs/rds-cn-bundle.pem", "vpclambda/py.typed"} <= names
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"vpclambda", "vpclambda_runtime", f"pulumi_vpc_lambda-{__version__}.dist-info"}, (
        "no generic top-level package (localrun, components, tests) in a consumer's environment")
    assert metadata["Version"] == __version__
    assert metadata.get_all("Provides-Extra") == ["local"]
    local = sorted(r.split(";")[0].split(">")[0].split("<")[0] for r in metadata.get_all("Requires-Dist")
                   if 'extra == "local"' in r)
    assert local == ["PyYAML", "awslambdaric", "boto3", "botocore", "cryptography", "flask", "flask-cors", "moto"]
    with tarfile.open(release / SDIST) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "components/local/twin.py", "handler/migrations/0001_employees.sql",
            "vpclambda_runtime/certs/rds-global-bundle.pem"} <= members


def test_the_sdist_installs_from_a_file_path(release: Path, tmp_path: Path) -> None:
    venv = consumer_venv(tmp_path / "venv")
    result = run([str(venv / "bin" / "pip"), "install", str(release / SDIST)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = run([str(venv / "bin" / "python"), "-c", "import vpclambda, vpclambda.testing; print(vpclambda.__file__, "
                 "vpclambda.__version__)"], tmp_path)
    installed, version = shown.stdout.split()
    assert Path(installed).is_relative_to(venv) and version == __version__


def test_the_readmes_quick_start_runs_in_a_new_project(release: Path, tmp_path: Path) -> None:
    start = quick_start()
    project = tmp_path / "orders-notifier"
    project.mkdir()
    write(start, project)
    shutil.copy(release / WHEEL, project / WHEEL)  # "the wheel of release 0.2.0, copied into the project"
    make_venv, install, unit_test, rehearsal = (start.commands[0].split(" && ", 1)[0],
                                                start.commands[0].split(" && ", 1)[1], *start.commands[1:])
    assert make_venv == "python3 -m venv .venv"
    consumer_venv(project / ".venv")

    result = run(install.split(), project)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    shown = run([".venv/bin/python", "-c", "import importlib.metadata as m, vpclambda; print(vpclambda.__file__); "
                 "print(m.version('pulumi-vpc-lambda')); print(m.distribution('pulumi-vpc-lambda').read_text("
                 "'direct_url.json'))"], project)
    installed, version, origin = shown.stdout.strip().split("\n", 2)
    assert Path(installed).is_relative_to(project / ".venv"), "installed into the project's environment"
    assert version == __version__ and json.loads(origin)["url"].endswith(WHEEL), "from the wheel's file path"

    tested = run(unit_test.split(), project)
    assert tested.returncode == 0 and "2 passed" in tested.stdout, tested.stdout[-3000:] + tested.stderr[-2000:]

    rehearsed = run(rehearsal.split(), project)
    out = rehearsed.stdout
    assert rehearsed.returncode == 0, out[-4000:] + rehearsed.stderr[-3000:]
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["statusCode"] == 200 and outcome["delivered"] is True and outcome["expected"] is True
    assert outcome["handler"] == "audit_job.handler" and outcome["body"]["entries"] == 2
    assert "== Deployment package (arm64, python3.12)" in out, "the default architecture"
    assert "rehearsing a twin package built for this machine" in out and "markupsafe/_speedups.cpython-312" in out
    assert '"applied": ["0001_audit.sql"]' in out and "seeded from seed.sql" in out
    assert (project / ".build" / "function-packages").is_dir(), "the unit test built the package in .build/"
