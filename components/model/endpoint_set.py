"""What a service needs to know of interface endpoints it shares with others in its VPC."""


from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi

from .problems import Problem

FIELDS = ("vpc_id", "security_group_id", "services")


class SharedEndpoints(Protocol):
    """Interface endpoints shared by the services of one VPC: a `PrivateServiceEndpoints`, or
    (from other Pulumi languages) an object with these three values taken from one."""

    vpc_id: pulumi.Input[str]
    """ID of the VPC the endpoints serve."""

    security_group_id: pulumi.Output[str]
    """ID of the endpoints' security group."""

    services: Sequence[str]
    """The AWS services the endpoints serve."""


@dataclass(frozen=True)
class EndpointSet:
    vpc_id: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    services: tuple[str, ...]
    resource: pulumi.Resource | None = None
    """The `PrivateServiceEndpoints`, when given as one (the migration waits for its endpoints)."""
    endpoint_ids: pulumi.Input[dict[str, str]] | None = None


def endpoint_set(value: Any) -> EndpointSet | Problem:
    """The shared endpoints, or a problem naming `endpoints`."""
    if isinstance(value, Mapping):
        missing = [f for f in FIELDS if value.get(f) is None]
        if missing:
            return Problem("endpoints", f"missing {', '.join(missing)}; expected a PrivateServiceEndpoints or "
                                        f"{', '.join(FIELDS)}")
        found: dict[str, Any] = {f: value[f] for f in FIELDS}
        resource = None
    elif all(hasattr(value, f) for f in FIELDS):
        found = {f: getattr(value, f) for f in FIELDS}
        resource = value if isinstance(value, pulumi.Resource) else None
    else:
        return Problem("endpoints", f"got {type(value).__name__}; expected a PrivateServiceEndpoints")
    services = found["services"]
    if isinstance(services, str) or not isinstance(services, Sequence) or not all(isinstance(s, str) for s in services):
        return Problem("endpoints", f"services {services!r} is not a list of AWS service names")
    endpoint_ids = value.get("endpoint_ids") if isinstance(value, Mapping) else getattr(value, "endpoint_ids", None)
    return EndpointSet(found["vpc_id"], found["security_group_id"], tuple(services), resource, endpoint_ids)
