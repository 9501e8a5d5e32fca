"""`function_permissions`: the AWS calls a job makes beyond the component's own, checked against
what AWS names.

Each entry is `{service, actions, resources, allow_wildcards}`. The service must be an AWS
service (its IAM prefix: `s3`, `dynamodb`, `sqs`, ...), each action one of that service's
(`s3:GetObject`; an action of another service is refused), each resource an ARN of that
service in the program's partition (and region, where the ARN has one). A `*` or `?` in an
action or a resource is refused unless the entry says `allow_wildcards`.

The services and their actions come from `aws_services.json`, generated from botocore's
service models by `scripts/gen_aws_services.py` (botocore is not needed to deploy: the
component reads the table), plus `IAM_ONLY_ACTIONS`, the actions IAM defines that are no API
operation (`s3:ListBucket` authorises ListObjectsV2).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from .problems import Problem
from .settings import FunctionPermissionSettings

ARGUMENT = "function_permissions"
FIELDS = ("service", "actions", "resources", "allow_wildcards")
REQUIRED_FIELDS = ("service", "actions", "resources")
IAM_ONLY_ACTIONS: Mapping[str, frozenset[str]] = {
    "s3": frozenset({
        "ListBucket", "ListBucketVersions", "ListBucketMultipartUploads", "ListMultipartUploadParts",
        "ListAllMyBuckets", "GetObjectVersion", "GetObjectVersionAcl", "GetObjectVersionTagging",
        "GetObjectVersionAttributes", "GetObjectAttributes", "DeleteObjectVersion", "DeleteObjectVersionTagging",
        "PutObjectVersionAcl", "PutObjectVersionTagging", "GetBucketObjectLockConfiguration",
        "PutBucketObjectLockConfiguration",
    }),
    "dynamodb": frozenset({"ConditionCheckItem", "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate",
                           "PartiQLDelete"}),
    "execute-api": frozenset({"Invoke", "ManageConnections", "InvalidateCache"}),
    "lambda": frozenset({"InvokeFunctionUrl"}),
}
"""Service Authorization Reference: actions that authorise an operation of another name, or
none (`s3:ListBucket` for ListObjectsV2, `execute-api:Invoke` for calling an API)."""
WILDCARD = re.compile(r"[*?]")
ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                 r"(?P<account>\d{12}|aws|)?:(?P<resource>.+)")
MAX_STATEMENTS_SIZE = 6000
"""Characters (whitespace not counted) the declared statements may take of the role's inline
policies, which IAM caps at 10,240 together: the rest is the component's own statements."""


@functools.cache
def aws_services() -> Mapping[str, Any]:
    """IAM prefix -> {"actions": [...], "endpoint": "<VPC endpoint service name>"}."""
    text = resources.files(__package__).joinpath("aws_services.json").read_text()
    return dict(json.loads(text)["services"])


def actions_of(service: str) -> frozenset[str]:
    entry = aws_services().get(service)
    return frozenset(entry["actions"] if entry else ()) | IAM_ONLY_ACTIONS.get(service, frozenset())


def endpoint_service(service: str) -> str:
    """The name of the service's VPC endpoint service (`com.amazonaws.<region>.<this>`)."""
    entry = aws_services().get(service)
    return str(entry["endpoint"]) if entry else service


