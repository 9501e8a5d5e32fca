"""Secure by default: every production item asserted on the prod stack, in both partitions for
what is partition-specific; the dev stack differs from prod only by its listed relaxations."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.local.stack_model import evaluate_stack
from components.model.database_sizing import default_max_connections, function_concurrency_budget
from components.testing.pulumi_mocks import ProgramRun, Registered, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

FUNCTION = "aws:lambda/function:Function"
INSTANCE = "aws:rds/instance:Instance"

# The dev profile's relaxations, as Pulumi.dev.yaml writes them and the README lists them.
DEV_RELAXATIONS = {
    "db_multi_az": False,
    "db_backup_retention_days": 1,
    "db_deletion_protection": False,
    "db_final_snapshot": False,
    "log_retention_days": 7,
    "db_apply_immediately": True,
}
# What the prod stack file sets beyond the component's defaults: a reservation needs an account
# whose concurrency quota is the reservation plus 100, which a new account does not have.
PROD_SETTINGS = {"function_reserved_concurrency_auto": True}


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return evaluate_stack("prod").run


@pytest.fixture(scope="module", params=["aws-cn", "aws"])
def component(request: pytest.FixtureRequest) -> tuple[ProgramRun, str]:
    partition = request.param
    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"],
        "function_reserved_concurrency_auto": True}).outputs(),
        partition=partition)
    return run, partition


def policy(resource: Registered, key: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[key])


def test_one_rotating_key_encrypts_everything(component: tuple[ProgramRun, str]) -> None:
    run, _ = component
    key = run.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    key_arn = run.value["kms_key_arn"]
    assert all(t.inputs["kmsMasterKeyId"] == key_arn for t in run.of_type("aws:sns/topic:Topic"))
    assert run.one("aws:sqs/queue:Queue").inputs["kmsMasterKeyId"] == key_arn
    db = run.one(INSTANCE).inputs
    assert db["kmsKeyId"] == key_arn and db["masterUserSecretKmsKeyId"] == key_arn and db["storageEncrypted"]
    for fn in run.of_type(FUNCTION):
        assert fn.inputs["kmsKeyArn"] == key_arn
    for group in run.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] == key_arn


def test_key_policy_names_exactly_who_uses_the_key(component: tuple[ProgramRun, str]) -> None:
    run, partition = component
    region, suffix = run.mocks.region, run.mocks.dns_suffix
    statements = {s["Sid"]: s for s in policy(run.one("aws:kms/key:Key"))["Statement"]}
    assert set(statements) == {"AccountAdministration", "CloudWatchLogsForThisComponentsLogGroups",
                               "FunctionRoleThroughTheServicesItCalls", "MigrationRoleThroughTheServicesItCalls",
                               "CloudWatchAlarmsToTheEncryptedAlarmTopic"}
    alarms = statements["CloudWatchAlarmsToTheEncryptedAlarmTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert alarms["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:123456789012:alarm:*"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }, "CloudWatch may use the key for this account's alarms in this region only"
    assert statements["AccountAdministration"]["Principal"] == {"AWS": f"arn:{partition}:iam::123456789012:root"}
    logs = statements["CloudWatchLogsForThisComponentsLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{region}.{suffix}"}
    if partition == "aws-cn":
        assert logs["Principal"]["Service"] == "logs.cn-northwest-1.amazonaws.com.cn"
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        f"arn:{partition}:logs:{region}:123456789012:log-group:/aws/lambda/svc-dev",
        f"arn:{partition}:logs:{region}:123456789012:log-group:/aws/lambda/svc-dev-migrate",
        f"arn:{partition}:logs:{region}:123456789012:log-group:/aws/rds/instance/svc-dev/error",
        f"arn:{partition}:logs:{region}:123456789012:log-group:/aws/rds/instance/svc-dev/slowquery",
    ]
    encrypted = {g.inputs["name"] for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")
                 if g.inputs.get("kmsKeyId") == run.value["kms_key_arn"]}
    assert {arn.split("log-group:")[1] for arn in logs["Condition"]["ArnEquals"][
        "kms:EncryptionContext:aws:logs:arn"]} == encrypted, "the key policy admits exactly the groups it encrypts"
    role = statements["FunctionRoleThroughTheServicesItCalls"]
    assert role["Principal"] == {"AWS": run.value["role_arn"]}
    assert role["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sorted(role["Condition"]["StringEquals"]["kms:ViaService"]) == sorted(
        f"{svc}.{region}.{suffix}" for svc in ("sns", "sqs", "lambda"))
    migration = statements["MigrationRoleThroughTheServicesItCalls"]
    assert migration["Principal"] == {"AWS": run.value["migration_role_arn"]}
    assert migration["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sorted(migration["Condition"]["StringEquals"]["kms:ViaService"]) == sorted(
        f"{svc}.{region}.{suffix}" for svc in ("secretsmanager", "lambda"))


def test_database_production_settings(component: tuple[ProgramRun, str]) -> None:
    run, partition = component
    db = run.one(INSTANCE).inputs
    assert db["deletionProtection"] is True
    key_id = run.one("aws:kms/key:Key").outputs["keyId"]
    assert db["identifier"] == "svc-dev"
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"svc-dev-final-{key_id.replace('-', '')[:8]}"
    assert db["applyImmediately"] is False, "changes wait for the maintenance window unless asked"
    assert db["multiAz"] is True
    assert db["backupRetentionPeriod"] >= 7
    assert db["copyTagsToSnapshot"] is True
    assert db["autoMinorVersionUpgrade"] is True
    assert db["enabledCloudwatchLogsExports"] == ["error", "slowquery"]
    assert db["iamDatabaseAuthenticationEnabled"] is True
    assert db["monitoringInterval"] == 60
    monitoring = run.one("aws:iam/role:Role", "svc-db-monitoring-role")
    assert db["monitoringRoleArn"] == monitoring.outputs["arn"]
    assert policy(monitoring, "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"}
    assert run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "svc-db-monitoring-policy").inputs[
        "policyArn"] == f"arn:{partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    params = run.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert params["family"] == "mysql8.4"
    assert params["parameters"] == [
        {"name": "require_secure_transport", "value": "1", "applyMethod": "immediate"},
        {"name": "slow_query_log", "value": "1", "applyMethod": "immediate"},
        {"name": "log_output", "value": "FILE", "applyMethod": "immediate"},
        {"name": "long_query_time", "value": "1", "applyMethod": "immediate"},
    ]
    assert db["parameterGroupName"] == run.one("aws:rds/parameterGroup:ParameterGroup").outputs["name"]


def test_the_database_waits_for_its_monitoring_roles_policy(component: tuple[ProgramRun, str]) -> None:
    """RDS refuses a monitoring role that does not yet have its policy: the instance waits for the
    attachment, not only for the role."""
    run, _ = component
    waits_for = run.one(INSTANCE).depends_on
    assert {"svc-db-monitoring-role", "svc-db-monitoring-policy"} <= set(waits_for)
    assert run.one(INSTANCE).inputs["monitoringRoleArn"] == run.one(
        "aws:iam/role:Role", "svc-db-monitoring-role").outputs["arn"]


def test_function_tracing_concurrency_and_dead_letter_queue(component: tuple[ProgramRun, str]) -> None:
    run, partition = component
    job = run.one(FUNCTION, "svc-function").inputs
    # Lambda has no X-Ray integration in AWS China: tracing is on everywhere else.
    expected = "PassThrough" if partition == "aws-cn" else "Active"
    assert {f.inputs["tracingConfig"]["mode"] for f in run.of_type(FUNCTION)} == {expected}
    assert job["deadLetterConfig"] == {"targetArn": run.value["dead_letter_queue_arn"]}
    # db.t4g.micro: 1 GiB less 256 MiB -> max_connections 64; half of it, less one for the migration.
    assert default_max_connections("db.t4g.micro") == 64
    assert job["reservedConcurrentExecutions"] == 31
    assert job["loggingConfig"]["logFormat"] == "JSON"
    queue = run.one("aws:sqs/queue:Queue").inputs
    assert queue["messageRetentionSeconds"] == 14 * 24 * 3600


def test_endpoint_policies_allow_only_the_functions_calls(component: tuple[ProgramRun, str]) -> None:
    run, _ = component
    sns = policy(run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "svc-endpoint-SNS"))["Statement"]
    assert sns == [{"Effect": "Allow", "Principal": {"AWS": run.value["role_arn"]}, "Action": "sns:Publish",
                    "Resource": run.value["topic_arn"]}]
    # The master secret passes through its endpoint for the migration's role only.
    secrets = policy(run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "svc-endpoint-SecretsManager"))["Statement"]
    assert secrets == [{"Effect": "Allow", "Principal": {"AWS": run.value["migration_role_arn"]},
                        "Action": "secretsmanager:GetSecretValue", "Resource": run.value["db_secret_arn"]}]


def test_topic_denies_publishing_without_tls(component: tuple[ProgramRun, str]) -> None:
    run, _ = component
    topic_policy = run.one("aws:sns/topicPolicy:TopicPolicy", "svc-topic-policy")
    assert topic_policy.inputs["arn"] == run.value["topic_arn"]
    assert policy(topic_policy)["Statement"] == [{
        "Sid": "DenyPublishWithoutTLS", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
        "Resource": run.value["topic_arn"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]


def test_nothing_broader_than_its_purpose(component: tuple[ProgramRun, str]) -> None:
    run, _ = component
    for rule in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") + run.of_type(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        assert "cidrIpv4" not in rule.inputs and rule.inputs["fromPort"] == rule.inputs["toPort"]
    for role_policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in policy(role_policy)["Statement"]:
            assert statement["Resource"] != "*" and "*" not in statement["Action"]
    for endpoint in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        for statement in policy(endpoint)["Statement"]:
            assert statement["Principal"] != "*" and statement["Resource"] != "*"
    env = run.one(FUNCTION, "svc-function").inputs["environment"]["variables"]
    assert not [k for k in env if "PASS" in k or "SECRET_VALUE" in k]


def test_private_vpc_has_encrypted_flow_logs_and_a_rule_less_default_group(prod: ProgramRun) -> None:
    vpc = prod.one("aws:ec2/vpc:Vpc")
    flow = prod.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["vpcId"] == vpc.id and flow.inputs["trafficType"] == "ALL"
    assert flow.parent_type == "vpclambda:index:VpcLambdaWithPrivateServices", "the component records the traffic"
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "lambda-prod-flow-logs")
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["name"] == "/vpc-flow-logs/lambda-prod-prod"
    assert group.inputs["kmsKeyId"] == prod.one("aws:kms/key:Key").outputs["arn"], "encrypted with the component's key"
    assert group.inputs["retentionInDays"] == 365
    key_policy = policy(prod.one("aws:kms/key:Key"))
    (logs,) = [s for s in key_policy["Statement"] if s["Sid"] == "CloudWatchLogsForThisComponentsLogGroups"]
    assert group.outputs["arn"] in logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    delivery = policy(prod.one("aws:iam/rolePolicy:RolePolicy", "lambda-prod-flow-logs-delivery"))
    assert all(r.startswith("arn:aws-cn:logs:") for r in delivery["Statement"][0]["Resource"])
    default_sg = prod.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert default_sg["vpcId"] == vpc.id
    assert default_sg.get("ingress", []) == [] and default_sg.get("egress", []) == []


def test_reserved_concurrency_is_opt_in_and_auto_sizes_it_from_the_class() -> None:
    from components.model.args import Settings

    settings = Settings(vpc_id="vpc-1", private_subnet_ids=["subnet-a", "subnet-b"])
    assert function_concurrency_budget(settings) is None, "no reservation by default"
    assert function_concurrency_budget(dataclasses.replace(settings, function_reserved_concurrency=5)) == 5
    auto = dataclasses.replace(settings, function_reserved_concurrency_auto=True)
    assert function_concurrency_budget(auto) == 31
    assert function_concurrency_budget(dataclasses.replace(auto, db_instance_class="db.z9.huge")) is None
    assert (default_max_connections("db.m6g.large"), default_max_connections("db.r6g.large")) == (661, 1344)

    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
        "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}))
    assert "reservedConcurrentExecutions" not in run.one(FUNCTION, "svc-function").inputs


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"db_instance_class": "db.z9.huge", "function_reserved_concurrency_auto": True},
         "function_reserved_concurrency_auto: needs the max_connections of db_instance_class 'db.z9.huge'"),
        ({"function_reserved_concurrency_auto": True, "function_reserved_concurrency": 10},
         "function_reserved_concurrency_auto: set together with function_reserved_concurrency"),
        ({"function_reserved_concurrency": 64},
         "function_reserved_concurrency: got 64; db.t4g.micro allows 64 connections"),
    ],
)
def test_a_budget_that_cannot_be_met_is_refused(extra: dict[str, Any], expected: str) -> None:
    from components.model.problems import ArgumentError

    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
            "vpc_id": "vpc-0a1b", "private_subnet_ids": ["subnet-0a", "subnet-0b"], **extra}))
    exact_words(caught.value)
    assert expected in refusal(caught.value)


# --- the dev profile -------------------------------------------------------------------------

ID_LIKE = re.compile(r"\b(sg|sgr|vpce|subnet|vpc|rtb|db)-[0-9a-zA-Z]{6,}\b|[0-9a-f]{8}-1234-5678-9abc-[0-9a-f]{12}"
                     r"|-[0-9a-f]{7}\b")


def normalised(run: ProgramRun, component_name: str, stack: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Resources keyed by (type, name) with the stack's own names and generated IDs blanked."""
    out = {}
    for r in run.resources:
        seen = {**r.inputs, "retainOnDelete": r.options.retain_on_delete, "protect": r.options.protect,
                "ignoreChanges": list(r.options.ignore_changes), "deleteBeforeReplace": r.options.delete_before_replace,
                "customTimeouts": r.options.custom_timeouts}
        text = json.dumps(seen, default=lambda o: getattr(o, "path", str(o)), sort_keys=True)
        text = text.replace(f"{component_name}-{stack}", "<fn>").replace(component_name, "<name>")
        text = text.replace(f'"environment": "{stack}"', '"environment": "<stack>"').replace(f"/{stack}/", "/<stack>/")
        text = text.replace(f"{component_name.split('-')[1]}-topic", "<topic>")
        out[(r.type, r.name.replace(component_name, "<name>"))] = json.loads(ID_LIKE.sub("<id>", text))
    return out


