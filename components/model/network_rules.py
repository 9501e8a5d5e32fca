"""The article's security-group table, and the network the component builds as plain facts.

The rules are the article's table, written once as data: the resources
(`resources/network.py`), the reachability verdicts (`checks/reachability.py`) and the local
packet rehearsal are all made from it. Every rule references a peer security group; there is
no CIDR rule and nothing open to the world (only the opt-in NAT rule below has a CIDR).

With `db_proxy` the job reaches the database through an RDS Proxy: the job's direct rules give
way to four through the proxy's own group, and the migration (which logs in as the master user,
directly) gets a group of its own whose only rule leads to the database, so the database admits
the proxy and the migration and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .dependencies import (
    DEPENDENCIES,
    FUNCTION_AWS_APIS,
    AwsDependency,
    called_services,
    gateway_services,
    interface_services,
)
from .settings import Settings

HTTPS_PORT = 443
PROXY_PORT = 3306
"""RDS Proxy listens on the engine family's port (MySQL: 3306) whatever the database's port."""
ANYWHERE = "0.0.0.0/0"
PLACEHOLDER = "placeholder-sg"
PROXY_GROUP = "proxy-sg"
MIGRATION_GROUP = "migration-sg"
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
PROXY_SECURITY_GROUPS: Mapping[str, str] = {
    PROXY_GROUP: "The RDS Proxy in front of the database",
    MIGRATION_GROUP: "Network interfaces of the schema migration function - its own path to the database",
}
"""The groups `db_proxy` adds."""

When = Literal["always", "direct", "proxy"]

HELD_BY_FUNCTION_INTERFACES = ("lambda-sg", MIGRATION_GROUP, PLACEHOLDER)
"""The groups the functions' network interfaces are in: lambda-sg (and, with `db_proxy`, the
migration's migration-sg) while the functions run, and the placeholder from the update that
precedes their deletion. Lambda deletes those interfaces by itself, some time after the function
is gone, and a group cannot be deleted while an interface is in it: each waits for that on
destroy."""


@dataclass(frozen=True)
class SecurityGroupRule:
    group: str
    direction: Literal["ingress", "egress"]
    port: int | str
    peer: str
    """A group key, or a CIDR block (only the opt-in NAT rule below has one)."""
    purpose: str
    when: When = "always"
    """`direct`: without `db_proxy` (the job reaches the database itself); `proxy`: with it."""

    @property
    def peer_is_cidr(self) -> bool:
        return "/" in self.peer

    @property
    def peer_prefix_list(self) -> str | None:
        """The service whose gateway endpoint's prefix list is the peer, or None."""
        return self.peer[len(PREFIX_LIST):] if self.peer.startswith(PREFIX_LIST) else None


# The article's table, line by line: group, direction, TCP port, peer group, purpose; then what
# `db_proxy` puts in place of the job's direct path, and the migration's own path.
SECURITY_GROUP_RULES: tuple[SecurityGroupRule, ...] = (
    SecurityGroupRule("lambda-sg", "egress", DB_PORT, "rds-sg", "function to the database", "direct"),
    SecurityGroupRule("lambda-sg", "egress", HTTPS_PORT, "endpoint-sg", "function to the interface endpoints"),
    SecurityGroupRule("rds-sg", "ingress", DB_PORT, "lambda-sg", "database accepts the function", "direct"),
    SecurityGroupRule("endpoint-sg", "ingress", HTTPS_PORT, "lambda-sg", "endpoints accept the function"),
    SecurityGroupRule("lambda-sg", "egress", PROXY_PORT, PROXY_GROUP, "function to the proxy", "proxy"),
    SecurityGroupRule(PROXY_GROUP, "ingress", PROXY_PORT, "lambda-sg", "proxy accepts the function", "proxy"),
    SecurityGroupRule(PROXY_GROUP, "egress", DB_PORT, "rds-sg", "proxy to the database", "proxy"),
    SecurityGroupRule("rds-sg", "ingress", DB_PORT, PROXY_GROUP, "database accepts the proxy", "proxy"),
    SecurityGroupRule(MIGRATION_GROUP, "egress", DB_PORT, "rds-sg", "migration to the database", "proxy"),
    SecurityGroupRule("rds-sg", "ingress", DB_PORT, MIGRATION_GROUP, "database accepts the migration", "proxy"),
)
ARTICLE_RULES: tuple[SecurityGroupRule, ...] = tuple(r for r in SECURITY_GROUP_RULES if r.when != "proxy")
"""The article's own four lines (the component without `db_proxy`)."""


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
                      dependencies: Sequence[AwsDependency] = DEPENDENCIES) -> tuple[str, ...]:
    """The services the functions find an interface endpoint for: the shared set's, those given,
    or (by default) those they call."""
    if settings.endpoints is not None:
        return tuple(settings.endpoints.services)
    if settings.interface_endpoints is None:
        return interface_services(dependencies)
    return tuple(settings.interface_endpoints)


def planned_groups(settings: Settings) -> Mapping[str, str]:
    """The groups the component creates (key -> description)."""
    return {**SECURITY_GROUPS, **(PROXY_SECURITY_GROUPS if settings.db_proxy else {})}


def planned_rules(settings: Settings,
                  dependencies: Sequence[AwsDependency] = DEPENDENCIES) -> tuple[SecurityGroupRule, ...]:
    """The table's rules for these settings (the job's direct path to the database, or the paths
    through the proxy and the migration's own), one rule per gateway endpoint, and the NAT rule when
    it is asked for and needed."""
    gateways = gateway_services(dependencies)
    uncovered = set(called_services(dependencies)) - set(endpoint_services(settings, dependencies)) - set(gateways)
    skipped = "direct" if settings.db_proxy else "proxy"
    return (tuple(r for r in SECURITY_GROUP_RULES if r.when != skipped)
            + tuple(gateway_rule(service) for service in gateways)
            + ((NAT_EGRESS_RULE,) if settings.nat_egress and uncovered else ()))


def function_groups(settings: Settings) -> Mapping[str, tuple[str, ...]]:
    """Each function's security groups: the migration has a group of its own with the proxy (its
    path to the database), beside the job's, which holds its path to the endpoints."""
    return {"job": ("lambda-sg",),
            "migration": ("lambda-sg", MIGRATION_GROUP) if settings.db_proxy else ("lambda-sg",)}


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
    """The AWS APIs the functions call."""
    proxy_security_groups: tuple[str, ...] = ()
    """The database proxy's groups; none: the job connects to the database itself."""
    proxy_port: int = PROXY_PORT
    migration_security_groups: tuple[str, ...] = ()
    """The migration function's groups; none: the job's."""
    migration_services: tuple[str, ...] = ()
    """The APIs the migration calls (judged from its groups, when it has groups of its own)."""


def network_facts(settings: Settings,
                  dependencies: Sequence[AwsDependency] = DEPENDENCIES) -> NetworkFacts:
    """The network the component is about to build, as reachability facts."""
    groups = function_groups(settings)
    return NetworkFacts(
        function_attached=True,
        function_security_groups=groups["job"],
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
        proxy_security_groups=(PROXY_GROUP,) if settings.db_proxy else (),
        migration_security_groups=groups["migration"] if groups["migration"] != groups["job"] else (),
        migration_services=called_services(dependencies, "migration"),
    )
