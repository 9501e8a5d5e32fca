"""The component as other projects get it: `pip install <repository>` (not editable) into a
fresh virtualenv outside the checkout, then the example consumer programs evaluated there under
Pulumi mocks, checking the function package the installed component built."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components.version import __version__
from tests.consumer_env import consumer_venv

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
_IGNORED_ANYWHERE = shutil.ignore_patterns(".git", ".venv", ".build", "*.egg-info", "__pycache__", ".pytest_cache",
                                           ".ruff_cache", ".mypy_cache", ".hypothesis", "mutants")


def COPY_IGNORE(directory: str, names: list[str]) -> set[str]:
    """What a copy of the repository leaves out: caches anywhere (and `make mutate`'s `mutants/`),
    setuptools' `build/` at the root (`components/build/` is the package's own)."""
    ignored = set(_IGNORED_ANYWHERE(directory, names))
    return ignored | ({"build"} if Path(directory) == ROOT else set())

# Runs one consumer program under the installed distribution's own mocks (vpclambda.testing) in the
# consumer's virtualenv and prints what it built.
RUNNER = r'''
import json, sys
import vpclambda
from vpclambda.testing import AwsMocks, run_program

program, config = sys.argv[1], json.loads(sys.argv[2])
facts = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
run = run_program(program, AwsMocks(**facts), project="consumer", stack="test", config=config)
print(json.dumps({"vpclambda_file": vpclambda.__file__, "version": vpclambda.__version__,
                  "resources": [{"type": r.type, "name": r.name, "inputs": r.inputs, "outputs": r.outputs,
                                 "id": r.id, "transforms": r.options.transforms} for r in run.resources]},
                 default=lambda o: getattr(o, "path", str(o))))
'''


@pytest.fixture(scope="module")
def installed_consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the repository installed from a copy of its files (not editable)."""
    base = tmp_path_factory.mktemp("consumer")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    venv = base / "venv"
    # The consumer's own dependencies (pulumi, pulumi-aws) come from this environment, so the test
    # does not download them again; the component itself is installed into the venv.
    consumer_venv(venv)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv


