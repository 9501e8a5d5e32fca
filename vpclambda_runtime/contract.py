"""The package contract: what the component that builds a function's package and the runtime
library inside it must agree on, written once, here.

The deploy side (``vpclambda``, the component) imports these facts; the runtime side reads them
when the function runs. Nothing here does I/O or needs PyMySQL or boto3, so the component can
use it on the machine that deploys, and a preview refuses exactly what the function would.

* the environment variables the component sets and the runtime reads;
* the application user: how it logs in (an IAM token: its lifetime, its action, the database
  user's ARN the role needs) and what it may be granted;
* where the runtime library, its CA bundles and the migrations sit in the package;
* the migration file rule (names, versions, statements), the digest of a set of files and of
  one statement;
* how a SQL file is split into statements;
* how messages name the AWS services the runtime calls.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import MigrationError

# ------------------------------------------------------------------ environment variables

DB_HOST = "DB_HOST"
"""Host name of the database (the RDS instance's address, without the port)."""
DB_PORT = "DB_PORT"
DB_NAME = "DB_NAME"
DB_SECRET_ARN = "DB_SECRET_ARN"
"""ARN of the Secrets Manager secret holding the master credentials (the migration's only)."""
DB_USER = "DB_USER"
"""The database user the job logs in as with an IAM token it signs itself (the application user)."""
DB_PROXY = "DB_PROXY"
"""``true`` when ``DB_HOST`` is an RDS Proxy, ``false`` when it is the instance."""
DB_APP_USER = "DB_APP_USER"
"""The migration's: the application user it creates and keeps."""
DB_APP_GRANTS = "DB_APP_GRANTS"
"""The migration's: the application user's privileges on ``DB_NAME``, comma-separated."""
DB_APP_USER_PLUGIN = "DB_APP_USER_PLUGIN"
"""The migration's, never set by the component: how the application user is identified where
the database is not RDS (``pam``: the local rehearsal's MariaDB, which has no AWS plugin)."""
DB_CONNECT_TIMEOUT = "DB_CONNECT_TIMEOUT"
DB_READ_TIMEOUT = "DB_READ_TIMEOUT"
DB_CA_BUNDLE = "DB_CA_BUNDLE"
"""The PEM file the database's certificate is verified with: a package path or an absolute one."""
TOPIC_ARN = "TOPIC_ARN"
SECRET_TTL_SECONDS = "SECRET_TTL_SECONDS"
AWS_CONNECT_TIMEOUT = "AWS_CONNECT_TIMEOUT"
AWS_READ_TIMEOUT = "AWS_READ_TIMEOUT"
MIGRATIONS_DIR_VARIABLE = "MIGRATIONS_DIR"

JOB_VARIABLES: tuple[str, ...] = (
    DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PROXY, DB_CONNECT_TIMEOUT, DB_CA_BUNDLE, TOPIC_ARN,
)
"""What the component sets on the job: the application user, never a secret."""
MIGRATION_VARIABLES: tuple[str, ...] = (
    DB_HOST, DB_PORT, DB_NAME, DB_SECRET_ARN, DB_APP_USER, DB_APP_GRANTS, DB_CONNECT_TIMEOUT, DB_CA_BUNDLE,
)
"""What the component sets on the migration: the master secret, and the user to keep."""
COMPONENT_VARIABLES: tuple[str, ...] = (*dict.fromkeys(JOB_VARIABLES + MIGRATION_VARIABLES), DB_APP_USER_PLUGIN)
"""The variables the component sets on its functions from its arguments and resources (and the
one a rehearsal sets); a user's `function_environment` may not set them."""
RESOURCE_VARIABLES: tuple[str, ...] = (DB_HOST, DB_PORT, DB_SECRET_ARN, TOPIC_ARN)
"""The component's variables that name a cloud resource: a local rehearsal points them at its
stand-ins, and keeps the others as the component set them."""
TUNING_VARIABLES: tuple[str, ...] = (
    DB_READ_TIMEOUT, SECRET_TTL_SECONDS, AWS_CONNECT_TIMEOUT, AWS_READ_TIMEOUT, MIGRATIONS_DIR_VARIABLE,
)
"""Optional variables the runtime reads with a default (a user may set them)."""

# ------------------------------------------------------------------ the application user

IAM_TOKEN_LIFETIME_S = 900
"""An RDS IAM authentication token is accepted for 15 minutes after it is signed; a connection
opened with it lives on, so a new connection signs a new token."""
IAM_TOKEN_ACTION = "connect"
IAM_TOKEN_SIGNING_NAME = "rds-db"
"""The SigV4 service a token is signed for (its credential scope), and the IAM action's prefix."""
IAM_AUTH_PLUGIN = "AWSAuthenticationPlugin"
"""RDS MySQL's plugin for users who log in with a token: ``IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'``."""
PAM_PLUGIN = "pam"
"""The local rehearsal's stand-in for it: MariaDB's PAM plugin, with a token verifier behind PAM."""
PAM_SERVICE = "vpclambda-iam"
"""The PAM service the rehearsal's MariaDB checks tokens with."""
APP_PRIVILEGES: tuple[str, ...] = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE", "SHOW VIEW", "LOCK TABLES", "CREATE TEMPORARY TABLES",
)
"""What the application user may be granted on the service's database: rows, routines, views'
definitions, locks and temporary tables; no DDL, no GRANT OPTION, no global privilege."""
MAX_USER_NAME = 32
"""MySQL 8: a user name is at most 32 characters."""
USER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_USERS = frozenset({"root", "rdsadmin", "rdsrepladmin", "rdsproxyadmin", "mysql.sys", "mysql.session",
                            "mysql.infoschema", "admin"})


