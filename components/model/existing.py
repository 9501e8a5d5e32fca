"""The user's existing resources: a topic (`existing_topic_arn`, with its key
`existing_topic_kms_key_arn`), a KMS key (`existing_kms_key_arn`) and an RDS MySQL instance
(`existing_database`), each a plain value (stack config and other languages give them as such).

Pure checks of their form and of how they combine with the other arguments; what a look-up
can tell (the topic, key and instance exist, the instance is MySQL in the VPC with TLS
required) is judged by `checks/existing_resources.py`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .arns import KEY_ARN, SECRET_ARN, TOPIC_ARN, elsewhere
from .problems import Problem, shown

DATABASE = "existing_database"
DATABASE_FIELDS = ("address", "port", "security_group_id", "secret_arn", "resource_id")
CREATED_DATABASE_ARGUMENTS = (
    "db_identifier", "db_username", "db_engine_version", "db_instance_class", "db_allocated_storage_gb", "db_port",
    "db_deletion_protection", "db_final_snapshot", "db_multi_az", "db_backup_retention_days",
    "db_monitoring_interval_seconds", "db_slow_query_seconds", "db_apply_immediately",
)
"""What only the database the component creates takes; refused with `existing_database`."""
PROXY_WITH_EXISTING_DATABASE = (
    "not supported with existing_database: the proxy's pool is sized as the job's share of the instance's "
    "connections, which the other clients of an instance this stack does not create also use, and its target "
    "would be an instance the stack does not own; leave db_proxy off (the job logs in to the instance with its "
    "IAM token), or let the component create the database")
"""`db_proxy` is the component's own database's option only (docs/existing-resources.md)."""
HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*")
SECURITY_GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
RESOURCE_ID = re.compile(r"db-[A-Z0-9]{10,40}")
PORT = (1150, 65535)
"""RDS MySQL's ports."""


@dataclass(frozen=True)
class GivenDatabase:
    """`existing_database`, checked."""

    address: str
    port: int
    security_group_id: str
    secret_arn: str
    resource_id: str


@dataclass(frozen=True)
class ExistingResources:
    """The user's resources the component uses instead of creating its own."""

    topic_arn: str | None = None
    topic_key_arn: str | None = None
    key_arn: str | None = None
    database: GivenDatabase | None = None


def _arn_problems(argument: str, value: Any, pattern: re.Pattern[str], what: str, form: str) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        return [Problem(argument, f"got {shown(value)}; expected the ARN of {what} ({form})")]
    return []


def database_problems(value: Any) -> tuple[GivenDatabase | None, list[Problem]]:
    if value is None:
        return None, []
    if not isinstance(value, Mapping):
        return None, [Problem(DATABASE, f"got {value!r}; expected {{{', '.join(DATABASE_FIELDS)}}} of an RDS MySQL "
                                        "instance")]
    problems = []
    for key in value:
        if key not in DATABASE_FIELDS:
            close = difflib.get_close_matches(str(key), DATABASE_FIELDS, n=1)
            problems.append(Problem(DATABASE, f"unknown field {key!r}" + (f"; did you mean {close[0]!r}?" if close
                                                                          else "")))
    missing = [key for key in DATABASE_FIELDS if value.get(key) is None]
    if missing:
        problems.append(Problem(DATABASE, f"missing {', '.join(missing)}"))
    address, port = value.get("address"), value.get("port")
    group, secret, resource_id = value.get("security_group_id"), value.get("secret_arn"), value.get("resource_id")
    if address is not None and (not isinstance(address, str) or HOST_NAME.fullmatch(address) is None):
        problems.append(Problem(DATABASE, f"address got {address!r}; expected the instance's host name, without the "
                                          "port (its Endpoint.Address)"))
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not PORT[0] <= port <= PORT[1]):
        problems.append(Problem(DATABASE, f"port got {port!r}; allowed: {PORT[0]} to {PORT[1]} (RDS MySQL)"))
    if group is not None and (not isinstance(group, str) or SECURITY_GROUP_ID.fullmatch(group) is None):
        problems.append(Problem(DATABASE, f"security_group_id got {group!r}; expected a security group ID (sg-...) "
                                          "of the instance"))
    problems += _arn_problems(DATABASE, secret, SECRET_ARN, "a Secrets Manager secret",
                              "arn:<partition>:secretsmanager:<region>:<account>:secret:<name>")
    if resource_id is not None and (not isinstance(resource_id, str) or RESOURCE_ID.fullmatch(resource_id) is None):
        problems.append(Problem(DATABASE, f"resource_id got {resource_id!r}; expected the instance's resource ID "
                                          "(DbiResourceId, db-...)"))
    if problems:
        return None, problems
    assert isinstance(port, int)
    return GivenDatabase(str(address), port, str(group), str(secret), str(resource_id)), []


