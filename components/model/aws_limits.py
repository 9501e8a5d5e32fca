"""What AWS accepts, for every property the component and the program set.

Pulumi's mocks accept any value and the provider checks little before it calls AWS, so a value
AWS refuses (an apostrophe in a security-group description, say) passes every preview and
fails the first `pulumi up`. This module is the one table of AWS's constraints (`LIMITS`), each
entry citing its source, and the pure functions that judge a value against it:

* values a user passes (names, tags, retention, ...) are checked at construction by
  `validation`, with the argument named in the message;
* values the code builds are checked by a test that walks every resource the component and
  the program register (`problems_in_resource`), so a future description with a quote fails
  a test, not a deployment.

Where the limits come from. The table is written by hand, citing "<service> API: <operation or
shape>" (the API reference) or "<service> quotas" (the service's quotas page). Each property also
names the API input member it becomes (`API_MEMBERS`), and the tests judge every value the code
builds by what AWS's own API model (botocore's service models: lengths, counts, ranges, patterns,
enums) states for that member as well, and hold the table to the model: never looser, stricter only
where `STRICTER_THAN_MODEL` says why (Lambda's memory and timeout quotas, KMS's 7-to-30-day window,
the tagging rules, the policy quotas, ...). Where the model states nothing (`DOCUMENTATION_ONLY`:
every EC2 member set here but three enums, so the security-group description set; every RDS one,
identifiers included; SNS topic names, topic policies and protocols; SQS; log retention; dashboards)
AWS's documentation is the only source. botocore is not a dependency of the distribution: nothing
here imports it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .problems import Problem, about

# ---------------------------------------------------------------------------- kinds of limit


@dataclass(frozen=True)
class Text:
    """A string: length, a full-match pattern, prefixes and words AWS refuses. Patterns are read
    as AWS reads its own (Java's): `\\w`, `\\d` and `\\s` are ASCII only."""

    source: str
    max_len: int
    min_len: int = 1
    pattern: str | None = None
    allowed: str = ""
    """The pattern in words, for messages."""
    refused_prefixes: tuple[str, ...] = ()
    refused_values: tuple[str, ...] = ()
    no_double_hyphen: bool = False
    no_trailing_hyphen: bool = False

    def problems(self, value: Any) -> list[str]:
        if not isinstance(value, str):
            return [f"got {value!r}; expected a string"]
        found = []
        if not self.min_len <= len(value) <= self.max_len:
            found.append(f"{value!r} is {len(value)} characters; allowed: {self.min_len} to {self.max_len}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value, re.ASCII):
            found.append(f"{value!r} is not allowed{self._refused_characters(value)}; allowed: {self.allowed}")
        for prefix in self.refused_prefixes:
            if value.lower().startswith(prefix.lower()):
                found.append(f"{value!r} starts with {prefix!r}, which AWS reserves")
        if value.lower() in {v.lower() for v in self.refused_values}:
            found.append(f"{value!r} is reserved by AWS")
        if self.no_double_hyphen and "--" in value:
            found.append(f"{value!r} contains two consecutive hyphens, which AWS refuses")
        if self.no_trailing_hyphen and value.endswith("-"):
            found.append(f"{value!r} ends with a hyphen, which AWS refuses")
        return found

    def _refused_characters(self, value: str) -> str:
        """Which characters are refused, when the pattern is a character set (or ends in one)."""
        char_set = r"\[(?:\\.|[^\]])+\]"
        match = re.fullmatch(rf"(?:{char_set})?({char_set})[*+](\([^)]*\)\?)?", self.pattern or "")
        if match is None:
            return ""
        refused = sorted({c for c in value if not re.fullmatch(match.group(1), c, re.ASCII)})
        return f" (refused: {' '.join(map(repr, refused))})" if refused else ""


@dataclass(frozen=True)
class Number:
    source: str
    low: int
    high: int

    def problems(self, value: Any) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            return [f"got {value!r}; expected a whole number from {self.low} to {self.high}"]
        if not self.low <= value <= self.high:
            return [f"got {int(value)}; allowed: {self.low} to {self.high}"]
        return []


@dataclass(frozen=True)
class Choice:
    source: str
    choices: tuple[Any, ...]

    def problems(self, value: Any) -> list[str]:
        if isinstance(value, bool) or value not in self.choices:
            return [f"got {value!r}; allowed: {', '.join(map(str, self.choices))}"]
        return []


POLICY_ELEMENTS = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                                "NotResource", "Condition"})
POLICY_VERSION = "2012-10-17"
"""The policy language version every document states: without it, policy variables are plain text."""
ACTION = re.compile(r"\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+")
GRAMMARS = ("identity", "trust", "resource")


def _either(statement: Mapping[str, Any], element: str) -> list[str]:
    """The element and its `Not` form: a statement has exactly one of them."""
    return [name for name in (element, f"Not{element}") if name in statement]


def statement_problems(statement: Any, grammar: str) -> list[str]:
    """IAM's JSON policy grammar for one statement, as the policy's kind has it: an identity policy
    names no principal, a trust policy names no resource, a resource policy names both."""
    if not isinstance(statement, Mapping):
        return [f"got {type(statement).__name__}; expected an object"]
    found = [f"unknown element {key!r}" for key in statement if key not in STATEMENT_ELEMENTS]
    if statement.get("Effect") not in ("Allow", "Deny"):
        found.append(f"Effect {statement.get('Effect')!r}; allowed: 'Allow' or 'Deny'")
    actions = _either(statement, "Action")
    if len(actions) != 1:
        found.append("needs exactly one of Action and NotAction")
    else:
        listed = statement[actions[0]]
        listed = [listed] if isinstance(listed, str) else listed
        if not isinstance(listed, list) or not listed or not all(isinstance(a, str) and ACTION.fullmatch(a)
                                                                 for a in listed):
            found.append(f"{actions[0]} {statement[actions[0]]!r}; expected '*' or service:action names")
    principals, resources = _either(statement, "Principal"), _either(statement, "Resource")
    if grammar == "identity" and principals:
        found.append("an identity policy names no Principal")
    if grammar in ("trust", "resource") and len(principals) != 1:
        found.append("needs exactly one of Principal and NotPrincipal")
    if grammar == "trust" and resources:
        found.append("a trust policy names no Resource")
    if grammar in ("identity", "resource") and len(resources) != 1:
        found.append("needs exactly one of Resource and NotResource")
    condition = statement.get("Condition", {})
    if not isinstance(condition, Mapping) or not all(isinstance(v, Mapping) and v for v in condition.values()):
        found.append("Condition must map each operator to its keys and values")
    if not isinstance(statement.get("Sid", ""), str):
        found.append(f"Sid {statement.get('Sid')!r}; expected text")
    elif grammar in ("identity", "trust") and not re.fullmatch(r"[A-Za-z0-9]*", statement.get("Sid", "")):
        found.append(f"Sid {statement.get('Sid')!r}; IAM allows letters and digits only")
    return found


