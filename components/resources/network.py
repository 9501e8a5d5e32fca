"""The security groups and their rules (one rule resource per line of the article's table,
`model/network_rules.py`), and the interface endpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..model.dependencies import endpoint_label
from ..model.network_rules import (
    HELD_BY_FUNCTION_INTERFACES,
    SECURITY_GROUPS,
    SecurityGroupRule,
    rule_port,
)
from .children import child

INTERFACE_RELEASE_TIMEOUT = "45m"
"""How long destroy waits for Lambda to delete a deleted VPC function's network interfaces
before a group (or a subnet) they are in can be deleted."""


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
    groups_to_create: Mapping[str, str] = SECURITY_GROUPS,
) -> SecurityGroups:
    """Create the groups (key -> description; with no inline rules) and one rule resource per
    table line. Groups in `shared` (key -> ID: the endpoint group of a shared
    `PrivateServiceEndpoints`) are not created; the rules that involve them are, owned by this
    component."""
    opts = pulumi.ResourceOptions(parent=parent)
    shared = shared or {}
    groups = {
        key: child(
            "security_group", aws.ec2.SecurityGroup,
            f"{name}-{key}",
            vpc_id=vpc_id,
            description=description,
            tags={**tags, "Name": f"{name}-{key}"},
            # The functions' interfaces stay in these groups until Lambda deletes them, which can
            # take up to 45 minutes after the functions are gone: their delete waits that long.
            opts=opts if key not in HELD_BY_FUNCTION_INTERFACES else pulumi.ResourceOptions(
                parent=parent, custom_timeouts=pulumi.CustomTimeouts(delete=INTERFACE_RELEASE_TIMEOUT)),
        )
        for key, description in groups_to_create.items()
        if key not in shared
    }
    ids = {**{key: group.id for key, group in groups.items()},
           **{key: pulumi.Output.from_input(group_id) for key, group_id in shared.items()}}
    rules = [_create_rule(name, rule, rule_port(rule, db_port), ids, tags, parent)
             for rule in rules_to_create if rule.peer_prefix_list is None]
    return SecurityGroups(groups, tuple(rules), ids)


def _create_rule(name: str, rule: SecurityGroupRule, port: int, ids: Mapping[str, pulumi.Input[str]],
                 tags: Mapping[str, str], parent: pulumi.Resource,
                 prefix_lists: Mapping[str, pulumi.Input[str]] | None = None) -> pulumi.Resource:
    """One line of the table as a rule resource."""
    service = rule.peer_prefix_list
    if service is not None:
        peer: dict[str, pulumi.Input[str]] = {"prefix_list_id": (prefix_lists or {})[service]}
        peer_name = f"{service}-gateway"
    elif rule.peer_is_cidr:
        peer, peer_name = {"cidr_ipv4": rule.peer}, "internet"
    else:
        peer, peer_name = {"referenced_security_group_id": ids[rule.peer]}, rule.peer
    rule_name = f"{name}-{rule.group}-{rule.direction}-{port}-{peer_name}"
    rule_type = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
    return child(
        "security_group_rule", rule_type,
        rule_name,
        security_group_id=ids[rule.group],
        **peer,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=f"{rule.purpose} (TCP {port} {'to' if rule.direction == 'egress' else 'from'} {rule.peer})",
        tags={**tags, "Name": rule_name},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def create_gateway_rules(name: str, rules: Sequence[SecurityGroupRule], ids: Mapping[str, pulumi.Input[str]],
                         prefix_lists: Mapping[str, pulumi.Input[str]], tags: Mapping[str, str],
                         parent: pulumi.Resource) -> tuple[pulumi.Resource, ...]:
    """The table's lines whose peer is a gateway endpoint's prefix list, once the endpoints exist."""
    return tuple(_create_rule(name, rule, int(rule.port), ids, tags, parent, prefix_lists)
                 for rule in rules if rule.peer_prefix_list is not None)


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
        endpoints[service] = child(
            "endpoint", aws.ec2.VpcEndpoint,
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


def create_gateway_endpoints(
    name: str,
    vpc_id: pulumi.Input[str],
    route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    services: Mapping[str, str],
    policies: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> dict[str, aws.ec2.VpcEndpoint]:
    """One gateway endpoint per service (S3, DynamoDB: a route in the subnets' route tables, free of
    charge, no network interface), each with its policy."""
    return {
        service: child(
            "endpoint", aws.ec2.VpcEndpoint,
            f"{name}-{endpoint_label(service)}-gateway",
            vpc_id=vpc_id,
            service_name=service_name,
            vpc_endpoint_type="Gateway",
            route_table_ids=route_table_ids,
            policy=policies[service],
            tags={**tags, "Name": f"{name}-{endpoint_label(service)}-gateway"},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for service, service_name in services.items()
    }