def db_user_arn(partition: str, region: str, account_id: str, resource_id: str, user: str) -> str:
    """What ``rds-db:connect`` is granted on: the user at one database (its ``DbiResourceId``,
    ``db-...``) or one proxy (``prx-...``)."""
    return f"arn:{partition}:rds-db:{region}:{account_id}:dbuser:{resource_id}/{user}"


def parse_grants(text: str) -> tuple[str, ...]:
    """``DB_APP_GRANTS`` as privileges, upper case, in the order given."""
    return tuple(" ".join(part.split()).upper() for part in text.split(",") if part.strip())


def grants_problems(grants: Iterable[object]) -> list[str]:
    """Why a list of privileges cannot be the application user's (empty when it can)."""
    values = list(grants)
    if not values:
        return ["no privilege; expected at least one of " + ", ".join(APP_PRIVILEGES)]
    problems = []
    normalised = [" ".join(v.split()).upper() if isinstance(v, str) else v for v in values]
    for value, given in zip(normalised, values, strict=True):
        if not isinstance(value, str):
            problems.append(f"{given!r} is not a privilege name")
        elif value not in APP_PRIVILEGES:
            problems.append(f"{given!r} is not granted to the application user (no DDL, no GRANT, nothing beyond "
                            f"its database's rows); allowed: {', '.join(APP_PRIVILEGES)}")
    duplicates = sorted({v for v in normalised if isinstance(v, str) and normalised.count(v) > 1})
    if duplicates:
        problems.append(f"{', '.join(duplicates)} listed more than once")
    return problems


# ------------------------------------------------------------------ the package's layout

RUNTIME_PACKAGE = "vpclambda_runtime"
"""The runtime library's directory at the package's root."""
MIGRATION_HANDLER = f"{RUNTIME_PACKAGE}.migrate.handler"
"""The migration function's entry point, in every package."""
DEFAULT_JOB_HANDLER = "app.handler"
"""The built-in job's entry point (the default `function_handler`)."""
MIGRATIONS_DIR = "migrations"
"""Where the schema migrations sit in the package (the default of ``MIGRATIONS_DIR``)."""
CERTS_DIR = "certs"
CA_BUNDLE_FILES: dict[str, str] = {
    "aws": "rds-global-bundle.pem",
    "aws-cn": "rds-cn-bundle.pem",
}
"""The RDS CA bundle shipped for each partition, in ``vpclambda_runtime/certs/``. A partition
without one needs a bundle given as ``db_ca_bundle_file`` (``DB_CA_BUNDLE``)."""
PROXY_CA_BUNDLE_FILES: dict[str, str] = {"aws": "amazon-root-ca-bundle.pem"}
"""What verifies an RDS Proxy's certificate (issued by AWS Certificate Manager, which chains to the
Amazon Trust Services roots), for each partition it is known for. The job verifies the proxy with
it when ``db_proxy`` is on; elsewhere ``db_ca_bundle_file`` must name one."""
CUSTOM_CA_BUNDLE = f"{RUNTIME_PACKAGE}/{CERTS_DIR}/custom-ca-bundle.pem"
"""Where a CA bundle given as ``db_ca_bundle_file`` lands in the package."""
CA_BUNDLE_SOURCES: dict[str, str] = {
    "aws": "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
    "aws-cn": "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/global/global-bundle.pem",
    "aws-us-gov": "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/global/global-bundle.pem",
}
"""Where each partition's RDS trust store is published."""


