"""The function's AWS dependencies, written once: what it calls, with which actions, on which of
the component's resources, whether the call needs a network path from the VPC (an interface
endpoint, without NAT), and whether the component's key is used through the service.

Beside `network.SECURITY_GROUP_RULES` (the article's security-group table) this is the other
half of the design. Everything that depends on what the function calls is derived from it: the
execution role's policy (`function_policy`), the default interface endpoints and their policies
(`endpoint_policy`), the KMS key policy's `kms:ViaService` list, the reachability facts and their
messages, and the local rehearsal's per-service endpoint variables; a test holds the handler's
clients to it. Adding an API is one line here.

A dependency applies when its resource exists: the trigger queue's only with a `queue`, the
user's topic key's only with `existing_topic_kms_key_arn`. The calls a user declares
(`function_permissions`) become dependencies of the same kind (`permission_dependencies`), so
their statements and endpoint policies come from the same two functions. Each dependency says
which of the two functions needs it (`used_by`: the job, the schema migration or both).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Resource = Literal["topic", "db-secret", "dead-letter-queue", "trigger-queue", "trigger-queue-key", "topic-key",
                   "key"]
"""The component's resources (or the user's, given as arguments) a dependency acts on."""
FunctionRole = Literal["job", "migration"]
CalledBy = Literal["function", "lambda", "service"]


@dataclass(frozen=True)
class AwsDependency:
    service: str
    """The service's short name: its endpoint service and its boto3 client (`sns`)."""
    actions: tuple[str, ...]
    """The IAM actions, each granted on `resource` only."""
    resource: Resource | tuple[str, ...]
    """Which of the component's resources the actions act on, or the ARNs a user gave."""
    sid: str
    """The statement's ID in the execution role's policy."""
    called_by: CalledBy
    """`function`: the handler calls it from the VPC (an endpoint or NAT is needed);
    `lambda`: Lambda calls it on the function's behalf, outside the VPC; `service`: another AWS
    service acts with the role's permission (a key used through SNS)."""
    key_via: bool
    """The service uses the component's key on the role's behalf (`kms:ViaService`)."""
    purpose: str
    """What the function does with it, for messages (`publish times out`)."""
    endpoint_label: str = ""
    """Logical-name suffix of its interface endpoint (the article's `endpoint-SNS`)."""
    endpoint_variable: str = ""
    """boto3's per-service endpoint variable, which a local rehearsal points at a stand-in."""
    used_by: tuple[FunctionRole, ...] = ("job", "migration")
    """Which functions need it: the job, the schema migration, or both."""
    via_services: tuple[str, ...] = ()
    """For a key: the services through which the role may use it (`kms:ViaService`)."""


FUNCTION_DEPENDENCIES: tuple[AwsDependency, ...] = (
    AwsDependency("sns", ("sns:Publish",), "topic", "PublishNotification", "function", True, "publish",
                  "endpoint-SNS", "AWS_ENDPOINT_URL_SNS", used_by=("job",)),
    AwsDependency("secretsmanager", ("secretsmanager:GetSecretValue",), "db-secret",
                  "ReadDatabaseCredentials", "function", True, "reading the database secret",
                  "endpoint-SecretsManager", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    AwsDependency("sqs", ("sqs:SendMessage",), "dead-letter-queue", "KeepFailedAsyncEvents", "lambda", True,
                  "keeping the events of failed asynchronous invocations"),
    # Lambda polls the trigger queue with the job's role, from outside the VPC: no endpoint.
    AwsDependency("sqs", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), "trigger-queue",
                  "ConsumeTheTriggerQueue", "lambda", True, "receiving the trigger queue's messages",
                  used_by=("job",)),
    AwsDependency("kms", ("kms:Decrypt",), "trigger-queue-key", "ReadTheTriggerQueuesEncryptedMessages", "service",
                  False, "decrypting the trigger queue's messages", used_by=("job",), via_services=("sqs",)),
    AwsDependency("kms", ("kms:GenerateDataKey", "kms:Decrypt"), "topic-key", "PublishToTheEncryptedTopic",
                  "service", False, "publishing to the encrypted topic", used_by=("job",), via_services=("sns",)),
)
KEY_USED_BY_LAMBDA = "lambda"
"""Lambda itself decrypts the function's environment with the key."""

CALLED_FROM_THE_VPC: tuple[AwsDependency, ...] = tuple(d for d in FUNCTION_DEPENDENCIES if d.called_by == "function")
FUNCTION_AWS_APIS: tuple[str, ...] = tuple(d.service for d in CALLED_FROM_THE_VPC)
"""The APIs the handler calls from the VPC: without NAT, each needs an interface endpoint."""
BY_SERVICE: Mapping[str, AwsDependency] = {d.service: d for d in CALLED_FROM_THE_VPC}
"""The component's own API each service is called for (one per service), for labels and messages."""
GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})
"""Services reached through a gateway endpoint (a route, no network interface, no charge) when the
function calls them."""


