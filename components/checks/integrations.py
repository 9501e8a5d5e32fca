"""What wires the job into a real system, checked at preview: its triggers (`schedule`, `queue`),
the user's existing resources (topic, key, database), the calls it declares
(`function_permissions`, with their gateway endpoints' route tables) and the transforms.

The form of each argument is judged by the pure checks (`model/triggers.py`,
`model/existing.py`, `model/permissions.py`); here the place is known, so a resource of another
region or partition is refused, and AWS is asked what a look-up can tell: the topic, queue,
keys and instance exist; the instance is MySQL, in the VPC, behind the security group given,
with a parameter group that can require TLS; S3 and DynamoDB offer gateway endpoints here and
the VPC has none of its own for them; the subnets' route tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from ..model.arns import QUEUE_ARN, TOPIC_ARN
from ..model.dependencies import (
    FUNCTION_DEPENDENCIES,
    FUNCTIONS,
    GATEWAY_SERVICES,
    AwsDependency,
    interface_services,
    key_dependency,
    permission_dependencies,
)
from ..model.existing import DATABASE, ExistingResources, existing_problems, place_problems
from ..model.permissions import check_permissions
from ..model.permissions import place_problems as permission_place_problems
from ..model.problems import Problem, arguments
from ..model.settings import FunctionPermissionSettings, QueueTriggerSettings, Settings
from ..model.triggers import queue_name_of, queue_problems
from . import lookups
from .lookups import DatabaseFacts, EndpointService, Found, KeyFacts, Place

DEFAULT_PARAMETER_GROUP_PREFIX = "default."
"""RDS's default parameter groups cannot be changed: `require_secure_transport` stays off in them."""


@dataclass(frozen=True)
class Integrations:
    """The triggers, existing resources and declared calls, checked."""

    schedule: str | None = None
    queue: QueueTriggerSettings | None = None
    existing: ExistingResources = field(default_factory=ExistingResources)
    database: DatabaseFacts | None = None
    """The existing instance as looked up (its identifier, class and storage size the alarms use)."""
    permissions: tuple[FunctionPermissionSettings, ...] = ()
    gateway_services: Mapping[str, EndpointService] = field(default_factory=dict)
    """S3 or DynamoDB -> its gateway endpoint service, as looked up."""
    route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    transforms: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dependencies(self) -> tuple[AwsDependency, ...]:
        """The component's dependencies, the user-given key's, and the declared calls."""
        # A key the component does not own cannot name the roles: each function's role holds its use.
        keys = tuple(key_dependency(principal) for principal in FUNCTIONS) if self.existing.key_arn else ()
        own = FUNCTION_DEPENDENCIES + keys
        return own + permission_dependencies(self.permissions)


def key_problems(argument: str, facts: KeyFacts, customer_managed: bool) -> list[Problem]:
    """A key the component uses but does not own: it exists, is enabled, encrypts symmetrically,
    and (for `existing_kms_key_arn`) is the user's, whose policy can be changed."""
    if not facts.found:
        return [Problem(argument, f"{facts.arn} cannot be looked up ({facts.error or 'not found'}); check the ARN, "
                                  "and that this account may describe the key")]
    problems = []
    if not facts.enabled or facts.key_state != "Enabled":
        problems.append(Problem(argument, f"{facts.arn} is {facts.key_state or 'disabled'}; an enabled key is needed"))
    if facts.key_usage != "ENCRYPT_DECRYPT" or facts.key_spec != "SYMMETRIC_DEFAULT":
        problems.append(Problem(argument, f"{facts.arn} is a {facts.key_spec or 'unknown spec'} key for "
                                          f"{facts.key_usage or 'an unknown use'}; SNS, SQS, "
                                          "RDS, Lambda and CloudWatch Logs take symmetric encryption keys "
                                          "(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)"))
    if customer_managed and facts.key_manager != "CUSTOMER":
        problems.append(Problem(argument, f"{facts.arn} is managed by AWS, whose policy cannot take the statements "
                                          "the component needs; give a customer-managed key"))
    return problems


