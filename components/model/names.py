"""How the component names what it creates, written once: the functions, the database, the log
groups, the tags it adds. The checks hold user-given names to the same rules."""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_FUNCTION_NAME = 64
"""Lambda API: CreateFunction FunctionName, when not an ARN."""
MIGRATION_SUFFIX = "-migrate"
"""The migration function is the job's name with this suffix."""
MAX_JOB_FUNCTION_NAME = MAX_FUNCTION_NAME - len(MIGRATION_SUFFIX)
"""The longest `function_name`: the migration function's name must fit Lambda's limit too."""
MAX_DB_IDENTIFIER = 63
MAX_COMPONENT_NAME = 32
"""The component's name prefixes its children's logical names; the provider names several of
them `<logical name>-<7 hex>` within AWS's limits (an IAM role: 64 characters, and the
program's flow-log role is `<name>-network-flow-logs-role-<7 hex>`)."""

RUNBOOK_PAGE = "docs/operations.md"
"""The page of the runbook the alarms and the local rehearsal point at (by anchor)."""

COMPONENT_TAG = "component"
COMPONENT_NAME_TAG = "component-name"
NAME_TAG = "Name"
OWNER_TAG = "endpoint-owner"
"""Tag on the endpoints this package creates: `<project>/<stack>/<component name>`, so a second
`pulumi up` does not take its own endpoints for someone else's."""
COMPONENT_TAG_KEYS = (COMPONENT_TAG, COMPONENT_NAME_TAG, NAME_TAG, OWNER_TAG)
"""Tags the components add to what the user gives (a user's tags may not use these keys)."""


def component_tags(component_type: str, name: str, user_tags: Mapping[str, str]) -> dict[str, str]:
    """The tags every child of a component carries."""
    return {COMPONENT_TAG: component_type, COMPONENT_NAME_TAG: name, **user_tags}


def default_function_name(name: str, stack: str) -> str:
    """`<name>-<stack>`, with what Lambda refuses in a stack name (a period) made a hyphen."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-{stack}")[:MAX_FUNCTION_NAME]


def migration_function_name(function_name: str) -> str:
    return function_name[:MAX_JOB_FUNCTION_NAME] + MIGRATION_SUFFIX


def default_db_identifier(name: str, stack: str) -> str:
    """`<name>-<stack>` as RDS takes an identifier: lowercase letters, digits, single hyphens."""
    text = re.sub(r"[^a-z0-9]+", "-", f"{name}-{stack}".lower())
    return text[:MAX_DB_IDENTIFIER].strip("-")


MAX_PROXY_NAME = 60
PROXY_SUFFIX = "-proxy"


def proxy_name(db_identifier: str) -> str:
    """The database proxy's name: the instance's identifier with `-proxy` (RDS's identifier rules)."""
    return db_identifier[:MAX_PROXY_NAME - len(PROXY_SUFFIX)].rstrip("-") + PROXY_SUFFIX


def flow_log_group_name(name: str, stack: str) -> str:
    return f"/vpc-flow-logs/{name}-{stack}"


def function_log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def dashboard_name(function_name: str, region: str) -> str:
    """`<function name>-<region>`: CloudWatch dashboards are global to the account, so the same
    stack in two regions must not share (and destroy) one. At most 56 + 1 + a region's name,
    well within CloudWatch's 255 characters of letters, digits, hyphens and underscores."""
    return f"{function_name}-{region}"


def endpoint_owner(project: str, stack: str, name: str) -> str:
    return f"{project}/{stack}/{name}"
