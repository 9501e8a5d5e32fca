"""Composition: `VpcLambdaWithPrivateServices` wires the network, database (and its proxy), topic,
triggers and function modules together and exposes what users need as outputs, and every child as
a typed attribute. Each function has its own role, from its rows of the dependency table."""


import dataclasses
import functools
import inspect
import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from vpclambda_runtime import contract
from vpclambda_runtime.contract import MIGRATION_HANDLER

from .build.packaging import FunctionPackage, ca_bundle_in_package
from .checks.integrations import Integrations
from .checks.lookups import Place, endpoint_owner
from .checks.preview_checks import Checked, check_everything, checked_subnet_ids
from .model import names
from .model.args import VpcLambdaWithPrivateServicesArgs
from .model.database_sizing import db_log_group_names
from .model.dependencies import (
    FUNCTIONS,
    AwsDependency,
    Principal,
    called_services,
    endpoint_policy,
    gateway_services,
)
from .model.iam import account_endpoint_policy
from .model.log_metrics import log_metrics
from .model.network_rules import PROXY_PORT, function_groups, planned_groups, planned_rules
from .model.settings import Settings
from .model.triggers import schedule_rule_arn, schedule_rule_name
from .resources.alarms import Watched, create_operations
from .resources.children import child, register
from .resources.database import Database, create_database
from .resources.encryption import AwsContext, KeyRef, create_key, existing_key_statements
from .resources.flow_logs import FlowLogSettings, create_flow_logs
from .resources.function import (
    FunctionWiring,
    VpcFunction,
    create_execution_role,
    create_vpc_function,
    grant_execution_role,
)
from .resources.messaging import create_messaging
from .resources.network import (
    SecurityGroups,
    create_gateway_endpoints,
    create_gateway_rules,
    create_interface_endpoints,
    create_security_groups,
)
from .resources.proxy import DatabaseProxy, create_proxy
from .resources.triggers import (
    Schedule,
    TriggerQueue,
    create_event_source_mapping,
    create_queue,
    create_schedule,
)

TYPE_TOKEN = "vpclambda:index:VpcLambdaWithPrivateServices"
COMPONENT = "VpcLambdaWithPrivateServices"


