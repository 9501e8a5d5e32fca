"""The component's arguments: one typed place, every field documented with its default.

`VpcLambdaWithPrivateServicesArgs` is what users pass (a TypedDict, so the plugin's schema is
inferred from it). `settings.Settings` is the same thing with every default filled in, which
is what the rest of the component reads.
"""


from collections.abc import Mapping, Sequence
from typing import Required, TypedDict

import pulumi

from .child_roles import ChildTransform
from .endpoint_set import SharedEndpoints
from .settings import REQUIRED_ARGS, Settings

__all__ = ["REQUIRED_ARGS", "ChildTransform", "ExistingDatabase", "FunctionPermission", "QueueTrigger", "Settings",
           "VpcLambdaWithPrivateServicesArgs"]


class QueueTrigger(TypedDict, total=False):
    """An SQS queue whose messages run the job, in batches (`queue`): a queue the component makes, or
    an existing one (`queue_arn`). A record the job fails comes back alone; the others are deleted."""

    queue_arn: str
    """ARN of an existing queue in the function's region to consume instead of making one (its visibility
    timeout must be at least the function's timeout). Default: none (the component makes a queue, encrypted
    with its key, with its own dead-letter queue)."""

    kms_key_arn: str
    """The key an existing queue (`queue_arn`) is encrypted with, when it is a customer-managed key: the
    job's role may decrypt with it through SQS. Default: none."""

    batch_size: int
    """Records per invocation at most (1-10,000; 10 for a FIFO queue; above 10 needs a batching window).
    Default: `10`."""

    maximum_batching_window_seconds: int
    """How long Lambda gathers records before it invokes the job with fewer than `batch_size` (0-300).
    Default: `0`."""

    maximum_concurrency: int
    """Concurrent invocations the queue may cause at most (2-1000), so a backlog cannot exhaust the
    database's connections. Default: none (the job's reserved concurrency, if any, caps them)."""

    max_receive_count: int
    """Receives of a message before the queue the component makes moves it to its dead-letter queue
    (1-1000). Default: `5`."""


class ExistingDatabase(TypedDict):
    """An RDS MySQL instance the user has (`existing_database`): no instance, subnet group or parameter
    group is created; lambda-sg gets its egress rule, and the instance's security group the ingress rule
    from lambda-sg."""

    address: str
    """The instance's host name, without the port (its `Endpoint.Address`). Required."""

    port: int
    """The port it listens on (RDS MySQL: 1150-65535). Required."""

    security_group_id: str
    """A security group of the instance, in `vpc_id`: the component adds the ingress rule from lambda-sg to
    it. Required."""

    secret_arn: str
    """A Secrets Manager secret holding `username` and `password` for the functions (the RDS-managed master
    secret, or another user's). Required."""

    resource_id: str
    """The instance's resource ID (`DbiResourceId`, `db-...`): the preview finds the instance by it, and the
    alarms watch it. Required."""


class FunctionPermission(TypedDict, total=False):
    """One AWS call the job makes (`function_permissions`)."""

    service: Required[str]
    """The service's IAM prefix (`s3`, `dynamodb`, `sqs`, ...). Required."""

    actions: Required[Sequence[str]]
    """The actions, each `<service>:<Action>` (`s3:GetObject`). Required."""

    resources: Required[Sequence[str]]
    """The ARNs they act on, in the program's partition and region. Required."""

    allow_wildcards: bool
    """Accept `*` and `?` in the actions and resources of this entry. Default: `false`."""


