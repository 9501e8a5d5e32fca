"""The component under Pulumi mocks, in both partitions, with two and with three subnets:
every resource and every property that decides whether the deployment is right and safe."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices, VpcLambdaWithPrivateServicesArgs
from components.build.packaging import HANDLER_DIR, RUNTIME_DIR
from components.component import TYPE_TOKEN
from components.model.network_rules import ARTICLE_RULES
from components.model.problems import ArgumentError, Problem
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, endpoint_service_name, run_program
from tests.refusal_record import exact_words

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FUNCTION = "aws:lambda/function:Function"
INSTANCE = "aws:rds/instance:Instance"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
CA_BUNDLES = {"aws-cn": "vpclambda_runtime/certs/rds-cn-bundle.pem",
              "aws": "vpclambda_runtime/certs/rds-global-bundle.pem"}
"""The partition's RDS bundle, as the package carries it."""

CN_BUNDLE_SHA256 = "d10db458b3b428b963a764a78694690d3af80616cd047de7ab56db53fb760a4e"
"""AWS China's global RDS trust store, as vpclambda_runtime/certs/README.md records it."""
EXTRA_CA = Path(__file__).resolve().parent / "data" / "extra-ca.pem"
VPC_ID = "vpc-0a1b2c3d"
NAME = "lambda-test"
JOB = f"{NAME}-function"
MIGRATION = f"{NAME}-migration"


def build(partition: str, subnets: list[str], **extra: Any) -> ProgramRun:
    def program() -> dict[str, Any]:
        args: VpcLambdaWithPrivateServicesArgs = {"vpc_id": VPC_ID, "private_subnet_ids": subnets, **extra}  # type: ignore[typeddict-item]
        component = VpcLambdaWithPrivateServices(NAME, args)
        return component.outputs()

    return run_program(program, partition=partition)


@pytest.fixture(
    scope="module",
    params=[("aws-cn", 2), ("aws", 2), ("aws-cn", 3), ("aws", 3)],
    ids=["aws-cn-2-subnets", "aws-2-subnets", "aws-cn-3-subnets", "aws-3-subnets"],
)
def deployed(request: pytest.FixtureRequest) -> tuple[ProgramRun, str, list[str]]:
    partition, count = request.param
    subnets = [f"subnet-{i:04d}" for i in range(count)]
    return build(partition, subnets, topic_name="lambda-test-topic"), partition, subnets


def group_keys(run: ProgramRun) -> dict[str, str]:
    """Security group ID -> the article's key (lambda-sg, rds-sg, ...)."""
    return {group_id: key for key, group_id in run.value["security_group_ids"].items()}


