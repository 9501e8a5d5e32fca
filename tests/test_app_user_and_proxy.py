"""The job never holds the master key: under mocks, one role per function (the job's with the topic,
the queue and `rds-db:connect` on exactly the application user's ARN; the migration's with the
master secret only), and the opt-in RDS Proxy (`db_proxy`) with its group, its four rules, IAM
end to end, its role, its alarms, the job's connection facts and the concurrency it allows."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from components import VpcLambdaWithPrivateServices
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import ACCOUNT_ID, AwsMocks, ProgramRun, run_program
from tests.refusal_record import exact_words

ROOT = Path(__file__).resolve().parent.parent
EXTRA_CA = Path(__file__).resolve().parent / "data" / "extra-ca.pem"
SUBNETS = ["subnet-0a", "subnet-0b"]
GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": SUBNETS}
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PROXY = "aws:rds/proxy:Proxy"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
AMAZON_ROOTS_SHA256 = "dfaa39c0350288ded35812f7b80f76c4a422b97ecc04c4ac84e325bec528b1b8"
"""vpclambda_runtime/certs/amazon-root-ca-bundle.pem, as its README records it."""


def build(partition: str = "aws", mocks: AwsMocks | None = None, **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **extra}).outputs(),  # type: ignore[misc]
                       partition=partition, mocks=mocks)


def statements(run: ProgramRun, role_name: str) -> list[dict[str, Any]]:
    role = run.one("aws:iam/role:Role", role_name)
    (policy,) = [r for r in run.of_type(ROLE_POLICY) if r.inputs["role"] == role.id]
    return list(json.loads(policy.inputs["policy"])["Statement"])


def actions(found: list[dict[str, Any]]) -> set[str]:
    return {s["Action"] for s in found}


def user_arn(run: ProgramRun, resource_id: str, user: str = "app") -> str:
    return f"arn:{run.mocks.partition}:rds-db:{run.mocks.region}:{ACCOUNT_ID}:dbuser:{resource_id}/{user}"


def group_keys(run: ProgramRun) -> dict[str, str]:
    return {group_id: key for key, group_id in run.value["security_group_ids"].items()}


@pytest.fixture(scope="module", params=["aws-cn", "aws"])
def direct(request: pytest.FixtureRequest) -> ProgramRun:
    return build(request.param)


@pytest.fixture(scope="module")
def proxied() -> ProgramRun:
    return build("aws", db_proxy=True)


def test_the_jobs_role_reads_no_secret_and_connects_as_exactly_the_application_user(direct: ProgramRun) -> None:
    job = statements(direct, "svc-LambdaExecRole")
    assert "secretsmanager:GetSecretValue" not in actions(job)
    connect = [s for s in job if s["Action"] == "rds-db:connect"]
    resource_id = direct.one("aws:rds/instance:Instance").outputs["resourceId"]
    assert connect == [{"Sid": "ConnectAsTheApplicationUser", "Effect": "Allow", "Action": "rds-db:connect",
                        "Resource": user_arn(direct, resource_id)}]
    assert resource_id.startswith("db-"), "the DbiResourceId, not the instance's identifier"


def test_the_migrations_role_reads_the_master_secret_and_publishes_nothing(direct: ProgramRun) -> None:
    assert statements(direct, "svc-migration-role") == [{
        "Sid": "ReadDatabaseCredentials", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": direct.value["db_secret_arn"]}]
    migration = direct.one(FUNCTION, "svc-migration").inputs
    assert migration["role"] == direct.value["migration_role_arn"] != direct.value["role_arn"]
    assert "TOPIC_ARN" not in migration["environment"]["variables"]


def test_only_the_migration_gets_the_secret_and_only_the_job_the_application_user(direct: ProgramRun) -> None:
    job = direct.one(FUNCTION, "svc-function").inputs["environment"]["variables"]
    migration = direct.one(FUNCTION, "svc-migration").inputs["environment"]["variables"]
    assert "DB_SECRET_ARN" not in job and job["DB_USER"] == "app"
    assert migration["DB_SECRET_ARN"] == direct.value["db_secret_arn"] and "DB_USER" not in migration
    assert (migration["DB_APP_USER"], migration["DB_APP_GRANTS"]) == ("app", "SELECT,INSERT,UPDATE,DELETE,EXECUTE")


def test_the_application_users_name_and_grants_are_arguments() -> None:
    run = build(db_app_user="reporter", db_app_grants=["select", "SHOW VIEW"])
    migration = run.one(FUNCTION, "svc-migration").inputs["environment"]["variables"]
    assert (migration["DB_APP_USER"], migration["DB_APP_GRANTS"]) == ("reporter", "SELECT,SHOW VIEW")
    assert run.one(FUNCTION, "svc-function").inputs["environment"]["variables"]["DB_USER"] == "reporter"
    resource_id = run.one("aws:rds/instance:Instance").outputs["resourceId"]
    assert [s["Resource"] for s in statements(run, "svc-LambdaExecRole") if s["Action"] == "rds-db:connect"] == [
        user_arn(run, resource_id, "reporter")]
    triggers = run.one("aws:lambda/invocation:Invocation").inputs["triggers"]
    assert (triggers["db_app_user"], triggers["db_app_grants"]) == ("reporter", "SELECT,SHOW VIEW")


def test_with_the_proxy_its_group_and_four_rules_exist_and_the_verdicts_pass() -> None:
    captured: dict[str, Any] = {}

    def program() -> dict[str, Any]:
        captured["c"] = VpcLambdaWithPrivateServices("svc", {**GOOD, "db_proxy": True})  # type: ignore[misc]
        return captured["c"].outputs()

    run = run_program(program)
    keys = group_keys(run)
    assert set(keys.values()) == {"lambda-sg", "rds-sg", "endpoint-sg", "placeholder-sg", "proxy-sg", "migration-sg"}
    rules = {(keys[r.inputs["securityGroupId"]], "ingress" if r.type == INGRESS else "egress", r.inputs["fromPort"],
              keys[r.inputs["referencedSecurityGroupId"]]) for r in run.of_type(INGRESS) + run.of_type(EGRESS)}
    assert rules == {
        ("lambda-sg", "egress", 443, "endpoint-sg"), ("endpoint-sg", "ingress", 443, "lambda-sg"),
        ("lambda-sg", "egress", 3306, "proxy-sg"), ("proxy-sg", "ingress", 3306, "lambda-sg"),
        ("proxy-sg", "egress", 3306, "rds-sg"), ("rds-sg", "ingress", 3306, "proxy-sg"),
        ("migration-sg", "egress", 3306, "rds-sg"), ("rds-sg", "ingress", 3306, "migration-sg"),
    }
    assert [(v.path, v.reachable) for v in captured["c"].verdicts] == [
        ("database", True), ("migration-database", True), ("sns", True), ("secretsmanager", True)]
    proxy = run.one(PROXY).inputs
    assert [keys[g] for g in proxy["vpcSecurityGroupIds"]] == ["proxy-sg"]
    job = run.one(FUNCTION, "svc-function").inputs
    migration = run.one(FUNCTION, "svc-migration").inputs
    assert [keys[g] for g in job["vpcConfig"]["securityGroupIds"]] == ["lambda-sg"]
    assert [keys[g] for g in migration["vpcConfig"]["securityGroupIds"]] == ["lambda-sg", "migration-sg"]
    assert [keys[g] for g in run.one("aws:rds/instance:Instance").inputs["vpcSecurityGroupIds"]] == ["rds-sg"]


def test_the_proxy_requires_tls_and_iam_end_to_end_in_the_private_subnets(proxied: ProgramRun) -> None:
    proxy = proxied.one(PROXY)
    inputs = proxy.inputs
    assert (inputs["engineFamily"], inputs["defaultAuthScheme"], inputs["requireTls"], inputs["debugLogging"]) == (
        "MYSQL", "IAM_AUTH", True, False)
    assert inputs["vpcSubnetIds"] == SUBNETS
    assert "auths" not in inputs, "end-to-end IAM: no secret for the proxy to read"
    assert inputs["name"] == "svc-dev-proxy"
    role = proxied.one("aws:iam/role:Role", "svc-db-proxy-role")
    assert inputs["roleArn"] == role.outputs["arn"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    resource_id = proxied.one("aws:rds/instance:Instance").outputs["resourceId"]
    assert statements(proxied, "svc-db-proxy-role") == [{
        "Sid": "ConnectToTheDatabaseForTheClient", "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": user_arn(proxied, resource_id)}]
    target = proxied.one("aws:rds/proxyTarget:ProxyTarget").inputs
    assert (target["dbProxyName"], target["targetGroupName"], target["dbInstanceIdentifier"]) == (
        "svc-dev-proxy", "default", "svc-dev")
    pool = proxied.one("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup").inputs["connectionPoolConfig"]
    assert pool == {"maxConnectionsPercent": 50, "maxIdleConnectionsPercent": 25, "connectionBorrowTimeout": 30}


def test_with_the_proxy_the_job_connects_to_it_as_the_application_user(proxied: ProgramRun) -> None:
    proxy = proxied.one(PROXY)
    prx = proxy.outputs["arn"].rsplit(":", 1)[1]
    assert prx.startswith("prx-")
    job = statements(proxied, "svc-LambdaExecRole")
    assert [s["Resource"] for s in job if s["Action"] == "rds-db:connect"] == [user_arn(proxied, prx)]
    assert "secretsmanager:GetSecretValue" not in actions(job)
    env = proxied.one(FUNCTION, "svc-function").inputs["environment"]["variables"]
    assert (env["DB_HOST"], env["DB_PORT"], env["DB_PROXY"], env["DB_USER"]) == (
        proxy.outputs["endpoint"], "3306", "true", "app")
    assert proxied.value["db_proxy_endpoint"] == proxy.outputs["endpoint"]
    # The proxy's certificate comes from ACM: the job trusts the Amazon roots; the migration RDS's.
    assert env["DB_CA_BUNDLE"] == "vpclambda_runtime/certs/amazon-root-ca-bundle.pem"
    migration = proxied.one(FUNCTION, "svc-migration").inputs["environment"]["variables"]
    assert (migration["DB_HOST"], migration["DB_CA_BUNDLE"]) == (
        proxied.value["db_address"], "vpclambda_runtime/certs/rds-global-bundle.pem")
    with zipfile.ZipFile(proxied.one(FUNCTION, "svc-function").inputs["code"].path) as archive:
        shipped = archive.read(env["DB_CA_BUNDLE"])
    assert hashlib.sha256(shipped).hexdigest() == AMAZON_ROOTS_SHA256
    assert shipped == (ROOT / env["DB_CA_BUNDLE"]).read_bytes()
    certs = x509.load_pem_x509_certificates(shipped)
    assert [c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for c in certs] == [
        "Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2"]
    for cert in certs:
        assert cert.subject == cert.issuer
        cert.verify_directly_issued_by(cert)
    assert AMAZON_ROOTS_SHA256 in (ROOT / "vpclambda_runtime" / "certs" / "README.md").read_text()


def test_a_proxy_in_china_needs_a_given_trust_store() -> None:
    mocks = AwsMocks(partition="aws-cn", region="cn-northwest-1")
    with pytest.raises(ArgumentError) as caught:
        build("aws-cn", mocks=mocks, db_proxy=True)
    exact_words(caught.value)
    assert [p.argument for p in caught.value.problems] == ["db_proxy"]
    assert "no trust store known to verify an RDS Proxy's certificate in partition 'aws-cn'" in str(caught.value)
    assert mocks.registered == []
    env = build("aws-cn", db_proxy=True, db_ca_bundle_file=str(EXTRA_CA)).one(FUNCTION, "svc-function").inputs[
        "environment"]["variables"]
    assert env["DB_CA_BUNDLE"] == "vpclambda_runtime/certs/custom-ca-bundle.pem"


def test_an_engine_version_the_proxy_does_not_support_is_refused_at_preview() -> None:
    mocks = AwsMocks(mysql_versions=("8.4.7", "9.1.0"))
    with pytest.raises(ArgumentError) as caught:
        build(mocks=mocks, db_proxy=True, db_engine_version="9.1")
    exact_words(caught.value)
    assert [p.argument for p in caught.value.problems] == ["db_proxy"]
    assert caught.value.problems[0].message.startswith(
        "RDS Proxy does not support RDS for MySQL 9.1.0 (it supports 5.7, 8.0, 8.4)")
    assert build(mocks=AwsMocks(mysql_versions=("8.4.7", "9.1.0")), db_engine_version="9.1").value["db_address"]


@pytest.mark.parametrize(("db_proxy", "reserved"), [(False, 31), (True, 32)])
def test_auto_concurrency_follows_the_proxys_pool_when_on(db_proxy: bool, reserved: int) -> None:
    run = build(db_proxy=db_proxy, function_reserved_concurrency_auto=True)
    assert run.one(FUNCTION, "svc-function").inputs["reservedConcurrentExecutions"] == reserved
    assert "reservedConcurrentExecutions" not in run.one(FUNCTION, "svc-migration").inputs


def test_a_reservation_beyond_the_proxys_pool_is_refused() -> None:
    with pytest.raises(ArgumentError) as caught:
        build(db_proxy=True, function_reserved_concurrency=33)
    exact_words(caught.value)
    assert [(p.argument, p.message[:60]) for p in caught.value.problems] == [
        ("function_reserved_concurrency", "got 33; with db_proxy each execution holds one of the proxy'")]
    assert build(db_proxy=True, function_reserved_concurrency=32).value["function_name"]