def existing_problems(args: Mapping[str, Any]) -> tuple[ExistingResources, list[Problem]]:
    """The existing resources' form, and the arguments that do nothing beside them."""
    topic, topic_key, key = (args.get("existing_topic_arn"), args.get("existing_topic_kms_key_arn"),
                             args.get("existing_kms_key_arn"))
    problems = _arn_problems("existing_topic_arn", topic, TOPIC_ARN, "an SNS topic",
                             "arn:<partition>:sns:<region>:<account>:<name>")
    for argument, value in (("existing_topic_kms_key_arn", topic_key), ("existing_kms_key_arn", key)):
        problems += _arn_problems(argument, value, KEY_ARN, "a KMS key",
                                  "arn:<partition>:kms:<region>:<account>:key/<key id>; not an alias")
    if topic is not None and args.get("topic_name") is not None:
        problems.append(Problem("topic_name", "not used with existing_topic_arn (no topic is created); remove it"))
    if topic_key is not None and topic is None:
        problems.append(Problem("existing_topic_kms_key_arn", "the key of an existing topic: set existing_topic_arn "
                                                              "too, or remove it"))
    database, database_found = database_problems(args.get(DATABASE))
    problems += database_found
    if args.get(DATABASE) is not None:
        problems += [Problem(name, "not used with existing_database (no instance is created); remove it")
                     for name in CREATED_DATABASE_ARGUMENTS if args.get(name) is not None]
        if args.get("db_proxy") is True:
            problems.append(Problem("db_proxy", PROXY_WITH_EXISTING_DATABASE))
    ok = {p.argument for p in problems}
    return ExistingResources(
        topic_arn=topic if "existing_topic_arn" not in ok else None,
        topic_key_arn=topic_key if "existing_topic_kms_key_arn" not in ok else None,
        key_arn=key if "existing_kms_key_arn" not in ok else None,
        database=database,
    ), problems


def place_problems(existing: ExistingResources, partition: str, region: str) -> list[Problem]:
    """Each existing resource must be in the program's partition and region: the function reaches
    a topic through its region's endpoint, and a key works only in its own region."""
    problems = []
    for argument, value, pattern, why in (
        ("existing_topic_arn", existing.topic_arn, TOPIC_ARN, "the function publishes through the SNS endpoint of "
                                                               "its own region, without NAT"),
        ("existing_topic_kms_key_arn", existing.topic_key_arn, KEY_ARN, "a topic's key is in the topic's region"),
        ("existing_kms_key_arn", existing.key_arn, KEY_ARN, "AWS services use keys of their own region only"),
        (DATABASE, existing.database.secret_arn if existing.database else None, SECRET_ARN,
         "the function reads the secret through the Secrets Manager endpoint of its own region"),
    ):
        match = pattern.fullmatch(value) if value else None
        where = elsewhere(match, partition, region) if match else None
        if where is not None:
            problems.append(Problem(argument, f"{value} is in {where}, the program deploys to {partition} {region}; "
                                              f"{why}"))
    return problems