class VpcLambdaWithPrivateServicesArgs(TypedDict, total=False):
    """Arguments of `VpcLambdaWithPrivateServices`. Only `vpc_id` and `private_subnet_ids` are required."""

    vpc_id: Required[pulumi.Input[str]]
    """ID of the VPC holding the private subnets. Required."""

    private_subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Private subnets (two or more, in at least two availability zones) for the function's
    network interfaces, the database and the interface endpoints. Required."""

    db_name: str
    """Name of the database created in the RDS instance. Default: `myDatabase`."""

    db_identifier: str
    """Identifier of the RDS instance, unique in the account and region; its log groups are
    `/aws/rds/instance/<identifier>/<log>`. Default: `<component name>-<stack>`."""

    db_username: str
    """Master user of the RDS instance; its password is generated and kept by RDS in
    Secrets Manager. Default: `dbuser`."""

    db_app_user: str
    """The application user the job logs in as, with an IAM token (no password exists): created
    and kept by the migration (`AWSAuthenticationPlugin`, TLS required), with `db_app_grants` on
    `db_name` only. Default: `app`."""

    db_app_grants: Sequence[str]
    """What the application user may do on `db_name`, nothing else (the migration grants these and
    revokes any other): `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `EXECUTE`, `SHOW VIEW`, `LOCK
    TABLES`, `CREATE TEMPORARY TABLES`; no DDL, no GRANT. Default: `["SELECT", "INSERT", "UPDATE",
    "DELETE", "EXECUTE"]`."""

    db_engine_version: str
    """RDS MySQL engine version (major or major.minor). Default: `8.4`."""

    db_instance_class: str
    """RDS instance class. Default: `db.t4g.micro`."""

    db_allocated_storage_gb: int
    """Allocated storage in GiB (gp3). Default: `20`."""

    db_port: int
    """TCP port the database listens on (RDS MySQL: 1150-65535); the security-group rules follow
    it. Default: `3306`."""

    db_ca_bundle_file: str
    """A PEM file of CA certificates to verify the database with, shipped in the package in place
    of the partition's RDS bundle (`vpclambda_runtime/certs/`: the commercial and the AWS China global
    bundles). Default: the shipped bundle of the partition."""

    db_connect_timeout_seconds: int
    """How long the function waits to connect to the database before failing. Default: `5`."""

    db_deletion_protection: bool
    """Refuse to delete the database (a destroy fails until this is turned off). Default: `true`."""

    db_final_snapshot: bool
    """Take a final snapshot when the database is deleted. Default: `true`."""

    db_multi_az: bool
    """Run a standby in a second availability zone. Default: `true`."""

    db_backup_retention_days: int
    """Days automated backups are kept (1-35). Default: `7`."""

    db_monitoring_interval_seconds: int
    """Enhanced-monitoring interval (0 turns it off; 1, 5, 10, 15, 30 or 60). Default: `60`."""

    db_slow_query_seconds: float
    """Statements slower than this many seconds go to the slow query log (`long_query_time`),
    which is exported to CloudWatch Logs. Default: `1`."""

    db_apply_immediately: bool
    """Apply database changes (instance class, Multi-AZ, backups, monitoring, ...) during
    `pulumi up` instead of in the next maintenance window. Default: `false`."""

    db_proxy: bool
    """Put an RDS Proxy in front of the database: the job connects to it (TLS required, IAM
    authentication from the job and from the proxy to the database), in its own security group;
    the migration keeps a direct path of its own. docs/costs.md says when it pays off.
    Default: `false`."""

    topic_name: str
    """Name of the SNS topic. Default: a name generated from the component's name."""

    existing_topic_arn: str
    """Publish to this topic (in the program's region) instead of one of the component's: no topic is
    created, the role and the endpoint policy name it. Default: none."""

    existing_topic_kms_key_arn: str
    """The customer-managed key the existing topic is encrypted with: the job's role may use it
    through SNS. Default: none."""

    existing_kms_key_arn: str
    """Encrypt with this key instead of a key of the component's; its policy must hold the statements
    of docs/existing-resources.md. Default: none (the component creates a key)."""

    existing_database: ExistingDatabase
    """Use this RDS MySQL instance instead of creating one (`{address, port, security_group_id,
    secret_arn, resource_id}`); the `db_*` arguments of a created instance are then refused, `db_name`
    names the database in it. Default: none."""

    function_name: str
    """Name of the Lambda function (its log group is `/aws/lambda/<name>`).
    Default: `<component name>-<stack>`."""

    function_memory_mb: int
    """Memory of the function in MB. Default: `256`."""

    function_timeout_seconds: int
    """Function timeout in seconds; must stay well above `db_connect_timeout_seconds`. Default: `30`."""

    function_runtime: str
    """Lambda runtime. Default: `python3.12`."""

    function_architecture: str
    """Instruction set of the function (`arm64` or `x86_64`). What decides it: the price (arm64, Graviton,
    costs about 20 % less per GB-second than x86_64) and the wheels of `function_requirements` (binary ones
    must exist for it: a requirement without a manylinux wheel for the architecture is refused at preview;
    pure-Python ones run on both).
    Default: `arm64`."""

    function_reserved_concurrency: int
    """Concurrent executions reserved for the job, which also caps them, so a burst cannot exhaust
    the database's `max_connections` (each execution holds one connection). Lambda refuses a
    reservation that leaves the account under 100 unreserved executions (a new account's limit
    may be 10): the account's concurrency quota must be at least the reservation plus 100.
    Default: none (no reservation)."""

    function_reserved_concurrency_auto: bool
    """Reserve the job's concurrency from the database's connection budget: half the instance
    class's `max_connections`, less one for the migration (31 for db.t4g.micro); with `db_proxy`,
    the proxy's pool, the same half (32). Needs the same account quota as
    `function_reserved_concurrency`, which it replaces. Default: `false` (the prod stack sets
    `true`)."""

    function_tracing: bool
    """X-Ray active tracing (the execution role then gets the X-Ray write policy). Not available for
    Lambda in AWS China, where setting it to true is refused. Default: on (`true`), except in AWS China
    (`aws-cn`): off."""

    function_source: str
    """Directory of the function's Python code (yours): shipped at the package's root beside the
    runtime library `vpclambda_runtime` (database connection, streaming queries, `notify`, logging),
    without hidden files, caches, a `tests` directory or a `migrations` directory. Relative paths
    are read from the program's directory. Default: the built-in employees report (`handler/`)."""

    function_handler: str
    """The job's entry point, `module.function` (checked to be defined in `function_source` at
    preview). Default: `app.handler`."""

    function_requirements: Sequence[str]
    """Requirement lines for the function's own dependencies, or `-r <requirements file>`; installed
    for the function's runtime and architecture (pure-Python or manylinux wheels only: a
    requirement without one is refused at preview) and cached by their lines. Pin versions.
    Default: none (the runtime library's PyMySQL is always there; Lambda provides boto3)."""

    function_environment: Mapping[str, str]
    """Extra environment variables of the job and the migration function (the component's own
    `DB_*` and `TOPIC_ARN` are refused; with them, at most Lambda's 4 KB). Default: none."""

    function_permissions: Sequence[FunctionPermission]
    """AWS calls the job makes beyond the component's own, each `{service, actions, resources}`: a
    statement of the job's role, and an endpoint (a gateway one for S3 and DynamoDB) whose policy lets
    exactly those calls through. Checked at preview against AWS's services and actions; wildcards
    only with `allow_wildcards`. Default: none."""

    schedule: str
    """Run the job on a schedule: `rate(1 hour)`, `rate(15 minutes)` or a six-field `cron(0 6 * * ? *)`
    (UTC), through an EventBridge rule whose undeliverable events go to the dead-letter queue.
    Default: none (the dev stack sets `rate(1 hour)`)."""

    queue: QueueTrigger
    """Run the job for the messages of an SQS queue (`{}`: a queue the component makes), in batches;
    a failed record comes back alone (partial batch responses). Lambda polls the queue itself: no SQS
    endpoint. Default: none."""

    migrations_source: str
    """Directory of the schema migrations (`<version>_<description>.sql`) the migration function
    applies during `pulumi up`; a changed or added file runs it again. Default: the built-in
    schema (`handler/migrations`: the `employees` table)."""

    log_retention_days: int
    """Retention of the function's and the database's log groups, in days. Default: `30`."""

    vpc_flow_logs: bool
    """Record all of the VPC's traffic (flow logs) to a log group encrypted with the component's
    key, kept 365 days; for a VPC without flow logs of its own (the program turns it on for the
    VPC it creates). Default: `false`."""

    interface_endpoints: Sequence[str]
    """AWS services to create interface endpoints (with private DNS) for; without NAT egress every
    API the function calls needs one. Default: the APIs the function calls, `sns` and `secretsmanager`,
    and the services of `function_permissions` (S3 and DynamoDB through gateway endpoints instead)."""

    gateway_route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Route tables of the private subnets, for the gateway endpoints of `function_permissions` (S3,
    DynamoDB). Default: looked up at preview (the subnets' route tables, or the VPC's main one); given
    subnets made in the same program need them given."""

    nat_egress: bool
    """Whether the private subnets route to a NAT gateway. When true and an API the function
    calls has no endpoint, lambda-sg gets the one CIDR rule: TCP 443 to 0.0.0.0/0. Default: `false`."""

    alarms: bool
    """CloudWatch alarms on the function (errors, throttles, duration), the dead-letter queue, the
    database (CPU, free storage, connections, freeable memory) and the proxy (client and database
    connections), notifying the alarm topic; the runbook (docs/operations.md) says what each means.
    Default: `true`."""

    alarm_email: str
    """An email address subscribed to the alarm topic (AWS sends it a confirmation first).
    Default: none."""

    alarm_actions: Sequence[str]
    """ARNs of existing SNS topics the alarms notify instead of a topic of their own. Default: none
    (the component creates the alarm topic)."""

    alarm_thresholds: Mapping[str, float]
    """Thresholds by alarm, replacing the defaults: `function-errors` (1 failed invocation in 5
    minutes), `function-throttles` (1), `function-duration` (80 % of the timeout, p99),
    `dead-letter-queue` (1 message), `db-cpu` (80 % for 15 minutes), `db-free-storage` (10 % of
    the allocated storage), `db-connections` (80 % of max_connections), `db-freeable-memory`
    (10 % of the class's memory), with `db_proxy` `proxy-client-connections` and
    `proxy-database-connections` (80 % of its pool). Default: none (the defaults above)."""

    endpoints: SharedEndpoints
    """Interface endpoints shared by the services of one VPC (a `PrivateServiceEndpoints`): the
    component then creates none and adds its own two rules to their security group. AWS refuses a
    second endpoint with private DNS for a service in a VPC, so several services in one VPC share
    one set. Default: none (the component creates `interface_endpoints`)."""

    tags: Mapping[str, str]
    """Tags added to every taggable resource. Default: none."""

    transforms: Mapping[str, ChildTransform]
    """Python programs only: a function `transform(args, opts)` by child role (`function`, `database`,
    `topic`, `queue`, `security_group`, ...: docs/resource-transforms.md), called with the child's
    keyword arguments (a dict) and options just before it is created; change them in place or return
    `(args, opts)`. Default: none."""
