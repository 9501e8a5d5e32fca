"""`PrivateServiceEndpoints`: one set of interface endpoints for a VPC, shared by every service
in it.

AWS refuses a second interface endpoint with private DNS for the same service in a VPC (the
private DNS name is taken), so several `VpcLambdaWithPrivateServices` in one VPC cannot each
create their own. They share this: the endpoint security group and one endpoint with private
DNS per service. Each consumer adds its own two rules (its lambda-sg to this group on 443, this
group from its lambda-sg on 443), so destroying one consumer leaves the others intact.

Its endpoint policies cannot name each consumer's role: they let through principals of this
account acting on resources of this account (`aws:PrincipalAccount`, `aws:ResourceAccount`).
"""


from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from .checks import lookups
from .checks.availability import endpoint_service_problems, endpoint_zone_problems, subnet_zone_problems
from .checks.preview_checks import checked_subnet_ids, claim_endpoints, known_subnet_ids, vpc_problems
from .checks.validation import (
    check_component_name,
    check_interface_endpoints,
    check_names_in,
    check_required,
    check_subnet_ids,
    check_tags,
    is_unknown,
    subnets_outside_vpc,
)
from .model.dependencies import FUNCTION_AWS_APIS
from .model.iam import account_endpoint_policy
from .model.names import NAME_TAG, OWNER_TAG, component_tags
from .model.network_rules import SECURITY_GROUPS
from .model.problems import ArgumentError, Problem, arguments
from .resources.network import create_interface_endpoints

PRIVATE_SERVICE_ENDPOINTS_TYPE = "vpclambda:index:PrivateServiceEndpoints"
ARGUMENTS = ("vpc_id", "subnet_ids", "services", "tags")
REQUIRED = ("vpc_id", "subnet_ids")
SUBNETS, SERVICES = "subnet_ids", "services"
"""The arguments the shared checks name, where the component's are `private_subnet_ids` and
`interface_endpoints`."""
SOURCE = "PrivateServiceEndpoints"


class PrivateServiceEndpointsArgs(TypedDict, total=False):
    """Arguments of `PrivateServiceEndpoints`. Only `vpc_id` and `subnet_ids` are required."""

    vpc_id: Required[pulumi.Input[str]]
    """ID of the VPC the endpoints serve. Required."""

    subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Subnets (in at least two availability zones) to place the endpoints' interfaces in. Required."""

    services: Sequence[str]
    """AWS services to create an interface endpoint with private DNS for. Default: what the
    component's function calls, `["sns", "secretsmanager"]`."""

    tags: Mapping[str, str]
    """Tags added to every resource. Default: none."""


class PrivateServiceEndpoints(pulumi.ComponentResource):
    """Interface endpoints with private DNS for a VPC, shared by every `VpcLambdaWithPrivateServices`
    in it (pass it as their `endpoints` argument)."""

    pulumi_type = PRIVATE_SERVICE_ENDPOINTS_TYPE

    security_group_id: pulumi.Output[str]
    """ID of the endpoints' security group; each consumer adds its own rules to it."""

    endpoint_ids: pulumi.Output[dict[str, str]]
    """Interface endpoint IDs by AWS service."""

    def __init__(
        self,
        name: str,
        args: PrivateServiceEndpointsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        services, region_services = _check(name, args, opts)
        super().__init__(PRIVATE_SERVICE_ENDPOINTS_TYPE, name, None, opts)
        self.services: Sequence[str] = services
        """The services these endpoints serve (known at construction)."""
        self.vpc_id: pulumi.Input[str] = args["vpc_id"]
        tags = component_tags(SOURCE, name, args.get("tags") or {})
        subnet_ids = checked_subnet_ids(args["subnet_ids"], lambda azs: zone_problems(azs, region_services), self,
                                        SUBNETS, SOURCE)
        group = aws.ec2.SecurityGroup(
            f"{name}-endpoint-sg",
            vpc_id=args["vpc_id"],
            description=SECURITY_GROUPS["endpoint-sg"],
            tags={**tags, NAME_TAG: f"{name}-endpoint-sg"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        account_policy = account_endpoint_policy(lookups.place(lookups.invoke_options(opts)).account_id)
        endpoints = create_interface_endpoints(
            name,
            args["vpc_id"],
            subnet_ids,
            group.id,
            {service: str(found.name) for service, found in region_services.items()},
            dict.fromkeys(services, account_policy),
            {**tags, OWNER_TAG: lookups.endpoint_owner(name)},
            self,
        )
        self.security_group_id = group.id
        self.endpoint_ids = pulumi.Output.all(**{s: e.id for s, e in endpoints.items()})
        self.register_outputs({"security_group_id": self.security_group_id, "endpoint_ids": self.endpoint_ids})


def zone_problems(subnet_azs: Mapping[str, str], services: Mapping[str, lookups.EndpointService]) -> list[Problem]:
    return (subnet_zone_problems(subnet_azs, SUBNETS)
            + endpoint_zone_problems(list(services.values()), subnet_azs, SUBNETS))


def _check(
    name: str, args: Any, opts: pulumi.ResourceOptions | None
) -> tuple[tuple[str, ...], dict[str, lookups.EndpointService]]:
    """Every problem at once, before anything is registered."""
    source = SOURCE
    if not isinstance(args, Mapping):
        raise ArgumentError([Problem("args", f"got {type(args).__name__}; expected a mapping")], source=source)
    problems = check_component_name(name) + check_names_in(args, ARGUMENTS)
    problems += check_required(args, REQUIRED)
    if args.get("subnet_ids") is not None:
        problems += check_subnet_ids(args["subnet_ids"], SUBNETS)
    services = args.get("services", FUNCTION_AWS_APIS)
    problems += check_interface_endpoints(services, SERVICES)
    problems += check_tags(args.get("tags"))
    bad = arguments(problems)
    invoke = lookups.invoke_options(opts)
    place = lookups.place(invoke)
    found: dict[str, lookups.EndpointService] = {}
    if "services" not in bad:
        found = {s: lookups.endpoint_service(invoke, place.region, s) for s in services}
        problems += endpoint_service_problems(list(found.values()), place.region, SERVICES)
    vpc_id = args.get("vpc_id")
    if isinstance(vpc_id, str) and not is_unknown(vpc_id) and "services" not in bad:
        problems += vpc_problems(invoke, vpc_id, found, lookups.endpoint_owner(name),
                                 advice="the endpoint already there serves the VPC; drop the service from services",
                                 argument=SERVICES)
    subnet_ids = known_subnet_ids(args.get("subnet_ids"))
    if subnet_ids is not None and "subnet_ids" not in bad:
        subnets = {s: lookups.subnet(invoke, s) for s in subnet_ids}
        azs = {s: facts.availability_zone for s, facts in subnets.items()}
        problems += zone_problems(azs, found)
        if isinstance(vpc_id, str):
            problems += subnets_outside_vpc({s: facts.vpc_id for s, facts in subnets.items()}, vpc_id, SUBNETS)
    if vpc_id is not None and "services" not in bad and "vpc_id" not in bad:
        problems += claim_endpoints(vpc_id, services, f"PrivateServiceEndpoints {name!r}", SERVICES)
    if problems:
        raise ArgumentError(problems, source=source)
    return tuple(services), found