@dataclass(frozen=True)
class PolicyDocument:
    """An IAM-style JSON policy: valid JSON in the policy grammar of its kind (`grammar`: identity,
    trust or resource), under a size limit (in characters or bytes)."""

    source: str
    max_size: int
    unit: str = "characters"
    count_whitespace: bool = True
    """IAM does not count whitespace towards its policy-size quotas; the others do."""
    max_statements: int | None = None
    text: Text | None = None
    """What the API member takes as text, whitespace included (IAM's and KMS's character set)."""
    grammar: str = "resource"

    def __post_init__(self) -> None:
        if self.grammar not in GRAMMARS:
            raise ValueError(f"grammar {self.grammar!r}: expected one of {', '.join(GRAMMARS)}")

    def problems(self, value: Any) -> list[str]:
        if not isinstance(value, str):
            return [f"got {type(value).__name__}; expected a JSON policy document"]
        found = [] if self.text is None else [f"as text: {p}" for p in self.text.problems(value)]
        try:
            document = json.loads(value)
        except json.JSONDecodeError as error:
            return [*found, f"is not JSON ({error})"]
        counted = value if self.count_whitespace else re.sub(r"\s", "", value)
        size = len(counted.encode()) if self.unit == "bytes" else len(counted)
        if size > self.max_size:
            found.append(f"is {size} {self.unit}; allowed: at most {self.max_size}")
        if not isinstance(document, dict):
            return [*found, f"got {type(document).__name__}; expected a JSON object"]
        found += [f"unknown element {key!r}" for key in document if key not in POLICY_ELEMENTS]
        if document.get("Version") != POLICY_VERSION:
            found.append(f"Version {document.get('Version')!r}; expected {POLICY_VERSION!r}")
        statements = document.get("Statement")
        if not isinstance(statements, list) or not statements:
            found.append("has no Statement list")
            return found
        if self.max_statements is not None and len(statements) > self.max_statements:
            found.append(f"has {len(statements)} statements; allowed: at most {self.max_statements}")
        for number, statement in enumerate(statements, 1):
            found += [f"statement {number}: {p}" for p in statement_problems(statement, self.grammar)]
        sids = [s["Sid"] for s in statements if isinstance(s, Mapping) and isinstance(s.get("Sid"), str) and s["Sid"]]
        if len(sids) != len(set(sids)):
            found.append(f"Sids {sids} repeat; each statement's Sid is unique in its policy")
        return found


WIDGET_ELEMENTS = frozenset({"type", "x", "y", "width", "height", "properties"})
WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer")
METRIC_WIDGET_PROPERTIES = frozenset({
    "accountId", "annotations", "end", "labels", "legend", "liveData", "metrics", "period", "region",
    "setPeriodToTimeRange", "sparkline", "stacked", "start", "stat", "table", "timezone", "title", "view", "yAxis"})
METRIC_OPTIONS = frozenset({"accountId", "color", "id", "label", "period", "region", "stat", "visible", "yAxis"})
ANNOTATION_ELEMENTS = frozenset({"color", "fill", "label", "value", "visible", "yAxis"})
VIEWS = ("timeSeries", "singleValue", "gauge", "bar", "pie", "table")
STATISTIC = re.compile(r"SampleCount|Average|Sum|Minimum|Maximum|IQM|(p|tm|wm|tc|ts|pr)\d{1,2}(\.\d+)?")


def _period_problems(where: str, period: Any) -> list[str]:
    if isinstance(period, bool) or not isinstance(period, int) or not (period in (1, 5, 10, 30) or (
            period > 0 and period % 60 == 0)):
        return [f"{where}period {period!r}; allowed: 1, 5, 10, 30 or a multiple of 60 seconds"]
    return []


def metric_widget_problems(where: str, properties: Any) -> list[str]:
    """A metric widget's properties, as the dashboard body reference has them."""
    if not isinstance(properties, Mapping):
        return [f"{where}properties: expected an object"]
    found = [f"{where}unknown property {key!r}" for key in properties if key not in METRIC_WIDGET_PROPERTIES]
    if not isinstance(properties.get("region"), str):
        found.append(f"{where}region {properties.get('region')!r}: a metric widget names its region")
    if "period" in properties:
        found += _period_problems(where, properties["period"])
    if "stat" in properties and not STATISTIC.fullmatch(str(properties["stat"])):
        found.append(f"{where}stat {properties['stat']!r} is not a CloudWatch statistic")
    if properties.get("view", "timeSeries") not in VIEWS:
        found.append(f"{where}view {properties.get('view')!r}; allowed: {', '.join(VIEWS)}")
    metrics = properties.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        found.append(f"{where}metrics: expected a list of metrics")
        metrics = []
    for number, metric in enumerate(metrics, 1):
        label = f"{where}metric {number}: "
        options = metric[-1] if isinstance(metric, list) and metric and isinstance(metric[-1], Mapping) else {}
        names = metric[:-1] if options else metric
        if not isinstance(names, list) or len(names) < 2 or len(names) % 2 or not all(
                isinstance(n, str) and n for n in names):
            found.append(f"{label}expected [namespace, metric name, dimension name, value, ...]")
        found += [f"{label}unknown option {key!r}" for key in options if key not in METRIC_OPTIONS]
        if "stat" in options and not STATISTIC.fullmatch(str(options["stat"])):
            found.append(f"{label}stat {options['stat']!r} is not a CloudWatch statistic")
        if "period" in options:
            found += _period_problems(label, options["period"])
    annotations = properties.get("annotations", {})
    if not isinstance(annotations, Mapping) or not set(annotations) <= {"horizontal", "vertical"}:
        found.append(f"{where}annotations: expected horizontal and vertical lists")
        annotations = {}
    for line in annotations.get("horizontal", []):
        if not isinstance(line, Mapping) or not isinstance(line.get("value"), int | float) or isinstance(
                line.get("value"), bool):
            found.append(f"{where}a horizontal annotation needs a number as its value: {line!r}")
        else:
            found += [f"{where}annotation: unknown element {key!r}" for key in line if key not in ANNOTATION_ELEMENTS]
    return found


@dataclass(frozen=True)
class DashboardBody:
    """A CloudWatch dashboard body: JSON in the dashboard body structure (widgets on a grid 24 units
    wide, metric widgets' properties), under PutDashboard's size limit."""

    source: str
    max_size: int = 1024 * 1024

    def problems(self, value: Any) -> list[str]:
        if not isinstance(value, str):
            return [f"got {type(value).__name__}; expected a JSON dashboard body"]
        if len(value.encode()) > self.max_size:
            return [f"is {len(value.encode())} bytes; allowed: at most {self.max_size}"]
        try:
            body = json.loads(value)
        except json.JSONDecodeError as error:
            return [f"is not JSON ({error})"]
        widgets = body.get("widgets") if isinstance(body, dict) else None
        if not isinstance(widgets, list):
            return ["has no widgets list"]
        found = [f"unknown element {key!r}" for key in body if key not in ("widgets", "start", "end",
                                                                          "periodOverride")]
        for number, widget in enumerate(widgets, 1):
            where = f"widget {number}: "
            if not isinstance(widget, Mapping):
                found.append(f"{where}expected an object")
                continue
            found += [f"{where}unknown element {key!r}" for key in widget if key not in WIDGET_ELEMENTS]
            if widget.get("type") not in WIDGET_TYPES:
                found.append(f"{where}type {widget.get('type')!r}; allowed: {', '.join(WIDGET_TYPES)}")
            x, y = widget.get("x", 0), widget.get("y", 0)
            width, height = widget.get("width", 6), widget.get("height", 6)
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in (x, y, width, height)):
                found.append(f"{where}x, y, width and height are whole numbers")
            elif not (0 <= x <= 23 and y >= 0 and 1 <= width <= 24 and 1 <= height <= 1000 and x + width <= 24):
                found.append(f"{where}at x {x}, y {y}, {width} by {height}: outside the grid (24 units wide; "
                             "height 1 to 1000)")
            if widget.get("type") == "metric":
                found += metric_widget_problems(where, widget.get("properties"))
        return found


@dataclass(frozen=True)
class Items:
    """A list (or mapping) of `min_items` to `max_items`, each item within `item` (a mapping's keys
    and values within `key` and `value`) when given."""

    source: str
    max_items: int
    item: Text | Choice | None = None
    min_items: int = 0
    key: Text | None = None
    value: Text | None = None

    def problems(self, value: Any) -> list[str]:
        if isinstance(value, str) or not isinstance(value, Sequence | Mapping):
            return [f"got {value!r}; expected a list"]
        found = []
        if not self.min_items <= len(value) <= self.max_items:
            found.append(f"{len(value)} items; allowed: {self.min_items} to {self.max_items}")
        if self.item is not None and isinstance(value, Sequence):
            found += [p for item in value for p in self.item.problems(item)]
        if isinstance(value, Mapping):
            for key, text in value.items():
                found += [f"key {p}" for p in self.key.problems(key)] if self.key else []
                found += [f"value of {key!r}: {p}" for p in self.value.problems(text)] if self.value else []
        return found


