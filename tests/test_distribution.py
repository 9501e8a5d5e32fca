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
                                           ".ruff_cache", ".mypy_cache", ".hypothesis")


def COPY_IGNORE(directory: str, names: list[str]) -> set[str]:
    """What a copy of the repository leaves out: caches anywhere, setuptools' `build/` at the root
    (`components/build/` is the package's own)."""
    ignored = set(_IGNORED_ANYWHERE(directory, names))
    return ignored | ({"build"} if Path(directory) == ROOT else set())

# Runs one consumer program under mocks in the consumer's virtualenv and prints what it built.
RUNNER = r'''
import json, runpy, sys
import pulumi
from pulumi.runtime.mocks import MockMonitor

program, config = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, program.rsplit("/", 1)[0])  # as Pulumi runs a program: its directory importable
registered = []

class Mocks(pulumi.runtime.Mocks):
    zones = {}

    def new_resource(self, args):
        out = dict(args.inputs)
        name = args.inputs.get("name") or args.name
        out.update(arn=f"arn:aws:svc:us-east-1:123456789012:{name}", name=name)
        if args.typ == "aws:rds/instance:Instance":
            out.update(address=f"{args.name}.abc.us-east-1.rds.amazonaws.com", port=args.inputs.get("port", 3306),
                       masterUserSecrets=[{"secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}])
        if args.typ == "aws:kms/key:Key":
            out.update(keyId="0a1b2c3d-1234-5678-9abc-0123456789ab")
        prefix = {"aws:ec2/subnet:Subnet": "subnet", "aws:ec2/vpc:Vpc": "vpc"}.get(args.typ, args.name)
        registered.append({"type": args.typ, "name": args.name, "inputs": args.inputs,
                           "transforms": len(args.transforms or []), "id": f"{prefix}-{len(registered):08x}"})
        return registered[-1]["id"], out

    def zone(self, subnet_id):
        return self.zones.setdefault(subnet_id, "us-east-1" + "ab"[len(self.zones) % 2])

    vpc = "vpc-unknown"

    def call(self, args):
        a = dict(args.args)
        if args.token == "aws:ec2/getVpc:getVpc":
            Mocks.vpc = a["id"]  # the subnets given are in the VPC given
        if args.token == "aws:ec2/getVpcEndpoint:getVpcEndpoint":
            return {}, [("", "no matching EC2 VPC Endpoint found")]
        return {
            "aws:index/getPartition:getPartition": {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
            "aws:index/getRegion:getRegion": {"region": "us-east-1", "name": "us-east-1", "id": "us-east-1"},
            "aws:index/getCallerIdentity:getCallerIdentity": {"accountId": "123456789012", "id": "123456789012"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {"names": ["us-east-1a", "us-east-1b"]},
            "aws:ec2/getVpcEndpointService:getVpcEndpointService": {
                "serviceName": (a.get("filters") or [{"values": [None]}])[0]["values"][0],
                "availabilityZones": ["us-east-1a", "us-east-1b"], "vpcEndpointPolicySupported": True},
            "aws:ec2/getSubnet:getSubnet": {"id": a.get("id"), "availabilityZone": self.zone(a.get("id")),
                                            "vpcId": self.vpc},
            "aws:ec2/getVpc:getVpc": {"id": a.get("id"), "enableDnsSupport": True, "enableDnsHostnames": True},
            "aws:rds/getEngineVersion:getEngineVersion": {"version": a.get("version"), "versionActual": "8.4.7"},
            "aws:rds/getOrderableDbInstance:getOrderableDbInstance": {
                "instanceClass": a.get("instanceClass"), "availabilityZones": ["us-east-1a", "us-east-1b"],
                "multiAzCapable": True, "minStorageSize": 20, "maxStorageSize": 65536,
                "supportsEnhancedMonitoring": True, "supportsIamDatabaseAuthentication": True,
                "supportsStorageEncryption": True},
        }[args.token]

pulumi.runtime.set_mocks(Mocks(), project="consumer", stack="test", preview=False, monitor=MockMonitor(Mocks()))
pulumi.runtime.set_all_config({f"{k}": v for k, v in config.items()}, [])

@pulumi.runtime.test
def run():
    runpy.run_path(program)

run()
import vpclambda
print(json.dumps({"vpclambda_file": vpclambda.__file__, "version": vpclambda.__version__,
                  "resources": registered}, default=lambda o: getattr(o, "path", str(o))))
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


def evaluate(venv: Path, program: Path, config: dict[str, str], workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    runner = workdir / "run_under_mocks.py"
    runner.write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(venv / "bin" / "python"), str(runner), str(program), json.dumps(config)],
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
