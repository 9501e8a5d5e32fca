"""Everything the component checks at preview, in one pass, before it registers anything: the
arguments (pure checks in `validation`), what AWS offers in the region and in the subnets' zones
(asked through `lookups`, judged in `availability`), the connection budget, and the network
paths the function needs (`reachability`). One `ArgumentError` lists every problem found.

Subnets given as Outputs (a VPC made in the same program) cannot be looked up before they
exist: `checked_subnet_ids` then checks them once known, with the same messages, and everything
placed in them waits for that check.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ..build import function_code
from ..build.packaging import FunctionPackage, shipped_ca_bundle
from ..model import partition_features
from ..model.database_sizing import concurrency_problems, function_concurrency_budget
from ..model.endpoint_set import EndpointSet, endpoint_set
from ..model.network_rules import network_facts
from ..model.problems import ArgumentError, Problem, arguments
from ..model.settings import Settings
from ..program import current_program
from . import lookups
from .availability import database_offer_problems, endpoint_service_problems, proxy_offer_problems, zone_problems
from .integrations import Integrations, check_integrations, with_integrations
from .lookups import DatabaseOffer, EndpointService, Place
from .reachability import PathVerdict, assess, blocked_path_problems
from .validation import (
    alarm_action_problems,
    check_component_name,
    check_subnet_ids,
    is_unknown,
    problems_in,
    settings_from,
    subnets_outside_vpc,
)

# What each look-up needs to be valid before it is worth asking.
DATABASE_ARGUMENTS = {"db_engine_version", "db_instance_class", "db_allocated_storage_gb", "db_multi_az",
                      "db_monitoring_interval_seconds"}
NETWORK_ARGUMENTS = {"interface_endpoints", "nat_egress", "db_port", "endpoints", "function_permissions",
                     "existing_database", "db_proxy"}
DNS_COMMANDS = {
    "DNS support": "aws ec2 modify-vpc-attribute --vpc-id {vpc} --enable-dns-support '{{\"Value\":true}}'",
    "DNS host names": "aws ec2 modify-vpc-attribute --vpc-id {vpc} --enable-dns-hostnames '{{\"Value\":true}}'",
}


def vpc_problems(
    invoke: pulumi.InvokeOptions,
    vpc_id: str,
    services: Mapping[str, EndpointService],
    owner: str | None = None,
    advice: str = "",
    argument: str = "interface_endpoints",
) -> list[Problem]:
    """An existing VPC must resolve the endpoints' private DNS names (DNS support and host names
    on); and an interface endpoint with private DNS already there for a service to be created
    would make AWS refuse the new one."""
    facts = lookups.vpc(invoke, vpc_id)
    if facts.error is not None:
        return [Problem("vpc_id", f"{vpc_id} cannot be looked up ({facts.error}); check the ID and the region")]
    problems = []
    off = [what for what, on in (("DNS support", facts.dns_support), ("DNS host names", facts.dns_hostnames))
           if not on]
    if off:
        commands = "; ".join(DNS_COMMANDS[what].format(vpc=vpc_id) for what in off)
        problems.append(Problem("vpc_id", f"{vpc_id} has {' and '.join(off)} off; interface endpoints with private "
                                          "DNS need both on, or the function resolves the public names and times "
                                          f"out: {commands}"))
    if owner is not None:
        for service, found in services.items():
            if found.name is None:
                continue
            existing = lookups.existing_endpoint(invoke, vpc_id, found.name)
            if existing is not None and existing.private_dns and existing.owner != owner:
                problems.append(Problem(
                    argument, f"{vpc_id} already has an interface endpoint with private DNS for {service} "
                              f"({existing.endpoint_id}), and AWS refuses a second one; {advice}"))
    return problems


SHARE_ADVICE = ("share one set: create the endpoints once with PrivateServiceEndpoints (or import the existing "
                "ones into it) and pass it as endpoints to every service in the VPC")

# (VPC, service) -> the component creating an endpoint with private DNS for it, per program:
# a second one in the same VPC would be refused by AWS, and no look-up can see it yet.
_CLAIMS: weakref.WeakKeyDictionary[pulumi.Resource, dict[tuple[Any, str], str]] = weakref.WeakKeyDictionary()


def claim_endpoints(vpc_id: Any, services: Sequence[str], claimant: str,
                    argument: str = "interface_endpoints") -> list[Problem]:
    """Record that `claimant` creates these endpoints; report those another component of the
    program already creates in the same VPC (an Output VPC ID counts by identity)."""
    program = current_program()
    if program is None:
        return []
    claims = _CLAIMS.setdefault(program, {})
    key = vpc_id if isinstance(vpc_id, str) else id(vpc_id)
    problems = []
    for service in services:
        holder = claims.setdefault((key, service), claimant)
        if holder != claimant:
            problems.append(Problem(argument, f"{holder} in this program already creates an endpoint with private "
                                              f"DNS for {service} in the same VPC, and AWS refuses a second one; "
                                              f"{SHARE_ADVICE}"))
    return problems


@dataclass(frozen=True)
class Checked:
    """The arguments with their defaults, and what AWS said about them."""

    settings: Settings
    place: Place
    endpoint_services: Mapping[str, EndpointService]
    """Each endpoint service by its short name, as looked up for the partition and region."""
    database: DatabaseOffer
    verdicts: list[PathVerdict]
    reserved_concurrency: int | None
    package: FunctionPackage | None = None
    """The function's deployment package, built (or found in the build cache) at preview."""
    integrations: Integrations = dataclasses.field(default_factory=Integrations)
    """The triggers, the user's existing resources and the declared calls, checked."""

    def zone_problems(self, subnet_azs: Mapping[str, str]) -> list[Problem]:
        offer = self.database if self.integrations.existing.database is None else None
        return zone_problems(subnet_azs, list(self.endpoint_services.values()), offer, self.settings.db_multi_az)