TAG_CHARACTERS = "_.:/=+-@"


def _tag_text_ok(text: str) -> bool:
    # Letters, numbers and spaces representable in UTF-8, plus _ . : / = + - @ (the set every
    # tagging service accepts; IAM's pattern is [\p{L}\p{Z}\p{N}_.:/=+\-@]*).
    return all(c.isalnum() or unicodedata.category(c) == "Zs" or c in TAG_CHARACTERS for c in text)


@dataclass(frozen=True)
class Tags:
    """A resource's tags, judged by the rules every service the component uses shares."""

    source: str
    max_tags: int = 50
    max_key: int = 128
    max_value: int = 256
    reserved_prefixes: tuple[str, ...] = ("aws:",)
    min_tags: int = 0
    """CloudWatch Logs refuses an empty tag map (the provider sends none rather than an empty one)."""

    def problems(self, value: Any) -> list[str]:
        if not isinstance(value, Mapping):
            return [f"got {value!r}; expected a mapping of strings to strings"]
        found = []
        if len(value) > self.max_tags:
            found.append(f"{len(value)} tags; allowed: at most {self.max_tags} per resource")
        if len(value) < self.min_tags:
            found.append(f"{len(value)} tags; allowed: at least {self.min_tags}")
        for key, text in value.items():
            if not isinstance(key, str) or not isinstance(text, str):
                found.append(f"{key!r}: {text!r}; keys and values must be strings")
                continue
            if not 1 <= len(key) <= self.max_key:
                found.append(f"key {key!r} is {len(key)} characters; allowed: 1 to {self.max_key}")
            if len(text) > self.max_value:
                found.append(f"value of {key!r} is {len(text)} characters; allowed: at most {self.max_value}")
            for part, what in ((key, "key"), (text, "value")):
                if not _tag_text_ok(part):
                    found.append(f"{what} {part!r} has characters AWS refuses in tags; allowed: letters, "
                                 f"digits, spaces and {' '.join(TAG_CHARACTERS)}")
            for prefix in self.reserved_prefixes:
                if key.lower().startswith(prefix):
                    found.append(f"key {key!r} starts with {prefix!r}, which AWS reserves")
        return found


LAMBDA_RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
"""Lambda: "Defined runtime environment variables" (reserved keys a function cannot set)."""


@dataclass(frozen=True)
class Environment:
    """A function's environment variables: names, reserved names, total size."""

    source: str
    max_bytes: int = 4096

    def problems(self, value: Any) -> list[str]:
        if not isinstance(value, Mapping):
            return [f"got {value!r}; expected a mapping of names to strings"]
        found = []
        for key, text in value.items():
            if not isinstance(key, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]+", key):
                found.append(f"name {key!r} is not allowed; allowed: a letter, then letters, digits or underscores")
            elif key in LAMBDA_RESERVED_ENVIRONMENT:
                found.append(f"name {key!r} is reserved by Lambda")
            if not isinstance(text, str):
                found.append(f"value of {key!r} is {text!r}; expected a string")
        size = environment_size(value)
        if size > self.max_bytes:
            found.append(f"is {size} bytes in all; Lambda allows at most {self.max_bytes}")
        return found


def environment_size(variables: Mapping[str, Any]) -> int:
    """Lambda's count: the bytes of every name and value (its 4 KB quota)."""
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in variables.items())


Limit = Text | Number | Choice | Items | PolicyDocument | DashboardBody | Tags | Environment


# ------------------------------------------------------------------------------ the table

EC2_DESCRIPTION_PATTERN = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*"
EC2_DESCRIPTION_ALLOWED = "a-z A-Z 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (no apostrophe, no non-ASCII)"

EC2_TAGS = Tags("EC2 User Guide: tag restrictions (50 tags, key 128, value 256, aws: reserved)")
RDS_TAGS = Tags("RDS API: Tag (50 tags, key 128, value 256; aws: and rds: reserved)",
                reserved_prefixes=("aws:", "rds:"))
IAM_TAGS = Tags("IAM API: Tag, tagKeyType/tagValueType (50 tags, key 128, value 256, [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@])")
LAMBDA_TAGS = Tags("Lambda quotas: 50 tags per function; Lambda API: TagResource")
GENERIC_TAGS = Tags("Tagging AWS resources: tag naming limits and requirements")



def rds_identifier(source: str, max_len: int, lowercase: bool = False) -> Text:
    """RDS's identifier rule: a letter, then letters, digits or hyphens; no `--`, no trailing `-`.
    `lowercase`: upper case refused too (RDS stores instance identifiers in lower case, and the
    provider refuses anything but `^[0-9a-z-]+$` for them)."""
    if lowercase:
        return Text(source, max_len, 1, r"[a-z][a-z0-9-]*",
                    "a lowercase letter, then lowercase letters, digits or hyphens",
                    no_double_hyphen=True, no_trailing_hyphen=True)
    return Text(source, max_len, 1, r"[A-Za-z][A-Za-z0-9-]*", "a letter, then letters, digits or hyphens",
                no_double_hyphen=True, no_trailing_hyphen=True)


PROXY_NAME = Text("RDS API: CreateDBProxy DBProxyName (1 to 63 characters: a letter, then letters, digits and "
                  "single hyphens, not ending in one)", 63, 1, r"[a-zA-Z](?:-?[a-zA-Z0-9]+)*",
                  "a letter, then letters, digits and single hyphens, not ending in a hyphen")
POLICY_TEXT_ALLOWED = "tab, line feed, carriage return and U+0020 to U+00FF"
IAM_POLICY_TEXT = Text("IAM API: policyDocumentType (1 to 131,072 characters)", 131072, 1,
                       r"[\u0009\u000A\u000D\u0020-\u00FF]+", POLICY_TEXT_ALLOWED)
KMS_POLICY_TEXT = Text("KMS API: CreateKey Policy (PolicyType, 1 to 131,072 characters)", 131072, 1,
                       r"[\u0009\u000A\u000D\u0020-\u00FF]+", POLICY_TEXT_ALLOWED)
CLOUDWATCH_RESOURCE = Text("CloudWatch API: ResourceName (an action's ARN, 1 to 1,024 characters)", 1024)

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
RDS_MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
LAMBDA_RUNTIMES = ("python3.11", "python3.12", "python3.13")
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")

