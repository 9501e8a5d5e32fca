"""Composition: `VpcLambdaWithPrivateServices` wires the network, database, topic and
function modules together and exposes what users need as outputs."""


import dataclasses
import functools
import inspect
import json
import re
import typing
from typing import Any

import pulumi
import pulumi_aws as aws

from .alarms import Watched, create_operations
from .args import VpcLambdaWithPrivateServicesArgs
from .collector import tune_for_large_programs
from .database import create_database, db_log_group_names
from .dependencies import BY_SERVICE, FUNCTION_AWS_APIS, endpoint_policy
from .encryption import AwsContext, create_key
from .flow_logs import FlowLogSettings, create_flow_logs
from .function import (
    MIGRATION_HANDLER,
    create_execution_role,
    create_vpc_function,
    grant_execution_role,
    log_group_name,
)
from .log_metrics import log_metrics
from .lookups import OWNER_TAG, endpoint_owner
from .messaging import create_messaging
from .network import account_endpoint_policy, create_interface_endpoints, create_security_groups, planned_rules
from .packaging import CA_BUNDLES, CUSTOM_CA_BUNDLE, HANDLER_ERRORS_FILE, FunctionPackage
from .preview_checks import check_everything, checked_subnet_ids
from .settings import Settings
from .validation import ArgumentError

TYPE_TOKEN = "vpclambda:index:VpcLambdaWithPrivateServices"

MAX_FUNCTION_NAME = 64
MAX_DB_IDENTIFIER = 63


def ca_bundle_in_package(package: FunctionPackage, partition: str, custom: bool) -> str:
    """The package path of the CA bundle the function verifies the database with."""
    if custom:
        return CUSTOM_CA_BUNDLE
    bundle = CA_BUNDLES.get(partition)
    if bundle is None or bundle not in package.entries:
        raise ArgumentError([
            f"db_ca_bundle_file: the function runs in partition {partition!r}, whose RDS CA bundle is not in "
            f"the package ({bundle or 'none known'} missing); download that partition's RDS trust store "
            "(see vpclambda_runtime/certs/README.md) and pass its path as db_ca_bundle_file"
        ])
    return bundle


def default_function_name(name: str) -> str:
    """`<name>-<stack>`, with what Lambda refuses in a stack name (a period) made a hyphen."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-{pulumi.get_stack()}")[:MAX_FUNCTION_NAME]


def default_db_identifier(name: str) -> str:
    """`<name>-<stack>` as RDS takes an identifier: lowercase letters, digits, single hyphens."""
    text = re.sub(r"[^a-z0-9]+", "-", f"{name}-{pulumi.get_stack()}".lower())
    return text[:MAX_DB_IDENTIFIER].strip("-")


def flow_log_group_name(name: str) -> str:
    return f"/vpc-flow-logs/{name}-{pulumi.get_stack()}"


def migration_function_name(function_name: str) -> str:
    suffix = "-migrate"
    return function_name[: MAX_FUNCTION_NAME - len(suffix)] + suffix


def _least_privilege_policy(service: str, arns: list[str]) -> str:
    resource_arn, role_arn = arns
    return endpoint_policy(service, resource_arn, role_arn)


def ids_by_key(ids: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    # Output.all() of nothing resolves to a list, not an empty mapping.
    return pulumi.Output.all(**ids) if ids else pulumi.Output.from_input({})


def output_names() -> list[str]:
    """The component's outputs: its `pulumi.Output` annotations, in order."""
    annotations = inspect.get_annotations(VpcLambdaWithPrivateServices)
    return [name for name, hint in annotations.items() if typing.get_origin(hint) is pulumi.Output]


