"""Composition: `VpcLambdaWithPrivateServices` wires the network, database, topic and
function modules together and exposes what users need as outputs."""


import dataclasses
import functools
import inspect
import json
import typing
from typing import Any

import pulumi
import pulumi_aws as aws

from vpclambda_runtime import contract
from vpclambda_runtime.contract import MIGRATION_HANDLER

from .build.packaging import FunctionPackage, ca_bundle_in_package
from .checks.lookups import Place, endpoint_owner
from .checks.preview_checks import Checked, check_everything, checked_subnet_ids
from .model import names
from .model.args import VpcLambdaWithPrivateServicesArgs
from .model.database_sizing import db_log_group_names
from .model.dependencies import (
    BY_SERVICE,
    FUNCTION_AWS_APIS,
    FUNCTIONS,
    Principal,
    Resource,
    callers,
    endpoint_policy,
)
from .model.iam import account_endpoint_policy
from .model.log_metrics import log_metrics
from .model.network_rules import PROXY_PORT, function_groups, planned_groups, planned_rules
from .model.settings import Settings
from .resources.alarms import Watched, create_operations
from .resources.database import Database, create_database
from .resources.encryption import AwsContext, create_key
from .resources.flow_logs import FlowLogSettings, create_flow_logs
from .resources.function import (
    FunctionWiring,
    VpcFunction,
    create_execution_role,
    create_vpc_function,
    grant_execution_role,
)
from .resources.messaging import create_messaging
from .resources.network import SecurityGroups, create_interface_endpoints, create_security_groups
from .resources.proxy import DatabaseProxy, create_proxy

TYPE_TOKEN = "vpclambda:index:VpcLambdaWithPrivateServices"
COMPONENT = "VpcLambdaWithPrivateServices"


