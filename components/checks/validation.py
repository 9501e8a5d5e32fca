"""Argument checks, run when the component is constructed, before anything is registered.

Pure functions: each takes plain values and returns the `Problem`s it finds, each naming the
argument, what was given and what is allowed. `preview_checks` gathers them with what
AWS was asked, so a user sees every mistake at once. Values that are still Outputs (a subnet of
a VPC made in the same program) are skipped here and checked by the same functions once known.
What AWS accepts for a value (lengths, patterns, ranges) comes from `aws_limits`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi

from vpclambda_runtime import contract

from ..model import aws_limits as limits
from ..model.alarm_specs import SPECS, threshold_problems
from ..model.child_roles import transform_problems
from ..model.dependencies import GATEWAY_SERVICES
from ..model.existing import DATABASE, existing_problems
from ..model.names import COMPONENT_TAG_KEYS, MAX_COMPONENT_NAME, MAX_JOB_FUNCTION_NAME
from ..model.permissions import check_permissions
from ..model.problems import Problem
from ..model.settings import REQUIRED_ARGS, Settings
from ..model.triggers import queue_problems, schedule_problems

LAMBDA = "aws:lambda/function:Function"
INSTANCE = "aws:rds/instance:Instance"
RESERVED_TAG_PREFIXES = ("aws:", "rds:")
"""`aws:` is reserved everywhere, `rds:` on RDS resources; user tags go on both."""
USER_TAGS = limits.Tags(
    "the strictest of the tagging rules of every service the component tags",
    max_tags=limits.GENERIC_TAGS.max_tags - len(COMPONENT_TAG_KEYS),
    reserved_prefixes=RESERVED_TAG_PREFIXES,
)
FUNCTION_NAME = limits.Text(
    "Lambda API: CreateFunction FunctionName, less the migration function's -migrate",
    MAX_JOB_FUNCTION_NAME, 1, r"[a-zA-Z0-9_-]+", "letters, digits, hyphens or underscores",
)

# Arguments that are one AWS property each: checked against the table of what AWS accepts.
AWS_PROPERTIES: Mapping[str, limits.Limit] = {
    "db_name": limits.LIMITS[INSTANCE]["dbName"],
    "db_identifier": limits.LIMITS[INSTANCE]["identifier"],
    "db_username": limits.LIMITS[INSTANCE]["username"],
    "db_engine_version": limits.LIMITS[INSTANCE]["engineVersion"],
    "db_instance_class": limits.LIMITS[INSTANCE]["instanceClass"],
    "db_allocated_storage_gb": limits.LIMITS[INSTANCE]["allocatedStorage"],
    "db_port": limits.LIMITS[INSTANCE]["port"],
    "db_monitoring_interval_seconds": limits.LIMITS[INSTANCE]["monitoringInterval"],
    "topic_name": limits.LIMITS["aws:sns/topic:Topic"]["name"],
    "function_name": FUNCTION_NAME,
    "function_memory_mb": limits.LIMITS[LAMBDA]["memorySize"],
    "function_timeout_seconds": limits.LIMITS[LAMBDA]["timeout"],
    "function_runtime": limits.LIMITS[LAMBDA]["runtime"],
    "function_architecture": limits.Choice("Lambda API: CreateFunction Architectures", limits.LAMBDA_ARCHITECTURES),
    "log_retention_days": limits.LIMITS["aws:cloudwatch/logGroup:LogGroup"]["retentionInDays"],
}
# The component's own ranges, narrower than AWS's.
INT_RANGES: Mapping[str, tuple[int, int]] = {
    "db_connect_timeout_seconds": (1, 60),
    "db_backup_retention_days": (1, 35),  # 0 would turn automated backups off
}
PATTERNS: Mapping[str, tuple[str, str]] = {
    "vpc_id": (r"vpc-[0-9a-zA-Z]+", "a VPC ID such as vpc-0123456789abcdef0"),
}
BOOLS = ("db_deletion_protection", "db_final_snapshot", "db_multi_az", "function_tracing", "nat_egress",
         "function_reserved_concurrency_auto", "db_apply_immediately", "vpc_flow_logs", "alarms", "db_proxy")
APP_USER = limits.Text(
    "MySQL 8: CREATE USER (a user name is at most 32 characters); the component's own pattern",
    contract.MAX_USER_NAME, 1, contract.USER_NAME.pattern.strip("^$"), "a letter, then letters, digits or underscores",
    refused_values=tuple(sorted(contract.RESERVED_USERS)),
)
SLOW_QUERY_SECONDS = (0, 31_536_000)
"""RDS MySQL's range for `long_query_time` (seconds, fractions allowed)."""
SUBNET_PATTERN = r"subnet-[0-9a-zA-Z]+"
ROUTE_TABLE_PATTERN = r"rtb-[0-9a-f]+"
SERVICE_PATTERN = r"[a-z0-9][a-z0-9.-]*"
RESERVED_CONCURRENCY = (1, 100_000)


