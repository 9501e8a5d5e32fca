"""Composition: `VpcLambdaWithPrivateServices` wires the network, database, topic and
function modules together and exposes what users need as outputs."""

from __future__ import annotations

import functools
from typing import Any

import pulumi
import pulumi_aws as aws

from .args import Settings, VpcLambdaWithPrivateServicesArgs, resolve_settings
from .database import create_database
from .function import create_function
from .messaging import create_topic
from .network import FUNCTION_AWS_APIS, create_interface_endpoints, create_security_groups
from .packaging import FunctionPackage, build_function_package

TYPE_TOKEN = "vpclambda:index:VpcLambdaWithPrivateServices"
MAX_FUNCTION_NAME = 64


@functools.cache
def _function_package() -> FunctionPackage:
    # Built once per program, however many components use it.
    return build_function_package()


def default_function_name(name: str) -> str:
    return f"{name}-{pulumi.get_stack()}"[:MAX_FUNCTION_NAME]


class VpcLambdaWithPrivateServices(pulumi.ComponentResource):
    """A Lambda function in private subnets that reads an RDS MySQL database and publishes to
    SNS without a NAT gateway: security groups that reference each other, the database, the
    topic, interface endpoints for every AWS API the function calls, the execution role, the
    log group and the function."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    db_address: pulumi.Output[str]
    db_port: pulumi.Output[int]
    db_secret_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    security_group_ids: pulumi.Output[dict[str, str]]
    endpoint_ids: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        args: VpcLambdaWithPrivateServicesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = resolve_settings(args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.settings: Settings = settings
        tags = {"component": "VpcLambdaWithPrivateServices", "component-name": name, **settings.tags}
        function_name = settings.function_name or default_function_name(name)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        groups = create_security_groups(name, settings.vpc_id, settings.db_port, tags, self)
        database = create_database(
            name, settings, settings.private_subnet_ids, groups.id("rds-sg"), tags, self
        )
        topic = create_topic(name, settings.topic_name, tags, self)
        endpoints = create_interface_endpoints(
            name,
            settings.vpc_id,
            settings.private_subnet_ids,
            groups.id("endpoint-sg"),
            FUNCTION_AWS_APIS,
            tags,
            self,
        )
        environment: dict[str, pulumi.Input[str]] = {
            "DB_HOST": database.instance.address,
            "DB_PORT": database.instance.port.apply(str),
            "DB_NAME": settings.db_name,
            "DB_SECRET_ARN": database.secret_arn,
            "DB_CONNECT_TIMEOUT": str(settings.db_connect_timeout_seconds),
            "TOPIC_ARN": topic.arn,
        }
        fn = create_function(
            name,
            settings,
            function_name=function_name,
            package=_function_package(),
            partition=partition,
            environment=environment,
            topic_arn=topic.arn,
            secret_arn=database.secret_arn,
            subnet_ids=settings.private_subnet_ids,
            security_group_id=groups.id("lambda-sg"),
            replacement_security_group_id=groups.id("placeholder-sg"),
            tags=tags,
            parent=self,
        )

        self.function_name = fn.function.name
        self.function_arn = fn.function.arn
        self.topic_arn = topic.arn
        self.db_address = database.instance.address
        self.db_port = database.instance.port
        self.db_secret_arn = database.secret_arn
        self.role_arn = fn.role.arn
        self.log_group_name = fn.log_group.name
        self.security_group_ids = pulumi.Output.from_input(
            {key: group.id for key, group in groups.groups.items()}
        )
        self.endpoint_ids = pulumi.Output.from_input(
            {service: endpoint.id for service, endpoint in endpoints.items()}
        )
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[Any]]:
        """The outputs users need, as registered and as exported by the stack program."""
        return {
            "function_name": self.function_name,
            "function_arn": self.function_arn,
            "topic_arn": self.topic_arn,
            "db_address": self.db_address,
            "db_port": self.db_port,
            "db_secret_arn": self.db_secret_arn,
            "role_arn": self.role_arn,
            "log_group_name": self.log_group_name,
            "security_group_ids": self.security_group_ids,
            "endpoint_ids": self.endpoint_ids,
        }