def known_subnet_ids(value: Any) -> list[str] | None:
    """The subnet IDs if every one is known now, else None."""
    if is_unknown(value) or isinstance(value, str) or not isinstance(value, Sequence):
        return None
    if any(is_unknown(s) or not isinstance(s, str) for s in value):
        return None
    return list(value)


def check_everything(name: str, args: Any, opts: pulumi.ResourceOptions | None) -> Checked:
    """Check the arguments and ask AWS about them; raise one ArgumentError with every problem."""
    if not isinstance(args, Mapping):
        raise ArgumentError([Problem("args", f"got {type(args).__name__}; expected a mapping of argument names to "
                                             "values")])
    problems = check_component_name(name) + problems_in(args) + function_code.problems_in(args)
    settings = settings_from(args)
    invoke = lookups.invoke_options(opts)
    place = lookups.place(invoke)
    bad = arguments(problems)
    problems += partition_features.problems({k: v for k, v in args.items() if k not in bad}, place.partition)
    settings = partition_features.with_defaults(settings, place.partition)
    if "alarm_actions" not in bad:
        problems += alarm_action_problems(settings.alarm_actions, place.partition, place.region)

    if settings.db_ca_bundle_file is None and shipped_ca_bundle(place.partition) is None:
        problems.append(Problem(
            "db_ca_bundle_file", f"the function runs in partition {place.partition!r}, for which no RDS CA bundle is "
                                 "shipped (vpclambda_runtime/certs/); download that partition's RDS trust store and "
                                 "pass its path as db_ca_bundle_file"))
    elif (settings.db_proxy and settings.db_ca_bundle_file is None
          and shipped_ca_bundle(place.partition, proxy=True) is None):
        problems.append(Problem(
            "db_proxy", f"no trust store known to verify an RDS Proxy's certificate in partition {place.partition!r} "
                        "is shipped (vpclambda_runtime/certs/); pass db_ca_bundle_file with the roots of both the "
                        "proxy's certificate and the partition's RDS certificates, or leave db_proxy off"))

    shared = endpoint_set(args["endpoints"]) if args.get("endpoints") is not None else None
    problems += shared_endpoint_problems(args, shared)
    if isinstance(shared, EndpointSet):
        settings = dataclasses.replace(settings, endpoints=shared)
    bad = arguments(problems)
    subnet_ids = known_subnet_ids(settings.private_subnet_ids) if "private_subnet_ids" not in bad else None
    integrations, found = check_integrations(name, args, settings, place, invoke, bad, subnet_ids)
    problems += found
    settings = with_integrations(settings, integrations)
    bad = arguments(problems)
    services: dict[str, EndpointService] = {}
    if shared is None and "interface_endpoints" not in bad and settings.interface_endpoints is not None:
        services = {s: lookups.endpoint_service(invoke, place.region, s) for s in settings.interface_endpoints}
        problems += endpoint_service_problems(list(services.values()), place.region)
        if "vpc_id" not in bad and "name" not in bad:
            problems += claim_endpoints(settings.vpc_id, settings.interface_endpoints,
                                        f"VpcLambdaWithPrivateServices {name!r}")

    database = DatabaseOffer(settings.db_engine_version, settings.db_instance_class)
    if not bad & DATABASE_ARGUMENTS and integrations.existing.database is None and "existing_database" not in bad:
        database = lookups.database_offer(invoke, settings.db_engine_version, settings.db_instance_class)
        problems += database_offer_problems(database, place.region, settings.db_multi_az,
                                            settings.db_allocated_storage_gb, settings.db_monitoring_interval_seconds)
        if settings.db_proxy and "db_proxy" not in bad:
            problems += proxy_offer_problems(database)

    if not bad & {"function_reserved_concurrency", "function_reserved_concurrency_auto", "db_instance_class",
                  "existing_database", "db_proxy"}:
        problems += concurrency_problems(settings)

    verdicts: list[PathVerdict] = []
    if not bad & NETWORK_ARGUMENTS:
        verdicts = assess(network_facts(settings, integrations.dependencies))
        problems += blocked_path_problems(verdicts, "interface_endpoints" if shared is None else "endpoints")

    vpc_id = settings.vpc_id
    if isinstance(vpc_id, str) and not is_unknown(vpc_id) and "vpc_id" not in bad:
        problems += vpc_problems(invoke, vpc_id, services, lookups.endpoint_owner(name), SHARE_ADVICE)

    package = None
    if not bad & function_code.PACKAGE_ARGUMENTS:
        package, package_problems = function_code.checked_package(settings)
        problems += package_problems

    checked = Checked(settings, place, services, database, verdicts,
                      function_concurrency_budget(settings), package, integrations)
    if subnet_ids is not None and "private_subnet_ids" not in bad:
        subnets = {s: lookups.subnet(invoke, s) for s in subnet_ids}
        problems += checked.zone_problems({s: facts.availability_zone for s, facts in subnets.items()})
        if isinstance(vpc_id, str) and "vpc_id" not in bad:
            problems += subnets_outside_vpc({s: facts.vpc_id for s, facts in subnets.items()}, vpc_id,
                                            "private_subnet_ids")
    if problems:
        raise ArgumentError(problems)
    return checked


