"""Argument checks, run when the component is constructed, before anything is registered.

Pure functions: each takes plain values and returns the problems it finds, as messages that
name the argument, what was given and what is allowed. `validate_args` gathers them all so a
user sees every mistake at once. Values that are still Outputs (a subnet of a VPC made in the
same program) are skipped here and checked by the same functions once known.
"""

from __future__ import annotations

import difflib
import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import get_root_resource

from .args import REQUIRED_ARGS, Settings

# CloudWatch Logs accepts exactly these retentions (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_TIMEOUT_S = (1, 900)
DB_CONNECT_TIMEOUT_S = (1, 60)
RDS_MYSQL_STORAGE_GB = (20, 65536)
PORT_RANGE = (1, 65535)
RUNTIMES = ("python3.11", "python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
# MySQL reserves these; RDS refuses them as master user names.
RESERVED_DB_USERS = frozenset({"root", "rdsadmin", "admin", "mysql.sys", "mysql.session", "mysql.infoschema"})

PATTERNS: Mapping[str, tuple[str, str]] = {
    "vpc_id": (r"vpc-[0-9a-zA-Z]+", "a VPC ID such as vpc-0123456789abcdef0"),
    "db_name": (r"[A-Za-z][A-Za-z0-9_]{0,63}", "a letter then up to 63 letters, digits or underscores"),
    "db_username": (r"[A-Za-z][A-Za-z0-9_]{0,15}", "a letter then up to 15 letters, digits or underscores"),
    "db_engine_version": (r"\d+\.\d+(\.\d+)?", "major.minor[.patch], e.g. 8.4 or 8.0.39"),
    "db_instance_class": (r"db\.[a-z0-9-]+\.[a-z0-9]+", "an RDS instance class such as db.t4g.micro"),
    "topic_name": (r"[A-Za-z0-9_-]{1,256}", "1-256 letters, digits, hyphens or underscores"),
    "function_name": (r"[A-Za-z0-9_-]{1,56}", "1-56 letters, digits, hyphens or underscores "
                      "(the migration function adds -migrate)"),
}
SUBNET_PATTERN = r"subnet-[0-9a-zA-Z]+"
INT_RANGES: Mapping[str, tuple[int, int]] = {
    "db_port": PORT_RANGE,
    "db_allocated_storage_gb": RDS_MYSQL_STORAGE_GB,
    "db_connect_timeout_seconds": DB_CONNECT_TIMEOUT_S,
    "function_memory_mb": LAMBDA_MEMORY_MB,
    "function_timeout_seconds": LAMBDA_TIMEOUT_S,
    "db_backup_retention_days": (1, 35),
    "function_reserved_concurrency": (1, 1000),
}
CHOICES: Mapping[str, Sequence[Any]] = {
    "function_runtime": RUNTIMES,
    "function_architecture": ARCHITECTURES,
    "log_retention_days": LOG_RETENTION_DAYS,
    "db_monitoring_interval_seconds": (0, 1, 5, 10, 15, 30, 60),
}
BOOLS = ("db_deletion_protection", "db_final_snapshot", "db_multi_az", "function_tracing", "nat_egress")
SERVICE_PATTERN = r"[a-z0-9][a-z0-9.-]*"


class ArgumentError(ValueError):
    """Bad component arguments; the message lists every problem found."""

    def __init__(self, problems: Sequence[str], source: str = "VpcLambdaWithPrivateServices") -> None:
        self.problems = list(problems)
        super().__init__(f"{source}: invalid arguments:\n  - " + "\n  - ".join(self.problems))


def is_unknown(value: Any) -> bool:
    """True for values only known at deployment (Outputs, awaitables)."""
    return isinstance(value, pulumi.Output) or hasattr(value, "__await__")


def check_names(given: Iterable[str]) -> list[str]:
    allowed = sorted(Settings.__dataclass_fields__)
    problems = []
    for name in sorted(set(given) - set(allowed)):
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
        problems.append(f"unknown argument {name!r}{hint}")
    return problems


def check_required(args: Mapping[str, Any]) -> list[str]:
    return [
        f"{name}: missing; it is required"
        for name in REQUIRED_ARGS
        if args.get(name) is None or (isinstance(args.get(name), str) and not args[name].strip())
    ]


def check_subnet_ids(value: Any) -> list[str]:
    """The list itself: its type, its size, its IDs, duplicates. AZs are checked by `check_subnet_azs`."""
    name = "private_subnet_ids"
    if is_unknown(value):
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [f"{name}: got {value!r}; expected a list of two or more subnet IDs"]
    if len(value) < 2:
        return [f"{name}: got {list(value)!r}; expected two or more subnets in at least two availability "
                "zones (the function and the DB subnet group need two AZs)"]
    problems = []
    known = [s for s in value if not is_unknown(s)]
    for subnet in known:
        if not isinstance(subnet, str) or not re.fullmatch(SUBNET_PATTERN, subnet):
            problems.append(f"{name}: {subnet!r} is not a subnet ID (expected subnet-...)")
    duplicates = sorted({s for s in known if isinstance(s, str) and known.count(s) > 1})
    if duplicates:
        problems.append(f"{name}: {', '.join(duplicates)} listed more than once; list each subnet once")
    return problems


def check_subnet_azs(subnet_azs: Mapping[str, str]) -> list[str]:
    """Subnet ID -> availability zone, as looked up."""
    zones = set(subnet_azs.values())
    if len(zones) < 2:
        listing = ", ".join(f"{s} ({az})" for s, az in subnet_azs.items())
        return [f"private_subnet_ids: all in one availability zone: {listing}; expected subnets in at least "
                "two availability zones (the function and the DB subnet group need two AZs)"]
    return []


def _check_int(name: str, value: Any, low: int, high: int) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{name}: got {value!r}; expected a whole number from {low} to {high}"]
    if not low <= value <= high:
        return [f"{name}: got {value}; allowed: {low} to {high}"]
    return []


def check_values(args: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, (pattern, allowed) in PATTERNS.items():
        value = args.get(name)
        if value is None or (name in REQUIRED_ARGS and value == "") or is_unknown(value):
            continue
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            problems.append(f"{name}: got {value!r}; allowed: {allowed}")
    for name, (low, high) in INT_RANGES.items():
        if args.get(name) is not None:
            problems += _check_int(name, args[name], low, high)
    for name, choices in CHOICES.items():
        value = args.get(name)
        if value is not None and (isinstance(value, bool) or value not in choices):
            problems.append(f"{name}: got {value!r}; allowed: {', '.join(map(str, choices))}")
    for name in BOOLS:
        value = args.get(name)
        if value is not None and not isinstance(value, bool):
            problems.append(f"{name}: got {value!r}; expected true or false")
    username = args.get("db_username")
    if isinstance(username, str) and username.lower() in RESERVED_DB_USERS:
        problems.append(f"db_username: {username!r} is reserved by MySQL/RDS; choose another name")
    tags = args.get("tags")
    if tags is not None and not is_unknown(tags) and (
        not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        problems.append(f"tags: got {tags!r}; expected a mapping of strings to strings")
    problems += check_timeouts(args)
    problems += check_interface_endpoints(args.get("interface_endpoints"))
    problems += check_ca_bundle_file(args.get("db_ca_bundle_file"))
    return problems


def check_ca_bundle_file(value: Any) -> list[str]:
    name = "db_ca_bundle_file"
    if value is None:
        return []
    if not isinstance(value, str) or not value:
        return [f"{name}: got {value!r}; expected the path of a PEM file of CA certificates"]
    try:
        text = Path(value).read_text(errors="replace")
    except OSError as error:
        return [f"{name}: cannot read {value!r} ({error.strerror}); expected a PEM file of CA certificates"]
    if "-----BEGIN CERTIFICATE-----" not in text:
        return [f"{name}: {value!r} holds no PEM certificate; expected a PEM file of CA certificates"]
    return []


def check_interface_endpoints(value: Any) -> list[str]:
    name = "interface_endpoints"
    if value is None or is_unknown(value):
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [f"{name}: got {value!r}; expected a list of AWS service names such as ['sns', 'secretsmanager']"]
    problems = [f"{name}: {s!r} is not an AWS service name (e.g. sns, secretsmanager)"
                for s in value if not isinstance(s, str) or not re.fullmatch(SERVICE_PATTERN, s)]
    duplicates = sorted({s for s in value if isinstance(s, str) and list(value).count(s) > 1})
    if duplicates:
        problems.append(f"{name}: {', '.join(duplicates)} listed more than once")
    return problems


def check_timeouts(args: Mapping[str, Any]) -> list[str]:
    defaults = Settings(vpc_id="", private_subnet_ids=[])
    timeout = args.get("function_timeout_seconds", defaults.function_timeout_seconds)
    connect = args.get("db_connect_timeout_seconds", defaults.db_connect_timeout_seconds)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (timeout, connect)):
        return []
    if timeout <= connect:
        return [f"function_timeout_seconds: got {timeout}; must be above db_connect_timeout_seconds ({connect}), "
                "or the function times out before a database failure can be reported"]
    return []


CHECKS: tuple[Callable[[Mapping[str, Any]], list[str]], ...] = (
    lambda a: check_names(a),
    check_required,
    lambda a: check_subnet_ids(a["private_subnet_ids"]) if a.get("private_subnet_ids") is not None else [],
    check_values,
)


def problems_in(args: Mapping[str, Any]) -> list[str]:
    """Every problem with these arguments (those whose values are known now)."""
    return [problem for check in CHECKS for problem in check(args)]


def validate_args(args: Mapping[str, Any]) -> Settings:
    """Check everything known now; raise one ArgumentError listing every problem."""
    if not isinstance(args, Mapping):
        raise ArgumentError([f"args: got {type(args).__name__}; expected a mapping of argument names to values"])
    problems = problems_in(args)
    if problems:
        raise ArgumentError(problems)
    return Settings(**{k: v for k, v in args.items() if v is not None})


# Availability zone of each subnet looked up so far, per program (keyed by its root stack
# resource). Components of one program usually share subnets; each synchronous lookup also
# costs more the more the program has already registered, so each subnet is looked up once.
_ZONES: weakref.WeakKeyDictionary[pulumi.Resource, dict[str, str]] = weakref.WeakKeyDictionary()


def _subnet_zone(subnet: str, parent: pulumi.Resource) -> str:
    import pulumi_aws as aws  # the pure checks above need no provider

    root = get_root_resource()
    known = _ZONES.setdefault(root, {}) if root is not None else {}
    if subnet not in known:
        found = aws.ec2.get_subnet(id=subnet, opts=pulumi.InvokeOptions(parent=parent)).availability_zone
        known[subnet] = str(found)
    return known[subnet]


def _subnet_zone_problems(subnet_ids: Sequence[str], parent: pulumi.Resource) -> list[str]:
    return check_subnet_azs({subnet: _subnet_zone(subnet, parent) for subnet in subnet_ids})


def checked_subnet_ids(
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]], parent: pulumi.Resource
) -> pulumi.Input[Sequence[pulumi.Input[str]]]:
    """Look the subnets up and refuse them all in one AZ. Known IDs are checked now (an error
    before any child exists); Outputs are checked once known, with the same messages."""
    if not is_unknown(subnet_ids) and not any(is_unknown(s) for s in subnet_ids):  # type: ignore[union-attr]
        problems = _subnet_zone_problems(list(subnet_ids), parent)  # type: ignore[arg-type]
        if problems:
            raise ArgumentError(problems)
        return subnet_ids

    import pulumi_aws as aws

    def check(given: Sequence[Any]) -> pulumi.Output[list[str]]:
        ids = [str(subnet) for subnet in given]
        problems = check_subnet_ids(given)
        if problems:
            raise ArgumentError(problems)
        zones = [
            aws.ec2.get_subnet_output(id=subnet, opts=pulumi.InvokeOutputOptions(parent=parent)).availability_zone
            for subnet in ids
        ]

        def judge(found: list[str]) -> list[str]:
            zone_problems = check_subnet_azs(dict(zip(ids, found, strict=True)))
            if zone_problems:
                raise ArgumentError(zone_problems)
            return ids

        return pulumi.Output.all(*zones).apply(judge)

    return pulumi.Output.from_input(subnet_ids).apply(check)
