"""Look-ups made at preview, before any cloud resource is registered: where the program runs
(partition, region), each subnet's availability zone, the interface endpoint services and what
RDS offers for the database. The judgements over their answers are pure functions in
`availability`; this module only asks.

Each answer is kept per program (keyed by its root stack resource and the AWS provider the
component uses): the components of one program share subnets and services, and every
synchronous look-up costs more the more the program has already registered.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

from ..model import names
from ..program import current_program

T = TypeVar("T")

ENGINE = "mysql"
STORAGE_TYPE = "gp3"


@dataclass(frozen=True)
class Place:
    """Where the program deploys: partition, region and account."""

    partition: str
    region: str
    dns_suffix: str
    account_id: str


@dataclass(frozen=True)
class SubnetFacts:
    subnet_id: str
    availability_zone: str
    vpc_id: str


@dataclass(frozen=True)
class EndpointService:
    service: str
    """Short name, as users write it (`sns`, `sqs`)."""
    candidates: tuple[str, ...]
    """The names looked for: `com.amazonaws.<region>.<svc>` and `cn.com.amazonaws.<region>.<svc>`."""
    name: str | None = None
    """The one found, or None."""
    availability_zones: tuple[str, ...] = ()
    policy_supported: bool = True
    error: str | None = None


@dataclass(frozen=True)
class DatabaseOffer:
    """What RDS offers for the engine version, instance class and storage type asked for."""

    engine_version: str
    instance_class: str
    version_found: str | None = None
    """The full version RDS would install (`8.4` -> `8.4.7`), or None when none matches."""
    version_error: str | None = None
    orderable: bool = False
    orderable_error: str | None = None
    availability_zones: tuple[str, ...] = ()
    multi_az_capable: bool = False
    min_storage_gb: int | None = None
    max_storage_gb: int | None = None
    supports_enhanced_monitoring: bool = False
    supports_iam_database_authentication: bool = False
    supports_storage_encryption: bool = False


def endpoint_service_candidates(region: str, service: str) -> tuple[str, str]:
    """Both names a service's endpoint can have: AWS China names many services
    `cn.com.amazonaws.<region>.<svc>` (sqs, sts, lambda, ...), others `com.amazonaws....`."""
    return f"com.amazonaws.{region}.{service}", f"cn.com.amazonaws.{region}.{service}"


def invoke_options(opts: pulumi.ResourceOptions | None) -> pulumi.InvokeOptions:
    """Invoke options that reach the AWS provider the component will use, taken from its own
    options (it is not registered yet, so it cannot be the parent)."""
    opts = opts or pulumi.ResourceOptions()
    provider = opts.provider
    if provider is None and opts.providers:
        providers = opts.providers
        if isinstance(providers, Mapping):
            provider = providers.get("aws")
        else:
            provider = next((p for p in providers if getattr(p, "package", None) == "aws"), None)
    return pulumi.InvokeOptions(parent=opts.parent, provider=provider)


_ANSWERS: weakref.WeakKeyDictionary[pulumi.Resource, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def _remembered(invoke: pulumi.InvokeOptions, key: Hashable, ask: Callable[[], T]) -> T:
    program = current_program()
    if program is None:
        return ask()
    answers = _ANSWERS.setdefault(program, {})
    full_key = (id(invoke.provider), key)
    if full_key not in answers:
        answers[full_key] = ask()
    return answers[full_key]


def _aws() -> Any:
    import pulumi_aws as aws  # the pure modules need no provider SDK

    return aws


def place(invoke: pulumi.InvokeOptions) -> Place:
    def ask() -> Place:
        aws = _aws()
        partition = aws.get_partition(opts=invoke)
        region = aws.get_region(opts=invoke)
        identity = aws.get_caller_identity(opts=invoke)
        return Place(partition=partition.partition, region=region.region, dns_suffix=partition.dns_suffix,
                     account_id=identity.account_id)

    return _remembered(invoke, "place", ask)


def subnet(invoke: pulumi.InvokeOptions, subnet_id: str) -> SubnetFacts:
    def ask() -> SubnetFacts:
        found = _aws().ec2.get_subnet(id=subnet_id, opts=invoke)
        return SubnetFacts(subnet_id, str(found.availability_zone), str(found.vpc_id))

    return _remembered(invoke, ("subnet", subnet_id), ask)


def endpoint_service(invoke: pulumi.InvokeOptions, region: str, service: str) -> EndpointService:
    """Looks the service up under both names it can have. The provider's `service=` argument
    would only ever ask for `com.amazonaws.<region>.<svc>`."""
    candidates = endpoint_service_candidates(region, service)

    def ask() -> EndpointService:
        try:
            found = _aws().ec2.get_vpc_endpoint_service(
                filters=[{"name": "service-name", "values": list(candidates)}],
                service_type="Interface",
                opts=invoke,
            )
        except Exception as error:  # the engine reports a failed look-up as a plain Exception
            return EndpointService(service, candidates, error=str(error))
        return EndpointService(
            service,
            candidates,
            name=found.service_name,
            availability_zones=tuple(sorted(found.availability_zones or ())),
            policy_supported=bool(found.vpc_endpoint_policy_supported),
        )

    return _remembered(invoke, ("endpoint-service", region, service), ask)


def database_offer(invoke: pulumi.InvokeOptions, engine_version: str, instance_class: str) -> DatabaseOffer:
    """The full engine version RDS installs for `engine_version` (which may be `8.4`), then the
    orderable option for that version, class and storage type."""

    def ask() -> DatabaseOffer:
        aws = _aws()
        try:
            version = aws.rds.get_engine_version(engine=ENGINE, version=engine_version, latest=True, opts=invoke)
        except Exception as error:
            return DatabaseOffer(engine_version, instance_class, version_error=str(error))
        actual = version.version_actual or version.version
        try:
            option = aws.rds.get_orderable_db_instance(
                engine=ENGINE,
                engine_version=actual,
                instance_class=instance_class,
                storage_type=STORAGE_TYPE,
                preferred_instance_classes=[instance_class],
                opts=invoke,
            )
        except Exception as error:
            return DatabaseOffer(engine_version, instance_class, version_found=actual, orderable_error=str(error))
        return DatabaseOffer(
            engine_version,
            instance_class,
            version_found=actual,
            orderable=True,
            availability_zones=tuple(sorted(option.availability_zones or ())),
            multi_az_capable=bool(option.multi_az_capable),
            min_storage_gb=option.min_storage_size,
            max_storage_gb=option.max_storage_size,
            supports_enhanced_monitoring=bool(option.supports_enhanced_monitoring),
            supports_iam_database_authentication=bool(option.supports_iam_database_authentication),
            supports_storage_encryption=bool(option.supports_storage_encryption),
        )

    return _remembered(invoke, ("database", engine_version, instance_class), ask)


@dataclass(frozen=True)
class VpcFacts:
    vpc_id: str
    dns_support: bool = False
    dns_hostnames: bool = False
    error: str | None = None


@dataclass(frozen=True)
class ExistingEndpoint:
    endpoint_id: str
    private_dns: bool
    owner: str | None
    """The `endpoint-owner` tag the component puts on its endpoints, if any."""


def vpc(invoke: pulumi.InvokeOptions, vpc_id: str) -> VpcFacts:
    def ask() -> VpcFacts:
        try:
            found = _aws().ec2.get_vpc(id=vpc_id, opts=invoke)
        except Exception as error:
            return VpcFacts(vpc_id, error=str(error))
        return VpcFacts(vpc_id, bool(found.enable_dns_support), bool(found.enable_dns_hostnames))

    return _remembered(invoke, ("vpc", vpc_id), ask)


def existing_endpoint(invoke: pulumi.InvokeOptions, vpc_id: str, service_name: str) -> ExistingEndpoint | None:
    """The interface endpoint for `service_name` already in the VPC, if exactly one is (the
    look-up cannot tell several apart; it then says nothing)."""

    def ask() -> ExistingEndpoint | None:
        try:
            found = _aws().ec2.get_vpc_endpoint(
                vpc_id=vpc_id,
                service_name=service_name,
                filters=[{"name": "vpc-endpoint-type", "values": ["Interface"]}],
                opts=invoke,
            )
        except Exception:  # none (or several): nothing this look-up can tell
            return None
        return ExistingEndpoint(str(found.id), bool(found.private_dns_enabled), (found.tags or {}).get(names.OWNER_TAG))

    return _remembered(invoke, ("existing-endpoint", vpc_id, service_name), ask)


def endpoint_owner(name: str) -> str:
    """The `endpoint-owner` tag of the endpoints a component of this program and stack creates."""
    return names.endpoint_owner(pulumi.get_project(), pulumi.get_stack(), name)