class VpcLambdaWithPrivateServices(pulumi.ComponentResource):
    """A Lambda function in private subnets that reads an RDS MySQL database and publishes to
    SNS without a NAT gateway: security groups that reference each other, the database, the
    topic, interface endpoints for every AWS API the function calls, the execution role, the
    log group and the function."""

    function_name: pulumi.Output[str]
    """Name of the Lambda function (the job, `app.handler`)."""

    function_arn: pulumi.Output[str]
    """ARN of the Lambda function."""

    topic_arn: pulumi.Output[str]
    """ARN of the SNS topic the function publishes to."""

    db_address: pulumi.Output[str]
    """Host name of the RDS instance (without the port)."""

    db_port: pulumi.Output[int]
    """Port of the RDS instance."""

    db_secret_arn: pulumi.Output[str]
    """ARN of the RDS-managed Secrets Manager secret holding the master credentials."""

    role_arn: pulumi.Output[str]
    """ARN of the functions' execution role."""

    log_group_name: pulumi.Output[str]
    """Log group of the function, `/aws/lambda/<function name>`."""

    migration_function_name: pulumi.Output[str]
    """Name of the schema-migration function (`vpclambda_runtime.migrate.handler`)."""

    schema_migration_result: pulumi.Output[str]
    """What the deploy-time schema migration returned (JSON)."""

    security_group_ids: pulumi.Output[dict[str, str]]
    """Security group IDs by role: `lambda-sg`, `rds-sg`, `endpoint-sg`, `placeholder-sg`."""

    endpoint_ids: pulumi.Output[dict[str, str]]
    """Interface endpoint IDs by AWS service (`sns`, `secretsmanager`)."""

    kms_key_arn: pulumi.Output[str]
    """ARN of the customer-managed KMS key."""

    dead_letter_queue_arn: pulumi.Output[str]
    """ARN of the dead-letter queue of asynchronous invocations."""

    alarm_topic_arn: pulumi.Output[str]
    """ARN of the topic the alarms notify (empty when `alarm_actions` names other topics or
    `alarms` is off)."""

    dashboard_name: pulumi.Output[str]
    """Name of the service's CloudWatch dashboard."""

    def __init__(
        self,
        name: str,
        args: VpcLambdaWithPrivateServicesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        tune_for_large_programs()
        checked = check_everything(name, args, opts)
        self.verdicts = checked.verdicts
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = checked.settings
        # Subnets given as Outputs are checked once known; everything placed in them waits.
        subnet_ids = checked_subnet_ids(settings.private_subnet_ids, checked.zone_problems, self)
        settings = dataclasses.replace(settings, private_subnet_ids=subnet_ids)
        self.settings: Settings = settings
        tags = {"component": "VpcLambdaWithPrivateServices", "component-name": name, **settings.tags}
        function_name = settings.function_name or default_function_name(name)
        migration_name = migration_function_name(function_name)
        db_identifier = settings.db_identifier or default_db_identifier(name)
        flow_logs = FlowLogSettings(flow_log_group_name(name)) if settings.vpc_flow_logs else None
        place = checked.place
        ctx = AwsContext(place.partition, place.region, place.dns_suffix, place.account_id)
        partition = pulumi.Output.from_input(checked.place.partition)
        package = checked.package
        assert package is not None, "check_everything builds the package or raises"
        ca_bundle = ca_bundle_in_package(package, checked.place.partition,
                                         custom=settings.db_ca_bundle_file is not None)

        shared = settings.endpoints
        groups = create_security_groups(
            name, settings.vpc_id, planned_rules(settings), settings.db_port, tags, self,
            shared={"endpoint-sg": shared.security_group_id} if shared is not None else None,
        )
        role = create_execution_role(name, tags, self)
        key = create_key(
            name,
            ctx,
            role.arn,
            [log_group_name(function_name), log_group_name(migration_name), *db_log_group_names(db_identifier),
             *([flow_logs.log_group_name] if flow_logs else [])],
            f"alias/{function_name}",
            tags,
            self,
            # The final snapshot is encrypted with this key: it must outlive the stack.
            retain_on_delete=settings.db_final_snapshot,
            alarm_topic=settings.alarms and not settings.alarm_actions,
        )
        if flow_logs is not None:
            create_flow_logs(name, settings.vpc_id, FlowLogSettings(flow_logs.log_group_name, kms_key_arn=key.arn),
                             tags, self)
        database = create_database(
            name, db_identifier, settings, settings.private_subnet_ids, groups.id("rds-sg"), key, partition, tags,
            self,
        )
        messaging = create_messaging(name, settings.topic_name, key.arn, tags, self)
        topic = messaging.topic
        grants = grant_execution_role(
            name,
            role,
            partition,
            topic.arn,
            database.secret_arn,
            messaging.dead_letter_queue.arn,
            settings.function_tracing,
            self,
        )
        # Endpoints of the APIs the function calls let through only what it does with them, and
        # only for its role; any other endpoint only this account's principals on its resources.
        resource_arns: dict[str, pulumi.Output[str]] = {
            "topic": topic.arn, "db-secret": database.secret_arn, "dead-letter-queue": messaging.dead_letter_queue.arn}
        endpoint_policies: dict[str, pulumi.Input[str]] = {}
        for service in checked.endpoint_services:
            if service in FUNCTION_AWS_APIS:
                resource_arn = resource_arns[BY_SERVICE[service].resource]
                endpoint_policies[service] = pulumi.Output.all(resource_arn, role.arn).apply(
                    functools.partial(_least_privilege_policy, service))
            else:
                endpoint_policies[service] = account_endpoint_policy(place.account_id)
        endpoints = create_interface_endpoints(
            name,
            settings.vpc_id,
            settings.private_subnet_ids,
            groups.id("endpoint-sg"),
            {service: str(found.name) for service, found in checked.endpoint_services.items()},
            endpoint_policies,
            {**tags, OWNER_TAG: endpoint_owner(name)},
            self,
        )
        environment: dict[str, pulumi.Input[str]] = {
            **settings.function_environment,
            "DB_HOST": database.instance.address,
            "DB_PORT": database.instance.port.apply(str),
            "DB_NAME": settings.db_name,
            "DB_SECRET_ARN": database.secret_arn,
            "DB_CONNECT_TIMEOUT": str(settings.db_connect_timeout_seconds),
            # Always explicit: the bundle of the partition, or the one given as an argument.
            "DB_CA_BUNDLE": ca_bundle,
            "TOPIC_ARN": topic.arn,
        }
        vpc_function = functools.partial(
            create_vpc_function,
            settings=settings,
            package=package,
            role=grants,
            environment=environment,
            subnet_ids=settings.private_subnet_ids,
            security_group_id=groups.id("lambda-sg"),
            replacement_security_group_id=groups.id("placeholder-sg"),
            kms_key_arn=key.arn,
            dead_letter_queue_arn=messaging.dead_letter_queue.arn,
            tags=tags,
            parent=self,
        )
        job = vpc_function(f"{name}-function", function_name, settings.function_handler,
                           reserved_concurrency=checked.reserved_concurrency)
        migration = vpc_function(f"{name}-migration", migration_name, MIGRATION_HANDLER, reserved_concurrency=None)
        # The migrations are applied inside the VPC during `pulumi up`, once the database, the
        # network path and the Secrets Manager endpoint exist; a changed or added file runs them again.
        schema_migration = aws.lambda_.Invocation(
            f"{name}-schema-migration",
            function_name=migration.function.name,
            input=json.dumps({"migrations_sha256": package.migrations_sha256}),
            triggers={"migrations_sha256": package.migrations_sha256, "db_instance": database.instance.id},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[database.instance, *groups.rules, *endpoints.values(),
                                         *([shared.resource] if shared is not None and shared.resource else [])]
            ),
        )

        self.function_name = job.function.name
        self.function_arn = job.function.arn
        self.topic_arn = topic.arn
        self.db_address = database.instance.address
        self.db_port = database.instance.port
        self.db_secret_arn = database.secret_arn
        self.role_arn = role.arn
        self.kms_key_arn = key.arn
        self.dead_letter_queue_arn = messaging.dead_letter_queue.arn
        operations = create_operations(
            name,
            settings,
            Watched(job.function.name, job.log_group, messaging.dead_letter_queue.name, db_identifier,
                    place.region, place.partition, place.account_id),
            function_name,
            log_metrics(HANDLER_ERRORS_FILE),
            key.arn,
            tags,
            self,
        )
        self.alarm_topic_arn = operations.topic.arn if operations.topic is not None else pulumi.Output.from_input("")
        self.dashboard_name = operations.dashboard.dashboard_name
        self.log_group_name = job.log_group.name
        self.migration_function_name = migration.function.name
        self.schema_migration_result = schema_migration.result
        self.security_group_ids = ids_by_key(dict(groups.ids))
        self.endpoint_ids = (pulumi.Output.from_input(shared.endpoint_ids or {}) if shared is not None
                             else ids_by_key({service: endpoint.id for service, endpoint in endpoints.items()}))
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[Any]]:
        """The outputs users need, as registered and as exported by the stack program."""
        return {name: getattr(self, name) for name in output_names()}