LIMITS: Mapping[str, Mapping[str, Limit]] = {
    "aws:ec2/securityGroup:SecurityGroup": {
        "description": Text("EC2 API: CreateSecurityGroup GroupDescription", 255, 0,
                            EC2_DESCRIPTION_PATTERN, EC2_DESCRIPTION_ALLOWED),
        "name": Text("EC2 API: CreateSecurityGroup GroupName", 255, 1, EC2_DESCRIPTION_PATTERN,
                     EC2_DESCRIPTION_ALLOWED, refused_prefixes=("sg-",)),
        "tags": EC2_TAGS,
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        # AWS documents this set for IpRange and rule descriptions; the stricter reading is kept.
        "description": Text("EC2 API: SecurityGroupRuleRequest/IpRange Description", 255, 0,
                            EC2_DESCRIPTION_PATTERN, EC2_DESCRIPTION_ALLOWED),
        "fromPort": Number("EC2 API: IpPermission FromPort (TCP)", 0, 65535),
        "toPort": Number("EC2 API: IpPermission ToPort (TCP)", 0, 65535),
        "ipProtocol": Choice("EC2 API: IpPermission IpProtocol (the component uses TCP only)", ("tcp",)),
        "tags": EC2_TAGS,
    },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
        "description": Text("EC2 API: SecurityGroupRuleRequest/IpRange Description", 255, 0,
                            EC2_DESCRIPTION_PATTERN, EC2_DESCRIPTION_ALLOWED),
        "prefixListId": Text("EC2 API: SecurityGroupRuleRequest PrefixListId", 32, 4, r"pl-[0-9a-f]+",
                             "pl- then hex digits (a gateway endpoint's prefix list)"),
        "fromPort": Number("EC2 API: IpPermission FromPort (TCP)", 0, 65535),
        "toPort": Number("EC2 API: IpPermission ToPort (TCP)", 0, 65535),
        "ipProtocol": Choice("EC2 API: IpPermission IpProtocol (the component uses TCP only)", ("tcp",)),
        "tags": EC2_TAGS,
    },
    "aws:ec2/vpcEndpoint:VpcEndpoint": {
        "policy": PolicyDocument("VPC PrivateLink guide: endpoint policies are at most 20,480 characters, "
                                 "whitespace included", 20480),
        "vpcEndpointType": Choice("EC2 API: CreateVpcEndpoint VpcEndpointType", ("Interface", "Gateway")),
        "routeTableIds": Items("EC2 API: CreateVpcEndpoint RouteTableIds (gateway endpoints)", 255,
                               Text("EC2 API: route table ID", 32, 5, r"rtb-[0-9a-f]+", "rtb- then hex digits")),
        "serviceName": Text("EC2 API: CreateVpcEndpoint ServiceName", 255, 1,
                            r"(cn\.)?com\.amazonaws\.[a-z0-9-]+\.[a-z0-9.-]+",
                            "com.amazonaws.<region>.<service> or cn.com.amazonaws.<region>.<service>"),
        "tags": EC2_TAGS,
    },
    "aws:ec2/vpc:Vpc": {
        "cidrBlock": Text("VPC User Guide: IPv4 VPC CIDR blocks, /16 to /28", 18, 9,
                          r"\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-8])", "an IPv4 CIDR block from /16 to /28"),
        "tags": EC2_TAGS,
    },
    "aws:ec2/subnet:Subnet": {
        "cidrBlock": Text("VPC User Guide: subnet CIDR blocks, /16 to /28", 18, 9,
                          r"\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-8])", "an IPv4 CIDR block from /16 to /28"),
        "tags": EC2_TAGS,
    },
    "aws:ec2/routeTable:RouteTable": {"tags": EC2_TAGS},
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {},
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {"tags": EC2_TAGS},
    "aws:ec2/flowLog:FlowLog": {
        "trafficType": Choice("EC2 API: CreateFlowLogs TrafficType", ("ACCEPT", "REJECT", "ALL")),
        "logDestinationType": Choice("EC2 API: CreateFlowLogs LogDestinationType",
                                     ("cloud-watch-logs", "s3", "kinesis-data-firehose")),
        "tags": EC2_TAGS,
    },
    "aws:rds/instance:Instance": {
        "identifier": rds_identifier("RDS API: CreateDBInstance DBInstanceIdentifier (stored in lower case); "
                                     "pulumi-aws: identifier ^[0-9a-z-]+$", 63, lowercase=True),
        "dbName": Text("RDS API: CreateDBInstance DBName (MySQL)", 64, 1, r"[A-Za-z][A-Za-z0-9_]*",
                       "a letter, then letters, digits or underscores"),
        "username": Text("RDS API: CreateDBInstance MasterUsername (MySQL)", 16, 1, r"[A-Za-z][A-Za-z0-9_]*",
                         "a letter, then letters, digits or underscores",
                         refused_values=("root", "rdsadmin", "admin", "mysql.sys", "mysql.session",
                                         "mysql.infoschema")),
        "engine": Choice("RDS API: CreateDBInstance Engine (the component deploys MySQL)", ("mysql",)),
        "engineVersion": Text("RDS API: CreateDBInstance EngineVersion", 32, 1, r"\d+\.\d+(\.\d+)?",
                              "major.minor[.patch], e.g. 8.4 or 8.0.39"),
        "instanceClass": Text("RDS API: CreateDBInstance DBInstanceClass", 64, 1, r"db\.[a-z0-9-]+\.[a-z0-9]+",
                              "an RDS instance class such as db.t4g.micro"),
        "allocatedStorage": Number("RDS API: CreateDBInstance AllocatedStorage (MySQL, gp3)", 20, 65536),
        "storageType": Choice("RDS API: CreateDBInstance StorageType", ("gp2", "gp3", "io1", "io2", "standard")),
        "port": Number("RDS API: CreateDBInstance Port (MySQL: 1150-65535)", 1150, 65535),
        "backupRetentionPeriod": Number("RDS API: CreateDBInstance BackupRetentionPeriod", 0, 35),
        "monitoringInterval": Choice("RDS API: CreateDBInstance MonitoringInterval", RDS_MONITORING_INTERVALS),
        "enabledCloudwatchLogsExports": Items("RDS User Guide: publishing MySQL logs to CloudWatch Logs", 5, Choice(
            "RDS: MySQL log types", ("audit", "error", "general", "slowquery", "iam-db-auth-error"))),
        "finalSnapshotIdentifier": rds_identifier("RDS API: DeleteDBInstance FinalDBSnapshotIdentifier", 255),
        "tags": RDS_TAGS,
    },
    "aws:rds/proxy:Proxy": {
        "name": PROXY_NAME,
        "engineFamily": Choice("RDS API: CreateDBProxy EngineFamily (the component proxies MySQL)", ("MYSQL",)),
        "defaultAuthScheme": Choice("RDS API: CreateDBProxy DefaultAuthScheme", ("IAM_AUTH", "NONE")),
        "idleClientTimeout": Number("RDS API: CreateDBProxy IdleClientTimeout (1 second to 8 hours)", 1, 28800),
        "tags": RDS_TAGS,
    },
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": {
        "dbProxyName": PROXY_NAME,
        "connectionPoolConfig.maxConnectionsPercent": Number(
            "RDS API: ConnectionPoolConfiguration MaxConnectionsPercent (1 to 100)", 1, 100),
        "connectionPoolConfig.maxIdleConnectionsPercent": Number(
            "RDS API: ConnectionPoolConfiguration MaxIdleConnectionsPercent (0 to MaxConnectionsPercent)", 0, 100),
        "connectionPoolConfig.connectionBorrowTimeout": Number(
            "RDS API: ConnectionPoolConfiguration ConnectionBorrowTimeout (0 to 3,600 seconds)", 0, 3600),
    },
    "aws:rds/proxyTarget:ProxyTarget": {
        "dbProxyName": PROXY_NAME,
        "targetGroupName": Choice("RDS API: RegisterDBProxyTargets TargetGroupName (a proxy's one target group)",
                                  ("default",)),
    },
    "aws:rds/subnetGroup:SubnetGroup": {
        "name": Text("RDS API: CreateDBSubnetGroup DBSubnetGroupName", 255, 1, r"[a-z0-9._ -]+",
                     "lowercase letters, digits, periods, underscores, spaces or hyphens", refused_values=("default",)),
        "description": Text("RDS API: CreateDBSubnetGroup DBSubnetGroupDescription (kept to EC2's safe set)",
                            255, 1, EC2_DESCRIPTION_PATTERN, EC2_DESCRIPTION_ALLOWED),
        "tags": RDS_TAGS,
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        "name": Text("RDS API: CreateDBParameterGroup DBParameterGroupName", 255, 1, r"[a-z][a-z0-9-]*",
                     "a lowercase letter, then lowercase letters, digits or hyphens",
                     no_double_hyphen=True, no_trailing_hyphen=True),
        "family": Text("RDS API: CreateDBParameterGroup DBParameterGroupFamily (MySQL)", 32, 1,
                       r"mysql\d+\.\d+", "mysql<major>.<minor>"),
        "description": Text("RDS API: CreateDBParameterGroup Description (kept to EC2's safe set)", 255, 1,
                            EC2_DESCRIPTION_PATTERN, EC2_DESCRIPTION_ALLOWED),
        "tags": RDS_TAGS,
    },
    "aws:sns/topic:Topic": {
        "name": Text("SNS API: CreateTopic Name", 256, 1, r"[A-Za-z0-9_-]+(\.fifo)?",
                     "letters, digits, hyphens or underscores (and .fifo for FIFO topics)"),
        "tags": Tags("SNS API: TagResource (50 tags, key 128, value 256)"),
    },
    "aws:sns/topicPolicy:TopicPolicy": {
        "policy": PolicyDocument("SNS developer guide: policy quotas (30 KB, 100 statements)", 30 * 1024, "bytes",
                                 max_statements=100),
    },
    "aws:sqs/queue:Queue": {
        "name": Text("SQS API: CreateQueue QueueName", 80, 1, r"[A-Za-z0-9_-]+(\.fifo)?",
                     "letters, digits, hyphens or underscores"),
        "messageRetentionSeconds": Number("SQS API: SetQueueAttributes MessageRetentionPeriod", 60, 1209600),
        "visibilityTimeoutSeconds": Number("SQS API: SetQueueAttributes VisibilityTimeout", 0, 43200),
        "redrivePolicy": Text("SQS API: SetQueueAttributes RedrivePolicy (JSON)", 4096, 2,
                              r"\{\"deadLetterTargetArn\": \"arn:aws[a-z-]*:sqs:[^\"]+\", \"maxReceiveCount\": "
                              r"([1-9]\d{0,2}|1000)\}", "{deadLetterTargetArn, maxReceiveCount 1 to 1000}"),
        "tags": Tags("SQS developer guide: queue tags (50 tags, key 128, value 256)"),
    },
    "aws:sqs/queuePolicy:QueuePolicy": {
        "policy": PolicyDocument("SQS developer guide: policy quotas (8,192 bytes, 20 statements)", 8192, "bytes",
                                 max_statements=20),
    },
    "aws:cloudwatch/eventRule:EventRule": {
        "name": Text("EventBridge API: PutRule Name", 64, 1, r"[\.\-_A-Za-z0-9]+",
                     "letters, digits and .-_"),
        "description": Text("EventBridge API: PutRule Description", 512, 0),
        "scheduleExpression": Text("EventBridge API: PutRule ScheduleExpression", 256, 1,
                                   r"(rate|cron)\(.+\)", "rate(...) or cron(...)"),
        "state": Choice("EventBridge API: PutRule State", ("ENABLED", "DISABLED")),
        "tags": Tags("EventBridge API: TagResource (50 tags, key 128, value 256)"),
    },
    "aws:cloudwatch/eventTarget:EventTarget": {
        "targetId": Text("EventBridge API: Target Id", 64, 1, r"[\.\-_A-Za-z0-9]+", "letters, digits and .-_"),
        "retryPolicy.maximumRetryAttempts": Number("EventBridge API: RetryPolicy MaximumRetryAttempts", 0, 185),
        "retryPolicy.maximumEventAgeInSeconds": Number("EventBridge API: RetryPolicy MaximumEventAgeInSeconds", 60,
                                                       86400),
    },
    "aws:lambda/permission:Permission": {
        "statementId": Text("Lambda API: AddPermission StatementId", 100, 1, r"[a-zA-Z0-9-_]+",
                            "letters, digits, hyphens or underscores"),
        "action": Choice("Lambda API: AddPermission Action (the component grants invocation only)",
                         ("lambda:InvokeFunction",)),
        "principal": Choice("Lambda API: AddPermission Principal (the service the component lets invoke)",
                            ("events.amazonaws.com",)),
        "sourceArn": Text("Lambda API: AddPermission SourceArn", 1024, 12,
                          r"arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:rule/[\.\-_A-Za-z0-9]+", "an EventBridge rule ARN"),
    },
    "aws:lambda/eventSourceMapping:EventSourceMapping": {
        "batchSize": Number("Lambda API: CreateEventSourceMapping BatchSize (SQS: 1 to 10,000)", 1, 10000),
        "maximumBatchingWindowInSeconds": Number("Lambda API: CreateEventSourceMapping "
                                                 "MaximumBatchingWindowInSeconds", 0, 300),
        "functionResponseTypes": Items("Lambda API: CreateEventSourceMapping FunctionResponseTypes", 1,
                                       Choice("Lambda API: FunctionResponseType", ("ReportBatchItemFailures",))),
        "scalingConfig.maximumConcurrency": Number("Lambda API: ScalingConfig MaximumConcurrency (SQS)", 2, 1000),
        "eventSourceArn": Text("Lambda API: CreateEventSourceMapping EventSourceArn (an SQS queue)", 1024, 12,
                               r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?",
                               "an SQS queue ARN"),
        "tags": LAMBDA_TAGS,
    },
    "aws:iam/role:Role": {
        "name": Text("IAM API: CreateRole RoleName (roleNameType)", 64, 1, r"[\w+=,.@-]+",
                     "letters, digits and +=,.@_-"),
        "description": Text("IAM API: CreateRole Description (roleDescriptionType)", 1000, 0,
                            r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*", "printable Latin-1 characters"),
        "assumeRolePolicy": PolicyDocument("IAM quotas: role trust policy length 2,048 characters "
                                           "(whitespace not counted)", 2048, count_whitespace=False,
                                           text=IAM_POLICY_TEXT, grammar="trust"),
        "tags": IAM_TAGS,
    },
    "aws:iam/rolePolicy:RolePolicy": {
        "name": Text("IAM API: PutRolePolicy PolicyName (policyNameType)", 128, 1, r"[\w+=,.@-]+",
                     "letters, digits and +=,.@_-"),
        "policy": PolicyDocument("IAM quotas: a role's inline policies together at most 10,240 characters "
                                 "(whitespace not counted)", 10240, count_whitespace=False, text=IAM_POLICY_TEXT,
                                 grammar="identity"),
    },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        "policyArn": Text("IAM API: AttachRolePolicy PolicyArn", 2048, 20,
                          r"arn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy/[\w+=,.@/-]+",
                          "arn:<partition>:iam::aws:policy/<name>"),
    },
    "aws:cloudwatch/logGroup:LogGroup": {
        "name": Text("CloudWatch Logs API: CreateLogGroup logGroupName", 512, 1, r"[._\-/#A-Za-z0-9]+",
                     "letters, digits and ._-/#"),
        "retentionInDays": Choice("CloudWatch Logs API: PutRetentionPolicy retentionInDays", LOG_RETENTION_DAYS),
        "tags": Tags("CloudWatch Logs API: CreateLogGroup tags (1 to 50 tags, key 128, value 256)", min_tags=1),
    },
    "aws:kms/key:Key": {
        "description": Text("KMS API: CreateKey Description", 8192, 0),
        "policy": PolicyDocument("KMS developer guide: key policies are at most 32 KB (32,768 bytes)", 32768,
                                 "bytes", text=KMS_POLICY_TEXT),
        "deletionWindowInDays": Number("KMS API: ScheduleKeyDeletion PendingWindowInDays", 7, 30),
        "tags": Tags("KMS API: TagResource (50 tags, key 128, value 256)"),
    },
    "aws:kms/alias:Alias": {
        "name": Text("KMS API: CreateAlias AliasName", 256, 7, r"alias/[a-zA-Z0-9/_-]+",
                     "alias/ then letters, digits and /_-", refused_prefixes=("alias/aws/",)),
    },
    "aws:lambda/function:Function": {
        "name": Text("Lambda API: CreateFunction FunctionName (64 characters when not an ARN)", 64, 1,
                     r"[a-zA-Z0-9_-]+", "letters, digits, hyphens or underscores"),
        "handler": Text("Lambda API: CreateFunction Handler", 128, 1, r"[^\s]+", "no whitespace"),
        "runtime": Choice("Lambda: supported Python runtimes", LAMBDA_RUNTIMES),
        "architectures": Items("Lambda API: CreateFunction Architectures (exactly one)", 1,
                               Choice("Lambda API: Architecture", LAMBDA_ARCHITECTURES), min_items=1),
        "memorySize": Number("Lambda quotas: function memory 128 MB to 10,240 MB", 128, 10240),
        "timeout": Number("Lambda quotas: function timeout 900 seconds", 1, 900),
        "reservedConcurrentExecutions": Number("Lambda API: PutFunctionConcurrency ReservedConcurrentExecutions",
                                               0, 100000),
        "environment.variables": Environment("Lambda quotas: environment variables 4 KB in all; Lambda API: "
                                             "EnvironmentVariableName; defined runtime environment variables"),
        "tracingConfig.mode": Choice("Lambda API: TracingConfig Mode", ("Active", "PassThrough")),
        "loggingConfig.logFormat": Choice("Lambda API: LoggingConfig LogFormat", ("JSON", "Text")),
        "loggingConfig.applicationLogLevel": Choice("Lambda API: LoggingConfig ApplicationLogLevel",
                                                    ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")),
        "loggingConfig.systemLogLevel": Choice("Lambda API: LoggingConfig SystemLogLevel", ("DEBUG", "INFO", "WARN")),
        "tags": LAMBDA_TAGS,
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        "name": Text("CloudWatch API: PutMetricAlarm AlarmName", 255, 1, r"[^\x00-\x1f\x7f]+",
                     "UTF-8 characters, no control characters"),
        "alarmDescription": Text("CloudWatch API: PutMetricAlarm AlarmDescription", 1024, 0),
        "namespace": Text("CloudWatch API: PutMetricAlarm Namespace", 255, 1, r"[^:][^\n\r\x85\u2028\u2029]*",
                          "one line, not starting with ':'"),
        "metricName": Text("CloudWatch API: PutMetricAlarm MetricName", 255, 1),
        "statistic": Choice("CloudWatch API: PutMetricAlarm Statistic",
                            ("SampleCount", "Average", "Sum", "Minimum", "Maximum")),
        "extendedStatistic": Text("CloudWatch API: PutMetricAlarm ExtendedStatistic (percentiles)", 10, 2,
                                  r"p(\d{1,2}(\.\d{1,2})?|100)", "p0 to p100"),
        "period": Choice("CloudWatch API: PutMetricAlarm Period (10, 20, 30 or a multiple of 60)",
                         (10, 20, 30, *range(60, 86401, 60))),
        "evaluationPeriods": Number("CloudWatch API: PutMetricAlarm EvaluationPeriods", 1, 100000),
        "comparisonOperator": Choice("CloudWatch API: PutMetricAlarm ComparisonOperator", (
            "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
            "LessThanOrEqualToThreshold")),
        "treatMissingData": Choice("CloudWatch API: PutMetricAlarm TreatMissingData",
                                   ("breaching", "notBreaching", "ignore", "missing")),
        "alarmActions": Items("CloudWatch API: PutMetricAlarm AlarmActions (at most 5)", 5, CLOUDWATCH_RESOURCE),
        "okActions": Items("CloudWatch API: PutMetricAlarm OKActions (at most 5)", 5, CLOUDWATCH_RESOURCE),
        "dimensions": Items("CloudWatch API: PutMetricAlarm Dimensions (at most 30; name 1 to 255, value 1 to 1,024 "
                            "characters)", 30, key=Text("CloudWatch API: DimensionName", 255),
                            value=Text("CloudWatch API: DimensionValue", 1024)),
        "tags": Tags("CloudWatch API: TagResource (50 tags, key 128, value 256)"),
    },
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": {
        "name": Text("CloudWatch Logs API: PutMetricFilter filterName", 512, 1, r"[^:*]+", "no ':' or '*'"),
        "pattern": Text("CloudWatch Logs API: PutMetricFilter filterPattern", 1024, 0),
        "metricTransformation.name": Text("CloudWatch Logs API: MetricTransformation metricName", 255, 0,
                                          r"[^:*$]*", "no ':', '*' or '$'"),
        "metricTransformation.namespace": Text("CloudWatch Logs API: MetricTransformation metricNamespace", 255, 0,
                                               r"[^:*$]*", "no ':', '*' or '$'"),
    },
    "aws:cloudwatch/dashboard:Dashboard": {
        "dashboardName": Text("CloudWatch API: PutDashboard DashboardName", 255, 1, r"[A-Za-z0-9_-]+",
                              "letters, digits, hyphens or underscores"),
        "dashboardBody": DashboardBody("CloudWatch API: PutDashboard DashboardBody; CloudWatch user guide: "
                                       "dashboard body structure and syntax"),
    },
    "aws:sns/topicSubscription:TopicSubscription": {
        "protocol": Choice("SNS API: Subscribe Protocol",
                           ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")),
    },
    "aws:lambda/invocation:Invocation": {
        "input": Text("Lambda quotas: synchronous invocation payload 6 MB", 6 * 1024 * 1024, 2,
                      r"\{[\s\S]*\}", "a JSON object"),
    },
}
"""Resource type token -> property (camelCase, `a.b` for nested) -> what AWS accepts."""

