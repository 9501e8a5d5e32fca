"""What `pulumi destroy` and a second `pulumi up` do: a final snapshot that stays restorable,
database log groups the stack owns, changes applied when asked, and nothing left behind by dev.
Resource options are read from what the engine receives with each registration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.local.stack_model import evaluate_stack
from components.model.database_sizing import (
    ENHANCED_MONITORING_LOG_GROUP,
    db_log_group_names,
    final_snapshot_identifier,
)
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import ProgramRun, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

KEY = "aws:kms/key:Key"
INSTANCE = "aws:rds/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROOT = Path(__file__).resolve().parent.parent
GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return evaluate_stack("prod").run


@pytest.fixture(scope="module")
def dev() -> ProgramRun:
    return evaluate_stack("dev").run


def build(stack: str = "dev", **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **extra}).outputs(),  # type: ignore[misc]
                       stack=stack)


def test_prod_keeps_the_key_that_encrypts_its_final_snapshot(prod: ProgramRun) -> None:
    key = prod.one(KEY)
    db = prod.one(INSTANCE).inputs
    assert db["skipFinalSnapshot"] is False and db["storageEncrypted"] is True
    assert db["kmsKeyId"] == key.outputs["arn"], "the snapshot is encrypted with the component's key"
    assert key.options.retain_on_delete is True, "destroy must leave the key, or the snapshot dies with it"
    assert prod.one("aws:kms/alias:Alias").options.retain_on_delete is False, "the alias name is freed"
    retained = sorted(r.name for r in prod.resources if r.options.retain_on_delete)
    assert retained == [key.name], "only the key stays behind"


def test_dev_leaves_nothing_behind(dev: ProgramRun) -> None:
    assert dev.one(INSTANCE).inputs["skipFinalSnapshot"] is True
    assert [r.name for r in dev.resources if r.options.retain_on_delete or r.options.protect] == []


def test_final_snapshot_identifier_differs_for_each_incarnation_of_a_stack() -> None:
    first, second = build(stack="prod"), build(stack="prod")
    ids = [run.one(INSTANCE).inputs["finalSnapshotIdentifier"] for run in (first, second)]
    keys = [run.one(KEY).outputs["keyId"] for run in (first, second)]
    assert keys[0] != keys[1]
    assert ids[0] != ids[1], "destroying a re-created stack of the same name must not collide"
    assert all(i.startswith("svc-prod-final-") for i in ids)
    assert final_snapshot_identifier("svc-prod", "1234abcd-12ab-34cd-56ef-1234567890ab") == "svc-prod-final-1234abcd"


def test_one_encrypted_log_group_with_a_retention_for_every_database_log_export(prod: ProgramRun) -> None:
    db = prod.one(INSTANCE)
    identifier = db.inputs["identifier"]
    assert identifier == "lambda-prod-prod"
    exports = db.inputs["enabledCloudwatchLogsExports"]
    assert exports == ["error", "slowquery"]
    groups = {g.inputs["name"]: g for g in prod.of_type(LOG_GROUP)}
    key_arn = prod.one(KEY).outputs["arn"]
    for export in exports:
        group = groups[f"/aws/rds/instance/{identifier}/{export}"]
        assert group.inputs["kmsKeyId"] == key_arn
        assert group.inputs["retentionInDays"] == 30
        assert group.name in db.depends_on, "created before the instance, or RDS creates it itself"
    assert db_log_group_names(identifier) == [f"/aws/rds/instance/{identifier}/{e}" for e in exports]


def test_dev_database_logs_follow_its_log_retention(dev: ProgramRun) -> None:
    identifier = dev.one(INSTANCE).inputs["identifier"]
    for name in db_log_group_names(identifier):
        (group,) = [g for g in dev.of_type(LOG_GROUP) if g.inputs["name"] == name]
        assert group.inputs["retentionInDays"] == 7


def parameter_values(run: ProgramRun) -> dict[str, str]:
    return {p["name"]: p["value"] for p in run.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]}


def test_slow_query_log_is_on_with_the_given_threshold() -> None:
    run = build(db_slow_query_seconds=0.25)
    parameters = {p["name"]: p for p in run.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]}
    assert parameters["slow_query_log"]["value"] == "1"
    assert parameters["long_query_time"]["value"] == "0.25"
    assert {p["applyMethod"] for p in parameters.values()} == {"immediate"}


NEEDED_FOR_EXPORT = {
    "error": {},
    "slowquery": {"slow_query_log": "1", "log_output": "FILE"},
}
"""RDS User Guide, publishing MySQL logs to CloudWatch Logs: the error log is always written to a
file; the slow query log must be on, and RDS publishes it only from a file (`log_output = FILE`;
with `TABLE` it goes to `mysql.slow_log`, inside the database, and the export stays empty)."""


def test_the_parameter_group_holds_every_parameter_the_log_exports_need(prod: ProgramRun) -> None:
    exports = prod.one(INSTANCE).inputs["enabledCloudwatchLogsExports"]
    assert set(exports) <= set(NEEDED_FOR_EXPORT), "say what a new export needs"
    values = parameter_values(prod)
    for export in exports:
        for name, value in NEEDED_FOR_EXPORT[export].items():
            assert values.get(name) == value, f"the {export} export needs {name}={value}"


@pytest.mark.parametrize(("seconds", "written"), [
    (0, "0"),                      # the allowed range's low end: every statement
    (0.000001, "0.000001"),        # MySQL's resolution, a microsecond (was 1e-06)
    (0.00001, "0.00001"),          # was 1e-05
    (0.25, "0.25"),
    (10, "10"),
    (1_000_000, "1000000"),        # was 1e+06
    (31_536_000, "31536000"),      # the allowed range's high end, a year (was 3.1536e+07)
    (31_535_999.5, "31535999.5"),
])
def test_long_query_time_is_written_as_a_plain_decimal(seconds: float, written: str) -> None:
    assert parameter_values(build(db_slow_query_seconds=seconds))["long_query_time"] == written


def test_long_query_time_beyond_the_allowed_range_is_refused() -> None:
    for seconds in (-0.000001, 31_536_000.5):
        with pytest.raises(ArgumentError) as caught:
            build(db_slow_query_seconds=seconds)
        exact_words(caught.value)
        assert caught.value.arguments == {"db_slow_query_seconds"}


def test_changes_are_applied_immediately_only_when_asked(dev: ProgramRun, prod: ProgramRun) -> None:
    assert dev.one(INSTANCE).inputs["applyImmediately"] is True
    assert prod.one(INSTANCE).inputs["applyImmediately"] is False
    assert build(db_apply_immediately=True).one(INSTANCE).inputs["applyImmediately"] is True


@pytest.mark.parametrize("identifier", ["Payroll-db", "payroll-DB", "PAYROLL"])
def test_an_identifier_with_upper_case_is_refused(identifier: str) -> None:
    """RDS stores identifiers in lower case and the provider accepts only ^[0-9a-z-]+$."""
    with pytest.raises(ArgumentError) as caught:
        build(db_identifier=identifier)
    exact_words(caught.value)
    assert caught.value.arguments == {"db_identifier"}
    assert "a lowercase letter, then lowercase letters, digits or hyphens" in refusal(caught.value)


def test_identifier_can_be_given_and_defaults_to_name_and_stack() -> None:
    assert build(db_identifier="payroll-db").one(INSTANCE).inputs["identifier"] == "payroll-db"
    odd_stack = run_program(lambda: VpcLambdaWithPrivateServices("svc", GOOD), stack="team_a.Prod")  # type: ignore[misc]
    assert odd_stack.one(INSTANCE).inputs["identifier"] == "svc-team-a-prod"
    assert odd_stack.one("aws:lambda/function:Function", "svc-function").inputs["name"] == "svc-team_a-Prod"


def destroy_section() -> str:
    page = (ROOT / "docs" / "destroy-and-update.md").read_text()
    return page[page.index("## Destroy"):page.index("## Update")]


def test_destroy_waits_for_lambda_to_delete_the_functions_interfaces(prod: ProgramRun) -> None:
    """The provider moves a function onto the placeholder before deleting it; Lambda deletes the
    interfaces later, by itself. Whatever they are in (lambda-sg, the placeholder, the subnets)
    cannot be deleted until then, and waits 45 minutes rather than fail."""
    groups = {g.name.removeprefix("lambda-prod-"): g for g in prod.of_type("aws:ec2/securityGroup:SecurityGroup")}
    assert set(groups) == {"lambda-sg", "rds-sg", "endpoint-sg", "placeholder-sg"}
    waiting = {key for key, group in groups.items() if group.options.custom_timeouts == {"delete": "45m"}}
    assert waiting == {"lambda-sg", "placeholder-sg"}
    subnets = prod.of_type("aws:ec2/subnet:Subnet")
    assert subnets and all(s.options.custom_timeouts == {"delete": "45m"} for s in subnets)
    section = " ".join(destroy_section().split())
    waits = ("so these wait: **lambda-sg** (its rules go at once), with `db_proxy` **migration-sg**, "
             "**placeholder-sg**, and **the subnets of the VPC the program creates**")
    for what in (waits, "delete timeout of 45 minutes", "run `pulumi destroy` again"):
        assert what in section, f"the destroy section does not say {what!r}"
    assert "is deleted with its rules" not in section and "free at once" not in section


def test_with_the_proxy_the_migrations_own_group_waits_for_its_interfaces_too() -> None:
    """The migration's interfaces are in migration-sg as well: it waits like lambda-sg."""
    run = build("prod", db_proxy=True)
    groups = {g.name.removeprefix("svc-"): g for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    waiting = {key for key, group in groups.items() if group.options.custom_timeouts == {"delete": "45m"}}
    assert waiting == {"lambda-sg", "migration-sg", "placeholder-sg"}
    migration = run.one("aws:lambda/function:Function", "svc-migration").inputs["vpcConfig"]["securityGroupIds"]
    assert sorted(migration) == sorted([groups["lambda-sg"].id, groups["migration-sg"].id])


def test_enhanced_monitoring_writes_to_a_shared_log_group_the_stack_does_not_own(prod: ProgramRun) -> None:
    assert prod.one(INSTANCE).inputs["monitoringInterval"] == 60
    assert ENHANCED_MONITORING_LOG_GROUP not in {g.inputs["name"] for g in prod.of_type(LOG_GROUP)}, (
        "shared by every instance of the account and region: destroying the stack must not delete it")
    assert ENHANCED_MONITORING_LOG_GROUP not in prod.one(KEY).inputs["policy"]
    section = " ".join(destroy_section().split())
    assert f"Enhanced monitoring's log group, `{ENHANCED_MONITORING_LOG_GROUP}`, is not the stack's." in section
    assert "every instance with enhanced monitoring in the account and region" in section
    assert "It stays after destroy." in section
    resources = " ".join((ROOT / "docs" / "resources.md").read_text().split())
    assert f"shared `{ENHANCED_MONITORING_LOG_GROUP}` log group, which is not the stack's" in resources


def test_flow_logs_only_when_asked() -> None:
    assert build().of_type("aws:ec2/flowLog:FlowLog") == []
    run = build(vpc_flow_logs=True)
    flow = run.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["vpcId"] == GOOD["vpc_id"]
    group = run.one(LOG_GROUP, "svc-flow-logs")
    assert group.inputs["kmsKeyId"] == run.value["kms_key_arn"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"db_identifier": "Payroll--db"}, "db_identifier: 'Payroll--db' contains two consecutive hyphens"),
        ({"db_identifier": "1db"}, "db_identifier: '1db' is not allowed"),
        ({"db_identifier": "d" * 64}, "db_identifier: 'ddd"),
        ({"db_slow_query_seconds": -1}, "db_slow_query_seconds: got -1; allowed: 0 to 31536000"),
        ({"db_slow_query_seconds": "1s"}, "db_slow_query_seconds: got '1s'; expected a number of seconds"),
        ({"db_apply_immediately": "yes"}, "db_apply_immediately: got 'yes'; expected true or false"),
        ({"vpc_flow_logs": 1}, "vpc_flow_logs: got 1; expected true or false"),
    ],
)
def test_new_arguments_are_checked(extra: dict[str, Any], expected: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        build(**extra)
    exact_words(caught.value)
    assert expected in refusal(caught.value)