def shared_endpoint_problems(args: Mapping[str, Any], shared: EndpointSet | Problem | None) -> list[Problem]:
    if shared is None:
        return []
    if isinstance(shared, Problem):
        return [shared]
    problems = []
    if args.get("interface_endpoints") is not None:
        problems.append(Problem("interface_endpoints", "not used with endpoints (the shared set's services are the "
                                                       "endpoints); remove it, or list the services in the "
                                                       "PrivateServiceEndpoints"))
    vpc_id = args.get("vpc_id")
    if isinstance(vpc_id, str) and isinstance(shared.vpc_id, str) and vpc_id != shared.vpc_id:
        problems.append(Problem("endpoints", f"the shared endpoints serve {shared.vpc_id}, not vpc_id {vpc_id}"))
    return problems


def checked_subnet_ids(
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    zone_check: Callable[[Mapping[str, str]], list[Problem]],
    parent: pulumi.Resource,
    argument: str = "private_subnet_ids",
    source: str = "VpcLambdaWithPrivateServices",
) -> pulumi.Input[Sequence[pulumi.Input[str]]]:
    """Subnet IDs known now were checked by `check_everything`. Outputs are checked once known,
    with the same messages: what is placed in the subnets waits for the check."""
    if known_subnet_ids(subnet_ids) is not None:
        return subnet_ids

    import pulumi_aws as aws

    def check(given: Sequence[Any]) -> pulumi.Output[list[str]]:
        ids = [str(subnet) for subnet in given]
        problems = check_subnet_ids(given, argument)
        if problems:
            raise ArgumentError(problems, source=source)
        zones = [
            aws.ec2.get_subnet_output(id=subnet, opts=pulumi.InvokeOutputOptions(parent=parent)).availability_zone
            for subnet in ids
        ]

        def judge(found: list[str]) -> list[str]:
            zone_problems = zone_check(dict(zip(ids, found, strict=True)))
            if zone_problems:
                raise ArgumentError(zone_problems, source=source)
            return ids

        return pulumi.Output.all(*zones).apply(judge)

    return pulumi.Output.from_input(subnet_ids).apply(check)
