"""The article's security-group table, and the network the component builds as plain facts.

The rules are the article's table, written once as data: the resources
(`resources/network.py`), the reachability verdicts (`checks/reachability.py`) and the local
packet rehearsal are all made from it. Every rule references a peer security group; there is
no CIDR rule and nothing open to the world (only the opt-in NAT rule below has a CIDR).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .dependencies import FUNCTION_AWS_APIS
from .settings import Settings

HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"
PLACEHOLDER = "placeholder-sg"
DB_PORT = "db-port"
"""Placeholder in the table for the database port, which is an argument."""

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


def endpoint_services(settings: Settings) -> tuple[str, ...]:
    """The services the function finds an endpoint for: its own, or the shared set's."""
    if settings.endpoints is not None:
        return tuple(settings.endpoints.services)
    return tuple(settings.interface_endpoints)


def planned_rules(settings: Settings) -> tuple[SecurityGroupRule, ...]:
    """The article's rules, plus the NAT rule when it is asked for and needed."""
    uncovered = set(FUNCTION_AWS_APIS) - set(endpoint_services(settings))
    return SECURITY_GROUP_RULES + ((NAT_EGRESS_RULE,) if settings.nat_egress and uncovered else ())


# ------------------------------------------------------------------ the network as facts


@dataclass(frozen=True)
class Rule:
    group: str
    direction: Literal["ingress", "egress"]
    port: int
    peer_group: str | None = None
    cidr: str | None = None
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


def network_facts(settings: Settings) -> NetworkFacts:
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
                peer_group=None if r.peer_is_cidr else r.peer,
                cidr=r.peer if r.peer_is_cidr else None,
            )
            for r in planned_rules(settings)
        ),
        endpoints=tuple(
            Endpoint(service, private_dns=True, subnets=("private",), security_groups=("endpoint-sg",))
            for service in endpoint_services(settings)
        ),
        nat_egress=settings.nat_egress,
        services=FUNCTION_AWS_APIS,
    )