def _closest(value: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _strings(value: Any) -> bool:
    return not isinstance(value, str) and isinstance(value, Sequence) and bool(value) \
        and all(isinstance(v, str) and v for v in value)


def _check_actions(where: str, service: str, actions: Sequence[str], wildcards: bool) -> list[Problem]:
    problems = []
    known = actions_of(service)
    for action in actions:
        prefix, _, name = action.partition(":")
        if not name:
            problems.append(Problem(ARGUMENT, f"{where}: action {action!r} is not <service>:<Action> "
                                              f"(e.g. {service}:{sorted(known)[0] if known else 'Action'})"))
        elif prefix != service:
            owner = f"an action of {prefix}" if prefix in aws_services() else f"not an action of {service}"
            problems.append(Problem(ARGUMENT, f"{where}: {action!r} is {owner}, not of {service}; list it in an "
                                              f"entry of its own service"))
        elif WILDCARD.search(name):
            if not wildcards:
                problems.append(Problem(ARGUMENT, f"{where}: {action!r} has a wildcard; name each action, or set "
                                                  "allow_wildcards: true in this entry"))
            elif not fnmatch.filter(known, name):
                problems.append(Problem(ARGUMENT, f"{where}: {action!r} matches no action of {service}"))
        elif name not in known:
            problems.append(Problem(ARGUMENT, f"{where}: {service} has no action {name!r}"
                                              f"{_closest(name, sorted(known))}"))
    return problems


def _check_resources(where: str, service: str, arns: Sequence[str], wildcards: bool) -> list[Problem]:
    problems = []
    for arn in arns:
        if arn == "*":
            if not wildcards:
                problems.append(Problem(ARGUMENT, f"{where}: resource '*' is every resource; name the ARNs, or set "
                                                  "allow_wildcards: true in this entry"))
            continue
        match = ARN.fullmatch(arn)
        if match is None:
            problems.append(Problem(ARGUMENT, f"{where}: {arn!r} is not an ARN (arn:<partition>:{service}:<region>:"
                                              "<account>:<resource>)"))
            continue
        if match["service"] != service:
            problems.append(Problem(ARGUMENT, f"{where}: {arn!r} is a resource of {match['service']}, not of "
                                              f"{service}"))
        if WILDCARD.search(arn) and not wildcards:
            problems.append(Problem(ARGUMENT, f"{where}: {arn!r} has a wildcard; name each resource, or set "
                                              "allow_wildcards: true in this entry"))
    return problems


def check_entry(index: int, entry: Any) -> tuple[FunctionPermissionSettings | None, list[Problem]]:
    """One entry: its shape, its service, actions and resources (the place is judged later)."""
    where = f"entry {index}"
    if not isinstance(entry, Mapping):
        return None, [Problem(ARGUMENT, f"{where}: got {entry!r}; expected {{service, actions, resources}}")]
    problems = [Problem(ARGUMENT, f"{where}: unknown field {key!r}{_closest(str(key), FIELDS)}")
                for key in entry if key not in FIELDS]
    missing = [key for key in REQUIRED_FIELDS if entry.get(key) is None]
    if missing:
        problems.append(Problem(ARGUMENT, f"{where}: missing {', '.join(missing)}"))
    service, actions, arns = entry.get("service"), entry.get("actions"), entry.get("resources")
    wildcards = entry.get("allow_wildcards", False)
    if not isinstance(wildcards, bool):
        problems.append(Problem(ARGUMENT, f"{where}: allow_wildcards got {wildcards!r}; expected true or false"))
        wildcards = False
    if service is not None and (not isinstance(service, str) or service not in aws_services()):
        problems.append(Problem(ARGUMENT, f"{where}: unknown AWS service {service!r} (its IAM prefix, such as s3 or "
                                          f"dynamodb){_closest(str(service), sorted(aws_services()))}"))
        service = None
    for key, value in (("actions", actions), ("resources", arns)):
        if value is not None and not _strings(value):
            problems.append(Problem(ARGUMENT, f"{where}: {key} got {value!r}; expected a list of strings"))
    if problems or service is None or actions is None or arns is None:
        return None, problems
    problems += _check_actions(where, service, actions, wildcards)
    problems += _check_resources(where, service, arns, wildcards)
    if problems:
        return None, problems
    return FunctionPermissionSettings(service, tuple(actions), tuple(arns), wildcards), []


def check_permissions(value: Any) -> tuple[tuple[FunctionPermissionSettings, ...], list[Problem]]:
    """Every entry checked; the entries as settings when all are good."""
    if value is None:
        return (), []
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        return (), [Problem(ARGUMENT, f"got {value!r}; expected a list of {{service, actions, resources}}")]
    found, problems = [], []
    for index, entry in enumerate(value, start=1):
        permission, entry_problems = check_entry(index, entry)
        problems += entry_problems
        if permission is not None:
            found.append(permission)
    size = sum(len(re.sub(r"\s", "", json.dumps({"Action": list(p.actions), "Resource": list(p.resources)})))
               + 60 for p in found)
    if size > MAX_STATEMENTS_SIZE:
        problems.append(Problem(ARGUMENT, f"the statements take {size} characters of the role's inline policies; "
                                          f"allowed: {MAX_STATEMENTS_SIZE} (IAM caps a role's inline policies at "
                                          "10,240 together); group resources under fewer entries"))
    return (tuple(found) if not problems else ()), problems


def place_problems(permissions: Sequence[FunctionPermissionSettings], partition: str,
                   region: str) -> list[Problem]:
    """Resources in another partition, or in another region (an endpoint serves its own region)."""
    problems = []
    for index, permission in enumerate(permissions, start=1):
        for arn in permission.resources:
            match = ARN.fullmatch(arn)
            if match is None:
                continue
            if match["partition"] != partition:
                problems.append(Problem(ARGUMENT, f"entry {index}: {arn} is in partition {match['partition']}, the "
                                                  f"program deploys to {partition}"))
            elif match["region"] and match["region"] != region and not WILDCARD.search(match["region"]):
                problems.append(Problem(ARGUMENT, f"entry {index}: {arn} is in {match['region']}; the function "
                                                  f"reaches {permission.service} in {region} only, through its "
                                                  "endpoint (no NAT)"))
    return problems