def ids_by_key(ids: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    # Output.all() of nothing resolves to a list, not an empty mapping.
    return pulumi.Output.all(**ids) if ids else pulumi.Output.from_input({})


def output_names() -> list[str]:
    """The component's outputs: its `pulumi.Output` annotations, in order."""
    annotations = inspect.get_annotations(VpcLambdaWithPrivateServices)
    return [name for name, hint in annotations.items() if typing.get_origin(hint) is pulumi.Output]


def _endpoint_policy(service: str, arns: list[str]) -> str:
    resource_arn, *role_arns = arns
    return endpoint_policy(service, resource_arn, role_arns)


@dataclasses.dataclass(frozen=True)
class Plan:
    """The names and facts the children are built from, worked out once from the checked arguments."""

    name: str
    settings: Settings
    place: Place
    package: FunctionPackage
    tags: dict[str, str]
    function_name: str
    migration_name: str
    db_identifier: str
    flow_log_group: str | None
    endpoint_services: dict[str, str]
    """Short name -> the endpoint service name looked up for the partition."""

    @classmethod
    def of(cls, name: str, settings: Settings, checked: Checked) -> "Plan":
        assert checked.package is not None, "check_everything builds the package or raises"
        stack = pulumi.get_stack()
        function_name = settings.function_name or names.default_function_name(name, stack)
        return cls(
            name=name,
            settings=settings,
            place=checked.place,
            package=checked.package,
            tags=names.component_tags(COMPONENT, name, settings.tags),
            function_name=function_name,
            migration_name=names.migration_function_name(function_name),
            db_identifier=settings.db_identifier or names.default_db_identifier(name, stack),
            flow_log_group=names.flow_log_group_name(name, stack) if settings.vpc_flow_logs else None,
            endpoint_services={service: str(found.name) for service, found in checked.endpoint_services.items()},
        )

    @property
    def context(self) -> AwsContext:
        return AwsContext(self.place.partition, self.place.region, self.place.dns_suffix, self.place.account_id)

    @property
    def ca_bundle(self) -> str:
        return ca_bundle_in_package(self.package, self.place.partition,
                                    custom=self.settings.db_ca_bundle_file is not None)

    @property
    def job_ca_bundle(self) -> str:
        """What the job verifies what it connects to with: the proxy's trust store with `db_proxy`."""
        return ca_bundle_in_package(self.package, self.place.partition,
                                    custom=self.settings.db_ca_bundle_file is not None, proxy=self.settings.db_proxy)

    @property
    def app_grants(self) -> str:
        """`DB_APP_GRANTS`: the privileges, upper case, comma-separated."""
        return ",".join(contract.parse_grants(",".join(self.settings.db_app_grants)))

    def db_user_arn(self, resource_id: str) -> str:
        """The application user at a database or proxy, as `rds-db:connect` names it."""
        return contract.db_user_arn(self.place.partition, self.place.region, self.place.account_id, resource_id,
                                    self.settings.db_app_user)

    @property
    def encrypted_log_groups(self) -> list[str]:
        """Every log group the component's key encrypts (its policy names them)."""
        return [names.function_log_group_name(self.function_name), names.function_log_group_name(self.migration_name),
                *db_log_group_names(self.db_identifier), *([self.flow_log_group] if self.flow_log_group else [])]


@dataclasses.dataclass(frozen=True)
class Resources:
    """The component's resources the functions and the proxy act on, by the dependency table's
    names (`model.dependencies.Resource`)."""

    topic: pulumi.Output[str]
    db_secret: pulumi.Output[str]
    dead_letter_queue: pulumi.Output[str]
    db_user: pulumi.Output[str]
    """The application user at what the job connects to (the proxy, or the instance)."""
    instance_db_user: pulumi.Output[str]
    """The application user at the instance."""

    @property
    def arns(self) -> dict[Resource, pulumi.Output[str]]:
        return {"topic": self.topic, "db-secret": self.db_secret, "dead-letter-queue": self.dead_letter_queue,
                "db-user": self.db_user, "instance-db-user": self.instance_db_user}


class VpcLambdaWithPrivateServices(pulumi.ComponentResource):
    """A Lambda function in private subnets that reads an RDS MySQL database and publishes to
    SNS without a NAT gateway: security groups that reference each other, the database, the
    topic, interface endpoints for every AWS API the function calls, the execution role, the
    log group and the function."""

    function_name: pulumi.Output[str]
    """Name of the Lambda function (the job, `app.handler`), which logs in as `db_app_user`."""

    function_arn: pulumi.Output[str]
    """ARN of the Lambda function."""

    topic_arn: pulumi.Output[str]
    """ARN of the SNS topic the function publishes to."""

    db_address: pulumi.Output[str]
    """Host name of the RDS instance (without the port)."""

    db_port: pulumi.Output[int]
    """Port of the RDS instance."""

    db_secret_arn: pulumi.Output[str]
    """ARN of the RDS-managed Secrets Manager secret holding the master credentials (the migration's only)."""

    db_proxy_endpoint: pulumi.Output[str]
    """Host name of the database proxy the job connects to (empty without `db_proxy`)."""

    role_arn: pulumi.Output[str]
    """ARN of the job's execution role (its permissions: the topic, the application user, the queue)."""

    migration_role_arn: pulumi.Output[str]
    """ARN of the migration's execution role (its permission: the master secret)."""

    log_group_name: pulumi.Output[str]
    """Log group of the function, `/aws/lambda/<function name>`."""

    migration_function_name: pulumi.Output[str]
    """Name of the schema-migration function (`vpclambda_runtime.migrate.handler`)."""

    schema_migration_result: pulumi.Output[str]
    """What the deploy-time schema migration returned (JSON)."""

    security_group_ids: pulumi.Output[dict[str, str]]
    """Security group IDs by role: `lambda-sg`, `rds-sg`, `endpoint-sg`, `placeholder-sg` (with
    `db_proxy`, `proxy-sg` and `migration-sg`)."""

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
    """Name of the service's CloudWatch dashboard, `<function name>-<region>` (dashboards are global to
    the account)."""

    def __init__(
        self,
        name: str,
        args: VpcLambdaWithPrivateServicesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        checked = check_everything(name, args, opts)  # every problem at once, before anything exists
        self.verdicts = checked.verdicts
        super().__init__(TYPE_TOKEN, name, None, opts)
        # Subnets given as Outputs are checked once known; everything placed in them waits.
        subnet_ids = checked_subnet_ids(checked.settings.private_subnet_ids, checked.zone_problems, self)
        self.settings: Settings = dataclasses.replace(checked.settings, private_subnet_ids=subnet_ids)
        plan = Plan.of(name, self.settings, checked)

        groups = self._security_groups(plan)
        roles = {principal: create_execution_role(name, plan.tags, self, principal) for principal in FUNCTIONS}
        role_arns: dict[Principal, pulumi.Output[str]] = {principal: role.arn for principal, role in roles.items()}
        key = self._key(plan, role_arns)
        if plan.flow_log_group is not None:
            create_flow_logs(name, plan.settings.vpc_id, FlowLogSettings(plan.flow_log_group, kms_key_arn=key.arn),
                             plan.tags, self)
        database = create_database(name, plan.db_identifier, plan.settings, plan.settings.private_subnet_ids,
                                   groups.id("rds-sg"), key, plan.place.partition, plan.tags, self)
        messaging = create_messaging(name, plan.settings.topic_name, key.arn, plan.tags, self)
        instance_db_user = database.instance.resource_id.apply(plan.db_user_arn)
        proxy = None
        if plan.settings.db_proxy:
            proxy = create_proxy(name, names.proxy_name(plan.db_identifier), plan.settings,
                                 plan.settings.private_subnet_ids, groups.id("proxy-sg"), database.instance,
                                 instance_db_user, plan.tags, self)
        resources = Resources(topic=messaging.topic.arn, db_secret=database.secret_arn,
                              dead_letter_queue=messaging.dead_letter_queue.arn,
                              db_user=proxy.resource_id.apply(plan.db_user_arn) if proxy else instance_db_user,
                              instance_db_user=instance_db_user)
        grants = {principal: grant_execution_role(name, role, plan.place.partition, resources.arns,
                                                  bool(plan.settings.function_tracing), self, principal)
                  for principal, role in roles.items()}
        endpoints = self._endpoints(plan, groups, role_arns, resources)
        groups_of = function_groups(plan.settings)
        job_wiring = FunctionWiring(
            settings=plan.settings, package=plan.package, role=grants["job"],
            environment=self._job_environment(plan, database, proxy, resources),
            subnet_ids=plan.settings.private_subnet_ids,
            security_group_ids=[groups.id(group) for group in groups_of["job"]],
            replacement_security_group_id=groups.id("placeholder-sg"),
            kms_key_arn=key.arn, dead_letter_queue_arn=resources.dead_letter_queue, tags=plan.tags, parent=self,
        )
        migration_wiring = dataclasses.replace(
            job_wiring, role=grants["migration"], environment=self._migration_environment(plan, database, resources),
            security_group_ids=[groups.id(group) for group in groups_of["migration"]], dead_letter_queue_arn=None)
        job = create_vpc_function(f"{name}-function", plan.function_name, plan.settings.function_handler, job_wiring,
                                  reserved_concurrency=checked.reserved_concurrency)
        migration = create_vpc_function(f"{name}-migration", plan.migration_name, MIGRATION_HANDLER, migration_wiring)
        schema_migration = self._migrate_during_deployment(plan, migration, database, groups, endpoints)
        operations = create_operations(
            name, plan.settings,
            Watched(job.function, job.log_group, plan.migration_name, migration.log_group,
                    messaging.dead_letter_queue, database.instance, plan.db_identifier,
                    plan.place.region, plan.place.partition, plan.place.account_id,
                    proxy=proxy.proxy if proxy else None),
            plan.function_name, log_metrics(), key.arn, plan.tags, self,
        )

        self.function_name = job.function.name
        self.function_arn = job.function.arn
        self.topic_arn = messaging.topic.arn
        self.db_address = database.instance.address
        self.db_port = database.instance.port
        self.db_secret_arn = database.secret_arn
        self.db_proxy_endpoint = proxy.proxy.endpoint if proxy else pulumi.Output.from_input("")
        self.role_arn = roles["job"].arn
        self.migration_role_arn = roles["migration"].arn
        self.log_group_name = job.log_group.name
        self.migration_function_name = migration.function.name
        self.schema_migration_result = schema_migration.result
        self.security_group_ids = ids_by_key(dict(groups.ids))
        shared = plan.settings.endpoints
        self.endpoint_ids = (pulumi.Output.from_input(shared.endpoint_ids or {}) if shared is not None
                             else ids_by_key({service: endpoint.id for service, endpoint in endpoints.items()}))
        self.kms_key_arn = key.arn
        self.dead_letter_queue_arn = messaging.dead_letter_queue.arn
        self.alarm_topic_arn = operations.topic.arn if operations.topic is not None else pulumi.Output.from_input("")
        self.dashboard_name = operations.dashboard.dashboard_name
        self.register_outputs(self.outputs())

    def _security_groups(self, plan: "Plan") -> SecurityGroups:
        """The article's groups and rules; with shared endpoints, their group instead of ours."""
        shared = plan.settings.endpoints
        return create_security_groups(
            plan.name, plan.settings.vpc_id, planned_rules(plan.settings), plan.settings.db_port, plan.tags, self,
            shared={"endpoint-sg": shared.security_group_id} if shared is not None else None,
            groups_to_create=planned_groups(plan.settings),
        )

    def _key(self, plan: "Plan", role_arns: dict[Principal, pulumi.Output[str]]) -> aws.kms.Key:
        key = create_key(
            plan.name, plan.context, role_arns, plan.encrypted_log_groups, f"alias/{plan.function_name}", plan.tags,
            self,
            # The final snapshot is encrypted with this key: it must outlive the stack.
            retain_on_delete=plan.settings.db_final_snapshot,
            alarm_topic=plan.settings.alarms and not plan.settings.alarm_actions,
        )
        return key

    def _endpoints(self, plan: "Plan", groups: SecurityGroups, role_arns: dict[Principal, pulumi.Output[str]],
                   resources: "Resources") -> dict[str, aws.ec2.VpcEndpoint]:
        """Endpoints of the APIs the functions call let through only what is done with them, and
        only for the roles of the functions that call them (the dependency table's function
        column); any other endpoint only this account's principals on its resources."""
        policies: dict[str, pulumi.Input[str]] = {}
        for service in plan.endpoint_services:
            if service in FUNCTION_AWS_APIS:
                resource_arn = resources.arns[BY_SERVICE[service].resource]
                policies[service] = pulumi.Output.all(resource_arn, *(role_arns[p] for p in callers(service))).apply(
                    functools.partial(_endpoint_policy, service))
            else:
                policies[service] = account_endpoint_policy(plan.place.account_id)
        return create_interface_endpoints(
            plan.name, plan.settings.vpc_id, plan.settings.private_subnet_ids, groups.id("endpoint-sg"),
            plan.endpoint_services, policies, {**plan.tags, names.OWNER_TAG: endpoint_owner(plan.name)}, self,
        )

    @staticmethod
    def _job_environment(plan: "Plan", database: Database, proxy: DatabaseProxy | None,
                         resources: "Resources") -> dict[str, pulumi.Input[str]]:
        """The job logs in as the application user with a token it signs: no secret in sight."""
        return {
            **plan.settings.function_environment,
            contract.DB_HOST: proxy.proxy.endpoint if proxy else database.instance.address,
            contract.DB_PORT: str(PROXY_PORT) if proxy else database.instance.port.apply(str),
            contract.DB_NAME: plan.settings.db_name,
            contract.DB_USER: plan.settings.db_app_user,
            contract.DB_PROXY: "true" if proxy else "false",
            contract.DB_CONNECT_TIMEOUT: str(plan.settings.db_connect_timeout_seconds),
            # Always explicit: the bundle of the partition (the proxy's), or the one given as an argument.
            contract.DB_CA_BUNDLE: plan.job_ca_bundle,
            contract.TOPIC_ARN: resources.topic,
        }

    @staticmethod
    def _migration_environment(plan: "Plan", database: Database,
                               resources: "Resources") -> dict[str, pulumi.Input[str]]:
        """The migration logs in to the instance as the master user and keeps the application user."""
        return {
            **plan.settings.function_environment,
            contract.DB_HOST: database.instance.address,
            contract.DB_PORT: database.instance.port.apply(str),
            contract.DB_NAME: plan.settings.db_name,
            contract.DB_SECRET_ARN: resources.db_secret,
            contract.DB_APP_USER: plan.settings.db_app_user,
            contract.DB_APP_GRANTS: plan.app_grants,
            contract.DB_CONNECT_TIMEOUT: str(plan.settings.db_connect_timeout_seconds),
            contract.DB_CA_BUNDLE: plan.ca_bundle,
        }

    def _migrate_during_deployment(self, plan: "Plan", migration: VpcFunction, database: Database,
                                   groups: SecurityGroups, endpoints: dict[str, aws.ec2.VpcEndpoint]
                                   ) -> aws.lambda_.Invocation:
        """The migrations are applied inside the VPC during `pulumi up`, once the database, the
        network path and the Secrets Manager endpoint exist, and the application user is kept; a
        changed or added file, or a changed user or grant, runs them again."""
        shared = plan.settings.endpoints
        digest = plan.package.migrations_sha256
        app_user = {"db_app_user": plan.settings.db_app_user, "db_app_grants": plan.app_grants}
        return aws.lambda_.Invocation(
            f"{plan.name}-schema-migration",
            function_name=migration.function.name,
            input=json.dumps({"migrations_sha256": digest, **app_user}),
            triggers={"migrations_sha256": digest, "db_instance": database.instance.id, **app_user},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[database.instance, *groups.rules, *endpoints.values(),
                                         *([shared.resource] if shared is not None and shared.resource else [])]
            ),
        )

    def outputs(self) -> dict[str, pulumi.Output[Any]]:
        """The outputs users need, as registered and as exported by the stack program."""
        return {name: getattr(self, name) for name in output_names()}