def key_via_services() -> tuple[str, ...]:
    """The services through which the function's role may use the component's key."""
    services = dict.fromkeys(d.service for d in FUNCTION_DEPENDENCIES if d.key_via)
    return (*services, KEY_USED_BY_LAMBDA)


def key_dependency() -> AwsDependency:
    """The role's use of a key the user gave (`existing_kms_key_arn`) through the services that
    use it for the role: the statement the key policy holds when the component owns the key."""
    return AwsDependency("kms", ("kms:Decrypt", "kms:GenerateDataKey"), "key", "UseTheKeyThroughItsServices",
                         "service", False, "using the key through its services", via_services=key_via_services())


def endpoint_label(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.endpoint_label if dependency and dependency.endpoint_label else f"endpoint-{service}"


def purpose(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.purpose if dependency else f"calls to {service}"


def permission_dependencies(permissions: Iterable[Any]) -> tuple[AwsDependency, ...]:
    """The calls a user declares (`function_permissions`, checked: `FunctionPermissionSettings`) as
    dependencies of the job: called from the VPC, on exactly the ARNs given."""
    return tuple(
        AwsDependency(p.service, tuple(p.actions), tuple(p.resources),
                      f"FunctionPermission{index}{''.join(c for c in p.service.title() if c.isalnum())}",
                      "function", False, f"calls to {p.service}", used_by=("job",))
        for index, p in enumerate(permissions, start=1)
    )


def called_services(dependencies: Iterable[AwsDependency]) -> tuple[str, ...]:
    """The services the function calls from the VPC, each once, in order."""
    return tuple(dict.fromkeys(d.service for d in dependencies if d.called_by == "function"))


def interface_services(dependencies: Iterable[AwsDependency]) -> tuple[str, ...]:
    """The services the function calls from the VPC through an interface endpoint: the default
    `interface_endpoints`."""
    return tuple(s for s in called_services(dependencies) if s not in GATEWAY_SERVICES)


def gateway_services(dependencies: Iterable[AwsDependency]) -> tuple[str, ...]:
    return tuple(s for s in called_services(dependencies) if s in GATEWAY_SERVICES)


def applicable(dependencies: Iterable[AwsDependency], resources: Iterable[str],
               role: FunctionRole | None = None) -> tuple[AwsDependency, ...]:
    """The dependencies whose resource exists (named in `resources`, or ARNs given), needed by
    `role` (any function when None)."""
    present = set(resources)
    return tuple(d for d in dependencies
                 if (isinstance(d.resource, tuple) or d.resource in present) and (role is None or role in d.used_by))


def _action(dependency: AwsDependency) -> str | list[str]:
    """A policy's `Action`: the one action, or the list."""
    return dependency.actions[0] if len(dependency.actions) == 1 else list(dependency.actions)


def _resource(dependency: AwsDependency, resource_arns: Mapping[str, str]) -> str | list[str]:
    if isinstance(dependency.resource, tuple):
        return dependency.resource[0] if len(dependency.resource) == 1 else list(dependency.resource)
    return resource_arns[dependency.resource]


def statement(dependency: AwsDependency, resource_arns: Mapping[str, str], region: str = "",
              dns_suffix: str = "") -> dict[str, Any]:
    """The role's statement for one dependency: its actions on its resource, through its services."""
    found: dict[str, Any] = {"Sid": dependency.sid, "Effect": "Allow", "Action": _action(dependency),
                             "Resource": _resource(dependency, resource_arns)}
    if dependency.via_services:
        via = [f"{service}.{region}.{dns_suffix}" for service in dependency.via_services]
        found["Condition"] = {"StringEquals": {"kms:ViaService": via[0] if len(via) == 1 else via}}
    return found


def function_policy(resource_arns: Mapping[str, str], dependencies: Sequence[AwsDependency] = FUNCTION_DEPENDENCIES,
                    region: str = "", dns_suffix: str = "") -> str:
    """The execution role's own policy: exactly the actions the table lists for the resources that
    exist, each on exactly its resource."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [statement(d, resource_arns, region, dns_suffix)
                      for d in applicable(dependencies, resource_arns)],
    })


def endpoint_policy(service: str, resource_arns: Mapping[str, str], principal_arn: str,
                    dependencies: Sequence[AwsDependency] = FUNCTION_DEPENDENCIES) -> str:
    """What may pass through the endpoint of an API the function calls: its actions, on its
    resources, by the function's role; one statement per dependency on the service."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal_arn},
            "Action": _action(d),
            "Resource": _resource(d, resource_arns),
        } for d in applicable(dependencies, resource_arns) if d.service == service and d.called_by == "function"],
    })