def test_dev_differs_from_prod_only_by_the_listed_relaxations() -> None:
    dev_model, prod_model = evaluate_stack("dev"), evaluate_stack("prod")
    dev_settings, prod_settings = dev_model.component.settings, prod_model.component.settings
    differing = {f.name for f in dataclasses.fields(dev_settings)
                 if getattr(dev_settings, f.name) != getattr(prod_settings, f.name)}
    naming = {"topic_name", "tags", "vpc_id", "private_subnet_ids"}
    # When the job runs is each stack's own (hourly in dev, daily in prod), not a relaxation.
    assert (dev_settings.schedule, prod_settings.schedule) == ("rate(1 hour)", "cron(0 6 * * ? *)")
    assert differing - naming - {"schedule"} == set(DEV_RELAXATIONS) | set(PROD_SETTINGS)
    assert {name: getattr(dev_settings, name) for name in DEV_RELAXATIONS} == DEV_RELAXATIONS
    assert {name: getattr(prod_settings, name) for name in PROD_SETTINGS} == PROD_SETTINGS
    assert dev_settings.function_reserved_concurrency is None and not dev_settings.function_reserved_concurrency_auto, (
        "dev deploys on an account with a limit of 10")
    assert {name: getattr(prod_settings, name) for name in DEV_RELAXATIONS} == {
        "db_multi_az": True, "db_backup_retention_days": 7, "db_deletion_protection": True,
        "db_final_snapshot": True, "log_retention_days": 30, "db_apply_immediately": False}

    dev = normalised(dev_model.run, "lambda-test", "dev")
    prod = normalised(prod_model.run, "lambda-prod", "prod")
    assert dev.keys() == prod.keys()
    changed = {(typ, key) for (typ, name), inputs in dev.items()
               for key in set(inputs) | set(prod[(typ, name)])
               if inputs.get(key) != prod[(typ, name)].get(key)}
    assert changed == {
        (INSTANCE, "multiAz"), (INSTANCE, "backupRetentionPeriod"), (INSTANCE, "deletionProtection"),
        (INSTANCE, "skipFinalSnapshot"), (INSTANCE, "finalSnapshotIdentifier"),
        ("aws:cloudwatch/logGroup:LogGroup", "retentionInDays"),
        (FUNCTION, "reservedConcurrentExecutions"), (INSTANCE, "applyImmediately"),
        # prod keeps its key (and its final snapshot) after destroy; dev keeps nothing
        ("aws:kms/key:Key", "retainOnDelete"),
        ("aws:cloudwatch/eventRule:EventRule", "scheduleExpression"),
        ("aws:cloudwatch/eventRule:EventRule", "description"),
    }


def test_readme_lists_every_dev_relaxation() -> None:
    from pathlib import Path

    from components.stack_config import config_key

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    dev_yaml = (Path(__file__).resolve().parent.parent / "Pulumi.dev.yaml").read_text()
    for name in DEV_RELAXATIONS:
        assert f"vpc-lambda:{config_key(name)}" in dev_yaml
        assert f"`{config_key(name)}`" in readme, f"README does not list the dev relaxation {config_key(name)}"


def test_readme_and_prod_stack_list_every_prod_setting() -> None:
    from pathlib import Path

    from components.stack_config import config_key

    root = Path(__file__).resolve().parent.parent
    readme, prod_yaml = (root / "README.md").read_text(), (root / "Pulumi.prod.yaml").read_text()
    for name, value in PROD_SETTINGS.items():
        assert f"vpc-lambda:{config_key(name)}: {json.dumps(value)}" in prod_yaml
        assert f"| `{config_key(name)}` |" in readme and f"`{json.dumps(value)}` (set in `Pulumi.prod.yaml`)" in readme