# ------------------------------------------------------- where AWS's API models come in


class ApiMember(NamedTuple):
    """The AWS API input member a property becomes, as botocore's service models name it."""

    service: str
    operation: str
    member: str
    """`.` steps into a structure's member, through a list to its items, or to a map's entry by key."""


def _members(service: str, operation: str, **members: str) -> dict[str, ApiMember]:
    """Properties -> members of one operation (`name="FunctionName"`)."""
    return {path: ApiMember(service, operation, member) for path, member in members.items()}


def _ec2_tags(operation: str) -> ApiMember:
    return ApiMember("ec2", operation, "TagSpecifications.Tags")


API_MEMBERS: Mapping[str, Mapping[str, ApiMember]] = {
    "aws:ec2/securityGroup:SecurityGroup": {
        # GroupDescription on the wire; the model's member is Description.
        **_members("ec2", "CreateSecurityGroup", description="Description", name="GroupName"),
        "tags": _ec2_tags("CreateSecurityGroup"),
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        **_members("ec2", "AuthorizeSecurityGroupIngress", description="IpPermissions.UserIdGroupPairs.Description",
                   fromPort="IpPermissions.FromPort", toPort="IpPermissions.ToPort",
                   ipProtocol="IpPermissions.IpProtocol"),
        "tags": _ec2_tags("AuthorizeSecurityGroupIngress"),
    },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
        **_members("ec2", "AuthorizeSecurityGroupEgress", description="IpPermissions.IpRanges.Description",
                   fromPort="IpPermissions.FromPort", toPort="IpPermissions.ToPort",
                   ipProtocol="IpPermissions.IpProtocol", prefixListId="IpPermissions.PrefixListIds.PrefixListId"),
        "tags": _ec2_tags("AuthorizeSecurityGroupEgress"),
    },
    "aws:ec2/vpcEndpoint:VpcEndpoint": {
        **_members("ec2", "CreateVpcEndpoint", policy="PolicyDocument", vpcEndpointType="VpcEndpointType",
                   serviceName="ServiceName", routeTableIds="RouteTableIds"),
        "tags": _ec2_tags("CreateVpcEndpoint"),
    },
    "aws:ec2/vpc:Vpc": {"cidrBlock": ApiMember("ec2", "CreateVpc", "CidrBlock"), "tags": _ec2_tags("CreateVpc")},
    "aws:ec2/subnet:Subnet": {
        "cidrBlock": ApiMember("ec2", "CreateSubnet", "CidrBlock"), "tags": _ec2_tags("CreateSubnet"),
    },
    "aws:ec2/routeTable:RouteTable": {"tags": _ec2_tags("CreateRouteTable")},
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {},
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {"tags": ApiMember("ec2", "CreateTags", "Tags")},
    "aws:ec2/flowLog:FlowLog": {
        **_members("ec2", "CreateFlowLogs", trafficType="TrafficType", logDestinationType="LogDestinationType"),
        "tags": _ec2_tags("CreateFlowLogs"),
    },
    "aws:rds/instance:Instance": {
        **_members("rds", "CreateDBInstance", identifier="DBInstanceIdentifier", dbName="DBName",
                   username="MasterUsername", engine="Engine", engineVersion="EngineVersion",
                   instanceClass="DBInstanceClass", allocatedStorage="AllocatedStorage", storageType="StorageType",
                   port="Port", backupRetentionPeriod="BackupRetentionPeriod",
                   monitoringInterval="MonitoringInterval",
                   enabledCloudwatchLogsExports="EnableCloudwatchLogsExports", tags="Tags"),
        "finalSnapshotIdentifier": ApiMember("rds", "DeleteDBInstance", "FinalDBSnapshotIdentifier"),
    },
    "aws:rds/proxy:Proxy": _members(
        "rds", "CreateDBProxy", name="DBProxyName", engineFamily="EngineFamily", defaultAuthScheme="DefaultAuthScheme",
        idleClientTimeout="IdleClientTimeout", tags="Tags"),
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": _members(
        "rds", "ModifyDBProxyTargetGroup", dbProxyName="DBProxyName",
        **{"connectionPoolConfig.maxConnectionsPercent": "ConnectionPoolConfig.MaxConnectionsPercent",
           "connectionPoolConfig.maxIdleConnectionsPercent": "ConnectionPoolConfig.MaxIdleConnectionsPercent",
           "connectionPoolConfig.connectionBorrowTimeout": "ConnectionPoolConfig.ConnectionBorrowTimeout"}),
    "aws:rds/proxyTarget:ProxyTarget": _members(
        "rds", "RegisterDBProxyTargets", dbProxyName="DBProxyName", targetGroupName="TargetGroupName"),
    "aws:rds/subnetGroup:SubnetGroup": _members(
        "rds", "CreateDBSubnetGroup", name="DBSubnetGroupName", description="DBSubnetGroupDescription", tags="Tags"),
    "aws:rds/parameterGroup:ParameterGroup": _members(
        "rds", "CreateDBParameterGroup", name="DBParameterGroupName", family="DBParameterGroupFamily",
        description="Description", tags="Tags"),
    "aws:sns/topic:Topic": _members("sns", "CreateTopic", name="Name", tags="Tags"),
    # The policy is the topic's Policy attribute.
    "aws:sns/topicPolicy:TopicPolicy": _members("sns", "SetTopicAttributes", policy="AttributeValue"),
    "aws:sqs/queue:Queue": _members("sqs", "CreateQueue", name="QueueName",
                                    messageRetentionSeconds="Attributes.MessageRetentionPeriod",
                                    visibilityTimeoutSeconds="Attributes.VisibilityTimeout",
                                    redrivePolicy="Attributes.RedrivePolicy", tags="tags"),
    # The policy is the queue's Policy attribute.
    "aws:sqs/queuePolicy:QueuePolicy": _members("sqs", "SetQueueAttributes", policy="Attributes.Policy"),
    "aws:cloudwatch/eventRule:EventRule": _members(
        "events", "PutRule", name="Name", description="Description", scheduleExpression="ScheduleExpression",
        state="State", tags="Tags"),
    "aws:cloudwatch/eventTarget:EventTarget": _members(
        "events", "PutTargets", targetId="Targets.Id", **{
            "retryPolicy.maximumRetryAttempts": "Targets.RetryPolicy.MaximumRetryAttempts",
            "retryPolicy.maximumEventAgeInSeconds": "Targets.RetryPolicy.MaximumEventAgeInSeconds"}),
    "aws:lambda/permission:Permission": _members(
        "lambda", "AddPermission", statementId="StatementId", action="Action", principal="Principal",
        sourceArn="SourceArn"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": _members(
        "lambda", "CreateEventSourceMapping", batchSize="BatchSize",
        maximumBatchingWindowInSeconds="MaximumBatchingWindowInSeconds",
        functionResponseTypes="FunctionResponseTypes", eventSourceArn="EventSourceArn", tags="Tags",
        **{"scalingConfig.maximumConcurrency": "ScalingConfig.MaximumConcurrency"}),
    "aws:iam/role:Role": _members("iam", "CreateRole", name="RoleName", description="Description",
                                  assumeRolePolicy="AssumeRolePolicyDocument", tags="Tags"),
    "aws:iam/rolePolicy:RolePolicy": _members("iam", "PutRolePolicy", name="PolicyName", policy="PolicyDocument"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _members("iam", "AttachRolePolicy", policyArn="PolicyArn"),
    "aws:cloudwatch/logGroup:LogGroup": {
        **_members("logs", "CreateLogGroup", name="logGroupName", tags="tags"),
        "retentionInDays": ApiMember("logs", "PutRetentionPolicy", "retentionInDays"),
    },
    "aws:kms/key:Key": {
        **_members("kms", "CreateKey", description="Description", policy="Policy", tags="Tags"),
        "deletionWindowInDays": ApiMember("kms", "ScheduleKeyDeletion", "PendingWindowInDays"),
    },
    "aws:kms/alias:Alias": _members("kms", "CreateAlias", name="AliasName"),
    "aws:lambda/function:Function": {
        **_members("lambda", "CreateFunction", name="FunctionName", handler="Handler", runtime="Runtime",
                   architectures="Architectures", memorySize="MemorySize", timeout="Timeout", tags="Tags"),
        "environment.variables": ApiMember("lambda", "CreateFunction", "Environment.Variables"),
        "tracingConfig.mode": ApiMember("lambda", "CreateFunction", "TracingConfig.Mode"),
        "loggingConfig.logFormat": ApiMember("lambda", "CreateFunction", "LoggingConfig.LogFormat"),
        "loggingConfig.applicationLogLevel": ApiMember("lambda", "CreateFunction", "LoggingConfig.ApplicationLogLevel"),
        "loggingConfig.systemLogLevel": ApiMember("lambda", "CreateFunction", "LoggingConfig.SystemLogLevel"),
        "reservedConcurrentExecutions": ApiMember("lambda", "PutFunctionConcurrency", "ReservedConcurrentExecutions"),
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": _members(
        "cloudwatch", "PutMetricAlarm", name="AlarmName", alarmDescription="AlarmDescription", namespace="Namespace",
        metricName="MetricName", statistic="Statistic", extendedStatistic="ExtendedStatistic", period="Period",
        evaluationPeriods="EvaluationPeriods", comparisonOperator="ComparisonOperator",
        treatMissingData="TreatMissingData", alarmActions="AlarmActions", okActions="OKActions",
        dimensions="Dimensions", tags="Tags"),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": {
        **_members("logs", "PutMetricFilter", name="filterName", pattern="filterPattern"),
        "metricTransformation.name": ApiMember("logs", "PutMetricFilter", "metricTransformations.metricName"),
        "metricTransformation.namespace": ApiMember("logs", "PutMetricFilter", "metricTransformations.metricNamespace"),
    },
    "aws:cloudwatch/dashboard:Dashboard": _members(
        "cloudwatch", "PutDashboard", dashboardName="DashboardName", dashboardBody="DashboardBody"),
    "aws:sns/topicSubscription:TopicSubscription": _members("sns", "Subscribe", protocol="Protocol"),
    "aws:lambda/invocation:Invocation": _members("lambda", "Invoke", input="Payload"),
}
"""Resource type token -> property (as in `LIMITS`) -> the API input member AWS receives it as.
The tests judge every value sent by what AWS's model states for that member as well as by `LIMITS`."""

