"""The function's AWS dependencies, written once: what it calls, with which actions, on which of
the component's resources, whether the call needs a network path from the VPC (an interface
endpoint, without NAT), and whether the component's key is used through the service.

Beside `network.SECURITY_GROUP_RULES` (the article's security-group table) this is the other
half of the design. Everything that depends on what the function calls is derived from it: the
execution role's policy (`function_policy`), the default interface endpoints and their policies,
the KMS key policy's `kms:ViaService` list, the reachability facts and their messages, and the
local rehearsal's per-service endpoint variables; a test holds the handler's clients to it.
Adding an API is one line here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Resource = Literal["topic", "db-secret", "dead-letter-queue"]


@dataclass(frozen=True)
class AwsDependency:
    service: str
    """The service's short name: its endpoint service and its boto3 client (`sns`)."""
    actions: tuple[str, ...]
    """The IAM actions, each granted on `resource` only."""
    resource: Resource
    """Which of the component's resources the actions act on."""
    sid: str
    """The statement's ID in the execution role's policy."""
    called_by: Literal["function", "lambda"]
    """`function`: the handler calls it from the VPC (an endpoint or NAT is needed);
    `lambda`: Lambda calls it on the function's behalf, outside the VPC."""
    key_via: bool
    """The service uses the component's key on the role's behalf (`kms:ViaService`)."""
    purpose: str
    """What the function does with it, for messages (`publish times out`)."""
    endpoint_label: str = ""
    """Logical-name suffix of its interface endpoint (the article's `endpoint-SNS`)."""
    endpoint_variable: str = ""
    """boto3's per-service endpoint variable, which a local rehearsal points at a stand-in."""


FUNCTION_DEPENDENCIES: tuple[AwsDependency, ...] = (
    AwsDependency("sns", ("sns:Publish",), "topic", "PublishNotification", "function", True, "publish",
                  "endpoint-SNS", "AWS_ENDPOINT_URL_SNS"),
    AwsDependency("secretsmanager", ("secretsmanager:GetSecretValue",), "db-secret",
                  "ReadDatabaseCredentials", "function", True, "reading the database secret",
                  "endpoint-SecretsManager", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    AwsDependency("sqs", ("sqs:SendMessage",), "dead-letter-queue", "KeepFailedAsyncEvents", "lambda", True,
                  "keeping the events of failed asynchronous invocations"),
)
KEY_USED_BY_LAMBDA = "lambda"
"""Lambda itself decrypts the function's environment with the key."""

CALLED_FROM_THE_VPC: tuple[AwsDependency, ...] = tuple(d for d in FUNCTION_DEPENDENCIES if d.called_by == "function")
FUNCTION_AWS_APIS: tuple[str, ...] = tuple(d.service for d in CALLED_FROM_THE_VPC)
"""The APIs the handler calls from the VPC: without NAT, each needs an interface endpoint."""
BY_SERVICE: Mapping[str, AwsDependency] = {d.service: d for d in FUNCTION_DEPENDENCIES}


def key_via_services() -> tuple[str, ...]:
    """The services through which the function's role may use the key."""
    return (*(d.service for d in FUNCTION_DEPENDENCIES if d.key_via), KEY_USED_BY_LAMBDA)


def endpoint_label(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.endpoint_label if dependency and dependency.endpoint_label else f"endpoint-{service}"


def purpose(service: str) -> str:
    dependency = BY_SERVICE.get(service)
    return dependency.purpose if dependency else f"calls to {service}"


def _action(dependency: AwsDependency) -> str | list[str]:
    """A policy's `Action`: the one action, or the list."""
    return dependency.actions[0] if len(dependency.actions) == 1 else list(dependency.actions)


def function_policy(resource_arns: Mapping[Resource, str]) -> str:
    """The execution role's own policy: exactly the actions the table lists, each on exactly its
    resource."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": d.sid, "Effect": "Allow", "Action": _action(d), "Resource": resource_arns[d.resource]}
            for d in FUNCTION_DEPENDENCIES
        ],
    })


def endpoint_policy(service: str, resource_arn: str, principal_arn: str) -> str:
    """What may pass through the endpoint of an API the function calls: its actions, on its
    resource, by the function's role."""
    dependency = BY_SERVICE[service]
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal_arn},
            "Action": _action(dependency),
            "Resource": resource_arn,
        }],
    })
