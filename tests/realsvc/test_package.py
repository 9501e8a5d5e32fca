"""The deployment package and the environment the component gives the function."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pulumi
from cryptography import x509

from components.build.packaging import CUSTOM_CA_BUNDLE, bundled_requirements
from components.local.services import DB_NAME
from components.local.wiring import JOB_VARIABLES, MIGRATION_VARIABLES

REQUIRED_VARIABLES = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "TOPIC_ARN")
RDS_GLOBAL_BUNDLE_SHA256 = "e5bb2084ccf45087bda1c9bffdea0eb15ee67f0b91646106e466714f9de3c7e3"
BUNDLES_CHECKED = datetime(2026, 11, 29, tzinfo=UTC)
"""When the shipped bundles were last checked (handler/certs/README.md)."""
RDS_CN_BUNDLE_SHA256 = "d10db458b3b428b963a764a78694690d3af80616cd047de7ab56db53fb760a4e"
PASSWORD_LIKE = re.compile(r"PASS|PWD|TOKEN|CREDENTIAL|PRIVATE|ACCESS_KEY", re.IGNORECASE)


def test_package_is_the_zip_the_component_gives_the_function(stack_model, function_package_dir):
    zip_path = stack_model.package_path
    data = zip_path.read_bytes()
    code_sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    for function in (stack_model.job_function, stack_model.migration_function):
        code = function.inputs["code"]
        assert isinstance(code, pulumi.FileArchive), code
        assert Path(code.path) == zip_path
        assert function.inputs["sourceCodeHash"] == code_sha256, "sourceCodeHash is not the zip's SHA-256"

    # What the tests run is exactly what the zip holds.
    with zipfile.ZipFile(zip_path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    unpacked = {path.relative_to(function_package_dir).as_posix(): path.read_bytes()
                for path in function_package_dir.rglob("*") if path.is_file()}
    assert unpacked == entries


def test_package_holds_the_handlers_migrations_certs_and_pymysql(function_package_dir):
    for name in ("app.py", "vpclambda_runtime/__init__.py", "vpclambda_runtime/migrate.py",
                 "migrations/0001_employees.sql", "requirements.txt", "vpclambda_runtime/certs/rds-global-bundle.pem",
                 CUSTOM_CA_BUNDLE, "pymysql/__init__.py", "pymysql/connections.py"):
        assert (function_package_dir / name).is_file(), name
    assert not list(function_package_dir.rglob("__pycache__"))
    assert not list(function_package_dir.rglob("*.pyc"))
    assert not list(function_package_dir.rglob("test_*.py"))
    assert not list(function_package_dir.rglob("*.md"))


def test_ca_bundle_given_to_the_component_ships_in_the_package(function_env, function_package_dir, pki):
    """The bundle the stack was given is in the package, and the function is pointed at it by
    a path relative to the package (the handler resolves it against its own directory)."""
    assert function_env["DB_CA_BUNDLE"] == CUSTOM_CA_BUNDLE
    assert not Path(function_env["DB_CA_BUNDLE"]).is_absolute()
    assert (function_package_dir / CUSTOM_CA_BUNDLE).read_bytes() == pki.ca.read_bytes()


def test_bundled_pymysql_is_the_pinned_one_and_is_what_gets_imported(function_package_dir, run_in_package):
    pinned = bundled_requirements()["PyMySQL"]  # handler/requirements.txt, the one place of the pin
    pins = (function_package_dir / "requirements.txt").read_text().split()
    assert pins == [f"PyMySQL=={pinned}"], "the package records the PyMySQL it bundles"
    run = run_in_package("import pymysql; print(pymysql.__file__); print(pymysql.VERSION_STRING)")
    assert run.returncode == 0, run.stderr
    path, version = run.stdout.split()
    assert path.startswith(str(function_package_dir)), path
    assert version == pinned


def test_importing_the_handlers_needs_no_environment_and_does_no_io(run_in_package):
    """Nothing happens at import: no settings read, no boto3, no socket opened."""
    run = run_in_package(
        "import socket, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('network I/O at import time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import app\n"
        "from vpclambda_runtime import migrate\n"
        "print(callable(app.handler), callable(migrate.handler), 'boto3' in sys.modules)\n"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True", "False"]


def test_shipped_rds_bundle_is_the_published_global_bundle(function_package_dir):
    pem = (function_package_dir / "vpclambda_runtime" / "certs" / "rds-global-bundle.pem").read_bytes()
    assert hashlib.sha256(pem).hexdigest() == RDS_GLOBAL_BUNDLE_SHA256
    certs = x509.load_pem_x509_certificates(pem)
    assert len(certs) == 108
    for cert in certs:
        common_name = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert re.fullmatch(r"Amazon RDS( Beta| Preview)? [a-z0-9-]+ Root CA (RSA2048|RSA4096|ECC384) G1",
                            str(common_name)), common_name
        assert cert.subject == cert.issuer
        cert.verify_directly_issued_by(cert)
        # Valid when the bundle was checked and shipped (not forever: roots expire from 2061 on,
        # and a refreshed bundle updates BUNDLES_CHECKED with handler/certs/README.md).
        assert cert.not_valid_before_utc < BUNDLES_CHECKED < cert.not_valid_after_utc


def test_shipped_china_bundle_is_aws_chinas_rds_trust_store(function_package_dir):
    pem = (function_package_dir / "vpclambda_runtime" / "certs" / "rds-cn-bundle.pem").read_bytes()
    assert hashlib.sha256(pem).hexdigest() == RDS_CN_BUNDLE_SHA256
    certs = x509.load_pem_x509_certificates(pem)
    names = sorted(str(c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value) for c in certs)
    assert names == sorted(f"Amazon RDS {region} Root CA {kind} G1" for region in ("cn-north-1", "cn-northwest-1")
                           for kind in ("RSA2048", "RSA4096", "ECC384"))
    for cert in certs:
        assert cert.subject == cert.issuer
        cert.verify_directly_issued_by(cert)
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert cert.not_valid_before_utc < BUNDLES_CHECKED < cert.not_valid_after_utc


def test_function_env_provides_every_required_variable(function_env, migration_function_env, stack_model):
    for name in REQUIRED_VARIABLES:
        assert str(function_env.get(name, "")).strip(), f"the function environment lacks {name}"
    assert function_env["DB_NAME"] == DB_NAME
    assert function_env["DB_USER"] == "app"
    assert 1 <= int(function_env["DB_PORT"]) <= 65535
    partition = re.escape(stack_model.partition)
    assert re.match(rf"^arn:{partition}:secretsmanager:{stack_model.region}:",
                    migration_function_env["DB_SECRET_ARN"])
    assert re.match(rf"^arn:{partition}:sns:{stack_model.region}:", function_env["TOPIC_ARN"])
    # A connection attempt must give up well within the function's own timeout.
    assert 1 <= int(function_env["DB_CONNECT_TIMEOUT"]) < stack_model.job_function.inputs["timeout"]


def test_function_env_has_exactly_the_wired_variables_and_no_password(function_env, migration_function_env):
    assert set(function_env) == set(JOB_VARIABLES)
    assert set(migration_function_env) == set(MIGRATION_VARIABLES)
    for env in (function_env, migration_function_env):
        for name, value in env.items():
            assert not PASSWORD_LIKE.search(name), f"{name} looks like a credential"
            assert "password" not in value.lower(), f"{name} carries a password-like value"
    # The job has no secret at all; the migration's only secret-related variable names the
    # secret, whose value it reads at run time.
    assert [name for name in function_env if "SECRET" in name] == []
    assert [name for name in migration_function_env if "SECRET" in name] == ["DB_SECRET_ARN"]


def test_function_env_points_at_the_stacks_resources(stack_model, function_env, migration_function_env):
    database = stack_model.run.one("aws:rds/instance:Instance").outputs
    topic = stack_model.run.one("aws:sns/topic:Topic", f"{stack_model.component_name}-topic").outputs
    for env in (function_env, migration_function_env):
        assert env["DB_HOST"] == database["address"]
        assert int(env["DB_PORT"]) == int(database["port"])
    assert migration_function_env["DB_SECRET_ARN"] == database["masterUserSecrets"][0]["secretArn"]
    assert function_env["TOPIC_ARN"] == topic["arn"]
    assert migration_function_env["DB_APP_USER"] == function_env["DB_USER"]