def _covered(type_token: str, *paths: str) -> set[tuple[str, str]]:
    """(type, property) pairs: the properties named, or every one the table has for the type."""
    return {(type_token, path) for path in paths or LIMITS[type_token]}


DOCUMENTATION_ONLY: frozenset[tuple[str, str]] = frozenset().union(
    # EC2 states no length, pattern or range for any member the component sets but the enums below.
    _covered("aws:ec2/securityGroup:SecurityGroup"),
    _covered("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
    _covered("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"),
    _covered("aws:ec2/vpcEndpoint:VpcEndpoint", "policy", "serviceName", "tags", "routeTableIds"),
    _covered("aws:ec2/vpc:Vpc"),
    _covered("aws:ec2/subnet:Subnet"),
    _covered("aws:ec2/routeTable:RouteTable"),
    _covered("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"),
    _covered("aws:ec2/flowLog:FlowLog", "tags"),
    # RDS's model states nothing for any of them: identifiers, names, engine, sizes, ports, tags.
    _covered("aws:rds/instance:Instance"),
    _covered("aws:rds/subnetGroup:SubnetGroup"),
    _covered("aws:rds/proxy:Proxy", "idleClientTimeout", "tags"),
    _covered("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "connectionPoolConfig.maxConnectionsPercent",
             "connectionPoolConfig.maxIdleConnectionsPercent", "connectionPoolConfig.connectionBorrowTimeout"),
    _covered("aws:rds/parameterGroup:ParameterGroup"),
    _covered("aws:sns/topic:Topic", "name"),
    _covered("aws:sns/topicPolicy:TopicPolicy"),
    _covered("aws:sns/topicSubscription:TopicSubscription"),
    _covered("aws:sqs/queue:Queue"),
    _covered("aws:sqs/queuePolicy:QueuePolicy"),
    _covered("aws:cloudwatch/logGroup:LogGroup", "retentionInDays"),
    _covered("aws:cloudwatch/metricAlarm:MetricAlarm", "extendedStatistic"),
    _covered("aws:cloudwatch/dashboard:Dashboard"),
    _covered("aws:lambda/invocation:Invocation"),
)
"""The covered properties whose API member's model states no length, count, range, pattern or
enum: for these the table's entry is all there is, from AWS's documentation."""

TAG_RULES = ("the tagging rules every service shares (letters, digits, spaces and _ . : / = + - @, so no line "
             "or paragraph separator; aws: reserved); the model states lengths only, or a wider pattern")
POLICY_QUOTA = "the policy quota in the table's source, and JSON; the model states text of 1 to 131,072 characters"
OWN_UPPER_BOUND = "an upper bound of the table's own, far above any account's; the model states only the minimum"

STRICTER_THAN_MODEL: Mapping[tuple[str, str], str] = {
    ("aws:rds/proxy:Proxy", "engineFamily"): "the component proxies MySQL only",
    ("aws:rds/proxyTarget:ProxyTarget", "targetGroupName"): "a proxy has one target group, named default",
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "vpcEndpointType"):
        "the component creates interface endpoints, and gateway endpoints for S3 and DynamoDB, only",
    ("aws:cloudwatch/eventRule:EventRule", "scheduleExpression"):
        "a rate or cron expression (its syntax checked by the component); the model states only 256 characters",
    ("aws:cloudwatch/eventRule:EventRule", "state"): "the component's rules are enabled or disabled, never the "
                                                     "CloudTrail management-event mode",
    ("aws:cloudwatch/eventRule:EventRule", "tags"): TAG_RULES,
    ("aws:lambda/permission:Permission", "action"): "the component grants invocation only",
    ("aws:lambda/permission:Permission", "principal"): "the component lets EventBridge invoke, no one else",
    ("aws:lambda/permission:Permission", "sourceArn"): "an EventBridge rule's ARN; the model takes any ARN",
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "eventSourceArn"):
        "an SQS queue's ARN; the model takes any ARN",
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "tags"): TAG_RULES,
    ("aws:sns/topic:Topic", "tags"): TAG_RULES,
    ("aws:iam/role:Role", "assumeRolePolicy"): POLICY_QUOTA,
    ("aws:iam/role:Role", "tags"): TAG_RULES,
    ("aws:iam/rolePolicy:RolePolicy", "policy"): POLICY_QUOTA,
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn"):
        "an IAM policy ARN's form; the model states only 20 to 2,048 characters",
    ("aws:cloudwatch/logGroup:LogGroup", "tags"): TAG_RULES,
    ("aws:kms/key:Key", "policy"): POLICY_QUOTA,
    ("aws:kms/key:Key", "tags"): TAG_RULES,
    ("aws:kms/key:Key", "deletionWindowInDays"): "KMS documents 7 to 30 days; the model allows 1 to 365",
    ("aws:kms/alias:Alias", "name"):
        "KMS documents alias/ then letters, digits and /_- (alias/aws/ reserved); the model's pattern also "
        "takes ':' and no prefix",
    ("aws:lambda/function:Function", "name"):
        "64 characters for a plain name; the model's 140 and its pattern are for ARNs",
    ("aws:lambda/function:Function", "runtime"): "the Python runtimes the component supports",
    ("aws:lambda/function:Function", "memorySize"): "Lambda's quotas page: 10,240 MB; the model allows 32,768",
    ("aws:lambda/function:Function", "timeout"): "Lambda's quotas page: 900 seconds; the model allows 5,400",
    ("aws:lambda/function:Function", "environment.variables"):
        "Lambda's 4 KB quota and its reserved names; the model states only the name pattern",
    ("aws:lambda/function:Function", "reservedConcurrentExecutions"): OWN_UPPER_BOUND,
    ("aws:lambda/function:Function", "tags"): TAG_RULES,
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"):
        "CloudWatch documents no ASCII control characters; the model states only the length",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "period"):
        "CloudWatch documents 10, 20, 30 or a multiple of 60; the model states only at least 1",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "evaluationPeriods"): OWN_UPPER_BOUND,
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "comparisonOperator"):
        "the anomaly-detection operators (which need a ThresholdMetricId) are left out",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "treatMissingData"):
        "CloudWatch documents breaching, notBreaching, ignore and missing; the model states only the length",
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "tags"): TAG_RULES,
}
"""The covered properties where the model states something and the table refuses values the model
accepts, and why. Everywhere else the model states something the table is the model's rule, no
looser: the tests hold both notes to what botocore says."""


