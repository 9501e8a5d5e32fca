"""The functions' AWS dependencies, written once: who needs what (the job, the migration, the
database proxy), with which actions, on which of the component's resources, whether the call
needs a network path from the VPC (an interface endpoint, without NAT), and whether the
component's key is used through the service.

Beside `network_rules.SECURITY_GROUP_RULES` (the article's security-group table) this is the other
half of the design. Everything that depends on what is called is derived from it: each role's
policy (`role_policy`: one role per principal, its rows only), the default interface endpoints
and their policies (`endpoint_policy`: each lets through exactly the roles that call its service,
nothing else), the KMS key policy's `kms:ViaService` lists, the reachability facts and their
messages, and the local rehearsal's per-service endpoint variables; a test holds the runtime's
clients to it. Adding an API is one line here.

A dependency applies when its resource exists: the trigger queue's only with a `queue`, the
user's topic key's only with `existing_topic_kms_key_arn`, the proxy's only with `db_proxy`. The
calls a user declares (`function_permissions`) become dependencies of the job of the same kind
(`permission_dependencies`), and a user's key (`existing_kms_key_arn`) one per function
(`key_dependency`), so their statements and endpoint policies come from the same functions. The
function column (`principals`) says whose role holds each row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Principal = Literal["job", "migration", "proxy"]
"""Who holds the permission: the job's role, the migration's role, or the database proxy's role."""
FUNCTIONS: tuple[Principal, ...] = ("job", "migration")
"""The principals that are Lambda functions (each has its own execution role)."""
Resource = Literal["topic", "db-secret", "dead-letter-queue", "trigger-queue", "trigger-queue-key", "topic-key",
                   "key", "db-user", "instance-db-user"]
"""The component's resources (or the user's, given as arguments) a dependency acts on. `db-user`:
the application user at what the job connects to (the proxy when there is one, else the
instance); `instance-db-user`: the application user at the instance (the proxy's login)."""
CalledBy = Literal["function", "lambda", "service", "token", "proxy"]


@dataclass(frozen=True)
class AwsDependency:
    service: str
    """The service's short name: its endpoint service and its boto3 client (`sns`)."""
    actions: tuple[str, ...]
    """The IAM actions, each granted on `resource` only."""
    resource: Resource | tuple[str, ...]
    """Which of the component's resources the actions act on, or the ARNs a user gave."""
    sid: str
    """The statement's ID in the role's policy."""
    called_by: CalledBy
    """`function`: the function calls it from the VPC (an endpoint or NAT is needed);
    `lambda`: Lambda calls it on the function's behalf, outside the VPC; `service`: another AWS
    service acts with the role's permission (a key used through SNS); `token`: the function signs
    a database token with its own credentials (a local signature: no call, no endpoint);
    `proxy`: the database proxy signs its own token to log in to the database."""
    key_via: bool
    """The service uses the component's key on the role's behalf (`kms:ViaService`)."""
    purpose: str
    """What is done with it, for messages (`publish times out`)."""
    principals: tuple[Principal, ...]
    """Whose role holds it: the function column (the job, the migration, the proxy)."""
    endpoint_label: str = ""
    """Logical-name suffix of its interface endpoint (the article's `endpoint-SNS`)."""
    endpoint_variable: str = ""
    """boto3's per-service endpoint variable, which a local rehearsal points at a stand-in."""
    via_services: tuple[str, ...] = ()
    """For a key: the services through which the role may use it (`kms:ViaService`)."""


DEPENDENCIES: tuple[AwsDependency, ...] = (
    AwsDependency("sns", ("sns:Publish",), "topic", "PublishNotification", "function", True, "publish",
                  ("job",), "endpoint-SNS", "AWS_ENDPOINT_URL_SNS"),
    # Only the migration logs in with the master secret: the job never holds it.
    AwsDependency("secretsmanager", ("secretsmanager:GetSecretValue",), "db-secret", "ReadDatabaseCredentials",
                  "function", True, "reading the database secret", ("migration",), "endpoint-SecretsManager",
                  "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    # The migration is invoked synchronously, during deployment: it has no dead-letter queue.
    AwsDependency("sqs", ("sqs:SendMessage",), "dead-letter-queue", "KeepFailedAsyncEvents", "lambda", True,
                  "keeping the events of failed asynchronous invocations", ("job",)),
    # Lambda polls the trigger queue with the job's role, from outside the VPC: no endpoint.
    AwsDependency("sqs", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), "trigger-queue",
                  "ConsumeTheTriggerQueue", "lambda", True, "receiving the trigger queue's messages", ("job",)),
    AwsDependency("kms", ("kms:Decrypt",), "trigger-queue-key", "ReadTheTriggerQueuesEncryptedMessages", "service",
                  False, "decrypting the trigger queue's messages", ("job",), via_services=("sqs",)),
    AwsDependency("kms", ("kms:GenerateDataKey", "kms:Decrypt"), "topic-key", "PublishToTheEncryptedTopic",
                  "service", False, "publishing to the encrypted topic", ("job",), via_services=("sns",)),
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
BY_SERVICE: Mapping[str, AwsDependency] = {d.service: d for d in CALLED_FROM_THE_VPC}
"""The component's own API each service is called for (one per service), for labels and messages."""
RUNTIME_CLIENTS: tuple[str, ...] = tuple(dict.fromkeys(d.service for d in DEPENDENCIES
                                                       if d.called_by in ("function", "token")))
"""The boto3 clients the runtime library creates: the APIs it calls and the token it signs."""
GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})
"""Services reached through a gateway endpoint (a route, no network interface, no charge) when the
function calls them."""