def database_facts_problems(given: Any, facts: DatabaseFacts, vpc_id: Any) -> list[Problem]:
    """The instance the user named, as RDS describes it."""
    if facts.identifier is None or facts.error is not None:
        return [Problem(DATABASE, f"no RDS instance with resource_id {given.resource_id} can be looked up "
                                  f"({facts.error or 'not found'}); check it (DbiResourceId) and the region")]
    problems = []
    name = facts.identifier
    if facts.engine != "mysql":
        problems.append(Problem(DATABASE, f"{name} runs {facts.engine!r}; the component's functions speak to RDS "
                                          "MySQL"))
    if facts.address and facts.address != given.address:
        problems.append(Problem(DATABASE, f"address {given.address} is not {name}'s ({facts.address})"))
    if facts.port is not None and facts.port != given.port:
        problems.append(Problem(DATABASE, f"port {given.port} is not {name}'s ({facts.port})"))
    if given.security_group_id not in facts.security_group_ids:
        problems.append(Problem(DATABASE, f"security_group_id {given.security_group_id} is not one of {name}'s "
                                          f"({', '.join(facts.security_group_ids) or 'none'}): a rule on it would "
                                          "not reach the instance"))
    if isinstance(vpc_id, str) and facts.vpc_id is not None and facts.vpc_id != vpc_id:  # a str is known
        problems.append(Problem(DATABASE, f"{name} is in {facts.vpc_id}, not in vpc_id {vpc_id}: the function "
                                          "reaches databases of its own VPC"))
    defaults = [g for g in facts.parameter_groups if g.startswith(DEFAULT_PARAMETER_GROUP_PREFIX)]
    if defaults:
        problems.append(Problem(DATABASE, f"{name} uses the default parameter group {defaults[0]}, where "
                                          "require_secure_transport is off and cannot be turned on; give it a "
                                          "parameter group with require_secure_transport = 1"))
    return problems


def gateway_problems(invoke: pulumi.InvokeOptions, place: Place, vpc_id: Any, services: Sequence[str],
                     owner: str) -> tuple[dict[str, EndpointService], list[Problem]]:
    """S3 and DynamoDB offer gateway endpoints here; the VPC has none of someone else's for them
    (a route table takes one route per service)."""
    found: dict[str, EndpointService] = {}
    problems = []
    for service in services:
        offer = lookups.gateway_endpoint_service(invoke, place.region, service)
        if offer.name is None:
            problems.append(Problem("function_permissions", f"{service} offers no gateway endpoint in {place.region} "
                                                            f"({offer.error or 'not found'})"))
            continue
        if not offer.policy_supported:
            problems.append(Problem("function_permissions", f"the gateway endpoint service {offer.name} takes no "
                                                            "endpoint policy, so its endpoint would let every "
                                                            f"principal through; reach {service} with nat_egress"))
            continue
        found[service] = offer
        if isinstance(vpc_id, str):  # a str is known
            existing = lookups.existing_gateway_endpoint(invoke, vpc_id, offer.name)
            if existing is not None and existing.owner != owner:
                problems.append(Problem("function_permissions", f"{vpc_id} already has a gateway endpoint for "
                                                                f"{service} ({existing.endpoint_id}), and a route "
                                                                "table takes one per service; reach it through that "
                                                                "endpoint (its policy must let the job's calls "
                                                                "through) with nat_egress, or remove it"))
    return found, problems