def ids_by_key(ids: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[dict[str, str]]:
    # Output.all() of nothing resolves to a list, not an empty mapping.
    return pulumi.Output.all(**ids) if ids else pulumi.Output.from_input({})


def output_names() -> list[str]:
    """The component's outputs: its `pulumi.Output` annotations, in order."""
    annotations = inspect.get_annotations(VpcLambdaWithPrivateServices)
    return [name for name, hint in annotations.items() if typing.get_origin(hint) is pulumi.Output]


def _endpoint_policy(service: str, dependencies: Sequence[AwsDependency], keys: Sequence[str],
                     principals: Sequence[Principal], values: list[str]) -> str:
    arns, role_arns = values[:len(keys)], values[len(keys):]
    return endpoint_policy(service, dict(zip(keys, arns, strict=True)), dict(zip(principals, role_arns, strict=True)),
                           dependencies)


def _given(database: Any, field: str) -> pulumi.Output[Any]:
    """A field of `existing_database` (checked: the component creates no instance only then)."""
    assert database is not None, "no instance is created only with existing_database"
    return pulumi.Output.from_input(getattr(database, field))


@dataclasses.dataclass(frozen=True)
class Plan:
    """The names and facts the children are built from, worked out once from the checked arguments."""

    name: str
    settings: Settings
    place: Place
    package: FunctionPackage
    integrations: Integrations
    tags: dict[str, str]
    function_name: str
    migration_name: str
    db_identifier: str
    flow_log_group: str | None
    endpoint_services: dict[str, str]
    """Short name -> the endpoint service name looked up for the partition."""
    gateway_services: dict[str, str]
    """S3, DynamoDB -> the gateway endpoint service name looked up for the partition."""

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
            integrations=checked.integrations,
            tags=names.component_tags(COMPONENT, name, settings.tags),
            function_name=function_name,
            migration_name=names.migration_function_name(function_name),
            db_identifier=settings.db_identifier or names.default_db_identifier(name, stack),
            flow_log_group=names.flow_log_group_name(name, stack) if settings.vpc_flow_logs else None,
            endpoint_services={service: str(found.name) for service, found in checked.endpoint_services.items()},
            gateway_services={service: str(found.name)
                              for service, found in checked.integrations.gateway_services.items()},
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
        """The application user at a database (`db-...`) or proxy (`prx-...`), as `rds-db:connect` names it."""
        return contract.db_user_arn(self.place.partition, self.place.region, self.place.account_id, resource_id,
                                    self.settings.db_app_user)

    @property
    def dependencies(self) -> tuple[AwsDependency, ...]:
        return self.integrations.dependencies

    @property
    def creates_database(self) -> bool:
        return self.integrations.existing.database is None

    @property
    def encrypted_log_groups(self) -> list[str]:
        """Every log group the component's key encrypts (its policy names them)."""
        return [names.function_log_group_name(self.function_name), names.function_log_group_name(self.migration_name),
                *(db_log_group_names(self.db_identifier) if self.creates_database else []),
                *([self.flow_log_group] if self.flow_log_group else [])]

    @property
    def schedule_rule_name(self) -> str | None:
        return schedule_rule_name(self.function_name) if self.integrations.schedule else None

    @property
    def schedule_rule_arn(self) -> str | None:
        rule = self.schedule_rule_name
        return (schedule_rule_arn(self.place.partition, self.place.region, self.place.account_id, rule)
                if rule else None)

    @property
    def alarm_topic(self) -> bool:
        return self.settings.alarms and not self.settings.alarm_actions

    def existing_key_statements(self) -> list[dict[str, object]]:
        """The statements a user's key must hold for this component (`existing_kms_key_arn`)."""
        return existing_key_statements(self.context, self.encrypted_log_groups, self.alarm_topic,
                                       self.schedule_rule_arn)


@dataclasses.dataclass(frozen=True)
class Resources:
    """The resources the functions and the proxy act on, by the dependency table's names
    (`model.dependencies.Resource`): the component's, or the user's given in their place."""

    topic: pulumi.Input[str]
    db_secret: pulumi.Input[str]
    dead_letter_queue: pulumi.Input[str]
    db_user: pulumi.Input[str]
    """The application user at what the job connects to (the proxy, or the instance)."""
    instance_db_user: pulumi.Input[str] | None = None
    """The application user at the instance, which the proxy logs in as (with `db_proxy` only)."""
    trigger_queue: pulumi.Input[str] | None = None
    trigger_queue_key: str | None = None
    topic_key: str | None = None
    key: str | None = None

    @property
    def arns(self) -> dict[str, pulumi.Input[str]]:
        """Those that exist, by name."""
        found: dict[str, pulumi.Input[str] | None] = {
            "topic": self.topic, "db-secret": self.db_secret, "dead-letter-queue": self.dead_letter_queue,
            "db-user": self.db_user, "instance-db-user": self.instance_db_user,
            "trigger-queue": self.trigger_queue, "trigger-queue-key": self.trigger_queue_key,
            "topic-key": self.topic_key, "key": self.key,
        }
        return {name: arn for name, arn in found.items() if arn is not None}


@dataclasses.dataclass(frozen=True)
class Children:
    """Every child a program may want to reach, typed (`VpcLambdaWithPrivateServices.function`, ...)."""

    function: aws.lambda_.Function
    migration_function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    migration_role: aws.iam.Role
    database: aws.rds.Instance | None
    db_proxy: aws.rds.Proxy | None
    topic: aws.sns.Topic | None
    key: aws.kms.Key | None
    dead_letter_queue: aws.sqs.Queue
    security_groups: Mapping[str, aws.ec2.SecurityGroup]
    endpoints: Mapping[str, aws.ec2.VpcEndpoint]
    queue: aws.sqs.Queue | None
    queue_dead_letter_queue: aws.sqs.Queue | None
    event_source_mapping: aws.lambda_.EventSourceMapping | None
    schedule: aws.cloudwatch.EventRule | None
    alarms: Mapping[str, aws.cloudwatch.MetricAlarm]
    alarm_topic: aws.sns.Topic | None
    schema_migration: aws.lambda_.Invocation


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
    """ARN of the SNS topic the function publishes to (the existing one, with `existing_topic_arn`)."""

    db_address: pulumi.Output[str]
    """Host name of the RDS instance (without the port)."""

    db_port: pulumi.Output[int]
    """Port of the RDS instance."""

    db_secret_arn: pulumi.Output[str]
    """ARN of the Secrets Manager secret holding the master credentials (RDS-managed for the instance
    the component creates), which the migration alone reads."""

    db_proxy_endpoint: pulumi.Output[str]
    """Host name of the database proxy the job connects to (empty without `db_proxy`)."""

    role_arn: pulumi.Output[str]
    """ARN of the job's execution role (its permissions: the topic, the application user's login, the
    queues, the declared calls)."""

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
    """Endpoint IDs by AWS service (`sns`, `secretsmanager`, and those of `function_permissions`)."""

    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key (the component's, or `existing_kms_key_arn`)."""

    dead_letter_queue_arn: pulumi.Output[str]
    """ARN of the dead-letter queue of asynchronous invocations (and of the schedule's undeliverable
    events)."""

    alarm_topic_arn: pulumi.Output[str]
    """ARN of the topic the alarms notify (empty when `alarm_actions` names other topics or
    `alarms` is off)."""

    dashboard_name: pulumi.Output[str]
    """Name of the service's CloudWatch dashboard, `<function name>-<region>` (dashboards are global to
    the account)."""

    queue_arn: pulumi.Output[str]
    """ARN of the queue that runs the job (empty without `queue`)."""

    queue_url: pulumi.Output[str]
    """URL of the queue the component made, where producers send messages (empty without one)."""

    def __init__(
        self,
        name: str,
        args: VpcLambdaWithPrivateServicesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        checked = check_everything(name, args, opts)  # every problem at once, before anything exists
        self.verdicts = checked.verdicts
        super().__init__(TYPE_TOKEN, name, None, opts)
        register(self, checked.integrations.transforms)
        # Subnets given as Outputs are checked once known; everything placed in them waits.
        subnet_ids = checked_subnet_ids(checked.settings.private_subnet_ids, checked.zone_problems, self)
        self.settings: Settings = dataclasses.replace(checked.settings, private_subnet_ids=subnet_ids)
        plan = Plan.of(name, self.settings, checked)
        existing = plan.integrations.existing
        given = existing.database

        groups = self._security_groups(plan)
        roles = {principal: create_execution_role(name, plan.tags, self, principal) for principal in FUNCTIONS}
        role_arns: dict[Principal, pulumi.Output[str]] = {principal: role.arn for principal, role in roles.items()}
        key = self._key(plan, role_arns)
        if plan.flow_log_group is not None:
            create_flow_logs(name, plan.settings.vpc_id, FlowLogSettings(plan.flow_log_group, kms_key_arn=key.arn),
                             plan.tags, self)
        database = None
        if plan.creates_database:
            database = create_database(name, plan.db_identifier, plan.settings, plan.settings.private_subnet_ids,
                                       groups.id("rds-sg"), key.key or key, plan.place.partition, plan.tags, self)
        messaging = create_messaging(name, plan.settings.topic_name, key.arn, plan.tags, self, existing.topic_arn)
        queue_settings = plan.integrations.queue
        trigger_queue = (create_queue(name, queue_settings, plan.settings.function_timeout_seconds, key.arn,
                                      plan.tags, self) if queue_settings is not None else None)
        # The application user at the instance: the one the component made, or the given one's.
        instance_db_user: pulumi.Output[str] = (database.instance.resource_id if database is not None
                                                else _given(given, "resource_id")).apply(plan.db_user_arn)
        proxy = None
        if database is not None and plan.settings.db_proxy:  # refused with existing_database at preview
            proxy = create_proxy(name, names.proxy_name(plan.db_identifier), plan.settings,
                                 plan.settings.private_subnet_ids, groups.id("proxy-sg"), database.instance,
                                 instance_db_user, plan.tags, self)
        resources = Resources(
            topic=messaging.topic_arn,
            db_secret=database.secret_arn if database is not None else _given(given, "secret_arn"),
            dead_letter_queue=messaging.dead_letter_queue.arn,
            db_user=proxy.resource_id.apply(plan.db_user_arn) if proxy is not None else instance_db_user,
            instance_db_user=instance_db_user if proxy is not None else None,
            trigger_queue=trigger_queue.arn if trigger_queue is not None else None,
            trigger_queue_key=queue_settings.kms_key_arn if queue_settings is not None else None,
            topic_key=existing.topic_key_arn, key=existing.key_arn,
        )
        grants = {principal: grant_execution_role(name, role, plan.place.partition,
                                                  resources.arns,  # type: ignore[arg-type]
                                                  bool(plan.settings.function_tracing), self, plan.dependencies,
                                                  plan.place.region, plan.place.dns_suffix, principal)
                  for principal, role in roles.items()}
        endpoints = self._endpoints(plan, groups, role_arns, resources)
        gateway_rules = create_gateway_rules(
            name, planned_rules(plan.settings, plan.dependencies), groups.ids,
            {service: endpoint.prefix_list_id for service, endpoint in endpoints.items()
             if service in plan.gateway_services}, plan.tags, self)
        groups_of = function_groups(plan.settings)
        job_wiring = FunctionWiring(
            settings=plan.settings, package=plan.package, role=grants["job"],
            environment=self._job_environment(plan, database, proxy, resources),
            subnet_ids=plan.settings.private_subnet_ids,
            security_group_ids=[groups.id(group) for group in groups_of["job"]],
            replacement_security_group_id=groups.id("placeholder-sg"),
            kms_key_arn=key.arn, dead_letter_queue_arn=messaging.dead_letter_queue.arn, tags=plan.tags, parent=self,
        )
        # The migration: its own role and environment (the master secret), its own group with the
        # proxy, and no dead-letter queue (it is invoked synchronously, during deployment).
        migration_wiring = dataclasses.replace(
            job_wiring, role=grants["migration"], environment=self._migration_environment(plan, database, resources),
            security_group_ids=[groups.id(group) for group in groups_of["migration"]], dead_letter_queue_arn=None)
        job = create_vpc_function(f"{name}-function", plan.function_name, plan.settings.function_handler, job_wiring,
                                  reserved_concurrency=checked.reserved_concurrency)
        migration = create_vpc_function(f"{name}-migration", plan.migration_name, MIGRATION_HANDLER, migration_wiring,
                                        child_role="migration_function")
        schema_migration = self._migrate_during_deployment(plan, migration, database, groups,
                                                           [*endpoints.values(), *gateway_rules])
        schedule = None
        if plan.integrations.schedule and plan.schedule_rule_name and plan.schedule_rule_arn:
            schedule = create_schedule(name, plan.schedule_rule_name, plan.schedule_rule_arn,
                                       plan.integrations.schedule, job.function, messaging.dead_letter_queue,
                                       plan.tags, self)
        mapping = None
        if trigger_queue is not None and queue_settings is not None:
            mapping = create_event_source_mapping(name, trigger_queue, queue_settings, job.function,
                                                  grants["job"].grants, plan.tags, self)
        operations = create_operations(
            name, plan.settings,
            Watched(job.function, job.log_group, plan.migration_name, migration.log_group,
                    messaging.dead_letter_queue, database.instance if database is not None else None,
                    plan.db_identifier, plan.place.region, plan.place.partition, plan.place.account_id,
                    trigger_dimensions=self._trigger_dimensions(schedule, trigger_queue),
                    trigger_resources=self._trigger_resources(schedule, trigger_queue),
                    proxy=proxy.proxy if proxy is not None else None),
            plan.function_name, log_metrics(), key.arn, plan.tags, self,
        )
        self._children = Children(
            function=job.function, migration_function=migration.function, log_group=job.log_group,
            role=roles["job"], migration_role=roles["migration"],
            database=database.instance if database is not None else None,
            db_proxy=proxy.proxy if proxy is not None else None, topic=messaging.topic, key=key.key,
            dead_letter_queue=messaging.dead_letter_queue, security_groups=dict(groups.groups),
            endpoints=dict(endpoints), queue=trigger_queue.queue if trigger_queue is not None else None,
            queue_dead_letter_queue=trigger_queue.dead_letter_queue if trigger_queue is not None else None,
            event_source_mapping=mapping, schedule=schedule.rule if schedule is not None else None,
            alarms=dict(operations.alarms), alarm_topic=operations.topic, schema_migration=schema_migration,
        )
        if existing.key_arn:
            pulumi.log.info(f"{name} encrypts with {existing.key_arn}; its key policy must hold: "
                            f"{json.dumps(plan.existing_key_statements())}", resource=self)

        self.function_name = job.function.name
        self.function_arn = job.function.arn
        self.topic_arn = messaging.topic_arn
        self.db_address = database.instance.address if database is not None else _given(given, "address")
        self.db_port = database.instance.port if database is not None else _given(given, "port")
        self.db_secret_arn = pulumi.Output.from_input(resources.db_secret)
        self.db_proxy_endpoint = proxy.proxy.endpoint if proxy is not None else pulumi.Output.from_input("")
        self.role_arn = roles["job"].arn
        self.migration_role_arn = roles["migration"].arn
        self.log_group_name = job.log_group.name
        self.migration_function_name = migration.function.name
        self.schema_migration_result = schema_migration.result
        self.security_group_ids = ids_by_key(dict(groups.ids))
        shared = plan.settings.endpoints
        own_endpoints = {service: endpoint.id for service, endpoint in endpoints.items()}
        self.endpoint_ids = (pulumi.Output.all(pulumi.Output.from_input(shared.endpoint_ids or {}),
                                               ids_by_key(own_endpoints)).apply(lambda both: {**both[0], **both[1]})
                             if shared is not None else ids_by_key(own_endpoints))
        self.kms_key_arn = key.arn
        self.dead_letter_queue_arn = messaging.dead_letter_queue.arn
        self.alarm_topic_arn = operations.topic.arn if operations.topic is not None else pulumi.Output.from_input("")
        self.dashboard_name = operations.dashboard.dashboard_name
        self.queue_arn = trigger_queue.arn if trigger_queue is not None else pulumi.Output.from_input("")
        self.queue_url = (trigger_queue.queue.url if trigger_queue is not None and trigger_queue.queue is not None
                          else pulumi.Output.from_input(""))
        self.register_outputs(self.outputs())

    # ------------------------------------------------------------------ the children, typed

    @property
    def function(self) -> aws.lambda_.Function:
        """The job."""
        return self._children.function

    @property
    def migration_function(self) -> aws.lambda_.Function:
        return self._children.migration_function

    @property
    def log_group(self) -> aws.cloudwatch.LogGroup:
        """The job's log group."""
        return self._children.log_group

    @property
    def role(self) -> aws.iam.Role:
        """The job's execution role."""
        return self._children.role

    @property
    def migration_role(self) -> aws.iam.Role:
        """The migration's execution role."""
        return self._children.migration_role

    @property
    def database(self) -> aws.rds.Instance | None:
        """The RDS instance (None with `existing_database`)."""
        return self._children.database

    @property
    def db_proxy(self) -> aws.rds.Proxy | None:
        """The RDS Proxy (None without `db_proxy`)."""
        return self._children.db_proxy

    @property
    def topic(self) -> aws.sns.Topic | None:
        """The topic (None with `existing_topic_arn`)."""
        return self._children.topic

    @property
    def key(self) -> aws.kms.Key | None:
        """The KMS key (None with `existing_kms_key_arn`)."""
        return self._children.key

    @property
    def dead_letter_queue(self) -> aws.sqs.Queue:
        return self._children.dead_letter_queue

    @property
    def security_groups(self) -> Mapping[str, aws.ec2.SecurityGroup]:
        """The groups the component made, by key: `lambda-sg`, `rds-sg`, `endpoint-sg`, `placeholder-sg`
        (with `db_proxy`, `proxy-sg` and `migration-sg`)."""
        return self._children.security_groups

    @property
    def endpoints(self) -> Mapping[str, aws.ec2.VpcEndpoint]:
        """The endpoints the component made, by service."""
        return self._children.endpoints

    @property
    def queue(self) -> aws.sqs.Queue | None:
        """The trigger queue the component made (None without `queue`, or with `queue_arn`)."""
        return self._children.queue

    @property
    def queue_dead_letter_queue(self) -> aws.sqs.Queue | None:
        return self._children.queue_dead_letter_queue

    @property
    def event_source_mapping(self) -> aws.lambda_.EventSourceMapping | None:
        return self._children.event_source_mapping

    @property
    def schedule(self) -> aws.cloudwatch.EventRule | None:
        """The schedule's rule (None without `schedule`)."""
        return self._children.schedule

    @property
    def alarms(self) -> Mapping[str, aws.cloudwatch.MetricAlarm]:
        """The alarms by key (`function-errors`, ...)."""
        return self._children.alarms

    @property
    def alarm_topic(self) -> aws.sns.Topic | None:
        return self._children.alarm_topic

    @property
    def schema_migration(self) -> aws.lambda_.Invocation:
        return self._children.schema_migration

    # ------------------------------------------------------------------ the steps

    def _security_groups(self, plan: "Plan") -> SecurityGroups:
        """The article's groups and rules; with shared endpoints, their group instead of ours; with an
        existing database, its group instead of rds-sg."""
        shared: dict[str, pulumi.Input[str]] = {}
        if plan.settings.endpoints is not None:
            shared["endpoint-sg"] = plan.settings.endpoints.security_group_id
        given = plan.integrations.existing.database
        if given is not None:
            shared["rds-sg"] = given.security_group_id
        return create_security_groups(
            plan.name, plan.settings.vpc_id, planned_rules(plan.settings, plan.dependencies), plan.settings.db_port,
            plan.tags, self, shared=shared or None, groups_to_create=planned_groups(plan.settings),
        )

    def _key(self, plan: "Plan", role_arns: Mapping[Principal, pulumi.Output[str]]) -> KeyRef:
        if plan.integrations.existing.key_arn:
            return KeyRef.given(plan.integrations.existing.key_arn)
        key = create_key(
            plan.name, plan.context, role_arns, plan.encrypted_log_groups, f"alias/{plan.function_name}", plan.tags,
            self,
            # The final snapshot is encrypted with this key: it must outlive the stack.
            retain_on_delete=plan.settings.db_final_snapshot and plan.creates_database,
            alarm_topic=plan.alarm_topic,
            schedule_rule_arn=plan.schedule_rule_arn,
        )
        return KeyRef(key.arn, key.key_id, key)

    def _endpoints(self, plan: "Plan", groups: SecurityGroups, role_arns: Mapping[Principal, pulumi.Output[str]],
                   resources: "Resources") -> dict[str, aws.ec2.VpcEndpoint]:
        """Endpoints of the APIs the functions call let through only what is done with them, and
        only for the roles of the functions that call them (the dependency table's function
        column); any other endpoint only this account's principals on its resources. S3 and
        DynamoDB, when the job calls them, through gateway endpoints."""
        called = set(called_services(plan.dependencies))
        arns = resources.arns
        keys = list(arns)
        principals = list(role_arns)

        def policy(service: str) -> pulumi.Input[str]:
            if service not in called:
                return account_endpoint_policy(plan.place.account_id)
            return pulumi.Output.all(*arns.values(), *role_arns.values()).apply(
                functools.partial(_endpoint_policy, service, plan.dependencies, keys, principals))

        tags = {**plan.tags, names.OWNER_TAG: endpoint_owner(plan.name)}
        endpoints = create_interface_endpoints(
            plan.name, plan.settings.vpc_id, plan.settings.private_subnet_ids, groups.id("endpoint-sg"),
            plan.endpoint_services, {service: policy(service) for service in plan.endpoint_services}, tags, self,
        )
        if plan.gateway_services:
            route_tables = plan.integrations.route_table_ids
            assert route_tables is not None, "check_integrations finds the route tables or raises"
            endpoints.update(create_gateway_endpoints(
                plan.name, plan.settings.vpc_id, route_tables, plan.gateway_services,
                {service: policy(service) for service in gateway_services(plan.dependencies)}, tags, self))
        return endpoints

    @staticmethod
    def _instance_address(plan: "Plan", database: Database | None) -> tuple[pulumi.Input[str], pulumi.Input[str]]:
        """The instance's host and port: the one the component made, or `existing_database`'s."""
        given = plan.integrations.existing.database
        if database is not None:
            return database.instance.address, database.instance.port.apply(str)
        return (given.address if given else ""), str(given.port if given else "")

    def _job_environment(self, plan: "Plan", database: Database | None, proxy: DatabaseProxy | None,
                         resources: "Resources") -> dict[str, pulumi.Input[str]]:
        """The job logs in as the application user with a token it signs: no secret in sight."""
        host, port = self._instance_address(plan, database)
        return {
            **plan.settings.function_environment,
            contract.DB_HOST: proxy.proxy.endpoint if proxy is not None else host,
            contract.DB_PORT: str(PROXY_PORT) if proxy is not None else port,
            contract.DB_NAME: plan.settings.db_name,
            contract.DB_USER: plan.settings.db_app_user,
            contract.DB_PROXY: "true" if proxy is not None else "false",
            contract.DB_CONNECT_TIMEOUT: str(plan.settings.db_connect_timeout_seconds),
            # Always explicit: the bundle of the partition (the proxy's), or the one given as an argument.
            contract.DB_CA_BUNDLE: plan.job_ca_bundle,
            contract.TOPIC_ARN: resources.topic,
        }

    def _migration_environment(self, plan: "Plan", database: Database | None,
                               resources: "Resources") -> dict[str, pulumi.Input[str]]:
        """The migration logs in to the instance with the master secret (the given one, with
        `existing_database`) and keeps the application user."""
        host, port = self._instance_address(plan, database)
        return {
            **plan.settings.function_environment,
            contract.DB_HOST: host,
            contract.DB_PORT: port,
            contract.DB_NAME: plan.settings.db_name,
            contract.DB_SECRET_ARN: resources.db_secret,
            contract.DB_APP_USER: plan.settings.db_app_user,
            contract.DB_APP_GRANTS: plan.app_grants,
            contract.DB_CONNECT_TIMEOUT: str(plan.settings.db_connect_timeout_seconds),
            contract.DB_CA_BUNDLE: plan.ca_bundle,
        }

    @staticmethod
    def _trigger_dimensions(schedule: Schedule | None,
                            queue: TriggerQueue | None) -> dict[Any, dict[str, pulumi.Input[str]]]:
        dimensions: dict[Any, dict[str, pulumi.Input[str]]] = {}
        if schedule is not None:
            dimensions["schedule"] = {"RuleName": schedule.rule.name}
        if queue is not None:
            dimensions["trigger-queue"] = {"QueueName": queue.name}
            if queue.dead_letter_queue is not None:
                dimensions["trigger-dead-letter-queue"] = {"QueueName": queue.dead_letter_queue.name}
        return dimensions

    @staticmethod
    def _trigger_resources(schedule: Schedule | None, queue: TriggerQueue | None) -> dict[Any, pulumi.Resource]:
        """What each trigger alarm watches, when the component made it (an alarm waits for it)."""
        made: dict[Any, pulumi.Resource | None] = {
            "schedule": schedule.rule if schedule is not None else None,
            "trigger-queue": queue.queue if queue is not None else None,
            "trigger-dead-letter-queue": queue.dead_letter_queue if queue is not None else None,
        }
        return {subject: resource for subject, resource in made.items() if resource is not None}

    def _migrate_during_deployment(self, plan: "Plan", migration: VpcFunction, database: Database | None,
                                   groups: SecurityGroups, network: Sequence[pulumi.Resource]
                                   ) -> aws.lambda_.Invocation:
        """The migrations are applied inside the VPC during `pulumi up`, once the database, the
        network path and the Secrets Manager endpoint exist, and the application user is kept; a
        changed or added file, or a changed user or grant, runs them again."""
        shared = plan.settings.endpoints
        digest = plan.package.migrations_sha256
        given = plan.integrations.existing.database
        instance: pulumi.Input[str] = database.instance.id if database is not None else (
            given.resource_id if given is not None else "")
        app_user = {"db_app_user": plan.settings.db_app_user, "db_app_grants": plan.app_grants}
        return child(
            "schema_migration", aws.lambda_.Invocation,
            f"{plan.name}-schema-migration",
            function_name=migration.function.name,
            input=json.dumps({"migrations_sha256": digest, **app_user}),
            triggers={"migrations_sha256": digest, "db_instance": instance, **app_user},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*([database.instance] if database is not None else []), *groups.rules,
                                         *network,
                                         *([shared.resource] if shared is not None and shared.resource else [])]
            ),
        )

    def outputs(self) -> dict[str, pulumi.Output[Any]]:
        """The outputs users need, as registered and as exported by the stack program."""
        return {name: getattr(self, name) for name in output_names()}
