"""Both stack files evaluated through `__main__.py` under mocks, as `pulumi up` would."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.component import TYPE_TOKEN
from components.model.problems import ArgumentError
from components.resources.private_vpc import PRIVATE_VPC_TYPE
from components.stack_config import config_key, config_keys
from components.testing.pulumi_mocks import ProgramRun, run_program
from tests.problems import refusal

ROOT = Path(__file__).resolve().parent.parent
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def as_pulumi_config(config: dict[str, Any]) -> dict[str, str]:
    """What the engine hands the program: every value a string, objects as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_stack(stack: str, overrides: dict[str, Any] | None = None) -> ProgramRun:
    config = {**stack_config(stack), **(overrides or {})}
    region = config["aws:region"]
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py")) and None,
        partition=partition,
        region=region,
        project=PROJECT,
        stack=stack,
        config=as_pulumi_config(config),
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_evaluates_with_a_private_vpc(stack: str) -> None:
    config = stack_config(stack)
    run = run_stack(stack)
    name = config[f"{PROJECT}:componentName"]
    component = run.one(TYPE_TOKEN)
    assert component.name == name
    network = run.one(PRIVATE_VPC_TYPE)
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert vpc.parent_type == PRIVATE_VPC_TYPE and network.parent_type == "pulumi:pulumi:Stack"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 2
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert not run.of_type("aws:ec2/internetGateway:InternetGateway")
    assert not run.of_type("aws:ec2/natGateway:NatGateway")
    assert not run.of_type("aws:ec2/route:Route")
    route_table = run.one("aws:ec2/routeTable:RouteTable")
    assert not route_table.inputs.get("routes")
    assert len(run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")) == 2

    fn = run.one("aws:lambda/function:Function", f"{name}-function")
    assert fn.inputs["vpcConfig"]["subnetIds"] == [s.id for s in subnets]
    assert {g.inputs["vpcId"] for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")} == {vpc.id}

    topic = run.one("aws:sns/topic:Topic", f"{name}-topic")
    assert topic.inputs["name"] == config[f"{PROJECT}:topicName"]
    assert set(run.exports) == {
        "function_name", "function_arn", "topic_arn", "db_address", "db_port", "db_secret_arn", "db_proxy_endpoint",
        "role_arn", "migration_role_arn", "log_group_name", "security_group_ids", "endpoint_ids",
        "migration_function_name", "schema_migration_result", "kms_key_arn", "dead_letter_queue_arn",
        "alarm_topic_arn", "dashboard_name", "queue_arn", "queue_url",
    }
    assert run.exports["topic_arn"] == f"arn:aws-cn:sns:cn-northwest-1:123456789012:{config[f'{PROJECT}:topicName']}"
    tags = config[f"{PROJECT}:tags"]
    assert all(r.inputs["tags"]["environment"] == tags["environment"] for r in run.resources if "tags" in r.inputs)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_runs_without_xray_in_aws_china(stack: str) -> None:
    """Lambda has no X-Ray integration in the China Regions: no tracing, no X-Ray policy."""
    assert stack_config(stack)["aws:region"].startswith("cn-")
    run = run_stack(stack)
    functions = run.of_type("aws:lambda/function:Function")
    assert len(functions) == 2
    assert {f.inputs["tracingConfig"]["mode"] for f in functions} == {"PassThrough"}
    policies = [a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert policies and not [arn for arn in policies if "XRay" in arn]


def test_tracing_asked_for_in_a_china_stack_is_refused_naming_the_key() -> None:
    with pytest.raises(ArgumentError) as caught:
        run_stack("prod", {f"{PROJECT}:functionTracing": True})
    assert caught.value.arguments == {f"{PROJECT}:functionTracing"}
    assert ("X-Ray integration (active tracing) is not available for Lambda in partition 'aws-cn'"
            in refusal(caught.value))


def test_dev_mirrors_the_article() -> None:
    config = stack_config("dev")
    assert config["aws:region"] == "cn-northwest-1"
    run = run_stack("dev")
    assert run.one("aws:sns/topic:Topic", "lambda-test-topic").inputs["name"] == "lambda-test-topic"
    assert run.one("aws:iam/role:Role", "lambda-test-LambdaExecRole").inputs["assumeRolePolicy"]
    assert run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "lambda-test-endpoint-SNS").inputs["serviceName"] == (
        "com.amazonaws.cn-northwest-1.sns"
    )
    assert run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "lambda-test-LambdaExecRole-vpc-access").inputs[
        "policyArn"].startswith("arn:aws-cn:")
    db = run.one("aws:rds/instance:Instance").inputs
    assert db["deletionProtection"] is False and db["skipFinalSnapshot"] is True
    assert run.one("aws:cloudwatch/logGroup:LogGroup", "lambda-test-function-logs").inputs["retentionInDays"] == 7


def test_prod_keeps_the_secure_defaults() -> None:
    run = run_stack("prod")
    db = run.one("aws:rds/instance:Instance").inputs
    assert db["deletionProtection"] is True and db["skipFinalSnapshot"] is False
    assert db["multiAz"] is True and db["backupRetentionPeriod"] == 7
    assert run.one("aws:cloudwatch/logGroup:LogGroup", "lambda-prod-function-logs").inputs["retentionInDays"] == 30


def test_existing_vpc_from_config_skips_the_private_vpc() -> None:
    run = run_stack("dev", {
        f"{PROJECT}:vpcId": "vpc-0e1f2a3b4c",
        f"{PROJECT}:privateSubnetIds": ["subnet-1", "subnet-2", "subnet-3"],
    })
    assert not run.of_type(PRIVATE_VPC_TYPE) and not run.of_type("aws:ec2/vpc:Vpc")
    fn = run.one("aws:lambda/function:Function", "lambda-test-function")
    assert fn.inputs["vpcConfig"]["subnetIds"] == ["subnet-1", "subnet-2", "subnet-3"]
    assert {g.inputs["vpcId"] for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")} == {"vpc-0e1f2a3b4c"}


def test_half_a_network_config_is_refused() -> None:
    with pytest.raises(ArgumentError, match="set vpcId and privateSubnetIds both, or neither") as caught:
        run_stack("dev", {f"{PROJECT}:vpcId": "vpc-0e1f2a3b4c"})
    assert caught.value.arguments == {f"{PROJECT}:privateSubnetIds"}


def test_every_stack_config_key_is_a_known_setting() -> None:
    known = set(config_keys().values()) | {"componentName"}
    for stack in ("dev", "prod"):
        for key in stack_config(stack):
            namespace, _, name = key.partition(":")
            if namespace == PROJECT:
                assert name in known, f"Pulumi.{stack}.yaml: unknown key {key}"
    assert config_key("db_instance_class") == "dbInstanceClass"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({f"{PROJECT}:dbPort": 0}, f"{PROJECT}:dbPort: got 0; allowed: 1150 to 65535"),
        ({f"{PROJECT}:functionReservedConcurrency": "many"},
         f"{PROJECT}:functionReservedConcurrency: got 'many'; expected a whole number"),
        ({f"{PROJECT}:functionReservedConcurrencyAuto": "yes"},
         f"{PROJECT}:functionReservedConcurrencyAuto: got 'yes'; expected true or false"),
        ({f"{PROJECT}:dbPort": "abc"}, f"{PROJECT}:dbPort: got 'abc'; expected a whole number"),
        ({f"{PROJECT}:functionTimeoutSeconds": 3},
         f"{PROJECT}:functionTimeoutSeconds: got 3; must be above db_connect_timeout_seconds"),
        ({f"{PROJECT}:logRetentionDays": 8}, f"{PROJECT}:logRetentionDays: got 8; allowed: 1, 3, 5, 7"),
        ({f"{PROJECT}:dbFinalSnapshot": "maybe"}, f"{PROJECT}:dbFinalSnapshot: got 'maybe'; expected true or false"),
        ({f"{PROJECT}:privatSubnetIds": ["subnet-1"]},
         f"{PROJECT}:privatSubnetIds: unknown config key; did you mean {PROJECT}:privateSubnetIds?"),
        ({f"{PROJECT}:vpcId": "vpc-0e1f2a3b4c", f"{PROJECT}:privateSubnetIds": ["subnet-1"]},
         f"{PROJECT}:privateSubnetIds: got ['subnet-1']; expected two or more subnets"),
    ],
)
def test_bad_stack_config_is_refused_naming_the_key(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        run_stack("dev", overrides)
    assert expected in refusal(caught.value)
    assert refusal(caught.value).startswith("stack config: invalid arguments:")


def test_dev_runs_the_articles_job_every_hour_and_prod_as_its_stack_file_says() -> None:
    for stack, expression in (("dev", "rate(1 hour)"), ("prod", "cron(0 6 * * ? *)")):
        run = run_stack(stack)
        name = stack_config(stack)[f"{PROJECT}:componentName"]
        rule = run.one("aws:cloudwatch/eventRule:EventRule", f"{name}-schedule").inputs
        assert (rule["scheduleExpression"], rule["name"]) == (expression, f"{name}-{stack}-schedule")
        target = run.one("aws:cloudwatch/eventTarget:EventTarget").inputs
        assert target["arn"] == run.exports["function_arn"]
        assert target["deadLetterConfig"] == {"arn": run.exports["dead_letter_queue_arn"]}


def test_nested_arguments_take_camel_case_fields_from_stack_config() -> None:
    queue_key = "arn:aws-cn:kms:cn-northwest-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
    run = run_stack("dev", {
        f"{PROJECT}:queue": {"batchSize": 20, "maximumBatchingWindowSeconds": 2, "maxReceiveCount": 2},
        f"{PROJECT}:functionPermissions": [{"service": "s3", "actions": ["s3:GetObject"],
                                            "resources": ["arn:aws-cn:s3:::reports/latest.csv"],
                                            "allowWildcards": False}],
    })
    mapping = run.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (20, 2)
    queue = run.one("aws:sqs/queue:Queue", "lambda-test-queue").inputs
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == 2
    # The program's own VPC: its subnets are Outputs, so it gives the gateway endpoint its route table.
    route_table = run.one("aws:ec2/routeTable:RouteTable")
    gateway = run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "lambda-test-endpoint-s3-gateway").inputs
    assert (gateway["serviceName"], gateway["routeTableIds"]) == ("com.amazonaws.cn-northwest-1.s3",
                                                                  [route_table.id])
    with pytest.raises(ArgumentError) as caught:
        run_stack("dev", {f"{PROJECT}:queue": {"batchSize": 10, "kmsKeyArn": queue_key}})
    assert caught.value.arguments == {f"{PROJECT}:queue"}
    assert "kms_key_arn is the key of an existing queue (queue_arn)" in refusal(caught.value)


