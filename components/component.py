"""Composition: `VpcLambdaWithPrivateServices` wires the network, database, topic and
function modules together and exposes what users need as outputs."""


import dataclasses
import functools
import inspect
import json
import typing
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from .args import Settings, VpcLambdaWithPrivateServicesArgs
from .database import create_database, function_concurrency_budget
from .encryption import aws_context, create_key
from .function import (
    JOB_HANDLER,
    MIGRATION_HANDLER,
    create_execution_role,
    create_vpc_function,
    grant_execution_role,
    log_group_name,
)
from .messaging import create_messaging
from .network import (
    create_interface_endpoints,
    create_security_groups,
    endpoint_policy,
    endpoint_spec,
    network_facts,
    planned_rules,
)
from .packaging import CA_BUNDLES, CUSTOM_CA_BUNDLE, FunctionPackage, build_function_package
from .reachability import PathVerdict, assess, blocked
from .validation import ArgumentError, checked_subnet_ids, validate_args

TYPE_TOKEN = "vpclambda:index:VpcLambdaWithPrivateServices"

MAX_FUNCTION_NAME = 64


@functools.cache
def _function_package(ca_bundle_file: str | None) -> FunctionPackage:
    # Built once per program (and CA bundle), however many components use it.
    extra = {CUSTOM_CA_BUNDLE: Path(ca_bundle_file)} if ca_bundle_file else None
    return build_function_package(extra_files=extra)


def ca_bundle_in_package(package: FunctionPackage, partition: str, custom: bool) -> str:
    """The package path of the CA bundle the function verifies the database with. Fails at
    preview when the partition's RDS bundle is not shipped and none was given."""
    if custom:
        return CUSTOM_CA_BUNDLE
    bundle = CA_BUNDLES.get(partition)
    if bundle is None or bundle not in package.entries:
        raise ArgumentError([
            f"db_ca_bundle_file: the function runs in partition {partition!r}, whose RDS CA bundle is not in "
            f"the package ({bundle or 'none known'} missing); download that partition's RDS trust store "
            "(see handler/certs/README.md) and either save it there or pass its path as db_ca_bundle_file"
        ])
    return bundle


def default_function_name(name: str) -> str:
    return f"{name}-{pulumi.get_stack()}"[:MAX_FUNCTION_NAME]


def migration_function_name(function_name: str) -> str:
    suffix = "-migrate"
    return function_name[: MAX_FUNCTION_NAME - len(suffix)] + suffix


def refuse_blocked_paths(verdicts: list[PathVerdict]) -> None:
    """Fail at preview, as the article's stages 1 and 2 failed at run time."""
    problems = [
        f"interface_endpoints / nat_egress: {v.path} is unreachable: {v.reason}; add {v.path!r} to "
        "interface_endpoints, or set nat_egress=true if the subnets route to a NAT gateway"
        if v.path != "database"
        else f"db_port: the database is unreachable: {v.reason}"
        for v in blocked(verdicts)
    ]
    if problems:
        raise ArgumentError(problems)


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
    """Name of the schema-migration function (`migrate.handler`)."""

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

    def __init__(
        self,
        name: str,
        args: VpcLambdaWithPrivateServicesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = validate_args(args)
        if function_concurrency_budget(settings) is None:
            raise ArgumentError([
                f"function_reserved_concurrency: no default for db_instance_class {settings.db_instance_class!r} "
                "(its max_connections is not known here); set function_reserved_concurrency explicitly"
            ])
        self.verdicts = assess(network_facts(settings))
        refuse_blocked_paths(self.verdicts)
        super().__init__(TYPE_TOKEN, name, None, opts)
        # Subnets are looked up before any child is registered; IDs that are still Outputs
        # are checked once known, and everything placed in the subnets waits for the check.
        subnet_ids = checked_subnet_ids(settings.private_subnet_ids, self)
        settings = dataclasses.replace(settings, private_subnet_ids=subnet_ids)
        self.settings: Settings = settings
        tags = {"component": "VpcLambdaWithPrivateServices", "component-name": name, **settings.tags}
        function_name = settings.function_name or default_function_name(name)
        migration_name = migration_function_name(function_name)
        ctx = aws_context(self)
        partition = ctx.apply(lambda c: c.partition)

        groups = create_security_groups(
            name, settings.vpc_id, planned_rules(settings), settings.db_port, tags, self
        )
        role = create_execution_role(name, tags, self)
        key = create_key(
            name,
            ctx,
            role.arn,
            [log_group_name(function_name), log_group_name(migration_name)],
            f"alias/{function_name}",
            tags,
            self,
        )
        database = create_database(
            name, settings, settings.private_subnet_ids, groups.id("rds-sg"), key.arn, partition, tags, self
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
        # Each endpoint lets through only what the function does with it, and only for its role.
        endpoint_policies = {
            "sns": pulumi.Output.all(topic.arn, role.arn).apply(
                lambda v: endpoint_policy("sns:Publish", v[0], v[1])),
            "secretsmanager": pulumi.Output.all(database.secret_arn, role.arn).apply(
                lambda v: endpoint_policy("secretsmanager:GetSecretValue", v[0], v[1])),
        }
        endpoints = create_interface_endpoints(
            name,
            settings.vpc_id,
            settings.private_subnet_ids,
            groups.id("endpoint-sg"),
            [endpoint_spec(service) for service in settings.interface_endpoints],
            endpoint_policies,
            tags,
            self,
        )
        package = _function_package(settings.db_ca_bundle_file)
        environment: dict[str, pulumi.Input[str]] = {
            "DB_HOST": database.instance.address,
            "DB_PORT": database.instance.port.apply(str),
            "DB_NAME": settings.db_name,
            "DB_SECRET_ARN": database.secret_arn,
            "DB_CONNECT_TIMEOUT": str(settings.db_connect_timeout_seconds),
            # Always explicit: the bundle of the partition, or the one given as an argument.
            "DB_CA_BUNDLE": partition.apply(
                lambda p: ca_bundle_in_package(package, p, custom=settings.db_ca_bundle_file is not None)),
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
        job = vpc_function(f"{name}-function", function_name, JOB_HANDLER,
                           reserved_concurrency=function_concurrency_budget(settings))
        migration = vpc_function(f"{name}-migration", migration_name, MIGRATION_HANDLER, reserved_concurrency=None)
        # The migrations are applied inside the VPC during `pulumi up`, once the database, the
        # network path and the Secrets Manager endpoint exist; a changed or added file runs them again.
        schema_migration = aws.lambda_.Invocation(
            f"{name}-schema-migration",
            function_name=migration.function.name,
            input=json.dumps({"migrations_sha256": package.migrations_sha256}),
            triggers={"migrations_sha256": package.migrations_sha256, "db_instance": database.instance.id},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[database.instance, *groups.rules, *endpoints.values()]
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
        self.log_group_name = job.log_group.name
        self.migration_function_name = migration.function.name
        self.schema_migration_result = schema_migration.result
        self.security_group_ids = ids_by_key({key: group.id for key, group in groups.groups.items()})
        self.endpoint_ids = ids_by_key({service: endpoint.id for service, endpoint in endpoints.items()})
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[Any]]:
        """The outputs users need, as registered and as exported by the stack program."""
        return {name: getattr(self, name) for name in output_names()}
