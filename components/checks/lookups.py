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


# ------------------------------------------------------------------ the user's existing resources


@dataclass(frozen=True)
class Found:
    """A look-up's answer: found, or why not."""

    found: bool
    error: str | None = None


def topic(invoke: pulumi.InvokeOptions, name: str) -> Found:
    """Whether a topic of this name exists in the program's account and region."""

    def ask() -> Found:
        try:
            _aws().sns.get_topic(name=name, opts=invoke)
        except Exception as error:
            return Found(False, str(error))
        return Found(True)

    return _remembered(invoke, ("topic", name), ask)


def queue(invoke: pulumi.InvokeOptions, name: str) -> Found:
    """Whether a queue of this name exists in the program's account and region."""

    def ask() -> Found:
        try:
            _aws().sqs.get_queue(name=name, opts=invoke)
        except Exception as error:
            return Found(False, str(error))
        return Found(True)

    return _remembered(invoke, ("queue", name), ask)


@dataclass(frozen=True)
class KeyFacts:
    arn: str
    found: bool = False
    enabled: bool = False
    key_state: str = ""
    key_usage: str = ""
    key_spec: str = ""
    key_manager: str = ""
    error: str | None = None


def kms_key(invoke: pulumi.InvokeOptions, arn: str) -> KeyFacts:
    def ask() -> KeyFacts:
        try:
            key = _aws().kms.get_key(key_id=arn, opts=invoke)
        except Exception as error:
            return KeyFacts(arn, error=str(error))
        return KeyFacts(arn, True, bool(key.enabled), str(key.key_state or ""), str(key.key_usage or ""),
                        str(key.key_spec or key.customer_master_key_spec or ""), str(key.key_manager or ""))

    return _remembered(invoke, ("kms-key", arn), ask)


@dataclass(frozen=True)
class DatabaseFacts:
    """An existing RDS instance, found by its resource ID."""

    resource_id: str
    identifier: str | None = None
    engine: str = ""
    address: str = ""
    port: int | None = None
    instance_class: str = ""
    allocated_storage_gb: int | None = None
    security_group_ids: tuple[str, ...] = ()
    parameter_groups: tuple[str, ...] = ()
    vpc_id: str | None = None
    error: str | None = None


def database_by_resource_id(invoke: pulumi.InvokeOptions, resource_id: str) -> DatabaseFacts:
    """`rds.get_instances` filtered by `dbi-resource-id`, then the instance and its subnet group."""

    def ask() -> DatabaseFacts:
        aws = _aws()
        try:
            listed = aws.rds.get_instances(filters=[{"name": "dbi-resource-id", "values": [resource_id]}],
                                           opts=invoke)
        except Exception as error:
            return DatabaseFacts(resource_id, error=str(error))
        identifiers = list(listed.instance_identifiers or ())
        if len(identifiers) != 1:
            return DatabaseFacts(resource_id, error=f"{len(identifiers)} instances have this resource ID in the "
                                                    "account and region")
        try:
            instance = aws.rds.get_instance(db_instance_identifier=identifiers[0], opts=invoke)
        except Exception as error:
            return DatabaseFacts(resource_id, identifiers[0], error=str(error))
        vpc_id = None
        if instance.db_subnet_group:
            try:
                vpc_id = str(aws.rds.get_subnet_group(name=instance.db_subnet_group, opts=invoke).vpc_id)
            except Exception as error:
                return DatabaseFacts(resource_id, identifiers[0], error=f"its subnet group: {error}")
        return DatabaseFacts(
            resource_id, identifiers[0], str(instance.engine or ""), str(instance.address or ""),
            int(instance.port) if instance.port is not None else None, str(instance.db_instance_class or ""),
            int(instance.allocated_storage) if instance.allocated_storage is not None else None,
            tuple(instance.vpc_security_groups or ()), tuple(instance.db_parameter_groups or ()), vpc_id)

    return _remembered(invoke, ("database", resource_id), ask)


def security_group_vpc(invoke: pulumi.InvokeOptions, group_id: str) -> Found | str:
    """The VPC of a security group, or why it cannot be looked up."""

    def ask() -> Found | str:
        try:
            return str(_aws().ec2.get_security_group(id=group_id, opts=invoke).vpc_id)
        except Exception as error:
            return Found(False, str(error))

    return _remembered(invoke, ("security-group", group_id), ask)


def route_tables(invoke: pulumi.InvokeOptions, vpc_id: str, subnet_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The route tables of the subnets: each subnet's explicitly associated table, or the VPC's main
    table for a subnet with none (as EC2 routes it)."""

    def ask() -> tuple[str, ...]:
        def ids(name: str, value: str) -> list[str]:
            try:
                return list(_aws().ec2.get_route_tables(vpc_id=vpc_id, filters=[{"name": name, "values": [value]}],
                                                        opts=invoke).ids or [])
            except Exception:  # none found, as the provider may report it
                return []

        found: list[str] = []
        unassociated = False
        for subnet in subnet_ids:
            associated = ids("association.subnet-id", subnet)
            found += [i for i in associated if i not in found]
            unassociated = unassociated or not associated
        if unassociated:
            found += [i for i in ids("association.main", "true") if i not in found]
        return tuple(found)

    return _remembered(invoke, ("route-tables", vpc_id, subnet_ids), ask)


def gateway_endpoint_service(invoke: pulumi.InvokeOptions, region: str, service: str) -> EndpointService:
    """A gateway endpoint service (S3, DynamoDB) under both names it can have."""
    candidates = endpoint_service_candidates(region, service)

    def ask() -> EndpointService:
        try:
            found = _aws().ec2.get_vpc_endpoint_service(
                filters=[{"name": "service-name", "values": list(candidates)}],
                service_type="Gateway",
                opts=invoke,
            )
        except Exception as error:
            return EndpointService(service, candidates, error=str(error))
        return EndpointService(service, candidates, name=found.service_name,
                               policy_supported=bool(found.vpc_endpoint_policy_supported))

    return _remembered(invoke, ("gateway-endpoint-service", region, service), ask)


def existing_gateway_endpoint(invoke: pulumi.InvokeOptions, vpc_id: str, service_name: str) -> ExistingEndpoint | None:
    """A gateway endpoint for `service_name` already in the VPC (exactly one), if any."""

    def ask() -> ExistingEndpoint | None:
        try:
            found = _aws().ec2.get_vpc_endpoint(
                vpc_id=vpc_id,
                service_name=service_name,
                filters=[{"name": "vpc-endpoint-type", "values": ["Gateway"]}],
                opts=invoke,
            )
        except Exception:
            return None
        return ExistingEndpoint(str(found.id), False, (found.tags or {}).get(names.OWNER_TAG))

    return _remembered(invoke, ("existing-gateway-endpoint", vpc_id, service_name), ask)