def ca_bundle_path(partition: str, proxy: bool = False) -> str | None:
    """The package path of the partition's shipped bundle (``vpclambda_runtime/certs/...``): RDS's,
    or with ``proxy`` the one that verifies an RDS Proxy."""
    name = (PROXY_CA_BUNDLE_FILES if proxy else CA_BUNDLE_FILES).get(partition)
    return f"{RUNTIME_PACKAGE}/{CERTS_DIR}/{name}" if name else None


# ------------------------------------------------------------------ the migration files

MIGRATION_FILE = re.compile(r"^(?P<version>\d+)_(?P<description>[A-Za-z0-9][A-Za-z0-9_-]*)\.sql$")
"""``<version>_<description>.sql``; the version must also be 1 or more."""
MIGRATION_SUFFIX = ".sql"


@dataclass(frozen=True)
class Migration:
    version: int
    filename: str
    checksum: str
    """SHA-256 of the file's bytes."""
    statements: tuple[str, ...]


def split_statements(sql: str) -> list[str]:
    """The statements of a SQL file: ``--`` comment lines dropped, split on ``;``.

    The files must not contain ``;`` inside literals or comments.
    """
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def statement_checksum(statement: str) -> str:
    """SHA-256 of one statement as ``split_statements`` gives it: what a partly applied migration
    records per statement, so that a re-run can tell whether the file is unchanged up to there."""
    return hashlib.sha256(statement.encode("utf-8")).hexdigest()


def parse_migrations(files: Iterable[tuple[str, bytes]], where: str) -> list[Migration]:
    """The migrations in version order, from (file name, content) pairs of the ``.sql`` files of
    one directory (``where`` names it in messages); raises ``MigrationError`` for anything
    ambiguous: a badly named file, a version below 1, two files of one version, a file that is
    not UTF-8 or holds no statement, or no file at all. The component's preview and the
    migration function both judge the files with this."""
    found: dict[int, Migration] = {}
    for name, data in sorted(files):
        match = MIGRATION_FILE.match(name)
        if not match or int(match["version"]) < 1:
            raise MigrationError(f"{name} in {where}: a migration file is named <version>_<description>.sql "
                                 "with a version of 1 or more, e.g. 0002_add_title.sql")
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"{name} and {found[version].filename} in {where} have the same version")
        try:
            statements = split_statements(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise MigrationError(f"{name} in {where} is not UTF-8 text: {exc}") from None
        if not statements:
            raise MigrationError(f"{name} in {where} holds no SQL statement")
        found[version] = Migration(version, name, hashlib.sha256(data).hexdigest(), tuple(statements))
    if not found:
        raise MigrationError(f"no migration files (<version>_<description>.sql) in {where}")
    return [found[version] for version in sorted(found)]


def migrations_sha256(migrations: Sequence[Migration]) -> str:
    """One digest of the ordered files, names and contents: the component re-runs the migration
    function whenever it changes, and the function reports it."""
    digest = hashlib.sha256()
    for migration in migrations:
        digest.update(f"{migration.filename}\0{migration.checksum}\n".encode())
    return digest.hexdigest()


# ------------------------------------------------------------------ the log lines

OVERRUN_EVENT = "invocation_overrun"
"""The ``event`` of the watchdog's line when an invocation outlives its time budget."""

# ------------------------------------------------------------------ the AWS services

SERVICE_NAMES: dict[str, str] = {"secretsmanager": "Secrets Manager", "sns": "SNS", "sqs": "SQS", "rds": "RDS"}
"""How messages name the AWS services the functions depend on."""


def service_name(service: str) -> str:
    return SERVICE_NAMES.get(service, service)
