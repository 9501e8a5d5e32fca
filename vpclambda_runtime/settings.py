"""The function's configuration, read from its environment and checked once.

Required (set by the component): ``DB_HOST``, ``DB_PORT``, ``DB_NAME``, and how to log in:
``DB_USER`` (the job: the application user, with an IAM token the function signs; ``DB_PROXY``
says whether ``DB_HOST`` is an RDS Proxy) or ``DB_SECRET_ARN`` (the migration: the master user's
secret; ``DB_APP_USER`` and ``DB_APP_GRANTS`` name the application user it keeps), never both;
``AWS_REGION`` is set by Lambda itself. ``TOPIC_ARN`` is required to notify.
Optional: ``DB_CONNECT_TIMEOUT`` (seconds, default 5: name lookup and TCP connect),
``DB_READ_TIMEOUT`` (seconds, default 10: the longest wait for any one answer from the
database), ``SECRET_TTL_SECONDS`` (default 300), ``DB_CA_BUNDLE`` (a PEM file that replaces
the shipped RDS bundle), ``AWS_CONNECT_TIMEOUT`` (default 3) and ``AWS_READ_TIMEOUT``
(default 5) for each attempt of a Secrets Manager or SNS call, ``MIGRATIONS_DIR`` (the
migration files; default ``migrations`` in the package). Every one of these waits is also
bounded by the invocation's time budget (``budget``).

Every problem is reported as a :class:`ConfigurationError` that names the variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import contract
from .errors import ConfigurationError

TASK_ROOT = Path(__file__).resolve().parent.parent
"""The deployment package's root (``/var/task`` in Lambda): the runtime library is its ``vpclambda_runtime``."""
CERTS_DIR = Path(__file__).resolve().parent / contract.CERTS_DIR
"""The RDS trust-store bundles shipped with the runtime library."""


# Region prefix -> partition, most specific first.
_PARTITION_PREFIXES: tuple[tuple[str, str], ...] = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
)

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_DB_NAME_RE = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
_SECRET_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z0-9-]+):\d{12}:secret:.+$")
_TOPIC_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
)


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (``aws``, ``aws-cn``, ``aws-us-gov``, ...)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


IAM = "iam"
SECRET = "secret"


@dataclass(frozen=True)
class AppUser:
    """What the migration keeps: the application user, its privileges, how it is identified."""

    name: str
    grants: tuple[str, ...]
    plugin: str = contract.IAM_AUTH_PLUGIN


@dataclass(frozen=True)
class Settings:
    region: str
    partition: str
    db_host: str
    db_port: int
    db_name: str
    db_secret_arn: str | None
    """The master secret (the migration's); None for the job."""
    topic_arn: str | None
    """None: the function does not notify (the migration)."""
    db_connect_timeout: int
    db_read_timeout: int
    secret_ttl_seconds: int
    ca_bundle: Path
    aws_connect_timeout: int
    aws_read_timeout: int
    migrations_dir: Path
    db_user: str | None = None
    """The user the job logs in as with an IAM token; None with a secret."""
    db_proxy: bool = False
    app_user: AppUser | None = None
    """The migration's: the application user to keep; None for the job."""

    @property
    def auth(self) -> str:
        """``iam``: a token signed for ``db_user``; ``secret``: the master secret's credentials."""
        return IAM if self.db_user is not None else SECRET


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required but is not set")
    return value


def _integer(env: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigurationError(f"environment variable {name} is required but is not set")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"environment variable {name} must be between {low} and {high}, got {value}")
    return value


def _arn(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str, partition: str) -> str:
    value = _required(env, name)
    match = pattern.match(value)
    if not match:
        raise ConfigurationError(f"environment variable {name} must be the ARN of {what}, got {value!r}")
    if match.group("partition") != partition:
        raise ConfigurationError(
            f"environment variable {name} is in partition {match.group('partition')!r} but the function runs "
            f"in partition {partition!r}: {value!r}"
        )
    return value