def is_unknown(value: Any) -> bool:
    """True for values only known at deployment (Outputs, awaitables)."""
    return isinstance(value, pulumi.Output) or hasattr(value, "__await__")


def check_names(given: Iterable[str]) -> list[Problem]:
    return check_names_in(given, Settings.__dataclass_fields__)


def check_names_in(given: Iterable[str], known: Iterable[str]) -> list[Problem]:
    """Unknown argument names, each with the closest known one."""
    allowed = sorted(known)
    problems = []
    for name in sorted(set(given) - set(allowed)):
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
        problems.append(Problem(name, f"unknown argument; {hint}"))
    return problems


def check_required(args: Mapping[str, Any], required: Iterable[str] = REQUIRED_ARGS) -> list[Problem]:
    return [
        Problem(name, "missing; it is required")
        for name in required
        if args.get(name) is None or (isinstance(args.get(name), str) and not args[name].strip())
    ]


def check_subnet_ids(value: Any, name: str = "private_subnet_ids") -> list[Problem]:
    """The list itself: its type, its size, its IDs, duplicates (zones: `availability`)."""
    if is_unknown(value):
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [Problem(name, f"got {value!r}; expected a list of two or more subnet IDs")]
    if len(value) < 2:
        return [Problem(name, f"got {list(value)!r}; expected two or more subnets in at least two availability "
                              "zones (the function and the DB subnet group need two AZs)")]
    problems = []
    known = [s for s in value if not is_unknown(s)]
    for subnet in known:
        if not isinstance(subnet, str) or not re.fullmatch(SUBNET_PATTERN, subnet):
            problems.append(Problem(name, f"{subnet!r} is not a subnet ID (expected subnet-...)"))
    duplicates = sorted({s for s in known if isinstance(s, str) and known.count(s) > 1})
    if duplicates:
        problems.append(Problem(name, f"{', '.join(duplicates)} listed more than once; list each subnet once"))
    return problems


def subnets_outside_vpc(subnet_vpcs: Mapping[str, str], vpc_id: str, argument: str) -> list[Problem]:
    """Subnet ID -> its VPC, as looked up: each subnet must be in `vpc_id`."""
    return [Problem(argument, f"{subnet} is in {vpc}, not in vpc_id {vpc_id}")
            for subnet, vpc in subnet_vpcs.items() if vpc != vpc_id]


def _check_int(name: str, value: Any, low: int, high: int) -> list[Problem]:
    return limits.check(limits.Number("the component's range", low, high), name, value)


