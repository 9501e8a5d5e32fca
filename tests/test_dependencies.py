"""What the function calls is written once (`components/model/dependencies.py`); every artifact that
depends on it follows the table: the role's policy, the default endpoints and their policies,
the key policy, the reachability facts, the handler's clients, the local wiring."""

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
    FUNCTION_AWS_APIS,
    FUNCTION_DEPENDENCIES,
    interface_services,
    key_via_services,
)
from components.model.network_rules import network_facts
from components.model.settings import Settings
from components.testing.pulumi_mocks import ProgramRun, run_program
from vpclambda_runtime.contract import SERVICE_NAMES


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}).outputs())


def test_the_roles_policy_is_the_table(run: ProgramRun) -> None:
    resources = {"topic": run.value["topic_arn"], "db-secret": run.value["db_secret_arn"],
                 "dead-letter-queue": run.value["dead_letter_queue_arn"]}
    statements = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]
    present = [d for d in FUNCTION_DEPENDENCIES if d.resource in resources]
    assert [d.sid for d in present] == ["PublishNotification", "ReadDatabaseCredentials", "KeepFailedAsyncEvents"], (
        "without a queue, a user's topic key or a user's key, only the component's own three apply")
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in statements] == [
        (d.sid, d.actions[0], resources[d.resource]) for d in present]


def test_default_endpoints_and_their_policies_are_the_table(run: ProgramRun) -> None:
    assert Settings(vpc_id="", private_subnet_ids=[]).interface_endpoints is None, "worked out from the table"
    assert interface_services(FUNCTION_DEPENDENCIES) == FUNCTION_AWS_APIS == ("sns", "secretsmanager")
    endpoints = {r.inputs["serviceName"].rsplit(".", 1)[1]: r for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == set(FUNCTION_AWS_APIS)
    resources = {"topic": run.value["topic_arn"], "db-secret": run.value["db_secret_arn"]}
    for dependency in CALLED_FROM_THE_VPC:
        endpoint = endpoints[dependency.service]
        assert endpoint.name == f"svc-{dependency.endpoint_label}"
        (statement,) = json.loads(endpoint.inputs["policy"])["Statement"]
        assert (statement["Action"], statement["Resource"], statement["Principal"]) == (
            dependency.actions[0], resources[dependency.resource], {"AWS": run.value["role_arn"]})


def test_the_key_is_usable_through_exactly_the_tables_services(run: ProgramRun) -> None:
    statements = {s["Sid"]: s for s in json.loads(run.one("aws:kms/key:Key").inputs["policy"])["Statement"]}
    via = statements["FunctionRoleThroughTheServicesItCalls"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert [v.split(".")[0] for v in via] == list(key_via_services())
    assert set(key_via_services()) == {d.service for d in FUNCTION_DEPENDENCIES if d.key_via} | {"lambda"}


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


def test_the_handler_calls_what_the_table_says_and_every_dependency_has_a_name_for_messages() -> None:
    assert handler_client_services() == set(FUNCTION_AWS_APIS)
    # Keys are used through SNS and SQS, which the messages name; the runtime never calls KMS.
    assert {d.service for d in FUNCTION_DEPENDENCIES if d.called_by != "service"} <= set(SERVICE_NAMES)


def test_the_local_wiring_points_each_api_at_a_stand_in_the_way_boto3_reads_it() -> None:
    session = botocore.session.get_session()
    assert set(SERVICE_ENDPOINT_VARIABLES) == set(FUNCTION_AWS_APIS)
    for service, variable in SERVICE_ENDPOINT_VARIABLES.items():
        service_id = session.get_service_model(service).service_id
        assert variable == "AWS_ENDPOINT_URL_" + str(service_id).upper().replace(" ", "_")


def test_the_table_says_which_function_needs_each_dependency() -> None:
    """One role serves both functions today; the table keeps the job's needs and the migration's
    apart, so a role per function takes its policy from it."""
    from components.model.dependencies import applicable, permission_dependencies
    from components.model.settings import FunctionPermissionSettings

    by_resource = {d.resource: d.used_by for d in FUNCTION_DEPENDENCIES}
    assert by_resource == {
        "topic": ("job",), "db-secret": ("job", "migration"), "dead-letter-queue": ("job", "migration"),
        "trigger-queue": ("job",), "trigger-queue-key": ("job",), "topic-key": ("job",)}
    declared = permission_dependencies([FunctionPermissionSettings("s3", ("s3:GetObject",), ("arn:aws:s3:::b/k",))])
    assert [d.used_by for d in declared] == [("job",)]
    present = ["topic", "db-secret", "dead-letter-queue", "trigger-queue"]
    assert [d.sid for d in applicable(FUNCTION_DEPENDENCIES + declared, present, "migration")] == [
        "ReadDatabaseCredentials", "KeepFailedAsyncEvents"]
    assert [d.sid for d in applicable(FUNCTION_DEPENDENCIES + declared, present, "job")] == [
        "PublishNotification", "ReadDatabaseCredentials", "KeepFailedAsyncEvents", "ConsumeTheTriggerQueue",
        "FunctionPermission1S3"]
