"""The deployment package and the environment the component gives the function."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from cryptography import x509

from localrun.services import DB_NAME

from .lambda_runtime import run_in_package

REQUIRED_VARIABLES = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_SECRET_ARN", "TOPIC_ARN")
RDS_GLOBAL_BUNDLE_SHA256 = "e5bb2084ccf45087bda1c9bffdea0eb15ee67f0b91646106e466714f9de3c7e3"


def test_package_holds_the_handlers_schema_certs_and_pymysql(function_package_dir):
    for name in ("app.py", "migrate.py", "schema.sql", "requirements.txt", "certs/rds-global-bundle.pem",
                 "pymysql/__init__.py", "pymysql/connections.py"):
        assert (function_package_dir / name).is_file(), name
    assert not list(function_package_dir.rglob("__pycache__"))
    assert not list(function_package_dir.rglob("test_*.py"))


def test_bundled_pymysql_is_the_pinned_one_and_is_what_gets_imported(function_package_dir):
    pins = (function_package_dir / "requirements.txt").read_text().split()
    assert pins == ["PyMySQL==1.2.4"]
    run = run_in_package(function_package_dir, "import pymysql; print(pymysql.__file__); print(pymysql.VERSION_STRING)")
    assert run.returncode == 0, run.stderr
    path, version = run.stdout.split()
    assert path.startswith(str(function_package_dir)), path
    assert version == "1.2.4"


def test_importing_the_handlers_needs_no_environment_and_does_no_io(function_package_dir):
    """Nothing happens at import: no settings read, no boto3, no socket opened."""
    run = run_in_package(function_package_dir, (
        "import socket, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('network I/O at import time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import app, migrate\n"
        "print(callable(app.handler), callable(migrate.handler), 'boto3' in sys.modules)\n"
    ))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True", "False"]


def test_shipped_rds_bundle_is_the_published_global_bundle(function_package_dir):
    pem = (function_package_dir / "certs" / "rds-global-bundle.pem").read_bytes()
    assert hashlib.sha256(pem).hexdigest() == RDS_GLOBAL_BUNDLE_SHA256
    certs = x509.load_pem_x509_certificates(pem)
    assert len(certs) == 108
    now = datetime.now(UTC)
    for cert in certs:
        common_name = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert re.fullmatch(r"Amazon RDS( Beta| Preview)? [a-z0-9-]+ Root CA (RSA2048|RSA4096|ECC384) G1",
                            str(common_name)), common_name
        assert cert.subject == cert.issuer
        cert.verify_directly_issued_by(cert)
        assert cert.not_valid_before_utc < now < cert.not_valid_after_utc


def test_function_env_provides_every_required_variable(function_env):
    for name in REQUIRED_VARIABLES:
        assert str(function_env.get(name, "")).strip(), f"the function environment lacks {name}"
    assert function_env["DB_NAME"] == DB_NAME
    assert 1 <= int(function_env["DB_PORT"]) <= 65535
    assert re.match(r"^arn:aws[a-z-]*:secretsmanager:", function_env["DB_SECRET_ARN"])
    assert re.match(r"^arn:aws[a-z-]*:sns:", function_env["TOPIC_ARN"])
    if "DB_CONNECT_TIMEOUT" in function_env:
        assert 1 <= int(function_env["DB_CONNECT_TIMEOUT"]) <= 900