def _user(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name)
    if len(value) > contract.MAX_USER_NAME or not contract.USER_NAME.match(value):
        raise ConfigurationError(f"environment variable {name} must be a MySQL user name (a letter, then letters, "
                                 f"digits or underscores, at most {contract.MAX_USER_NAME}), got {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigurationError(f"environment variable {name} must be true or false, got {raw!r}")
    return raw == "true"


def _app_user(env: Mapping[str, str]) -> AppUser | None:
    if not env.get(contract.DB_APP_USER, "").strip():
        return None
    name = _user(env, contract.DB_APP_USER)
    grants = contract.parse_grants(_required(env, contract.DB_APP_GRANTS))
    problems = contract.grants_problems(grants)
    if problems:
        raise ConfigurationError(f"environment variable {contract.DB_APP_GRANTS}: {'; '.join(problems)}")
    plugin = env.get(contract.DB_APP_USER_PLUGIN, "").strip() or contract.IAM_AUTH_PLUGIN
    if plugin not in (contract.IAM_AUTH_PLUGIN, contract.PAM_PLUGIN):
        raise ConfigurationError(f"environment variable {contract.DB_APP_USER_PLUGIN} must be "
                                 f"{contract.IAM_AUTH_PLUGIN} or {contract.PAM_PLUGIN}, got {plugin!r}")
    return AppUser(name, grants, plugin)


def _check_host(host: str) -> str:
    if any(c.isspace() for c in host):
        raise ConfigurationError(f"environment variable DB_HOST must be a host name, got {host!r}")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            # An RDS *endpoint* (host:port) wired where the *address* belongs.
            raise ConfigurationError(
                f"environment variable DB_HOST must be a host name without a port (the port goes in DB_PORT), "
                f"got {host!r}"
            ) from None
        return host.strip("[]")
    return host


def _package_path(value: str) -> Path:
    """A path as the component sets it: relative to the package, or absolute."""
    path = Path(value)
    return path if path.is_absolute() else TASK_ROOT / path


def resolve_ca_bundle(partition: str, override: str | None) -> Path:
    """The CA bundle that verifies the database's certificate.

    ``DB_CA_BUNDLE`` wins when set; otherwise the RDS bundle shipped for the partition.
    """
    if override:
        path = _package_path(override)
        if not path.is_file():
            raise ConfigurationError(f"environment variable DB_CA_BUNDLE names {override!r}, which is not a file")
        return path
    name = contract.CA_BUNDLE_FILES.get(partition)
    shipped = CERTS_DIR / name if name else None
    if shipped is None or not shipped.is_file():
        source = contract.CA_BUNDLE_SOURCES.get(partition, "the RDS documentation for that partition")
        raise ConfigurationError(
            f"no RDS CA bundle for partition {partition!r} is shipped in the package "
            f"({shipped or 'none configured'}); set DB_CA_BUNDLE to a PEM file of that partition's RDS "
            f"trust store (from {source})"
        )
    return shipped


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check the whole configuration; raises ConfigurationError naming the variable."""
    env = os.environ if env is None else env
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        raise ConfigurationError("environment variable AWS_REGION is required but is not set")
    if not _REGION_RE.match(region):
        raise ConfigurationError(f"environment variable AWS_REGION must be a region name, got {region!r}")
    partition = partition_of(region)

    db_host = _check_host(_required(env, contract.DB_HOST))
    db_name = _required(env, contract.DB_NAME)
    if not _DB_NAME_RE.match(db_name):
        raise ConfigurationError(f"environment variable DB_NAME must be a MySQL database name, got {db_name!r}")

    has_user, has_secret = (bool(env.get(name, "").strip()) for name in (contract.DB_USER, contract.DB_SECRET_ARN))
    if has_user == has_secret:
        raise ConfigurationError(
            f"environment variables {contract.DB_USER} and {contract.DB_SECRET_ARN}: "
            + ("both are set; set one (the job logs in as DB_USER with an IAM token, the migration with the master "
               "secret)" if has_user else "one is required (DB_USER: the user the job logs in as with an IAM token; "
               "DB_SECRET_ARN: the master secret)"))
    app_user = _app_user(env)
    if app_user is not None and has_user:
        raise ConfigurationError(f"environment variable {contract.DB_APP_USER} is the migration's (it logs in with "
                                 f"the master secret, {contract.DB_SECRET_ARN}), not set with {contract.DB_USER}")

    return Settings(
        region=region,
        partition=partition,
        db_host=db_host,
        db_port=_integer(env, contract.DB_PORT, None, 1, 65535),
        db_name=db_name,
        db_secret_arn=(_arn(env, contract.DB_SECRET_ARN, _SECRET_ARN_RE, "a Secrets Manager secret", partition)
                       if has_secret else None),
        topic_arn=(_arn(env, contract.TOPIC_ARN, _TOPIC_ARN_RE, "an SNS topic", partition)
                   if env.get(contract.TOPIC_ARN, "").strip() else None),
        db_user=_user(env, contract.DB_USER) if has_user else None,
        db_proxy=_flag(env, contract.DB_PROXY),
        app_user=app_user,
        db_connect_timeout=_integer(env, contract.DB_CONNECT_TIMEOUT, 5, 1, 900),
        db_read_timeout=_integer(env, contract.DB_READ_TIMEOUT, 10, 1, 900),
        secret_ttl_seconds=_integer(env, contract.SECRET_TTL_SECONDS, 300, 0, 86400),
        ca_bundle=resolve_ca_bundle(partition, env.get(contract.DB_CA_BUNDLE, "").strip() or None),
        aws_connect_timeout=_integer(env, contract.AWS_CONNECT_TIMEOUT, 3, 1, 900),
        aws_read_timeout=_integer(env, contract.AWS_READ_TIMEOUT, 5, 1, 900),
        migrations_dir=_package_path(env.get(contract.MIGRATIONS_DIR_VARIABLE, "").strip() or contract.MIGRATIONS_DIR),
    )