def dependencies_of(principal: Principal,
                    dependencies: Iterable[AwsDependency] = DEPENDENCIES) -> tuple[AwsDependency, ...]:
    """The rows whose function column names `principal`."""
    return tuple(d for d in dependencies if principal in d.principals)


def key_via_services(principal: Principal = "job",
                     dependencies: Iterable[AwsDependency] = DEPENDENCIES) -> tuple[str, ...]:
    """The services through which a function's role may use the component's key (Lambda, for its
    environment)."""
    services = dict.fromkeys(d.service for d in dependencies_of(principal, dependencies) if d.key_via)
    return (*services, KEY_USED_BY_LAMBDA)


def key_dependency(principal: Principal = "job") -> AwsDependency:
    """A function's use of a key the user gave (`existing_kms_key_arn`) through the services that
    use it for its role: the statement the key policy holds when the component owns the key."""
    return AwsDependency("kms", ("kms:Decrypt", "kms:GenerateDataKey"), "key", "UseTheKeyThroughItsServices",
                         "service", False, "using the key through its services", (principal,),
                         via_services=key_via_services(principal))


def endpoint_label(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.endpoint_label if dependency and dependency.endpoint_label else f"endpoint-{service}"


def purpose(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.purpose if dependency else f"calling {service}"


def permission_dependencies(permissions: Iterable[Any]) -> tuple[AwsDependency, ...]:
    """The calls a user declares (`function_permissions`, checked: `FunctionPermissionSettings`) as
    dependencies of the job: called from the VPC, on exactly the ARNs given."""
    return tuple(
        AwsDependency(p.service, tuple(p.actions), tuple(p.resources),
                      f"FunctionPermission{index}{''.join(c for c in p.service.title() if c.isalnum())}",
                      "function", False, f"calling {p.service}", ("job",))
        for index, p in enumerate(permissions, start=1)
    )


def called_services(dependencies: Iterable[AwsDependency], principal: Principal | None = None) -> tuple[str, ...]:
    """The services the functions (`principal`'s only, when given) call from the VPC, each once,
    in order."""
    return tuple(dict.fromkeys(d.service for d in dependencies
                               if d.called_by == "function" and (principal is None or principal in d.principals)))


def callers(service: str, dependencies: Iterable[AwsDependency] = DEPENDENCIES) -> tuple[Principal, ...]:
    """Whose roles call an API from the VPC (the job calls what it is not told otherwise)."""
    found = tuple(dict.fromkeys(p for d in dependencies if d.service == service and d.called_by == "function"
                                for p in d.principals))
    return found or ("job",)


def interface_services(dependencies: Iterable[AwsDependency]) -> tuple[str, ...]:
    """The services the functions call from the VPC through an interface endpoint: the default
    `interface_endpoints`."""
    return tuple(s for s in called_services(dependencies) if s not in GATEWAY_SERVICES)


def gateway_services(dependencies: Iterable[AwsDependency]) -> tuple[str, ...]:
    return tuple(s for s in called_services(dependencies) if s in GATEWAY_SERVICES)


def applicable(dependencies: Iterable[AwsDependency], resources: Iterable[str],
               principal: Principal | None = None) -> tuple[AwsDependency, ...]:
    """The dependencies whose resource exists (named in `resources`, or ARNs given), held by
    `principal` (anyone's when None)."""
    present = set(resources)
    return tuple(d for d in dependencies
                 if (isinstance(d.resource, tuple) or d.resource in present)
                 and (principal is None or principal in d.principals))


def _action(dependency: AwsDependency) -> str | list[str]:
    """A policy's `Action`: the one action, or the list."""
    return dependency.actions[0] if len(dependency.actions) == 1 else list(dependency.actions)


def _resource(dependency: AwsDependency, resource_arns: Mapping[str, str]) -> str | list[str]:
    if isinstance(dependency.resource, tuple):
        return dependency.resource[0] if len(dependency.resource) == 1 else list(dependency.resource)
    return resource_arns[dependency.resource]


def statement(dependency: AwsDependency, resource_arns: Mapping[str, str], region: str = "",
              dns_suffix: str = "") -> dict[str, Any]:
    """A role's statement for one dependency: its actions on its resource, through its services."""
    found: dict[str, Any] = {"Sid": dependency.sid, "Effect": "Allow", "Action": _action(dependency),
                             "Resource": _resource(dependency, resource_arns)}
    if dependency.via_services:
        via = [f"{service}.{region}.{dns_suffix}" for service in dependency.via_services]
        found["Condition"] = {"StringEquals": {"kms:ViaService": via[0] if len(via) == 1 else via}}
    return found


def role_policy(principal: Principal, resource_arns: Mapping[str, str],
                dependencies: Sequence[AwsDependency] = DEPENDENCIES, region: str = "", dns_suffix: str = "") -> str:
    """A role's own policy: exactly the actions the table gives `principal` for the resources that
    exist, each on exactly its resource."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [statement(d, resource_arns, region, dns_suffix)
                      for d in applicable(dependencies, resource_arns, principal)],
    })


def endpoint_policy(service: str, resource_arns: Mapping[str, str], role_arns: Mapping[str, str],
                    dependencies: Sequence[AwsDependency] = DEPENDENCIES) -> str:
    """What may pass through the endpoint of an API the functions call: one statement per
    dependency on the service, its actions on its resources, by the roles of exactly the functions
    that call it for that (`principals`), and no other."""
    statements = []
    for d in applicable(dependencies, resource_arns):
        if d.service != service or d.called_by != "function":
            continue
        principals = [role_arns[p] for p in d.principals]
        statements.append({
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": _action(d),
            "Resource": _resource(d, resource_arns),
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
