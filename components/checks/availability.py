"""Judgements over what AWS said at preview (`lookups`): is what the arguments ask for on offer
in this region, and in the zones of the subnets? Pure functions; each problem names the
argument to change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model.database_sizing import PROXY_ENGINE_MAJORS
from ..model.problems import Problem
from .lookups import DatabaseOffer, EndpointService


def _zones(subnet_azs: Mapping[str, str]) -> list[str]:
    return sorted(set(subnet_azs.values()))


def subnet_zone_problems(subnet_azs: Mapping[str, str], argument: str = "private_subnet_ids") -> list[Problem]:
    """Subnet ID -> availability zone, as looked up."""
    if len(set(subnet_azs.values())) < 2:
        listing = ", ".join(f"{s} ({az})" for s, az in subnet_azs.items())
        return [Problem(argument, f"all in one availability zone: {listing}; expected subnets in at least "
                "two availability zones (the function and the DB subnet group need two AZs)")]
    return []


def endpoint_service_problems(services: Sequence[EndpointService], region: str,
                              argument: str = "interface_endpoints") -> list[Problem]:
    """Services that have no interface endpoint service here, or one that takes no policy."""
    problems = []
    for found in services:
        if found.name is None:
            problems.append(Problem(
                argument, f"{found.service!r} has no interface endpoint service in {region} (looked for "
                          f"{' and '.join(found.candidates)}: {found.error or 'not found'}); check the service name "
                          "and that the service offers interface endpoints in this region"))
        elif not found.policy_supported:
            problems.append(Problem(
                argument, f"the endpoint service {found.name} takes no endpoint policy, so its endpoint would let "
                          f"every principal through; remove {found.service!r} or reach it through nat_egress"))
    return problems


def endpoint_zone_problems(services: Sequence[EndpointService], subnet_azs: Mapping[str, str],
                           argument: str = "private_subnet_ids") -> list[Problem]:
    """An interface endpoint cannot be placed in a subnet of a zone its service does not serve."""
    problems = []
    for found in services:
        if found.name is None or not found.availability_zones:
            continue
        outside = {s: az for s, az in subnet_azs.items() if az not in found.availability_zones}
        if outside:
            listing = ", ".join(f"{s} ({az})" for s, az in sorted(outside.items()))
            problems.append(Problem(
                argument, f"{found.name} is not offered in the zone of {listing} (it is in "
                          f"{', '.join(found.availability_zones)}); the interface endpoint for {found.service!r} "
                          "cannot be placed there: choose subnets in those zones"))
    return problems


def database_offer_problems(
    offer: DatabaseOffer,
    region: str,
    multi_az: bool,
    allocated_storage_gb: int,
    monitoring_interval_seconds: int,
) -> list[Problem]:
    """Whether RDS offers the engine version, the class, Multi-AZ, the storage and the features the
    component turns on, in this region."""
    if offer.version_found is None:
        return [Problem("db_engine_version", f"RDS MySQL {offer.engine_version!r} is not available in {region} "
                f"({offer.version_error or 'not found'}); choose a version RDS offers there, e.g. 8.4 or 8.0")]
    if not offer.orderable:
        return [Problem("db_instance_class", f"{offer.instance_class!r} cannot be ordered for MySQL "
                                             f"{offer.version_found} with gp3 storage in {region} "
                                             f"({offer.orderable_error or 'not offered'}); choose a class RDS offers "
                                             "there, e.g. db.t4g.micro or db.t3.micro")]
    problems = []
    if multi_az and not offer.multi_az_capable:
        problems.append(Problem("db_multi_az", f"{offer.instance_class} cannot run Multi-AZ in {region}; set "
                                               "db_multi_az=false or choose another db_instance_class"))
    low, high = offer.min_storage_gb, offer.max_storage_gb
    if low is not None and high is not None and not low <= allocated_storage_gb <= high:
        problems.append(Problem("db_allocated_storage_gb", f"got {allocated_storage_gb}; {offer.instance_class} "
                                                           f"with gp3 takes {low} to {high} GiB"))
    if monitoring_interval_seconds and not offer.supports_enhanced_monitoring:
        problems.append(Problem("db_monitoring_interval_seconds", f"{offer.instance_class} does not support enhanced "
                        "monitoring; set 0"))
    for supported, feature in ((offer.supports_storage_encryption, "encrypted storage"),
                               (offer.supports_iam_database_authentication, "IAM database authentication")):
        if not supported:
            problems.append(Problem("db_instance_class", f"{offer.instance_class} does not support {feature}, "
                                                         "which the component turns on; choose another class"))
    return problems


def proxy_offer_problems(offer: DatabaseOffer) -> list[Problem]:
    """What RDS Proxy supports of what RDS resolved the database to: its engine's major version.
    (Whether the region and the subnets' zones have proxies, and the instance class, no look-up
    tells: docs/guardrails.md says what to check.)"""
    if offer.version_found is None:
        return []  # db_engine_version has its own problem
    major = ".".join(offer.version_found.split(".")[:2])
    if major not in PROXY_ENGINE_MAJORS:
        return [Problem("db_proxy", f"RDS Proxy does not support RDS for MySQL {offer.version_found} (it supports "
                                    f"{', '.join(PROXY_ENGINE_MAJORS)}); choose one of those db_engine_version, or "
                                    "leave db_proxy off")]
    return []


def database_zone_problems(offer: DatabaseOffer, subnet_azs: Mapping[str, str], multi_az: bool) -> list[Problem]:
    """The instance (and its standby) go in the subnets' zones where the class is offered."""
    if not offer.orderable or not offer.availability_zones:
        return []
    usable = [az for az in _zones(subnet_azs) if az in offer.availability_zones]
    needed = 2 if multi_az else 1
    if len(usable) < needed:
        return [Problem("private_subnet_ids", f"{offer.instance_class} is offered in "
                                              f"{', '.join(offer.availability_zones)}, but the subnets are in "
                                              f"{', '.join(_zones(subnet_azs))}; the database needs {needed} of its "
                                              "subnets' zones where it is offered")]
    return []


def zone_problems(
    subnet_azs: Mapping[str, str],
    services: Sequence[EndpointService],
    offer: DatabaseOffer | None,
    multi_az: bool,
) -> list[Problem]:
    """Everything that depends on the subnets' zones, in one list."""
    problems = subnet_zone_problems(subnet_azs)
    problems += endpoint_zone_problems(services, subnet_azs)
    if offer is not None:
        problems += database_zone_problems(offer, subnet_azs, multi_az)
    return problems