def test_an_existing_database_from_stack_config() -> None:
    from components.testing.pulumi_mocks import AwsMocks

    config = {**stack_config("dev"), f"{PROJECT}:vpcId": "vpc-0e1f2a3b4c",
              f"{PROJECT}:privateSubnetIds": ["subnet-1", "subnet-2"],
              f"{PROJECT}:existingDatabase": {
                  "address": "orders.c0abc.cn-northwest-1.rds.amazonaws.com.cn", "port": 3306,
                  "securityGroupId": "sg-0123456789abcdef0",
                  "secretArn": "arn:aws-cn:secretsmanager:cn-northwest-1:123456789012:secret:orders-AbCdEf",
                  "resourceId": "db-ABCDEFGHIJKLMNOP"}}
    for relaxation in ("dbMultiAz", "dbBackupRetentionDays", "dbDeletionProtection", "dbFinalSnapshot",
                       "dbApplyImmediately"):
        config.pop(f"{PROJECT}:{relaxation}")
    mocks = AwsMocks(partition="aws-cn", region="cn-northwest-1",
                     security_groups={"sg-0123456789abcdef0": "vpc-0e1f2a3b4c"},
                     databases=[{"dbInstanceIdentifier": "orders", "resourceId": "db-ABCDEFGHIJKLMNOP",
                                 "engine": "mysql", "address": "orders.c0abc.cn-northwest-1.rds.amazonaws.com.cn",
                                 "port": 3306, "dbInstanceClass": "db.t4g.micro", "allocatedStorage": 20,
                                 "vpcSecurityGroups": ["sg-0123456789abcdef0"], "dbParameterGroups": ["orders-tls"],
                                 "dbSubnetGroup": "orders", "vpcId": "vpc-0e1f2a3b4c"}])
    run = run_program(lambda: runpy.run_path(str(ROOT / "__main__.py")) and None, project=PROJECT, stack="dev",
                      config=as_pulumi_config(config), mocks=mocks)
    assert not run.of_type("aws:rds/instance:Instance")
    assert run.exports["db_address"] == "orders.c0abc.cn-northwest-1.rds.amazonaws.com.cn"
    assert run.exports["security_group_ids"]["rds-sg"] == "sg-0123456789abcdef0"
