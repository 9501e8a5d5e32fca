"""What the functions call is written once (`components/model/dependencies.py`), with who calls it
(the function column); every artifact that depends on it follows the table: each role's policy,
the default endpoints and their policies, the key policy, the reachability facts, the runtime's
clients, the local wiring."""

from __future__ import annotations

import ast
import json

import botocore.session
import pytest

from components import VpcLambdaWithPrivateServices
from components.build.packaging import HANDLER_DIR, RUNTIME_DIR
from components.checks.reachability import assess
from components.local.wiring import SERVICE_ENDPOINT_VARIABLES
from components.model.dependencies import (
    CALLED_FROM_THE_VPC,
    DEPENDENCIES,
    FUNCTION_AWS_APIS,
    FUNCTIONS,
    RUNTIME_CLIENTS,
    applicable,
    callers,
    dependencies_of,
    interface_services,
    key_via_services,
)
from components.model.network_rules import network_facts
from components.model.settings import Settings
from components.resources.encryption import ROLE_STATEMENT_SIDS
from components.testing.pulumi_mocks import ProgramRun, run_program
from vpclambda_runtime.contract import SERVICE_NAMES


@pytest.fixture(scope="module", params=[False, True], ids=["direct", "db-proxy"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"],
        "db_proxy": request.param}).outputs())


ROLES = {"job": "svc-LambdaExecRole", "migration": "svc-migration-role", "proxy": "svc-db-proxy-role"}


def resources_of(run: ProgramRun) -> dict[str, str]:
    """The resources that exist without a queue, a user's topic key or a user's key."""
    resource_id = run.one("aws:rds/instance:Instance").outputs["resourceId"]
    instance = f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}"
    proxies = run.of_type("aws:rds/proxy:Proxy")
    user_at = (f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{proxies[0].outputs['arn'].rsplit(':', 1)[1]}"
               if proxies else instance)
    return {"topic": run.value["topic_arn"], "db-secret": run.value["db_secret_arn"],
            "dead-letter-queue": run.value["dead_letter_queue_arn"], "db-user": f"{user_at}/app",
            **({"instance-db-user": f"{instance}/app"} if proxies else {})}


def test_each_roles_policy_is_its_rows_of_the_table(run: ProgramRun) -> None:
    resources = resources_of(run)
    roles = {r.name: r for r in run.of_type("aws:iam/role:Role")}
    principals = ("job", "migration", "proxy") if run.of_type("aws:rds/proxy:Proxy") else FUNCTIONS
    for principal in principals:
        role = roles[ROLES[principal]]
        (policy,) = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role.id]
        statements = json.loads(policy.inputs["policy"])["Statement"]
        assert [(s["Sid"], s["Action"], s["Resource"]) for s in statements] == [
            (d.sid, d.actions[0], resources[d.resource]) for d in applicable(DEPENDENCIES, resources, principal)
        ], principal
    assert [d.sid for d in applicable(DEPENDENCIES, resources, "job")] == [
        "PublishNotification", "KeepFailedAsyncEvents", "ConnectAsTheApplicationUser"], (
        "without a queue, a user's topic key or a user's key, only the component's own three apply")
    assert [d.sid for d in applicable(DEPENDENCIES, resources, "migration")] == ["ReadDatabaseCredentials"]
    assert {d.service for d in dependencies_of("job")} == {"sns", "sqs", "kms", "rds"}
    assert {d.service for d in dependencies_of("migration")} == {"secretsmanager"}
    assert {d.service for d in dependencies_of("proxy")} == {"rds"}


