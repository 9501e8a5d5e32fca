"""Security groups, their rules, and the interface endpoints.

The rules are the article's table, written once as data. Every rule references a peer
security group; there is no CIDR rule and nothing open to the world.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from ..checks.reachability import Endpoint, NetworkFacts, Rule
from ..model.dependencies import FUNCTION_AWS_APIS, endpoint_label
from ..model.settings import Settings

HTTPS_PORT = 443
PLACEHOLDER = "placeholder-sg"
INTERFACE_RELEASE_TIMEOUT = "45m"
"""How long Lambda may take to release a deleted VPC function's network interfaces."""
DB_PORT = "db-port"
"""Placeholder in the table for the database port, which is an argument."""

# Group key -> (description, Name tag). Keys are the article's names.
SECURITY_GROUPS: Mapping[str, str] = {
    "lambda-sg": "Network interfaces of the function",
    "rds-sg": "The RDS MySQL instance",
    "endpoint-sg": "The interface VPC endpoints the function calls",
    "placeholder-sg": "No rules - swapped onto the function interfaces at destroy so they are released fast",
}


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
    "lambda-sg", "egress", HTTPS_PORT, "0.0.0.0/0", "function to AWS APIs through the NAT gateway"
)


def endpoint_services(settings: Settings) -> tuple[str, ...]:
    """The services the function finds an endpoint for: its own, or the shared set's."""
    if settings.endpoints is not None:
        return tuple(settings.endpoints.services)
    return tuple(settings.interface_endpoints)


def planned_rules(settings: Settings) -> tuple[SecurityGroupRule, ...]:
    """The article's rules, plus the NAT rule when it is asked for and needed."""
    uncovered = set(FUNCTION_AWS_APIS) - set(endpoint_services(settings))
    return SECURITY_GROUP_RULES + ((NAT_EGRESS_RULE,) if settings.nat_egress and uncovered else ())


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


def account_endpoint_policy(account_id: str) -> str:
    """What may pass through an endpoint the function does not use itself (an extra entry in
    `interface_endpoints`, for other workloads in the VPC): any call by a principal of this
    account on a resource of this account. Calls on other accounts' resources, or with no
    resource account, are refused through it."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ThisAccountsPrincipalsOnThisAccountsResources",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id, "aws:ResourceAccount": account_id}},
        }],
    })


def rule_port(rule: SecurityGroupRule, db_port: int) -> int:
    return db_port if rule.port == DB_PORT else int(rule.port)


@dataclass(frozen=True)
class SecurityGroups:
    groups: Mapping[str, aws.ec2.SecurityGroup]
    """The groups this component created."""
    rules: tuple[pulumi.Resource, ...]
    ids: Mapping[str, pulumi.Output[str]]
    """Every group's ID by key, the shared endpoint group's included."""

    def id(self, key: str) -> pulumi.Output[str]:
        return self.ids[key]


def create_security_groups(
    name: str,
    vpc_id: pulumi.Input[str],
    rules_to_create: Sequence[SecurityGroupRule],
    db_port: int,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    shared: Mapping[str, pulumi.Input[str]] | None = None,
) -> SecurityGroups:
    """Create the groups (with no inline rules) and one rule resource per table line. Groups in
    `shared` (key -> ID: the endpoint group of a shared `PrivateServiceEndpoints`) are not
    created; the rules that involve them are, owned by this component."""
    opts = pulumi.ResourceOptions(parent=parent)
    shared = shared or {}
    groups = {
        key: aws.ec2.SecurityGroup(
            f"{name}-{key}",
            vpc_id=vpc_id,
            description=description,
            tags={**tags, "Name": f"{name}-{key}"},
            # The placeholder keeps the function's interfaces until Lambda releases them, which
            # can take up to 45 minutes after the function is gone: its delete waits that long.
            opts=opts if key != PLACEHOLDER else pulumi.ResourceOptions(
                parent=parent, custom_timeouts=pulumi.CustomTimeouts(delete=INTERFACE_RELEASE_TIMEOUT)),
        )
        for key, description in SECURITY_GROUPS.items()
        if key not in shared
    }
    ids = {**{key: group.id for key, group in groups.items()},
           **{key: pulumi.Output.from_input(group_id) for key, group_id in shared.items()}}
    rules: list[pulumi.Resource] = []
    for rule in rules_to_create:
        port = rule_port(rule, db_port)
        peer = {"cidr_ipv4": rule.peer} if rule.peer_is_cidr else {"referenced_security_group_id": ids[rule.peer]}
        rule_name = f"{name}-{rule.group}-{rule.direction}-{port}-{'internet' if rule.peer_is_cidr else rule.peer}"
        rule_type = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
        rules.append(rule_type(
            rule_name,
            security_group_id=ids[rule.group],
            **peer,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{rule.purpose} (TCP {port} {'to' if rule.direction == 'egress' else 'from'} {rule.peer})",
            tags={**tags, "Name": rule_name},
            opts=opts,
        ))
    return SecurityGroups(groups, tuple(rules), ids)


def create_interface_endpoints(
    name: str,
    vpc_id: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_id: pulumi.Input[str],
    services: Mapping[str, str],
    policies: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> dict[str, aws.ec2.VpcEndpoint]:
    """One interface endpoint with private DNS per service (short name -> the endpoint service
    name looked up at preview), each with its policy."""
    endpoints: dict[str, aws.ec2.VpcEndpoint] = {}
    for service, service_name in services.items():
        label = endpoint_label(service)
        endpoints[service] = aws.ec2.VpcEndpoint(
            f"{name}-{label}",
            vpc_id=vpc_id,
            service_name=service_name,
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=subnet_ids,
            security_group_ids=[security_group_id],
            policy=policies[service],
            tags={**tags, "Name": f"{name}-{label}"},
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return endpoints