AUTONAMED: Mapping[str, str] = {
    "aws:ec2/securityGroup:SecurityGroup": "name",
    "aws:rds/instance:Instance": "identifier",
    "aws:rds/subnetGroup:SubnetGroup": "name",
    "aws:rds/parameterGroup:ParameterGroup": "name",
    "aws:sns/topic:Topic": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:iam/role:Role": "name",
    "aws:iam/rolePolicy:RolePolicy": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:lambda/function:Function": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "name",
}
"""Types whose physical name the provider generates from the logical name when none is given
(`<logical name>-<7 hex>`): the generated name must fit the same limits."""


def property_value(values: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """A property of a resource's inputs by its path (`a.b` for nested), and whether it is there."""
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def problems_in_resource(type_token: str, properties: Mapping[str, Any], label: str = "") -> list[str]:
    """Every property of one resource that AWS would refuse. `properties` are its inputs
    (camelCase, as the engine sees them) plus any name the provider generated."""
    found = []
    for path, limit in LIMITS.get(type_token, {}).items():
        present, value = property_value(properties, path)
        if present and value is not None:
            found += [f"{label or type_token} {path}: {problem} [{limit.source}]" for problem in limit.problems(value)]
    return found


def check(limit: Limit, argument: str, value: Any) -> list[Problem]:
    """A user-given value against a limit, each problem naming the argument."""
    return about(argument, limit.problems(value))

