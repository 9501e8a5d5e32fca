"""The functions' AWS dependencies, written once: who calls what (the job, the migration, the
database proxy), with which actions, on which of the component's resources, whether the call
needs a network path from the VPC (an interface endpoint, without NAT), and whether the
component's key is used through the service.

Beside `network_rules.SECURITY_GROUP_RULES` (the article's security-group table) this is the other
half of the design. Everything that depends on what is called is derived from it: each role's
policy (`role_policy`: one role per principal), the default interface endpoints and their
policies (each lets through the roles that call its service, nothing else), the KMS key policy's
`kms:ViaService` lists, the reachability facts and their messages, and the local rehearsal's
per-service endpoint variables; a test holds the runtime's clients to it. Adding an API is one
line here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Principal = Literal["job", "migration", "proxy"]
"""Who holds the permission: the job's role, the migration's role, or the database proxy's role."""
FUNCTIONS: tuple[Principal, ...] = ("job", "migration")
"""The principals that are Lambda functions (each has its own execution role)."""
Resource = Literal["topic", "db-secret", "dead-letter-queue", "db-user", "instance-db-user"]
"""`db-user`: the application user at what the job connects to (the proxy when there is one, else
the instance); `instance-db-user`: the application user at the instance."""
CalledBy = Literal["function", "lambda", "token", "proxy"]


@dataclass(frozen=True)
class AwsDependency:
    service: str
    """The service's short name: its endpoint service and its boto3 client (`sns`)."""
    actions: tuple[str, ...]
    """The IAM actions, each granted on `resource` only."""
    resource: Resource
    """Which of the component's resources the actions act on."""
    sid: str
    """The statement's ID in the role's policy."""
    called_by: CalledBy
    """`function`: the function calls it from the VPC (an endpoint or NAT is needed);
    `lambda`: Lambda calls it on the function's behalf, outside the VPC; `token`: the function
    signs a database token with its own credentials (a local signature: no call, no endpoint);
    `proxy`: the database proxy signs its own token to log in to the database."""
    key_via: bool
    """The service uses the component's key on the role's behalf (`kms:ViaService`)."""
    purpose: str
    """What is done with it, for messages (`publish times out`)."""
    principals: tuple[Principal, ...]
    """Whose role holds it: the function column."""
    endpoint_label: str = ""
    """Logical-name suffix of its interface endpoint (the article's `endpoint-SNS`)."""
    endpoint_variable: str = ""
    """boto3's per-service endpoint variable, which a local rehearsal points at a stand-in."""


DEPENDENCIES: tuple[AwsDependency, ...] = (
    AwsDependency("sns", ("sns:Publish",), "topic", "PublishNotification", "function", True, "publish",
                  ("job",), "endpoint-SNS", "AWS_ENDPOINT_URL_SNS"),
    AwsDependency("secretsmanager", ("secretsmanager:GetSecretValue",), "db-secret", "ReadDatabaseCredentials",
                  "function", True, "reading the database secret", ("migration",), "endpoint-SecretsManager",
                  "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    AwsDependency("sqs", ("sqs:SendMessage",), "dead-letter-queue", "KeepFailedAsyncEvents", "lambda", True,
                  "keeping the events of failed asynchronous invocations", ("job",)),
    AwsDependency("rds", ("rds-db:connect",), "db-user", "ConnectAsTheApplicationUser", "token", False,
                  "logging in to the database with an IAM token", ("job",)),
    AwsDependency("rds", ("rds-db:connect",), "instance-db-user", "ConnectToTheDatabaseForTheClient", "proxy",
                  False, "logging in to the database on the job's behalf", ("proxy",)),
)
FUNCTION_DEPENDENCIES = DEPENDENCIES
"""The former name of the table."""
KEY_USED_BY_LAMBDA = "lambda"
"""Lambda itself decrypts each function's environment with the key."""

CALLED_FROM_THE_VPC: tuple[AwsDependency, ...] = tuple(d for d in DEPENDENCIES if d.called_by == "function")
FUNCTION_AWS_APIS: tuple[str, ...] = tuple(d.service for d in CALLED_FROM_THE_VPC)
"""The APIs the functions call from the VPC: without NAT, each needs an interface endpoint."""
BY_SERVICE: Mapping[str, AwsDependency] = {d.service: d for d in DEPENDENCIES if d.called_by in ("function", "lambda")}
RUNTIME_CLIENTS: tuple[str, ...] = tuple(dict.fromkeys(d.service for d in DEPENDENCIES
                                                       if d.called_by in ("function", "token")))
"""The boto3 clients the runtime library creates: the APIs it calls and the token it signs."""


def dependencies_of(principal: Principal) -> tuple[AwsDependency, ...]:
    return tuple(d for d in DEPENDENCIES if principal in d.principals)


def apis_called_from_the_vpc(principal: Principal) -> tuple[str, ...]:
    """The APIs a function calls from the VPC (each needs a path: an endpoint or NAT)."""
    return tuple(d.service for d in dependencies_of(principal) if d.called_by == "function")


def callers(service: str) -> tuple[Principal, ...]:
    """Who calls an API from the VPC (the job calls what it is not told otherwise)."""
    dependency = BY_SERVICE.get(service)
    return dependency.principals if dependency is not None else ("job",)


def key_via_services(principal: Principal = "job") -> tuple[str, ...]:
    """The services through which a function's role may use the key (Lambda, for its environment)."""
    return (*(d.service for d in dependencies_of(principal) if d.key_via), KEY_USED_BY_LAMBDA)


def endpoint_label(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.endpoint_label if dependency and dependency.endpoint_label else f"endpoint-{service}"


def purpose(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.purpose if dependency else f"calls to {service}"


def _action(dependency: AwsDependency) -> str | list[str]:
    """A policy's `Action`: the one action, or the list."""
    return dependency.actions[0] if len(dependency.actions) == 1 else list(dependency.actions)


def role_policy(principal: Principal, resource_arns: Mapping[Resource, str]) -> str:
    """A role's own policy: exactly the actions the table gives it, each on exactly its resource."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": d.sid, "Effect": "Allow", "Action": _action(d), "Resource": resource_arns[d.resource]}
            for d in dependencies_of(principal)
        ],
    })


def endpoint_policy(service: str, resource_arn: str, principal_arns: Sequence[str]) -> str:
    """What may pass through the endpoint of an API the functions call: its actions, on its
    resource, by the roles of the functions that call it (`callers`) and no other."""
    dependency = BY_SERVICE[service]
    principal: str | list[str] = principal_arns[0] if len(principal_arns) == 1 else list(principal_arns)
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": _action(dependency),
            "Resource": resource_arn,
        }],
    })
