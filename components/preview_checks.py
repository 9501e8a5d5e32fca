"""Everything the component checks at preview, in one pass, before it registers anything: the
arguments (pure checks in `validation`), what AWS offers in the region and in the subnets' zones
(asked through `lookups`, judged in `availability`), the connection budget, and the network
paths the function needs (`reachability`). One `ArgumentError` lists every problem found.

Subnets given as Outputs (a VPC made in the same program) cannot be looked up before they
exist: `checked_subnet_ids` then checks them once known, with the same messages, and everything
placed in them waits for that check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from . import lookups
from .args import Settings
from .availability import database_offer_problems, endpoint_service_problems, zone_problems
from .database import concurrency_problems, function_concurrency_budget
from .lookups import DatabaseOffer, EndpointService, Place
from .network import network_facts
from .packaging import shipped_ca_bundle
from .reachability import PathVerdict, assess, blocked_path_problems
from .validation import (
    ArgumentError,
    arguments_named,
    check_component_name,
    check_subnet_ids,
    is_unknown,
    problems_in,
    settings_from,
)

# What each look-up needs to be valid before it is worth asking.
DATABASE_ARGUMENTS = {"db_engine_version", "db_instance_class", "db_allocated_storage_gb", "db_multi_az",
                      "db_monitoring_interval_seconds"}
NETWORK_ARGUMENTS = {"interface_endpoints", "nat_egress", "db_port"}


@dataclass(frozen=True)
class Checked:
    """The arguments with their defaults, and what AWS said about them."""

    settings: Settings
    place: Place
    endpoint_services: Mapping[str, EndpointService]
    """Looked-up endpoint service by short name (`sqs` -> `cn.com.amazonaws.cn-northwest-1.sqs`)."""
    database: DatabaseOffer
    verdicts: list[PathVerdict]
    reserved_concurrency: int | None

    def zone_problems(self, subnet_azs: Mapping[str, str]) -> list[str]:
        return zone_problems(subnet_azs, list(self.endpoint_services.values()), self.database,
                             self.settings.db_multi_az)


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
        raise ArgumentError([f"args: got {type(args).__name__}; expected a mapping of argument names to values"])
    problems = check_component_name(name) + problems_in(args)
    bad = arguments_named(problems)
    settings = settings_from(args)
    invoke = lookups.invoke_options(opts)
    place = lookups.place(invoke)

    if settings.db_ca_bundle_file is None and shipped_ca_bundle(place.partition) is None:
        problems.append(
            f"db_ca_bundle_file: the function runs in partition {place.partition!r}, for which no RDS CA bundle is "
            "shipped (handler/certs/); download that partition's RDS trust store and pass its path as "
            "db_ca_bundle_file"
        )

    services: dict[str, EndpointService] = {}
    if "interface_endpoints" not in bad:
        services = {s: lookups.endpoint_service(invoke, place.region, s) for s in settings.interface_endpoints}
        problems += endpoint_service_problems(list(services.values()), place.region)

    database = DatabaseOffer(settings.db_engine_version, settings.db_instance_class)
    if not bad & DATABASE_ARGUMENTS:
        database = lookups.database_offer(invoke, settings.db_engine_version, settings.db_instance_class)
        problems += database_offer_problems(database, place.region, settings.db_multi_az,
                                            settings.db_allocated_storage_gb, settings.db_monitoring_interval_seconds)

    if not bad & {"function_reserved_concurrency", "function_reserved_concurrency_auto", "db_instance_class"}:
        problems += concurrency_problems(settings)

    verdicts: list[PathVerdict] = []
    if not bad & NETWORK_ARGUMENTS:
        verdicts = assess(network_facts(settings))
        problems += blocked_path_problems(verdicts)

    checked = Checked(settings, place, services, database, verdicts,
                      function_concurrency_budget(settings))
    subnet_ids = known_subnet_ids(settings.private_subnet_ids)
    if subnet_ids is not None and "private_subnet_ids" not in bad:
        subnet_azs = {s: lookups.subnet(invoke, s).availability_zone for s in subnet_ids}
        problems += checked.zone_problems(subnet_azs)
    if problems:
        raise ArgumentError(problems)
    return checked


def checked_subnet_ids(
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    zone_check: Callable[[Mapping[str, str]], list[str]],
    parent: pulumi.Resource,
) -> pulumi.Input[Sequence[pulumi.Input[str]]]:
    """Subnet IDs known now were checked by `check_everything`. Outputs are checked once known,
    with the same messages: what is placed in the subnets waits for the check."""
    if known_subnet_ids(subnet_ids) is not None:
        return subnet_ids

    import pulumi_aws as aws

    def check(given: Sequence[Any]) -> pulumi.Output[list[str]]:
        ids = [str(subnet) for subnet in given]
        problems = check_subnet_ids(given)
        if problems:
            raise ArgumentError(problems)
        zones = [
            aws.ec2.get_subnet_output(id=subnet, opts=pulumi.InvokeOutputOptions(parent=parent)).availability_zone
            for subnet in ids
        ]

        def judge(found: list[str]) -> list[str]:
            zone_problems = zone_check(dict(zip(ids, found, strict=True)))
            if zone_problems:
                raise ArgumentError(zone_problems)
            return ids

        return pulumi.Output.all(*zones).apply(judge)

    return pulumi.Output.from_input(subnet_ids).apply(check)