def evaluate(venv: Path, program: Path, config: dict[str, str], workdir: Path,
             facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The program run under the installed copy's `AwsMocks(**facts)` (the account's resources...)."""
    workdir.mkdir(parents=True, exist_ok=True)
    runner = workdir / "run_under_mocks.py"
    runner.write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(venv / "bin" / "python"), str(runner), str(program), json.dumps(config),
                             json.dumps(facts or {})],
                            cwd=workdir, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def function_package(run: dict[str, Any], logical_name: str) -> Path:
    fn = next(r for r in run["resources"] if r["type"] == "aws:lambda/function:Function" and r["name"] == logical_name)
    return Path(fn["inputs"]["code"])


def test_installed_distribution_builds_the_same_function_package(installed_consumer: Path, tmp_path: Path) -> None:
    from components.build.packaging import build_function_package

    run = evaluate(installed_consumer, ROOT / "examples" / "minimal" / "__main__.py",
                   {"consumer:vpcId": "vpc-0a1b2c3d", "consumer:privateSubnetIds": '["subnet-0a", "subnet-0b"]'},
                   tmp_path / "minimal")
    installed_from = Path(run["vpclambda_file"]).resolve()
    assert str(installed_from).startswith(str(installed_consumer.resolve())), installed_from
    assert not str(installed_from).startswith(str(ROOT))
    assert run["version"] == __version__

    zip_path = function_package(run, "orders-notifier-function")
    assert zip_path.is_file() and str(zip_path).startswith(str(tmp_path)), "built in the consumer's directory"
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert {"app.py", "vpclambda_runtime/migrate.py", "migrations/0001_employees.sql",
            "vpclambda_runtime/certs/rds-global-bundle.pem", "pymysql/__init__.py"} <= names
    assert not [n for n in names if n.endswith("__init__.py") and "/" not in n], "no package marker at the root"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    from_checkout = build_function_package(build_dir=tmp_path / "checkout-build")
    assert hashlib.sha256(zip_path.read_bytes()).digest() == base64.b64decode(from_checkout.sha256_base64), (
        "the installed component builds byte-for-byte the package the checkout builds")


def test_full_example_with_a_vpc_in_the_same_program_and_transforms(installed_consumer: Path, tmp_path: Path) -> None:
    run = evaluate(installed_consumer, ROOT / "examples" / "full" / "__main__.py", {}, tmp_path / "full")
    resources = run["resources"]
    component = next(r for r in resources if r["type"] == "vpclambda:index:VpcLambdaWithPrivateServices")
    assert component["name"] == "payroll"
    assert component["transforms"] == 2, "the transforms reach the engine with the component's registration"
    fn = next(r for r in resources if r["name"] == "payroll-function")["inputs"]
    assert fn["name"] == "payroll-report" and fn["memorySize"] == 512 and fn["timeout"] == 60
    subnet_ids = [r["id"] for r in resources if r["type"] == "aws:ec2/subnet:Subnet"]
    # Compared as sets: the two subnets register concurrently, so the mocks' ids follow no fixed order.
    assert len(subnet_ids) == 2 and sorted(fn["vpcConfig"]["subnetIds"]) == sorted(subnet_ids)
    db = next(r for r in resources if r["type"] == "aws:rds/instance:Instance")["inputs"]
    assert db["instanceClass"] == "db.r6g.large" and db["backupRetentionPeriod"] == 14
    # db.r6g.large: 16 GiB less 256 MiB -> max_connections 1344; with the proxy, its pool: half.
    assert fn["reservedConcurrentExecutions"] == 672
    proxy = next(r for r in resources if r["type"] == "aws:rds/proxy:Proxy")["inputs"]
    assert sorted(proxy["vpcSubnetIds"]) == sorted(subnet_ids) and proxy["defaultAuthScheme"] == "IAM_AUTH"
    migration = next(r for r in resources if r["name"] == "payroll-migration")["inputs"]
    assert migration["environment"]["variables"]["DB_APP_GRANTS"] == "SELECT,INSERT,UPDATE"
    assert fn["environment"]["variables"]["DB_USER"] == "payroll_app"


def test_shared_vpc_example_two_services_one_endpoint_set(installed_consumer: Path, tmp_path: Path) -> None:
    run = evaluate(installed_consumer, ROOT / "examples" / "shared-vpc" / "__main__.py", {}, tmp_path / "shared-vpc")
    resources = run["resources"]
    services = [r["name"] for r in resources if r["type"] == "vpclambda:index:VpcLambdaWithPrivateServices"]
    assert sorted(services) == ["billing", "orders"]
    endpoints = [r for r in resources if r["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert sorted(e["inputs"]["serviceName"] for e in endpoints) == [
        "com.amazonaws.us-east-1.secretsmanager", "com.amazonaws.us-east-1.sns"], "one endpoint per service"
    (shared_group,) = [r["id"] for r in resources if r["name"] == "apps-endpoints-endpoint-sg"]
    for name in services:
        lambda_group = next(r["id"] for r in resources if r["name"] == f"{name}-lambda-sg")
        egress, ingress = (f"aws:vpc/securityGroup{d}Rule:SecurityGroup{d}Rule" for d in ("Egress", "Ingress"))
        to_endpoints = [r for r in resources if r["type"] == egress and r["inputs"]["securityGroupId"] == lambda_group
                        and r["inputs"].get("referencedSecurityGroupId") == shared_group]
        from_function = [r for r in resources if r["type"] == ingress and r["inputs"]["securityGroupId"] == shared_group
                         and r["inputs"].get("referencedSecurityGroupId") == lambda_group]
        assert len(to_endpoints) == len(from_function) == 1
    assert not [r for r in resources if "cidrIpv4" in r["inputs"]]


def test_transforms_in_the_full_example_change_only_what_they_target() -> None:
    import importlib.util

    import pulumi

    spec = importlib.util.spec_from_file_location("full_transforms", ROOT / "examples" / "full" / "transforms.py")
    assert spec and spec.loader
    transforms = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(transforms)
    opts = pulumi.ResourceOptions()

    def transform_args(type_: str, props: dict[str, Any]) -> pulumi.ResourceTransformArgs:
        return pulumi.ResourceTransformArgs(custom=True, type_=type_, name="x", props=props, opts=opts)

    db = transforms.memory_optimised_database(transform_args("aws:rds/instance:Instance",
                                                             {"instanceClass": "db.t4g.micro", "engine": "mysql"}))
    assert db is not None and db.props == {"instanceClass": "db.r6g.large", "engine": "mysql"}
    assert transforms.memory_optimised_database(transform_args("aws:sns/topic:Topic", {"name": "t"})) is None
    tagged = transforms.cost_centre_tags(transform_args("aws:sns/topic:Topic", {"tags": {"team": "payments"}}))
    assert tagged is not None and tagged.props["tags"] == {"team": "payments", "cost-centre": "payments"}
    assert transforms.cost_centre_tags(transform_args("aws:iam/rolePolicy:RolePolicy", {"policy": "{}"})) is None


def test_custom_job_example_builds_the_consumers_code_from_the_installed_component(installed_consumer: Path,
                                                                                   tmp_path: Path) -> None:
    """The consumer's directory, its requirement installed for Lambda's platform, its migration and
    the runtime library of the installed distribution: the same bytes the checkout builds."""
    from components.build.packaging import PackageInputs, build_package
    from components.build.requirements_build import expand

    example = ROOT / "examples" / "custom-job"
    run = evaluate(installed_consumer, example / "__main__.py",
                   {"consumer:vpcId": "vpc-0a1b2c3d", "consumer:privateSubnetIds": '["subnet-0a", "subnet-0b"]'},
                   tmp_path / "custom-job")
    assert Path(run["vpclambda_file"]).resolve().is_relative_to(installed_consumer.resolve())
    resources = {r["name"]: r for r in run["resources"]}
    job, migration = resources["stock-report-function"]["inputs"], resources["stock-report-migration"]["inputs"]
    assert job["handler"] == "stock_report.handler"
    assert migration["handler"] == "vpclambda_runtime.migrate.handler"
    assert job["environment"]["variables"]["LOW_STOCK_THRESHOLD"] == "5"
    zip_path = function_package(run, "stock-report-function")
    assert zip_path.is_relative_to(tmp_path), "built in the consumer's directory"
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert {"stock_report.py", "requirements.txt", "humanize/__init__.py", "migrations/0001_stock.sql",
            "vpclambda_runtime/job.py", "pymysql/__init__.py"} <= names
    assert "app.py" not in names
    from_checkout = build_package(PackageInputs(
        source_dir=example / "job", migrations_dir=example / "migrations",
        requirements=tuple(expand([f"-r {example / 'job' / 'requirements.txt'}"]))), tmp_path / "checkout-build")
    assert hashlib.sha256(zip_path.read_bytes()).digest() == base64.b64decode(from_checkout.sha256_base64), (
        "the installed component builds byte-for-byte the package the checkout builds")
    invocation = next(r for r in run["resources"] if r["type"] == "aws:lambda/invocation:Invocation")["inputs"]
    assert json.loads(invocation["input"]) == {"migrations_sha256": from_checkout.migrations_sha256,
                                               "db_app_user": "app",
                                               "db_app_grants": "SELECT,INSERT,UPDATE,DELETE,EXECUTE"}


def test_a_consumer_with_another_pymysql_gets_the_bundled_one_in_the_package(installed_consumer: Path,
                                                                             tmp_path: Path) -> None:
    """The distribution accepts PyMySQL 1.1 to below 2 beside it; the function's package bundles
    exactly the pinned one (installed for Lambda's platform), whatever the consumer installed.
    Runs last in this module: it changes the consumer's PyMySQL."""
    from components.build.packaging import bundled_requirements

    result = subprocess.run([str(installed_consumer / "bin" / "python"), "-m", "pip", "install", "--quiet",
                             "PyMySQL==1.1.1"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    version = subprocess.run([str(installed_consumer / "bin" / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('PyMySQL'))"],
                             capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert version == "1.1.1"
    run = evaluate(installed_consumer, ROOT / "examples" / "minimal" / "__main__.py",
                   {"consumer:vpcId": "vpc-0a1b2c3d", "consumer:privateSubnetIds": '["subnet-0a", "subnet-0b"]'},
                   tmp_path / "other-pymysql")
    with zipfile.ZipFile(function_package(run, "orders-notifier-function")) as archive:
        bundled = archive.read("pymysql/__init__.py").decode()
        names = archive.namelist()
    pinned = bundled_requirements()["PyMySQL"]
    assert f"VERSION = ({', '.join(pinned.split('.'))}, " in bundled, "the pinned PyMySQL, not the consumer's"
    assert not [n for n in names if ".dist-info/" in n]


EXISTING_VPC_CONFIG = {"consumer:vpcId": "vpc-0a1b2c3d", "consumer:privateSubnetIds": '["subnet-0a", "subnet-0b"]'}
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run["resources"]}


def test_scheduled_job_example_runs_the_job_on_its_schedule(installed_consumer: Path, tmp_path: Path) -> None:
    run = evaluate(installed_consumer, ROOT / "examples" / "scheduled-job" / "__main__.py", EXISTING_VPC_CONFIG,
                   tmp_path / "scheduled-job")
    found = by_name(run)
    rule = found["employees-report-schedule"]["inputs"]
    assert rule["scheduleExpression"] == "cron(30 7 ? * MON-FRI *)" and rule["state"] == "ENABLED"
    assert rule["name"] == "employees-report-test-schedule"
    target = found["employees-report-schedule-target"]["inputs"]
    job = found["employees-report-function"]["inputs"]
    assert target["arn"].endswith(f":{job['name']}") and target["rule"] == rule["name"]
    assert target["retryPolicy"] == {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 3600}
    assert target["deadLetterConfig"]["arn"] == job["deadLetterConfig"]["targetArn"]
    permission = found["employees-report-schedule-permission"]["inputs"]
    assert (permission["principal"], permission["action"]) == ("events.amazonaws.com", "lambda:InvokeFunction")
    assert permission["sourceArn"] == found["employees-report-schedule"]["outputs"]["arn"]
    assert permission["sourceArn"].endswith(f":rule/{rule['name']}")
    alarm = found["employees-report-schedule-failed-invocations"]["inputs"]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
        "AWS/Events", "FailedInvocations", {"RuleName": rule["name"]})


def test_queue_consumer_example_consumes_its_queue_with_partial_batch_responses(installed_consumer: Path,
                                                                               tmp_path: Path) -> None:
    run = evaluate(installed_consumer, ROOT / "examples" / "queue-consumer" / "__main__.py", EXISTING_VPC_CONFIG,
                   tmp_path / "queue-consumer")
    found = by_name(run)
    queue, dead_letters = found["orders-queue"]["inputs"], found["orders-queue-dlq"]["inputs"]
    key = next(r for r in run["resources"] if r["type"] == "aws:kms/key:Key")
    queue_arn, dead_letters_arn = found["orders-queue"]["outputs"]["arn"], found["orders-queue-dlq"]["outputs"]["arn"]
    assert queue_arn.startswith("arn:aws:sqs:us-east-1:123456789012:orders-queue")
    assert queue["kmsMasterKeyId"] == dead_letters["kmsMasterKeyId"] == key["outputs"]["arn"]
    assert json.loads(queue["redrivePolicy"]) == {"deadLetterTargetArn": dead_letters_arn, "maxReceiveCount": 3}
    assert queue["visibilityTimeoutSeconds"] == 6 * 30 + 5, "six times the function's timeout, plus the window"
    mapping = found["orders-queue-events"]["inputs"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (10, 5)
    assert mapping["scalingConfig"] == {"maximumConcurrency": 5}
    assert mapping["eventSourceArn"] == queue_arn
    policy = json.loads(found["orders-LambdaExecRole-publish-and-read-secret"]["inputs"]["policy"])
    consume = next(s for s in policy["Statement"] if s["Sid"] == "ConsumeTheTriggerQueue")
    assert consume["Action"] == ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    assert consume["Resource"] == queue_arn, "that queue only"
    assert not [e for e in run["resources"] if e["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint"
                and e["inputs"]["serviceName"].endswith(".sqs")], "Lambda polls the queue: no SQS endpoint"
    with zipfile.ZipFile(function_package(run, "orders-function")) as archive:
        assert {"orders.py", "migrations/0001_orders.sql", "vpclambda_runtime/batch.py"} <= set(archive.namelist())


def test_existing_resources_example_creates_no_topic_key_or_database(installed_consumer: Path, tmp_path: Path) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:payments-events"
    key = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
    topic_key = "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-1234-5678-9abc-0123456789ab"
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments-app-AbCdEf"
    database = {"address": "payments.abc.us-east-1.rds.amazonaws.com", "port": 3306,
                "security_group_id": "sg-0123456789abcdef0", "secret_arn": secret,
                "resource_id": "db-ABCDEFGHIJKLMNOPQRSTUVWXY0"}
    run = evaluate(installed_consumer, ROOT / "examples" / "existing-resources" / "__main__.py",
                   {**EXISTING_VPC_CONFIG, "consumer:topicArn": topic, "consumer:topicKeyArn": topic_key,
                    "consumer:kmsKeyArn": key, "consumer:database": json.dumps(database)},
                   tmp_path / "existing-resources", facts={
                       # The account's resources, as AwsMocks is told about them.
                       "topics": {"payments-events": topic}, "kms_keys": {key: {}, topic_key: {}},
                       "security_groups": {database["security_group_id"]: "vpc-0a1b2c3d"},
                       "databases": [{"dbInstanceIdentifier": "payments-db", "resourceId": database["resource_id"],
                                      "engine": "mysql", "address": database["address"], "port": 3306,
                                      "dbInstanceClass": "db.t4g.small", "allocatedStorage": 100,
                                      "vpcSecurityGroups": [database["security_group_id"]],
                                      "dbParameterGroups": ["payments-tls"], "dbSubnetGroup": "payments-subnets",
                                      "vpcId": "vpc-0a1b2c3d"}]})
    types = {r["type"] for r in run["resources"]}
    assert not types & {"aws:kms/key:Key", "aws:kms/alias:Alias", "aws:rds/instance:Instance",
                        "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup"}
    assert [r["name"] for r in run["resources"] if r["type"] == "aws:sns/topic:Topic"] == [
        "payments-report-alarms"], "the alarm topic is the component's only topic"
    assert "payments-report-rds-sg" not in {r["name"] for r in run["resources"]}, "the instance's own group is used"
    found = by_name(run)
    job = found["payments-report-function"]["inputs"]
    env = job["environment"]["variables"]
    assert (env["TOPIC_ARN"], env["DB_HOST"], env["DB_PORT"], env["DB_USER"], env["DB_NAME"]) == (
        topic, database["address"], "3306", "app", "payments")
    assert "DB_SECRET_ARN" not in env, "the job logs in with an IAM token, never the master secret"
    assert found["payments-report-migration"]["inputs"]["environment"]["variables"]["DB_SECRET_ARN"] == secret
    assert job["kmsKeyArn"] == key
    ingress = [r["inputs"] for r in run["resources"] if r["type"] == INGRESS
               and r["inputs"]["securityGroupId"] == database["security_group_id"]]
    (rule,) = ingress
    lambda_group = found["payments-report-lambda-sg"]["id"]
    assert (rule["referencedSecurityGroupId"], rule["fromPort"], rule["toPort"]) == (lambda_group, 3306, 3306)
    policy = {s["Sid"]: s for s in json.loads(
        found["payments-report-LambdaExecRole-publish-and-read-secret"]["inputs"]["policy"])["Statement"]}
    assert policy["PublishNotification"]["Resource"] == topic
    assert policy["PublishToTheEncryptedTopic"]["Resource"] == topic_key
    assert policy["UseTheKeyThroughItsServices"]["Resource"] == key
    assert policy["ConnectAsTheApplicationUser"]["Resource"] == (
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{database['resource_id']}/app")
    migration_policy = {s["Sid"]: s for s in json.loads(
        found["payments-report-migration-role-read-master-secret"]["inputs"]["policy"])["Statement"]}
    assert migration_policy["ReadDatabaseCredentials"]["Resource"] == secret
    assert migration_policy["UseTheKeyThroughItsServices"]["Resource"] == key
    alarm = found["payments-report-db-cpu"]["inputs"]
    assert alarm["dimensions"] == {"DBInstanceIdentifier": "payments-db"}


def test_s3_reader_example_reads_through_a_gateway_endpoint(installed_consumer: Path, tmp_path: Path) -> None:
    run = evaluate(installed_consumer, ROOT / "examples" / "s3-reader" / "__main__.py",
                   {**EXISTING_VPC_CONFIG, "consumer:bucket": "example-reports"}, tmp_path / "s3-reader",
                   facts={"route_tables": [{"id": "rtb-0a1b2c3d", "vpcId": "vpc-0a1b2c3d", "subnets": [],
                                            "main": True}]})
    found = by_name(run)
    gateway = found["report-reader-endpoint-s3-gateway"]["inputs"]
    assert (gateway["vpcEndpointType"], gateway["serviceName"], gateway["routeTableIds"]) == (
        "Gateway", "com.amazonaws.us-east-1.s3", ["rtb-0a1b2c3d"])
    (statement,) = json.loads(gateway["policy"])["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("s3:GetObject",
                                                            "arn:aws:s3:::example-reports/reports/latest.csv")
    assert "subnetIds" not in gateway and "securityGroupIds" not in gateway
    rule = found["report-reader-lambda-sg-egress-443-s3-gateway"]["inputs"]
    prefix_list = found["report-reader-endpoint-s3-gateway"]["outputs"]["prefixListId"]
    assert prefix_list.startswith("pl-")
    assert (rule["prefixListId"], rule["fromPort"], rule["ipProtocol"]) == (prefix_list, 443, "tcp")
    assert not [r for r in run["resources"] if "cidrIpv4" in r["inputs"]], "no CIDR rule"
    role_policy = json.loads(found["report-reader-LambdaExecRole-publish-and-read-secret"]["inputs"]["policy"])
    permission = next(s for s in role_policy["Statement"] if s["Sid"] == "FunctionPermission1S3")
    assert (permission["Action"], permission["Resource"]) == ("s3:GetObject",
                                                              "arn:aws:s3:::example-reports/reports/latest.csv")
    with zipfile.ZipFile(function_package(run, "report-reader-function")) as archive:
        assert "read_report.py" in archive.namelist()

