"""The user's existing topic, key and database in place of the component's own: nothing of them is
created, everything that named the component's now names the user's, and the preview refuses
what a look-up shows will not work."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.model.problems import ArgumentError
from components.resources.encryption import AwsContext, existing_key_statements
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

VPC = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders-events"
TOPIC_KEY = "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-1234-5678-9abc-0123456789ab"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-app-AbCdEf"
GROUP = "sg-0123456789abcdef0"
DATABASE = {"address": "orders-db.c0abc.us-east-1.rds.amazonaws.com", "port": 3307, "security_group_id": GROUP,
            "secret_arn": SECRET, "resource_id": "db-ABCDEFGHIJKLMNOPQRSTUVWXY0"}
INSTANCE = {"dbInstanceIdentifier": "orders-db", "resourceId": DATABASE["resource_id"], "engine": "mysql",
            "address": DATABASE["address"], "port": 3307, "dbInstanceClass": "db.r6g.large", "allocatedStorage": 200,
            "vpcSecurityGroups": [GROUP, "sg-0fedcba987654321"], "dbParameterGroups": ["orders-tls"],
            "dbSubnetGroup": "orders-subnets", "vpcId": "vpc-0a1b2c3d"}


def mocks(**overrides: Any) -> AwsMocks:
    found: dict[str, Any] = {"topics": {"orders-events": TOPIC}, "kms_keys": {KEY: {}, TOPIC_KEY: {}},
                             "databases": [INSTANCE], "security_groups": {GROUP: "vpc-0a1b2c3d"}}
    return AwsMocks(**{**found, **overrides})


def build(found: AwsMocks | None = None, **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**VPC, **extra}).outputs(),  # type: ignore[misc]
                       mocks=found or mocks())


ROLE_POLICIES = {"job": "svc-LambdaExecRole-publish-and-read-secret",
                 "migration": "svc-migration-role-read-master-secret"}


def statements(run: ProgramRun, principal: str = "job") -> dict[str, dict[str, Any]]:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", ROLE_POLICIES[principal]).inputs["policy"]
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def test_an_existing_topic_is_published_to_and_none_is_created() -> None:
    run = build(existing_topic_arn=TOPIC, existing_topic_kms_key_arn=TOPIC_KEY)
    assert [t.name for t in run.of_type("aws:sns/topic:Topic")] == ["svc-alarms"]
    assert not run.of_type("aws:sns/topicPolicy:TopicPolicy") or [
        p.name for p in run.of_type("aws:sns/topicPolicy:TopicPolicy")] == ["svc-alarms-policy"]
    assert run.value["topic_arn"] == TOPIC
    assert run.one("aws:lambda/function:Function", "svc-function").inputs["environment"]["variables"][
        "TOPIC_ARN"] == TOPIC
    found = statements(run)
    assert found["PublishNotification"] == {"Sid": "PublishNotification", "Effect": "Allow", "Action": "sns:Publish",
                                            "Resource": TOPIC}
    assert found["PublishToTheEncryptedTopic"] == {
        "Sid": "PublishToTheEncryptedTopic", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": TOPIC_KEY, "Condition": {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}}
    (endpoint_statement,) = json.loads(run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "svc-endpoint-SNS").inputs[
        "policy"])["Statement"]
    assert (endpoint_statement["Action"], endpoint_statement["Resource"]) == ("sns:Publish", TOPIC)


def test_an_existing_key_encrypts_everything_and_none_is_created() -> None:
    run = build(existing_kms_key_arn=KEY, queue={}, schedule="rate(1 day)", vpc_flow_logs=True)
    assert not run.of_type("aws:kms/key:Key") and not run.of_type("aws:kms/alias:Alias")
    assert run.value["kms_key_arn"] == KEY
    for queue in run.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == KEY, queue.name
    for group in run.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] == KEY, group.name
    for function in run.of_type("aws:lambda/function:Function"):
        assert function.inputs["kmsKeyArn"] == KEY
    db = run.one("aws:rds/instance:Instance").inputs
    assert db["kmsKeyId"] == db["masterUserSecretKmsKeyId"] == KEY
    assert db["finalSnapshotIdentifier"].endswith("0a1b2c3d"), "named by the key it is encrypted with"
    # The key's policy cannot name the component's roles: each role's own policy holds its use of the
    # key, through exactly the services it uses it through.
    assert statements(run)["UseTheKeyThroughItsServices"] == {
        "Sid": "UseTheKeyThroughItsServices", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": KEY, "Condition": {"StringEquals": {"kms:ViaService": [
            "sns.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "lambda.us-east-1.amazonaws.com"]}}}
    assert statements(run, "migration")["UseTheKeyThroughItsServices"] == {
        "Sid": "UseTheKeyThroughItsServices", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": KEY, "Condition": {"StringEquals": {"kms:ViaService": [
            "secretsmanager.us-east-1.amazonaws.com", "lambda.us-east-1.amazonaws.com"]}}}


def test_the_statements_a_users_key_needs_are_the_ones_the_component_writes_for_its_own() -> None:
    ctx = AwsContext("aws", "us-east-1", "amazonaws.com", "123456789012")
    rule = "arn:aws:events:us-east-1:123456789012:rule/svc-dev-schedule"
    found = existing_key_statements(ctx, ["/aws/lambda/svc-dev"], alarm_topic=True, schedule_rule_arn=rule)
    assert [s["Sid"] for s in found] == ["CloudWatchLogsForThisComponentsLogGroups",
                                         "CloudWatchAlarmsToTheEncryptedAlarmTopic",
                                         "EventBridgeToTheEncryptedDeadLetterQueue"]
    run = build(schedule="rate(1 day)")
    own = {s["Sid"]: s for s in json.loads(run.one("aws:kms/key:Key").inputs["policy"])["Statement"]}
    logs = next(s for s in found if s["Sid"] == "CloudWatchLogsForThisComponentsLogGroups")
    assert logs["Principal"] == own["CloudWatchLogsForThisComponentsLogGroups"]["Principal"]
    assert logs["Action"] == own["CloudWatchLogsForThisComponentsLogGroups"]["Action"]
    events = next(s for s in found if s["Sid"] == "EventBridgeToTheEncryptedDeadLetterQueue")
    assert events == own["EventBridgeToTheEncryptedDeadLetterQueue"]


def test_an_existing_database_gets_only_the_rule_from_lambda_sg_and_the_alarms() -> None:
    run = build(existing_database=DATABASE, db_name="orders")
    for typ in ("aws:rds/instance:Instance", "aws:rds/subnetGroup:SubnetGroup",
                "aws:rds/parameterGroup:ParameterGroup"):
        assert not run.of_type(typ), typ
    assert not [g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if "/aws/rds/" in g.inputs["name"]]
    assert not [r for r in run.of_type("aws:iam/role:Role") if "monitoring" in r.name]
    assert "svc-rds-sg" not in {g.name for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    lambda_group = run.value["security_group_ids"]["lambda-sg"]
    assert run.value["security_group_ids"]["rds-sg"] == GROUP
    (ingress,) = [r.inputs for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                  if r.inputs["securityGroupId"] == GROUP]
    assert (ingress["referencedSecurityGroupId"], ingress["fromPort"], ingress["toPort"], ingress["ipProtocol"]) == (
        lambda_group, 3307, 3307, "tcp")
    (egress,) = [r.inputs for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                 if r.inputs.get("referencedSecurityGroupId") == GROUP]
    assert (egress["securityGroupId"], egress["fromPort"]) == (lambda_group, 3307)
    env = run.one("aws:lambda/function:Function", "svc-function").inputs["environment"]["variables"]
    assert (env["DB_HOST"], env["DB_PORT"], env["DB_USER"], env["DB_NAME"]) == (
        DATABASE["address"], "3307", "app", "orders")
    assert "DB_SECRET_ARN" not in env, "the job never holds the master key"
    migration_env = run.one("aws:lambda/function:Function", "svc-migration").inputs["environment"]["variables"]
    assert (migration_env["DB_HOST"], migration_env["DB_PORT"], migration_env["DB_SECRET_ARN"]) == (
        DATABASE["address"], "3307", SECRET)
    assert (run.value["db_address"], run.value["db_port"], run.value["db_secret_arn"]) == (
        DATABASE["address"], 3307, SECRET)
    assert statements(run, "migration")["ReadDatabaseCredentials"]["Resource"] == SECRET
    assert "ReadDatabaseCredentials" not in statements(run)
    assert statements(run)["ConnectAsTheApplicationUser"]["Resource"] == (
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{DATABASE['resource_id']}/app")
    alarms = {a.name: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["svc-db-cpu"]["dimensions"] == {"DBInstanceIdentifier": "orders-db"}
    # db.r6g.large: 16 GiB; 200 GiB allocated: the looked-up instance sizes its alarms.
    assert alarms["svc-db-free-storage"]["threshold"] == round(200 * 1024**3 * 0.10)
    assert alarms["svc-db-freeable-memory"]["threshold"] == round(16 * 1024**3 * 0.10)
    invocation = run.one("aws:lambda/invocation:Invocation")
    assert invocation.inputs["triggers"]["db_instance"] == DATABASE["resource_id"]
    key_log_groups = next(s for s in json.loads(run.one("aws:kms/key:Key").inputs["policy"])["Statement"]
                          if s["Sid"] == "CloudWatchLogsForThisComponentsLogGroups")["Condition"]["ArnEquals"][
        "kms:EncryptionContext:aws:logs:arn"]
    assert not [g for g in key_log_groups if "/aws/rds/" in g], "no RDS log group of the component's"


def test_the_children_are_typed_attributes_none_where_the_users_resource_is_used() -> None:
    found: dict[str, Any] = {}

    def program() -> Any:
        component = VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
            **VPC, "existing_topic_arn": TOPIC, "existing_kms_key_arn": KEY, "existing_database": DATABASE})
        found["component"] = component
        return {"function": component.function.name, "role": component.role.arn,
                "groups": sorted(component.security_groups), "endpoints": sorted(component.endpoints)}

    run = run_program(program, mocks=mocks())
    component = found["component"]
    assert (component.topic, component.key, component.database, component.queue, component.schedule) == (
        None, None, None, None, None)
    assert run.value == {"function": run.value["function"], "role": run.value["role"],
                         "groups": ["endpoint-sg", "lambda-sg", "placeholder-sg"],
                         "endpoints": ["secretsmanager", "sns"]}
    assert run.value["function"] == "svc-dev" and run.value["role"].startswith("arn:aws:iam::123456789012:role/")


@pytest.mark.parametrize(("extra", "found", "arguments", "expected"), [
    ({"existing_topic_arn": "arn:aws:sns:eu-west-1:123456789012:orders-events"}, {}, {"existing_topic_arn"},
     "is in aws eu-west-1, the program deploys to aws us-east-1"),
    ({"existing_topic_arn": "arn:aws-cn:sns:cn-north-1:123456789012:orders-events"}, {}, {"existing_topic_arn"},
     "is in aws-cn cn-north-1"),
    ({"existing_topic_arn": "arn:aws:sns:us-east-1:123456789012:gone"}, {}, {"existing_topic_arn"},
     "cannot be looked up (invoke of aws:sns/getTopic:getTopic failed: no matching SNS Topic found: gone"),
    ({"existing_kms_key_arn": KEY}, {"kms_keys": {}}, {"existing_kms_key_arn"}, "cannot be looked up"),
    ({"existing_kms_key_arn": KEY}, {"kms_keys": {KEY: {"keyManager": "AWS"}}}, {"existing_kms_key_arn"},
     "is managed by AWS"),
    ({"existing_kms_key_arn": KEY}, {"kms_keys": {KEY: {"enabled": False, "keyState": "PendingDeletion"}}},
     {"existing_kms_key_arn"}, "is PendingDeletion; an enabled key is needed"),
    ({"existing_kms_key_arn": KEY}, {"kms_keys": {KEY: {"keySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}}},
     {"existing_kms_key_arn"}, "is a RSA_2048 key for SIGN_VERIFY"),
    ({"existing_database": DATABASE}, {"databases": []}, {"existing_database"},
     "no RDS instance with resource_id db-ABCDEFGHIJKLMNOPQRSTUVWXY0 can be looked up"),
    ({"existing_database": DATABASE}, {"databases": [{**INSTANCE, "engine": "postgres"}]}, {"existing_database"},
     "orders-db runs 'postgres'"),
    ({"existing_database": DATABASE}, {"databases": [{**INSTANCE, "dbParameterGroups": ["default.mysql8.4"]}]},
     {"existing_database"}, "uses the default parameter group default.mysql8.4, where require_secure_transport is off"),
    ({"existing_database": DATABASE}, {"databases": [{**INSTANCE, "vpcSecurityGroups": ["sg-0fedcba987654321"]}]},
     {"existing_database"}, "is not one of orders-db's (sg-0fedcba987654321)"),
    ({"existing_database": DATABASE}, {"databases": [{**INSTANCE, "vpcId": "vpc-0ffff"}]}, {"existing_database"},
     "orders-db is in vpc-0ffff, not in vpc_id vpc-0a1b2c3d"),
    ({"existing_database": {**DATABASE, "port": 3306}}, {}, {"existing_database"},
     "port 3306 is not orders-db's (3307)"),
    ({"existing_database": DATABASE}, {"security_groups": {}}, {"existing_database"},
     f"security_group_id {GROUP} cannot be looked up"),
    ({"existing_database": DATABASE, "db_multi_az": False, "db_port": 3307}, {}, {"db_multi_az", "db_port"},
     "not used with existing_database (no instance is created); remove it"),
    ({"existing_topic_arn": TOPIC, "topic_name": "orders"}, {}, {"topic_name"},
     "not used with existing_topic_arn (no topic is created)"),
])
def test_what_a_look_up_shows_will_not_work_is_refused_at_preview(extra: dict[str, Any], found: dict[str, Any],
                                                                   arguments: set[str], expected: str) -> None:
    aws = mocks(**found)
    with pytest.raises(ArgumentError) as caught:
        build(aws, **extra)
    exact_words(caught.value)
    assert caught.value.arguments == arguments
    assert expected in refusal(caught.value)
    assert aws.registered == []


def test_a_topic_of_another_account_is_used_without_a_look_up() -> None:
    aws = mocks(topics={})
    run = build(aws, existing_topic_arn="arn:aws:sns:us-east-1:210987654321:shared-events")
    assert run.value["topic_arn"] == "arn:aws:sns:us-east-1:210987654321:shared-events"
    assert not [token for token, _ in aws.calls if token == "aws:sns/getTopic:getTopic"]


def test_the_preview_prints_the_statements_the_users_key_needs_for_this_stack(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    build(existing_kms_key_arn=KEY, schedule="rate(1 day)")
    (line,) = [r.getMessage() for r in caplog.records if "its key policy must hold" in r.getMessage()]
    assert line.startswith(f"svc encrypts with {KEY}; its key policy must hold: ")
    found = json.loads(line.split("must hold: ", 1)[1])
    assert [s["Sid"] for s in found] == ["CloudWatchLogsForThisComponentsLogGroups",
                                         "CloudWatchAlarmsToTheEncryptedAlarmTopic",
                                         "EventBridgeToTheEncryptedDeadLetterQueue"]
    assert found[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/svc-dev",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/svc-dev-migrate",
        *(f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/rds/instance/svc-dev/{log}"
          for log in ("error", "slowquery"))]
    assert found[2]["Condition"] == {"ArnEquals": {
        "aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/svc-dev-schedule"}}
