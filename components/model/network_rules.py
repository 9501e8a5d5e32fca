"""The article's security-group table, and the network the component builds as plain facts.

The rules are the article's table, written once as data: the resources
(`resources/network.py`), the reachability verdicts (`checks/reachability.py`) and the local
packet rehearsal are all made from it. Every rule references a peer security group; there is
no CIDR rule and nothing open to the world (only the opt-in NAT rule below has a CIDR).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .dependencies import (
    FUNCTION_AWS_APIS,
    FUNCTION_DEPENDENCIES,
    AwsDependency,
    called_services,
    gateway_services,
    interface_services,
)
from .settings import Settings

HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"
PLACEHOLDER = "placeholder-sg"
DB_PORT = "db-port"
"""Placeholder in the table for the database port, which is an argument."""
PREFIX_LIST = "prefix-list:"
"""A peer `prefix-list:<service>`: the prefix list of the service's gateway endpoint (AWS's list of the
service's addresses in the region), the one peer besides a security group for S3 and DynamoDB."""

# Group key -> description. Keys are the article's names.
SECURITY_GROUPS: Mapping[str, str] = {
    "lambda-sg": "Network interfaces of the function",
    "rds-sg": "The RDS MySQL instance",
    "endpoint-sg": "The interface VPC endpoints the function calls",
    PLACEHOLDER: "No rules - swapped onto the function interfaces at destroy so they are released fast",
}

HELD_BY_FUNCTION_INTERFACES = ("lambda-sg", PLACEHOLDER)
"""The groups the functions' network interfaces are in: lambda-sg while the functions run, and the
placeholder from the update that precedes their deletion. Lambda deletes those interfaces by
itself, some time after the function is gone, and a group cannot be deleted while an
interface is in it: both wait for that on destroy."""


@dataclass(frozen=True)
class SecurityGroupRule:
    group: str
    direction: Literal["ingress", "egress"]
    port: int | str
    peer: str
    """A group key, or a CIDR block (only the opt-in NAT rule below has one)."""
    purpose: str

    @property
    def peer_is_cidr(self) -> bool:
        return "/" in self.peer

    @property
    def peer_prefix_list(self) -> str | None:
        """The service whose gateway endpoint's prefix list is the peer, or None."""
        return self.peer[len(PREFIX_LIST):] if self.peer.startswith(PREFIX_LIST) else None


# The article's table, line by line: group, direction, TCP port, peer group, purpose.
SECURITY_GROUP_RULES: tuple[SecurityGroupRule, ...] = (
    SecurityGroupRule("lambda-sg", "egress", DB_PORT, "rds-sg", "function to the database"),
    SecurityGroupRule("lambda-sg", "egress", HTTPS_PORT, "endpoint-sg", "function to the interface endpoints"),
    SecurityGroupRule("rds-sg", "ingress", DB_PORT, "lambda-sg", "database accepts the function"),
    SecurityGroupRule("endpoint-sg", "ingress", HTTPS_PORT, "lambda-sg", "endpoints accept the function"),
)


# Only with `nat_egress=True` and an AWS API left without an interface endpoint: the calls
# then leave through the NAT gateway to the APIs' public addresses.
NAT_EGRESS_RULE = SecurityGroupRule(
    "lambda-sg", "egress", HTTPS_PORT, ANYWHERE, "function to AWS APIs through the NAT gateway"
)


def rule_port(rule: SecurityGroupRule, db_port: int) -> int:
    return db_port if rule.port == DB_PORT else int(rule.port)


def gateway_rule(service: str) -> SecurityGroupRule:
    """With a gateway endpoint (S3, DynamoDB): the function's egress to the service's prefix list.
    The endpoint has no security group of its own; lambda-sg, which allows nothing else, needs this."""
    return SecurityGroupRule("lambda-sg", "egress", HTTPS_PORT, f"{PREFIX_LIST}{service}",
                             f"function to {service} through its gateway endpoint")


def endpoint_services(settings: Settings,
                      dependencies: Sequence[AwsDependency] = FUNCTION_DEPENDENCIES) -> tuple[str, ...]:
    """The services the function finds an interface endpoint for: the shared set's, those given,
    or (by default) those it calls."""
    if settings.endpoints is not None:
        return tuple(settings.endpoints.services)
    if settings.interface_endpoints is None:
        return interface_services(dependencies)
    return tuple(settings.interface_endpoints)


def planned_rules(settings: Settings,
                  dependencies: Sequence[AwsDependency] = FUNCTION_DEPENDENCIES) -> tuple[SecurityGroupRule, ...]:
    """The article's rules, one rule per gateway endpoint, and the NAT rule when it is asked for and
    needed."""
    gateways = gateway_services(dependencies)
    uncovered = set(called_services(dependencies)) - set(endpoint_services(settings, dependencies)) - set(gateways)
    return (SECURITY_GROUP_RULES + tuple(gateway_rule(service) for service in gateways)
            + ((NAT_EGRESS_RULE,) if settings.nat_egress and uncovered else ()))


# ------------------------------------------------------------------ the network as facts


@dataclass(frozen=True)
class Rule:
    group: str
    direction: Literal["ingress", "egress"]
    port: int
    peer_group: str | None = None
    cidr: str | None = None
    prefix_list: str | None = None
    """The service whose gateway endpoint's prefix list the rule names."""
    protocol: str = "tcp"
    to_port: int | None = None
    """Last port of a range; defaults to `port`."""

    def covers(self, port: int) -> bool:
        if self.protocol == "-1":
            return True
        return self.protocol == "tcp" and self.port <= port <= (self.to_port if self.to_port is not None else self.port)


@dataclass(frozen=True)
class Endpoint:
    service: str
    private_dns: bool
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    kind: Literal["interface", "gateway"] = "interface"
    """A gateway endpoint is a route in the subnets' route tables: no DNS, no security group."""


@dataclass(frozen=True)
class NetworkFacts:
    function_attached: bool
    """Whether the function has VPC settings (subnets and security groups)."""
    function_security_groups: tuple[str, ...]
    database_security_groups: tuple[str, ...]
    database_port: int
    rules: tuple[Rule, ...]
    endpoints: tuple[Endpoint, ...] = ()
    nat_egress: bool = False
    """Whether the function's subnets route to a NAT gateway."""
    services: tuple[str, ...] = FUNCTION_AWS_APIS
    """The AWS APIs the function calls."""


def network_facts(settings: Settings,
                  dependencies: Sequence[AwsDependency] = FUNCTION_DEPENDENCIES) -> NetworkFacts:
    """The network the component is about to build, as reachability facts."""
    return NetworkFacts(
        function_attached=True,
        function_security_groups=("lambda-sg",),
        database_security_groups=("rds-sg",),
        database_port=settings.db_port,
        rules=tuple(
            Rule(
                group=r.group,
                direction=r.direction,
                port=rule_port(r, settings.db_port),
                peer_group=None if r.peer_is_cidr or r.peer_prefix_list else r.peer,
                cidr=r.peer if r.peer_is_cidr else None,
                prefix_list=r.peer_prefix_list,
            )
            for r in planned_rules(settings, dependencies)
        ),
        endpoints=tuple(
            Endpoint(service, private_dns=True, subnets=("private",), security_groups=("endpoint-sg",))
            for service in endpoint_services(settings, dependencies)
        ) + tuple(Endpoint(service, private_dns=False, subnets=("private",), security_groups=(), kind="gateway")
                  for service in gateway_services(dependencies)),
        nat_egress=settings.nat_egress,
        services=called_services(dependencies),
    )