def check_component_name(name: Any) -> list[Problem]:
    """The component's name: it becomes part of resource names RDS, IAM and Lambda judge."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", name) or "--" in name \
            or name.endswith("-") or len(name) > MAX_COMPONENT_NAME:
        return [Problem("name", f"got {name!r}; allowed: a lowercase letter, then lowercase letters, digits or "
                                f"single hyphens, not ending in a hyphen, at most {MAX_COMPONENT_NAME} characters (it "
                                "prefixes the names of the database, roles and functions)")]
    return []


def check_reserved_concurrency(value: Any) -> list[Problem]:
    if value is None:
        return []
    return _check_int("function_reserved_concurrency", value, *RESERVED_CONCURRENCY)


def check_slow_query_seconds(value: Any) -> list[Problem]:
    name, (low, high) = "db_slow_query_seconds", SLOW_QUERY_SECONDS
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [Problem(name, f"got {value!r}; expected a number of seconds from {low} to {high}")]
    if not low <= value <= high:
        return [Problem(name, f"got {value}; allowed: {low} to {high} (RDS MySQL's long_query_time)")]
    return []


EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
TOPIC_ARN_PATTERN = r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}"


def check_alarm_arguments(args: Mapping[str, Any]) -> list[Problem]:
    problems = []
    email = args.get("alarm_email")
    if email is not None and (not isinstance(email, str) or not re.fullmatch(EMAIL_PATTERN, email)):
        problems.append(Problem("alarm_email", f"got {email!r}; expected an email address"))
    actions = args.get("alarm_actions")
    if actions is not None:
        if isinstance(actions, str) or not isinstance(actions, Sequence):
            problems.append(Problem("alarm_actions", f"got {actions!r}; expected a list of SNS topic ARNs"))
        else:
            problems += [Problem("alarm_actions", f"{a!r} is not an SNS topic ARN "
                                                  "(arn:<partition>:sns:<region>:<account>:<name>)")
                         for a in actions if not isinstance(a, str) or not re.fullmatch(TOPIC_ARN_PATTERN, a)]
            if actions and args.get("alarm_email") is not None:
                problems.append(Problem("alarm_email", "the alarms notify alarm_actions, so no alarm topic is made to "
                                                       "subscribe it to; subscribe the address to one of those topics, "
                                                       "or drop alarm_actions"))
    if args.get("alarms") is False and (actions or email is not None or args.get("alarm_thresholds")):
        problems.append(Problem("alarms", "false, yet alarm_email, alarm_actions or alarm_thresholds is set; they "
                                          "would do nothing"))
    problems += threshold_problems(args.get("alarm_thresholds"))
    thresholds = args.get("alarm_thresholds")
    if isinstance(thresholds, Mapping) and args.get("db_proxy") is not True:
        proxy_keys = sorted(key for key in thresholds if SPECS.get(key) is not None and SPECS[key].needs_proxy)
        if proxy_keys:
            problems.append(Problem("alarm_thresholds", f"{', '.join(proxy_keys)}: alarms on the database proxy, "
                                                        "which exists only with db_proxy; remove them or set "
                                                        "db_proxy=true"))
    return problems


def alarm_action_problems(actions: Sequence[Any], partition: str, region: str) -> list[Problem]:
    """CloudWatch notifies SNS topics of the alarm's own region only (and so of its partition):
    a topic elsewhere is refused when the alarm is created, after everything else was deployed."""
    problems = []
    for action in actions:
        if not isinstance(action, str) or not re.fullmatch(TOPIC_ARN_PATTERN, action):
            continue  # `check_alarm_arguments` names it
        _, topic_partition, _, topic_region, *_ = action.split(":")
        if (topic_partition, topic_region) != (partition, region):
            problems.append(Problem("alarm_actions", f"{action!r} is a topic in {topic_region} (partition "
                                                     f"{topic_partition!r}); the alarms are in {region} (partition "
                                                     f"{partition!r}) and CloudWatch notifies only SNS topics of the "
                                                     f"alarm's own region: name a topic in {region}, or leave "
                                                     "alarm_actions unset for a topic of the component's own"))
    return problems


def check_tags(tags: Any) -> list[Problem]:
    if tags is None or is_unknown(tags):
        return []
    if not isinstance(tags, Mapping):
        return [Problem("tags", f"got {tags!r}; expected a mapping of strings to strings")]
    problems = limits.check(USER_TAGS, "tags", tags)
    taken = sorted(set(tags) & set(COMPONENT_TAG_KEYS))
    if taken:
        problems.append(Problem("tags", f"{', '.join(taken)} set by the component itself; choose other keys"))
    return problems


def check_values(args: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, (pattern, allowed) in PATTERNS.items():
        value = args.get(name)
        if value is None or (name in REQUIRED_ARGS and value == "") or is_unknown(value):
            continue
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            problems.append(Problem(name, f"got {value!r}; allowed: {allowed}"))
    for name, limit in AWS_PROPERTIES.items():
        if args.get(name) is not None:
            problems += limits.check(limit, name, args[name])
    for name, (low, high) in INT_RANGES.items():
        if args.get(name) is not None:
            problems += _check_int(name, args[name], low, high)
    for name in BOOLS:
        value = args.get(name)
        if value is not None and not isinstance(value, bool):
            problems.append(Problem(name, f"got {value!r}; expected true or false"))
    problems += check_reserved_concurrency(args.get("function_reserved_concurrency"))
    problems += check_slow_query_seconds(args.get("db_slow_query_seconds"))
    problems += check_alarm_arguments(args)
    problems += check_tags(args.get("tags"))
    problems += check_timeouts(args)
    problems += check_interface_endpoints(args.get("interface_endpoints"))
    problems += check_ca_bundle_file(args.get("db_ca_bundle_file"))
    problems += check_app_user(args)
    problems += check_app_grants(args.get("db_app_grants"))
    problems += check_integrations(args)
    return problems


def check_integrations(args: Mapping[str, Any]) -> list[Problem]:
    """The triggers, the user's existing resources, the declared calls and the transforms: their
    form (what AWS says of them is judged at preview, `checks/integrations.py`)."""
    problems = schedule_problems(args.get("schedule"))
    problems += queue_problems(args.get("queue"))[1]
    problems += existing_problems(args)[1]
    permissions, found = check_permissions(args.get("function_permissions"))
    problems += found
    problems += check_route_table_ids(args.get("gateway_route_table_ids"),
                                      any(p.service in GATEWAY_SERVICES for p in permissions) or bool(found))
    problems += transform_problems(args.get("transforms"))
    return problems


def check_route_table_ids(value: Any, gateway_needed: bool) -> list[Problem]:
    name = "gateway_route_table_ids"
    if value is None or is_unknown(value):
        return []
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        return [Problem(name, f"got {value!r}; expected a list of route table IDs (rtb-...)")]
    problems = [Problem(name, f"{t!r} is not a route table ID (rtb-...)") for t in value
                if not is_unknown(t) and (not isinstance(t, str) or not re.fullmatch(ROUTE_TABLE_PATTERN, t))]
    if not problems and not gateway_needed:
        problems.append(Problem(name, "no gateway endpoint is made (function_permissions names no "
                                      f"{' or '.join(sorted(GATEWAY_SERVICES))}); remove it"))
    return problems


def check_app_user(args: Mapping[str, Any]) -> list[Problem]:
    """The application user: a MySQL user name, and not the master user (the job would log in as
    the master user, and the migration would change the master user's authentication)."""
    name, value = "db_app_user", args.get("db_app_user")
    if value is None:
        return []
    problems = limits.check(APP_USER, name, value)
    # With existing_database the master user is the given secret's, unknown here: the migration
    # refuses to keep an application user that is the user it logs in as.
    master = None if args.get(DATABASE) is not None else args.get(
        "db_username", Settings.__dataclass_fields__["db_username"].default)
    if not problems and isinstance(master, str) and value.lower() == master.lower():
        problems.append(Problem(name, f"got {value!r}, the master user (db_username); the job logs in as its own "
                                      "user: choose another name"))
    return problems


def check_app_grants(value: Any) -> list[Problem]:
    name = "db_app_grants"
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [Problem(name, f"got {value!r}; expected a list of privileges such as ['SELECT', 'INSERT']")]
    return [Problem(name, message) for message in contract.grants_problems(value)]


def check_ca_bundle_file(value: Any) -> list[Problem]:
    name = "db_ca_bundle_file"
    if value is None:
        return []
    if not isinstance(value, str) or not value:
        return [Problem(name, f"got {value!r}; expected the path of a PEM file of CA certificates")]
    try:
        text = Path(value).read_text(errors="replace")
    except OSError as error:
        return [Problem(name, f"cannot read {value!r} ({error.strerror}); expected a PEM file of CA certificates")]
    if "-----BEGIN CERTIFICATE-----" not in text:
        return [Problem(name, f"{value!r} holds no PEM certificate; expected a PEM file of CA certificates")]
    return []


def check_interface_endpoints(value: Any, name: str = "interface_endpoints") -> list[Problem]:
    if value is None or is_unknown(value):
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [Problem(name, f"got {value!r}; expected a list of AWS service names such as ['sns', 'secretsmanager']")]
    problems = [Problem(name, f"{s!r} is not an AWS service name (e.g. sns, secretsmanager)")
                for s in value if not isinstance(s, str) or not re.fullmatch(SERVICE_PATTERN, s)]
    duplicates = sorted({s for s in value if isinstance(s, str) and list(value).count(s) > 1})
    if duplicates:
        problems.append(Problem(name, f"{', '.join(duplicates)} listed more than once"))
    return problems


def check_timeouts(args: Mapping[str, Any]) -> list[Problem]:
    defaults = Settings(vpc_id="", private_subnet_ids=[])
    timeout = args.get("function_timeout_seconds", defaults.function_timeout_seconds)
    connect = args.get("db_connect_timeout_seconds", defaults.db_connect_timeout_seconds)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (timeout, connect)):
        return []
    if _check_int("db_connect_timeout_seconds", connect, *INT_RANGES["db_connect_timeout_seconds"]):
        return []  # its own problem says what to change
    if timeout <= connect:
        return [Problem("function_timeout_seconds", f"got {timeout}; must be above db_connect_timeout_seconds "
                                                    f"({connect}), or the function times out before a database "
                                                    "failure can be reported")]
    return []


CHECKS: tuple[Callable[[Mapping[str, Any]], list[Problem]], ...] = (
    lambda a: check_names(a),
    check_required,
    lambda a: check_subnet_ids(a["private_subnet_ids"]) if a.get("private_subnet_ids") is not None else [],
    check_values,
)


def problems_in(args: Mapping[str, Any]) -> list[Problem]:
    """Every problem with these arguments (those whose values are known now)."""
    return [problem for check in CHECKS for problem in check(args)]


def settings_from(args: Mapping[str, Any]) -> Settings:
    """The arguments with every default filled in (call after `problems_in` found nothing, or to
    read the valid part of arguments that have problems)."""
    known = set(Settings.__dataclass_fields__)
    given = {k: v for k, v in args.items() if v is not None and k in known}
    return Settings(**{"vpc_id": "", "private_subnet_ids": [], **given})
