"""`vpclambda.testing`: mocks a consumer's unit tests use with no argument, answering the component's
look-ups as the provider does, each fact changeable to see the component refuse; and `run_program`
on a function or a program file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import ArgumentError, VpcLambdaWithPrivateServices
from components.testing import AwsMocks, run_program
from components.testing.pulumi_mocks import partition_of

FUNCTION = "aws:lambda/function:Function"
SUBNETS = ["subnet-0a", "subnet-0b"]


def orders(**extra: Any) -> Any:
    return lambda: VpcLambdaWithPrivateServices("orders", {"vpc_id": "vpc-0a1b", "private_subnet_ids": SUBNETS,
                                                           **extra})


def problems(program: Any, mocks: AwsMocks) -> list[tuple[str, str]]:
    with pytest.raises(ArgumentError) as refused:
        run_program(program, mocks)
    return [(problem.argument, problem.message) for problem in refused.value.problems]


def test_with_no_argument_every_fact_has_a_default_and_the_component_passes() -> None:
    mocks = AwsMocks()
    assert (mocks.partition, mocks.region, mocks.account_id, mocks.zones()) == (
        "aws", "us-east-1", "123456789012", ["us-east-1a", "us-east-1b", "us-east-1c"])
    run = run_program(orders(), mocks)
    function = run.one(FUNCTION, "orders-function")
    assert function.inputs["vpcConfig"]["subnetIds"] == SUBNETS
    assert function.outputs["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:" + function.inputs["name"]
    looked_up = {token.split(":")[-1] for token, _ in run.mocks.calls}
    assert {"getPartition", "getRegion", "getCallerIdentity", "getSubnet", "getVpc", "getVpcEndpointService",
            "getEngineVersion", "getOrderableDbInstance", "getVpcEndpoint"} <= looked_up, "every look-up answered"
    assert {mocks.subnet_azs[s] for s in SUBNETS} == {"us-east-1a", "us-east-1b"}, "given subnets spread over zones"


@pytest.mark.parametrize(("given", "partition", "region"), [
    ({"region": "cn-northwest-1"}, "aws-cn", "cn-northwest-1"),
    ({"partition": "aws-cn"}, "aws-cn", "cn-northwest-1"),
    ({"region": "eu-west-1"}, "aws", "eu-west-1"),
    ({"region": "us-gov-west-1"}, "aws-us-gov", "us-gov-west-1"),
])
def test_the_partition_follows_the_region_and_the_region_the_partition(given: dict[str, str], partition: str,
                                                                        region: str) -> None:
    mocks = AwsMocks(**given)
    assert (mocks.partition, mocks.region) == (partition, region)
    assert partition_of(region) == partition


def test_an_unknown_partition_is_refused() -> None:
    with pytest.raises(ValueError, match="partition 'aws-mars'"):
        AwsMocks(partition="aws-mars")


def test_in_aws_china_endpoint_services_answer_under_their_real_names() -> None:
    run = run_program(orders(interface_endpoints=["sns", "secretsmanager", "sqs"]), AwsMocks(region="cn-northwest-1"))
    names = sorted(r.inputs["serviceName"] for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"))
    assert names == ["cn.com.amazonaws.cn-northwest-1.sqs", "com.amazonaws.cn-northwest-1.secretsmanager",
                     "com.amazonaws.cn-northwest-1.sns"]
    assert run.one(FUNCTION, "orders-function").outputs["arn"].startswith("arn:aws-cn:lambda:cn-northwest-1:")


def test_two_subnets_in_one_zone_are_refused() -> None:
    found = problems(orders(), AwsMocks(subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1a"}))
    assert found[0][0] == "private_subnet_ids" and "all in one availability zone" in found[0][1]


def test_a_region_of_one_zone_puts_every_subnet_in_it_and_is_refused() -> None:
    found = problems(orders(), AwsMocks(zone_names=("us-east-1a",)))
    assert found[0][0] == "private_subnet_ids" and "us-east-1a" in found[0][1]


@pytest.mark.parametrize("fact", ["dns_support", "dns_hostnames"])
def test_dns_off_is_refused(fact: str) -> None:
    found = problems(orders(), AwsMocks(**{fact: False}))
    assert [argument for argument, _ in found] == ["vpc_id"]


def test_an_existing_endpoint_and_another_account_are_facts_too() -> None:
    existing = {"id": "vpce-1", "vpcId": "vpc-0a1b", "serviceName": "com.amazonaws.us-east-1.sns",
                "privateDnsEnabled": True, "tags": {}}
    assert [argument for argument, _ in problems(orders(), AwsMocks(existing_endpoints=[existing]))] == [
        "interface_endpoints"]
    run = run_program(orders(), AwsMocks(account_id="210987654321"))
    assert ":210987654321:" in run.one(FUNCTION, "orders-function").outputs["arn"]


def test_a_look_up_the_provider_fails_fails_and_an_unknown_one_is_an_error() -> None:
    mocks = AwsMocks()
    missing = mocks.call(pulumi.runtime.MockCallArgs("aws:ec2/getVpcEndpoint:getVpcEndpoint",
                                                     {"vpcId": "vpc-0a1b", "serviceName": "x"}, ""))
    assert missing == ({}, [("", "no matching EC2 VPC Endpoint found")])
    with pytest.raises(NotImplementedError, match="getBucket"):
        mocks.call(pulumi.runtime.MockCallArgs("aws:s3/getBucket:getBucket", {}, ""))


@pytest.mark.parametrize(("token", "name", "error"), [
    ("aws:ec2/getVpcEndpoint:getVpcEndpoint", "VPC-ENDPOINT-TYPE", "The filter 'VPC-ENDPOINT-TYPE' is invalid"),
    ("aws:ec2/getRouteTables:getRouteTables", "association.subnet", "The filter 'association.subnet' is invalid"),
    ("aws:ec2/getVpcEndpointService:getVpcEndpointService", "service_name", "The filter 'service_name' is invalid"),
    ("aws:rds/getInstances:getInstances", "dbi-resource", "Unrecognized filter name: dbi-resource"),
])
def test_a_filter_aws_does_not_know_fails_the_look_up_as_aws_refuses_it(token: str, name: str, error: str) -> None:
    mocks = AwsMocks()
    answer = mocks.call(pulumi.runtime.MockCallArgs(token, {"filters": [{"name": name, "values": ["x"]}]}, ""))
    assert answer == ({}, [("", f"api error InvalidParameterValue: {error}")])
    tagged = mocks.call(pulumi.runtime.MockCallArgs(
        "aws:ec2/getRouteTables:getRouteTables", {"vpcId": "vpc-0a1b", "filters": [
            {"name": "tag:team", "values": ["orders"]}, {"name": "association.main", "values": ["true"]}]}, ""))
    assert isinstance(tagged, dict) and tagged["ids"], "EC2 takes tag:<key> filters and the documented names"


def test_a_program_file_with_its_projects_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: orders-notifier\nruntime: python\n")
    (tmp_path / "naming.py").write_text("PREFIX = 'orders'\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\nfrom naming import PREFIX\nfrom components import VpcLambdaWithPrivateServices\n"
        "config = pulumi.Config()\n"
        "service = VpcLambdaWithPrivateServices(PREFIX, {'vpc_id': config.require('vpcId'),\n"
        "    'private_subnet_ids': config.require_object('privateSubnetIds')})\n"
        "pulumi.export('topic_arn', service.topic_arn)\n")
    monkeypatch.chdir(tmp_path)
    run = run_program("__main__.py", config={"vpcId": "vpc-0a1b", "privateSubnetIds": SUBNETS})
    assert run.one(FUNCTION, "orders-function").inputs["vpcConfig"]["subnetIds"] == SUBNETS
    assert run.exports["topic_arn"].startswith("arn:aws:sns:us-east-1:")
    assert isinstance(run.namespace["service"], VpcLambdaWithPrivateServices)
    assert str(tmp_path) not in __import__("sys").path, "the program's directory is importable only while it runs"
    with pytest.raises(LookupError, match="expected one"):
        run.one(FUNCTION)