def check_integrations(name: str, args: Mapping[str, Any], settings: Settings, place: Place,
                       invoke: pulumi.InvokeOptions, bad: set[str],
                       subnet_ids: Sequence[str] | None) -> tuple[Integrations, list[Problem]]:
    """Everything about the triggers, existing resources and declared calls the preview can tell."""
    problems: list[Problem] = []
    where = (place.partition, place.region)
    queue, queue_found = queue_problems(args.get("queue"), where) if "queue" not in bad else (None, [])
    problems += queue_found
    existing, _ = existing_problems(args)
    problems += place_problems(existing, place.partition, place.region)
    permissions, _ = check_permissions(args.get("function_permissions"))
    problems += permission_place_problems(permissions, place.partition, place.region)
    bad = bad | arguments(problems)

    if existing.topic_arn and "existing_topic_arn" not in bad:
        match = TOPIC_ARN.fullmatch(existing.topic_arn)
        if match and match["account"] == place.account_id:  # another account's topic cannot be looked up
            found = lookups.topic(invoke, match["name"])
            if not found.found:
                problems.append(Problem("existing_topic_arn", f"{existing.topic_arn} cannot be looked up "
                                                              f"({found.error or 'not found'})"))
    for argument, arn, customer in (("existing_topic_kms_key_arn", existing.topic_key_arn, False),
                                    ("existing_kms_key_arn", existing.key_arn, True)):
        if arn and argument not in bad:
            problems += key_problems(argument, lookups.kms_key(invoke, arn), customer)
    if queue is not None and queue.queue_arn is not None:
        match = QUEUE_ARN.fullmatch(queue.queue_arn)
        if match and match["account"] == place.account_id:
            found_queue = lookups.queue(invoke, queue_name_of(queue.queue_arn))
            if not found_queue.found:
                problems.append(Problem("queue", f"queue_arn {queue.queue_arn} cannot be looked up "
                                                 f"({found_queue.error or 'not found'})"))
        if queue.kms_key_arn:
            problems += [Problem("queue", f"kms_key_arn: {p.message}")
                         for p in key_problems("queue", lookups.kms_key(invoke, queue.kms_key_arn), False)]

    database = None
    if existing.database is not None and DATABASE not in bad:
        database = lookups.database_by_resource_id(invoke, existing.database.resource_id)
        problems += database_facts_problems(existing.database, database, settings.vpc_id)
        group_vpc = lookups.security_group_vpc(invoke, existing.database.security_group_id)
        if isinstance(group_vpc, Found):
            problems.append(Problem(DATABASE, f"security_group_id {existing.database.security_group_id} cannot be "
                                              f"looked up ({group_vpc.error or 'not found'})"))
        elif isinstance(settings.vpc_id, str) and group_vpc != settings.vpc_id:
            problems.append(Problem(DATABASE, f"security_group_id {existing.database.security_group_id} is in "
                                              f"{group_vpc}, not in vpc_id {settings.vpc_id}"))

    gateway_services = sorted({p.service for p in permissions} & GATEWAY_SERVICES)
    gateways: dict[str, EndpointService] = {}
    route_table_ids = settings.gateway_route_table_ids
    if gateway_services and "function_permissions" not in bad:
        gateways, found_problems = gateway_problems(invoke, place, settings.vpc_id, gateway_services,
                                                    lookups.endpoint_owner(name))
        problems += found_problems
        if route_table_ids is None and "gateway_route_table_ids" not in bad:
            if subnet_ids is None or not isinstance(settings.vpc_id, str):
                problems.append(Problem("gateway_route_table_ids", "the private subnets are not known before they "
                                                                   "are created (made in this program): give their "
                                                                   "route tables, for the gateway endpoints of "
                                                                   f"{', '.join(gateway_services)}"))
            else:
                route_table_ids = lookups.route_tables(invoke, settings.vpc_id, tuple(subnet_ids))
                if not route_table_ids:
                    problems.append(Problem("gateway_route_table_ids", f"no route table of {settings.vpc_id} routes "
                                                                       "the private subnets; give them"))
    return Integrations(
        schedule=settings.schedule, queue=queue, existing=existing, database=database, permissions=permissions,
        gateway_services=gateways, route_table_ids=route_table_ids,
        transforms=dict(settings.transforms) if isinstance(settings.transforms, Mapping) else {},
    ), problems


def with_integrations(settings: Settings, integrations: Integrations) -> Settings:
    """The settings the rest of the component reads: `interface_endpoints` worked out from what
    the function calls when not given, and an existing instance's port, class, storage and
    identifier in place of a created one's (the rules, the connection budget and the alarms
    follow them)."""
    changes: dict[str, Any] = {}
    if settings.interface_endpoints is None:
        changes["interface_endpoints"] = interface_services(integrations.dependencies)
    given, facts = integrations.existing.database, integrations.database
    if given is not None:
        changes["db_port"] = given.port
        if facts is not None and facts.identifier is not None:
            changes["db_identifier"] = facts.identifier
            if facts.instance_class:
                changes["db_instance_class"] = facts.instance_class
            if facts.allocated_storage_gb:
                changes["db_allocated_storage_gb"] = facts.allocated_storage_gb
    return dataclasses.replace(settings, **changes) if changes else settings