def test_default_endpoints_and_their_policies_are_the_table(run: ProgramRun) -> None:
    assert Settings(vpc_id="", private_subnet_ids=[]).interface_endpoints is None, "worked out from the table"
    assert interface_services(DEPENDENCIES) == FUNCTION_AWS_APIS == ("sns", "secretsmanager")
    endpoints = {r.inputs["serviceName"].rsplit(".", 1)[1]: r for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == set(FUNCTION_AWS_APIS)
    resources = resources_of(run)
    role_arns = {"job": run.value["role_arn"], "migration": run.value["migration_role_arn"]}
    for dependency in CALLED_FROM_THE_VPC:
        endpoint = endpoints[dependency.service]
        assert endpoint.name == f"svc-{dependency.endpoint_label}"
        (statement,) = json.loads(endpoint.inputs["policy"])["Statement"]
        (caller,) = callers(dependency.service)
        assert statement == {"Effect": "Allow", "Principal": {"AWS": role_arns[caller]},
                             "Action": dependency.actions[0], "Resource": resources[dependency.resource]}
    assert callers("secretsmanager") == ("migration",) and callers("sns") == ("job",)


def test_the_key_is_usable_by_each_role_through_exactly_its_services(run: ProgramRun) -> None:
    statements = {s["Sid"]: s for s in json.loads(run.one("aws:kms/key:Key").inputs["policy"])["Statement"]}
    role_arns = {"job": run.value["role_arn"], "migration": run.value["migration_role_arn"]}
    for principal in FUNCTIONS:
        statement = statements[ROLE_STATEMENT_SIDS[principal]]
        assert statement["Principal"] == {"AWS": role_arns[principal]}
        via = statement["Condition"]["StringEquals"]["kms:ViaService"]
        assert [v.split(".")[0] for v in via] == list(key_via_services(principal))
        assert set(key_via_services(principal)) == {d.service for d in dependencies_of(principal) if d.key_via} | {
            "lambda"}
    assert set(key_via_services("migration")) == {"secretsmanager", "lambda"}
    assert set(key_via_services("job")) == {"sns", "sqs", "lambda"}
    assert not [s for s in statements.values() if "proxy" in json.dumps(s.get("Principal"))], "no key for the proxy"


def test_reachability_judges_every_api_the_table_says_the_function_calls() -> None:
    verdicts = assess(network_facts(Settings(vpc_id="vpc-1", private_subnet_ids=[], interface_endpoints=())))
    assert [v.path for v in verdicts] == ["database", *FUNCTION_AWS_APIS]
    for dependency, verdict in zip(CALLED_FROM_THE_VPC, verdicts[1:], strict=True):
        assert dependency.purpose in verdict.reason


def handler_client_services() -> set[str]:
    """The services the handler calls (`aws_clients.aws_call("<service>", ...)` or `.client(...)`)."""
    found = set()
    for path in [*HANDLER_DIR.rglob("*.py"), *RUNTIME_DIR.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("client", "aws_call")
                    and node.args and isinstance(node.args[0], ast.Constant) and path.name != "aws_clients.py"):
                found.add(node.args[0].value)
    return found


def test_the_runtime_calls_what_the_table_says_and_every_dependency_has_a_name_for_messages() -> None:
    assert handler_client_services() == set(RUNTIME_CLIENTS) == {*FUNCTION_AWS_APIS, "rds"}
    # Keys are used through SNS and SQS, which the messages name; the runtime never calls KMS.
    assert {d.service for d in DEPENDENCIES if d.called_by != "service"} <= set(SERVICE_NAMES)


def test_the_local_wiring_points_each_api_at_a_stand_in_the_way_boto3_reads_it() -> None:
    session = botocore.session.get_session()
    assert set(SERVICE_ENDPOINT_VARIABLES) == set(FUNCTION_AWS_APIS)
    for service, variable in SERVICE_ENDPOINT_VARIABLES.items():
        service_id = session.get_service_model(service).service_id
        assert variable == "AWS_ENDPOINT_URL_" + str(service_id).upper().replace(" ", "_")


def test_the_table_says_which_role_holds_each_dependency() -> None:
    """One column says whose role holds each row: the job, the migration or the proxy; the calls a
    user declares are the job's; each role's policy takes its rows only."""
    from components.model.dependencies import key_dependency, permission_dependencies
    from components.model.settings import FunctionPermissionSettings

    by_resource = {d.resource: d.principals for d in DEPENDENCIES}
    assert by_resource == {
        "topic": ("job",), "db-secret": ("migration",), "dead-letter-queue": ("job",),
        "trigger-queue": ("job",), "trigger-queue-key": ("job",), "topic-key": ("job",),
        "db-user": ("job",), "instance-db-user": ("proxy",)}
    declared = permission_dependencies([FunctionPermissionSettings("s3", ("s3:GetObject",), ("arn:aws:s3:::b/k",))])
    assert [d.principals for d in declared] == [("job",)]
    keys = (key_dependency("job"), key_dependency("migration"))
    assert [(d.principals, d.via_services) for d in keys] == [
        (("job",), ("sns", "sqs", "lambda")), (("migration",), ("secretsmanager", "lambda"))]
    present = ["topic", "db-secret", "dead-letter-queue", "trigger-queue", "db-user", "key"]
    table = DEPENDENCIES + keys + declared
    assert [d.sid for d in applicable(table, present, "migration")] == [
        "ReadDatabaseCredentials", "UseTheKeyThroughItsServices"]
    assert [d.sid for d in applicable(table, present, "job")] == [
        "PublishNotification", "KeepFailedAsyncEvents", "ConsumeTheTriggerQueue", "ConnectAsTheApplicationUser",
        "UseTheKeyThroughItsServices", "FunctionPermission1S3"]
    assert applicable(table, present, "proxy") == (), "the proxy's row applies only with the proxy"