def test_every_child_is_parented_to_the_component(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, _ = deployed
    component = run.one(TYPE_TOKEN)
    assert component.parent_type == "pulumi:pulumi:Stack"
    children = [r for r in run.resources if r.type != TYPE_TOKEN]
    # What the design is made of, each a child of the component (not of the stack).
    assert {r.type for r in children} >= {
        SG, INGRESS, EGRESS, FUNCTION, INSTANCE, ENDPOINT, "aws:sns/topic:Topic", "aws:sqs/queue:Queue",
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup",
        "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
        "aws:lambda/invocation:Invocation", "aws:cloudwatch/metricAlarm:MetricAlarm"}
    assert {r.parent_type for r in children} == {TYPE_TOKEN}
    assert all(r.name.startswith(f"{NAME}-") for r in children)


def test_security_groups_carry_exactly_the_articles_rules(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, _ = deployed
    keys = group_keys(run)
    assert set(keys.values()) == {"lambda-sg", "rds-sg", "endpoint-sg", "placeholder-sg"}
    for group in run.of_type(SG):
        assert group.inputs["vpcId"] == VPC_ID
        assert group.inputs["description"]
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), "no inline rules"

    rules = set()
    for typ, direction in ((INGRESS, "ingress"), (EGRESS, "egress")):
        for rule in run.of_type(typ):
            inputs = rule.inputs
            assert inputs["ipProtocol"] == "tcp"
            assert inputs["fromPort"] == inputs["toPort"]
            assert "cidrIpv4" not in inputs and "cidrIpv6" not in inputs and "prefixListId" not in inputs
            assert inputs["description"]
            rules.add((keys[inputs["securityGroupId"]], direction, int(inputs["fromPort"]),
                       keys[inputs["referencedSecurityGroupId"]]))
    assert rules == {
        ("lambda-sg", "egress", 3306, "rds-sg"),
        ("lambda-sg", "egress", 443, "endpoint-sg"),
        ("rds-sg", "ingress", 3306, "lambda-sg"),
        ("endpoint-sg", "ingress", 443, "lambda-sg"),
    }
    assert len(run.of_type(INGRESS)) + len(run.of_type(EGRESS)) == len(ARTICLE_RULES) == 4


def test_rules_follow_a_custom_database_port() -> None:
    run = build("aws", ["subnet-a", "subnet-b"], db_port=3307)
    ports = sorted(int(r.inputs["fromPort"]) for r in run.of_type(INGRESS) + run.of_type(EGRESS))
    assert ports == [443, 443, 3307, 3307]
    assert run.one(INSTANCE).inputs["port"] == 3307
    env = run.one(FUNCTION, JOB).inputs["environment"]["variables"]
    assert env["DB_PORT"] == "3307"


def test_database_is_private_encrypted_and_has_no_password(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, subnets = deployed
    keys = group_keys(run)
    subnet_group = run.one("aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group.inputs["subnetIds"] == subnets
    db = run.one(INSTANCE).inputs
    assert db["engine"] == "mysql"
    assert db["engineVersion"] == "8.4"
    assert db["instanceClass"] == "db.t4g.micro"
    assert db["allocatedStorage"] == 20
    assert db["dbName"] == "myDatabase"
    assert db["username"] == "dbuser"
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True
    assert db["manageMasterUserPassword"] is True
    assert "password" not in db and "passwordWo" not in db
    assert [keys[g] for g in db["vpcSecurityGroupIds"]] == ["rds-sg"]
    assert db["dbSubnetGroupName"] == subnet_group.outputs["name"]
    assert db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False and db["finalSnapshotIdentifier"]


def test_no_plaintext_password_anywhere(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, _ = deployed
    for resource in run.resources:
        text = json.dumps(resource.inputs, default=str).lower()
        for key in ('"password"', '"masterpassword"', '"passwordwo"', "db_password"):
            assert key not in text, f"{resource.name} carries {key}"
    env = run.one(FUNCTION, JOB).inputs["environment"]["variables"]
    assert not [k for k in env if "PASS" in k.upper()]


def test_topic(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, partition, _ = deployed
    topic = run.one("aws:sns/topic:Topic", f"{NAME}-topic")
    assert topic.inputs["name"] == "lambda-test-topic"
    assert run.value["topic_arn"].startswith(f"arn:{partition}:sns:")


def test_interface_endpoints_for_every_api_the_function_calls(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, subnets = deployed
    keys = group_keys(run)
    region = run.mocks.region
    lookups = [a for token, a in run.mocks.calls if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService"]
    # Each service is looked up under both names it can have, never by `service=`, which makes
    # the provider ask for com.amazonaws.<region>.<svc> only.
    assert sorted(tuple(a["filters"][0]["values"]) for a in lookups) == [
        (f"com.amazonaws.{region}.{s}", f"cn.com.amazonaws.{region}.{s}") for s in ("secretsmanager", "sns")]
    assert all(a["serviceType"] == "Interface" and "service" not in a for a in lookups)
    endpoints = {r.name: r.inputs for r in run.of_type(ENDPOINT)}
    assert set(endpoints) == {f"{NAME}-endpoint-SNS", f"{NAME}-endpoint-SecretsManager"}
    # Both keep the com.amazonaws prefix in AWS China too (the article's endpoint-SNS).
    expected = {
        f"{NAME}-endpoint-SNS": f"com.amazonaws.{region}.sns",
        f"{NAME}-endpoint-SecretsManager": f"com.amazonaws.{region}.secretsmanager",
    }
    for name, inputs in endpoints.items():
        assert inputs["serviceName"] == expected[name]
        assert inputs["vpcEndpointType"] == "Interface"
        assert inputs["privateDnsEnabled"] is True
        assert inputs["vpcId"] == VPC_ID
        assert inputs["subnetIds"] == subnets
        assert [keys[g] for g in inputs["securityGroupIds"]] == ["endpoint-sg"]
    assert set(run.value["endpoint_ids"]) == {"sns", "secretsmanager"}


def test_china_prefixed_endpoint_service_is_found() -> None:
    run = build("aws-cn", ["subnet-a", "subnet-b"], interface_endpoints=["sns", "secretsmanager", "sqs"])
    names = {r.name: r.inputs["serviceName"] for r in run.of_type(ENDPOINT)}
    assert names == {
        f"{NAME}-endpoint-SNS": "com.amazonaws.cn-northwest-1.sns",
        f"{NAME}-endpoint-SecretsManager": "com.amazonaws.cn-northwest-1.secretsmanager",
        f"{NAME}-endpoint-sqs": "cn.com.amazonaws.cn-northwest-1.sqs",
    }
    assert endpoint_service_name("aws-cn", "cn-northwest-1", "sqs") == "cn.com.amazonaws.cn-northwest-1.sqs"


def test_mocks_answer_a_service_lookup_the_way_the_provider_does() -> None:
    """`get_vpc_endpoint_service(service="sqs")` in AWS China asks for com.amazonaws...sqs, which
    does not exist there: the provider fails, and so do the mocks."""
    import pulumi_aws as aws

    def program() -> None:
        aws.ec2.get_vpc_endpoint_service(service="sqs", service_type="Interface")

    failure: BaseException | None = None
    try:
        run_program(program, partition="aws-cn")
    except Exception as error:  # the engine reports a failed invoke as a plain Exception
        failure = error
    assert type(failure) is Exception, failure
    assert "invoke of aws:ec2/getVpcEndpointService:getVpcEndpointService failed" in str(failure)
    assert "no matching EC2 VPC Endpoint Service found" in str(failure)

    def sns() -> str:
        return aws.ec2.get_vpc_endpoint_service(service="sns", service_type="Interface").service_name

    assert run_program(sns, partition="aws-cn").value == "com.amazonaws.cn-northwest-1.sns"


@pytest.mark.parametrize(("role_name", "output"), [("LambdaExecRole", "role_arn"),
                                                    ("migration-role", "migration_role_arn")])
def test_execution_roles_are_partition_aware_and_least_privilege(
        deployed: tuple[ProgramRun, str, list[str]], role_name: str, output: str) -> None:
    run, partition, _ = deployed
    role = run.one("aws:iam/role:Role", f"{NAME}-{role_name}")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attachments = {r.inputs["policyArn"] for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if r.inputs["role"] == role.outputs["name"]}
    assert attachments == {
        f"arn:{partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        # X-Ray tracing is on outside AWS China, where Lambda has no X-Ray integration.
        *([f"arn:{partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"] if partition != "aws-cn" else []),
    }
    (inline,) = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role.id]
    policy = json.loads(inline.inputs["policy"])
    statements = {(s["Effect"], s["Action"], s["Resource"]) for s in policy["Statement"]}
    resource_id = run.one(INSTANCE).outputs["resourceId"]
    assert statements == ({
        ("Allow", "sns:Publish", run.value["topic_arn"]),
        ("Allow", "sqs:SendMessage", run.value["dead_letter_queue_arn"]),
        ("Allow", "rds-db:connect",
         f"arn:{partition}:rds-db:{run.mocks.region}:123456789012:dbuser:{resource_id}/app"),
    } if output == "role_arn" else {
        ("Allow", "secretsmanager:GetSecretValue", run.value["db_secret_arn"]),
    })
    assert run.value["db_secret_arn"].startswith(f"arn:{partition}:secretsmanager:")
    assert "*" not in inline.inputs["policy"]
    assert role.outputs["arn"] == run.value[output] and role.outputs["arn"].startswith(f"arn:{partition}:iam::")


def test_log_group(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, _ = deployed
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup", f"{JOB}-logs")
    assert log_group.inputs["name"] == "/aws/lambda/lambda-test-dev"
    assert log_group.inputs["retentionInDays"] == 30
    assert run.one("aws:cloudwatch/logGroup:LogGroup", f"{MIGRATION}-logs").inputs["name"] == (
        "/aws/lambda/lambda-test-dev-migrate"
    )
    assert f"{JOB}-logs" in run.one(FUNCTION, JOB).depends_on
    assert run.value["log_group_name"] == "/aws/lambda/lambda-test-dev"


def test_function_is_attached_to_exactly_the_private_subnets(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, partition, subnets = deployed
    keys = group_keys(run)
    fn = run.one(FUNCTION, JOB).inputs
    assert fn["name"] == "lambda-test-dev"
    assert fn["runtime"] == "python3.12"
    assert fn["handler"] == "app.handler"
    assert fn["architectures"] == ["arm64"]
    assert fn["memorySize"] == 256
    assert fn["timeout"] == 30 and fn["timeout"] >= 3 * int(fn["environment"]["variables"]["DB_CONNECT_TIMEOUT"])
    assert fn["role"] == run.value["role_arn"]
    assert fn["vpcConfig"]["subnetIds"] == subnets
    assert [keys[g] for g in fn["vpcConfig"]["securityGroupIds"]] == ["lambda-sg"]
    assert fn["replaceSecurityGroupsOnDestroy"] is True
    assert [keys[g] for g in fn["replacementSecurityGroupIds"]] == ["placeholder-sg"]
    assert fn["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": "/aws/lambda/lambda-test-dev",
        "applicationLogLevel": "INFO",
        # Lambda's START and REPORT lines (duration, billed duration, memory used, init duration).
        "systemLogLevel": "INFO",
    }
    assert run.one(FUNCTION, MIGRATION).inputs["loggingConfig"]["systemLogLevel"] == "INFO"
    assert fn["environment"]["variables"] == {
        "DB_HOST": run.value["db_address"],
        "DB_PORT": "3306",
        "DB_NAME": "myDatabase",
        "DB_USER": "app",
        "DB_PROXY": "false",
        "DB_CONNECT_TIMEOUT": "5",
        "DB_CA_BUNDLE": CA_BUNDLES[partition],
        "TOPIC_ARN": run.value["topic_arn"],
    }
    assert fn["deadLetterConfig"] == {"targetArn": run.value["dead_letter_queue_arn"]}
    migration = run.one(FUNCTION, MIGRATION).inputs
    assert migration["role"] == run.value["migration_role_arn"]
    assert migration["environment"]["variables"] == {
        "DB_HOST": run.value["db_address"],
        "DB_PORT": "3306",
        "DB_NAME": "myDatabase",
        "DB_SECRET_ARN": run.value["db_secret_arn"],
        "DB_APP_USER": "app",
        "DB_APP_GRANTS": "SELECT,INSERT,UPDATE,DELETE,EXECUTE",
        "DB_CONNECT_TIMEOUT": "5",
        "DB_CA_BUNDLE": CA_BUNDLES[partition],
    }
    assert "deadLetterConfig" not in migration, "invoked synchronously, during deployment: no queue to write to"
    region = run.mocks.region
    assert run.value["function_arn"] == f"arn:{partition}:lambda:{region}:123456789012:function:lambda-test-dev"


def test_schema_migration_runs_inside_the_vpc_during_deployment(
    deployed: tuple[ProgramRun, str, list[str]],
) -> None:
    run, _, _ = deployed
    job, migration = run.one(FUNCTION, JOB).inputs, run.one(FUNCTION, MIGRATION).inputs
    assert migration["handler"] == "vpclambda_runtime.migrate.handler"
    assert migration["name"] == "lambda-test-dev-migrate"
    for same in ("code", "sourceCodeHash", "vpcConfig", "runtime", "replaceSecurityGroupsOnDestroy",
                 "replacementSecurityGroupIds"):
        assert migration[same] == job[same] if same != "code" else migration[same].path == job[same].path
    assert migration["role"] != job["role"]
    # Any change to a migration file (name or content) changes the trigger and re-runs the migration.
    files = sorted((HANDLER_DIR / "migrations").glob("*.sql"))
    assert [f.name for f in files][:1] == ["0001_employees.sql"]
    digest = hashlib.sha256(b"".join(
        f"{f.name}\0{hashlib.sha256(f.read_bytes()).hexdigest()}\n".encode() for f in files)).hexdigest()
    invocation = run.one("aws:lambda/invocation:Invocation")
    assert invocation.inputs["functionName"] == "lambda-test-dev-migrate"
    app_user = {"db_app_user": "app", "db_app_grants": "SELECT,INSERT,UPDATE,DELETE,EXECUTE"}
    assert json.loads(invocation.inputs["input"]) == {"migrations_sha256": digest, **app_user}
    assert invocation.inputs["triggers"]["migrations_sha256"] == digest
    assert {k: invocation.inputs["triggers"][k] for k in app_user} == app_user, "a changed grant runs it again"
    assert invocation.inputs["triggers"]["db_instance"] == run.one(INSTANCE).id
    waits_for = set(invocation.depends_on)
    assert {f"{NAME}-db", f"{NAME}-endpoint-SNS", f"{NAME}-endpoint-SecretsManager", MIGRATION} <= waits_for
    rule_names = {r.name for r in run.of_type(INGRESS) + run.of_type(EGRESS)}
    assert rule_names <= waits_for
    assert {f"{NAME}-migration-role-vpc-access", f"{NAME}-migration-role-read-master-secret"} <= set(
        run.one(FUNCTION, MIGRATION).depends_on)
    assert {f"{NAME}-LambdaExecRole-vpc-access", f"{NAME}-LambdaExecRole-publish-and-read-secret"} <= set(
        run.one(FUNCTION, JOB).depends_on)


def test_placeholder_group_has_no_rules(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, _ = deployed
    placeholder = run.value["security_group_ids"]["placeholder-sg"]
    for rule in run.of_type(INGRESS) + run.of_type(EGRESS):
        assert placeholder not in (rule.inputs["securityGroupId"], rule.inputs["referencedSecurityGroupId"])


def test_function_package_contents(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, _, _ = deployed
    fn = run.one(FUNCTION, JOB).inputs
    archive_path = Path(fn["code"].path)
    data = archive_path.read_bytes()
    assert fn["sourceCodeHash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    with zipfile.ZipFile(archive_path) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert archive.testzip() is None
    assert names == sorted(names), "stable ordering"
    assert {"app.py", "vpclambda_runtime/__init__.py", "vpclambda_runtime/migrate.py", "requirements.txt",
            "pymysql/__init__.py", "pymysql/connections.py"} <= set(names)
    assert any(n.startswith("vpclambda_runtime/certs/") and n.endswith(".pem") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.startswith(("tests/", "boto3/", "botocore/"))]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    handler_sources = {p.relative_to(HANDLER_DIR).as_posix() for p in HANDLER_DIR.rglob("*.py")
                       if "__pycache__" not in p.parts}
    runtime_sources = {f"vpclambda_runtime/{p.relative_to(RUNTIME_DIR).as_posix()}" for p in RUNTIME_DIR.rglob("*.py")
                       if "__pycache__" not in p.parts}
    assert handler_sources | runtime_sources <= set(names)


def test_outputs_are_registered_and_resolved(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, partition, _ = deployed
    assert set(run.value) == {
        "function_name", "function_arn", "topic_arn", "db_address", "db_port", "db_secret_arn", "db_proxy_endpoint",
        "role_arn", "migration_role_arn", "log_group_name", "security_group_ids", "endpoint_ids",
        "migration_function_name", "schema_migration_result", "kms_key_arn", "dead_letter_queue_arn",
        "alarm_topic_arn", "dashboard_name", "queue_arn", "queue_url",
    }
    assert run.value["db_port"] == 3306
    assert run.value["db_address"].endswith(".rds.amazonaws.com" + (".cn" if partition == "aws-cn" else ""))
    assert all(v for name, v in run.value.items() if not name.startswith("queue_") and name != "db_proxy_endpoint")
    assert run.value["queue_arn"] == run.value["queue_url"] == "", "no queue, no queue outputs"
    assert run.value["db_proxy_endpoint"] == "", "no proxy without db_proxy"


def test_arguments_change_what_is_built() -> None:
    run = build(
        "aws", ["subnet-a", "subnet-b"],
        db_name="payroll", db_username="reader", db_engine_version="8.0.39", db_instance_class="db.t4g.small",
        db_allocated_storage_gb=50, function_memory_mb=512, function_timeout_seconds=60,
        function_architecture="x86_64", log_retention_days=90, function_name="payroll-notifier",
        db_deletion_protection=False, db_final_snapshot=False, tags={"team": "platform"},
    )
    db = run.one(INSTANCE).inputs
    assert (db["dbName"], db["username"], db["engineVersion"], db["instanceClass"], db["allocatedStorage"]) == (
        "payroll", "reader", "8.0.39", "db.t4g.small", 50)
    assert db["deletionProtection"] is False and db["skipFinalSnapshot"] is True
    fn = run.one(FUNCTION, JOB).inputs
    assert (fn["name"], fn["memorySize"], fn["timeout"]) == ("payroll-notifier", 512, 60)
    assert fn["architectures"] == ["x86_64"]
    assert fn["environment"]["variables"]["DB_NAME"] == "payroll"
    assert run.one("aws:cloudwatch/logGroup:LogGroup", f"{JOB}-logs").inputs == {
        "name": "/aws/lambda/payroll-notifier", "retentionInDays": 90, "kmsKeyId": run.value["kms_key_arn"],
        "tags": {"component": "VpcLambdaWithPrivateServices", "component-name": NAME, "team": "platform"},
    }
    tagged = [r for r in run.resources if "tags" in r.inputs]
    assert len(tagged) >= 12
    assert all(r.inputs["tags"]["team"] == "platform" for r in tagged)


def test_required_and_unknown_arguments_are_refused() -> None:
    with pytest.raises(ArgumentError, match="private_subnet_ids: missing") as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("x", {"vpc_id": VPC_ID}))  # type: ignore[typeddict-item]
    assert caught.value.problems == [Problem("private_subnet_ids", "missing; it is required")]
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("x", {  # type: ignore[typeddict-unknown-key]
            "vpc_id": VPC_ID, "private_subnet_ids": ["subnet-a", "subnet-b"], "privat_subnet_ids": ["subnet-a"]}))
    exact_words(caught.value)
    assert caught.value.problems == [
        Problem("privat_subnet_ids", "unknown argument; did you mean 'private_subnet_ids'?")]


def test_each_partition_verifies_against_its_own_shipped_bundle(deployed: tuple[ProgramRun, str, list[str]]) -> None:
    run, partition, _ = deployed
    fn = run.one(FUNCTION, JOB).inputs
    bundle = fn["environment"]["variables"]["DB_CA_BUNDLE"]
    assert bundle == CA_BUNDLES[partition]
    with zipfile.ZipFile(fn["code"].path) as archive:
        names = set(archive.namelist())
        shipped = archive.read(bundle)
        assert {"vpclambda_runtime/certs/rds-cn-bundle.pem", "vpclambda_runtime/certs/rds-global-bundle.pem"} <= names
        assert "vpclambda_runtime/certs/custom-ca-bundle.pem" not in names
    assert shipped == (RUNTIME_DIR.parent / bundle).read_bytes()
    if partition == "aws-cn":
        assert hashlib.sha256(shipped).hexdigest() == CN_BUNDLE_SHA256


def test_a_given_ca_bundle_is_shipped_and_used_instead() -> None:
    run = build("aws-cn", ["subnet-a", "subnet-b"], db_ca_bundle_file=str(EXTRA_CA))
    fn = run.one(FUNCTION, JOB).inputs
    assert fn["environment"]["variables"]["DB_CA_BUNDLE"] == "vpclambda_runtime/certs/custom-ca-bundle.pem"
    with zipfile.ZipFile(fn["code"].path) as archive:
        assert archive.read("vpclambda_runtime/certs/custom-ca-bundle.pem") == EXTRA_CA.read_bytes()


def test_a_partition_without_a_shipped_bundle_is_refused_at_preview() -> None:
    mocks = AwsMocks(partition="aws-us-gov", region="us-gov-west-1")
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices(NAME, {  # type: ignore[misc]
            "vpc_id": VPC_ID, "private_subnet_ids": ["subnet-a", "subnet-b"]}), mocks=mocks)
    exact_words(caught.value)
    assert "db_ca_bundle_file: the function runs in partition 'aws-us-gov', for which no RDS CA bundle" in str(
        caught.value)
    assert [r for r in mocks.registered if r.id is not None] == []
