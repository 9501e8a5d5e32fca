"""Bad arguments are refused when the component is constructed, before anything is registered,
with a message naming the argument, what was given and what is allowed."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components import VpcLambdaWithPrivateServices
from components.checks.availability import subnet_zone_problems as check_subnet_azs
from components.checks.validation import check_subnet_ids, problems_in
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import AwsMocks, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}


def refused(args: dict[str, Any], subnet_azs: dict[str, str] | None = None) -> tuple[str, AwsMocks]:
    """Construct the component under mocks; return the error message and what was registered."""
    mocks = AwsMocks(subnet_azs=dict(subnet_azs or {}))
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", args), mocks=mocks)  # type: ignore[arg-type]
    exact_words(caught.value)
    return refusal(caught.value), mocks


def cloud_resources(mocks: AwsMocks) -> list[str]:
    return [r.name for r in mocks.registered if r.id is not None]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"vpc_id": None}, "vpc_id: missing; it is required"),
        ({"vpc_id": ""}, "vpc_id: missing; it is required"),
        ({"vpc_id": "my-vpc"}, "vpc_id: got 'my-vpc'; allowed: a VPC ID"),
        ({"private_subnet_ids": None}, "private_subnet_ids: missing; it is required"),
        ({"private_subnet_ids": "subnet-0a"}, "private_subnet_ids: got 'subnet-0a'; expected a list of two or more"),
        ({"private_subnet_ids": []}, "private_subnet_ids: got []; expected two or more subnets"),
        ({"private_subnet_ids": ["subnet-0a"]}, "private_subnet_ids: got ['subnet-0a']; expected two or more"),
        ({"private_subnet_ids": ["subnet-0a", "subnet-0a"]}, "private_subnet_ids: subnet-0a listed more than once"),
        ({"private_subnet_ids": ["subnet-0a", "sg-123"]}, "private_subnet_ids: 'sg-123' is not a subnet ID"),
        ({"db_port": 0}, "db_port: got 0; allowed: 1150 to 65535"),
        ({"db_port": 1149}, "db_port: got 1149; allowed: 1150 to 65535"),
        ({"db_port": 70000}, "db_port: got 70000; allowed: 1150 to 65535"),
        ({"db_port": "3306"}, "db_port: got '3306'; expected a whole number from 1150 to 65535"),
        ({"function_memory_mb": 64}, "function_memory_mb: got 64; allowed: 128 to 10240"),
        ({"function_memory_mb": True}, "function_memory_mb: got True; expected a whole number"),
        ({"function_timeout_seconds": 901}, "function_timeout_seconds: got 901; allowed: 1 to 900"),
        ({"function_timeout_seconds": 5},
         "function_timeout_seconds: got 5; must be above db_connect_timeout_seconds (5)"),
        ({"function_timeout_seconds": 10, "db_connect_timeout_seconds": 20},
         "function_timeout_seconds: got 10; must be above db_connect_timeout_seconds (20)"),
        ({"db_allocated_storage_gb": 10}, "db_allocated_storage_gb: got 10; allowed: 20 to 65536"),
        ({"log_retention_days": 10}, "log_retention_days: got 10; allowed: 1, 3, 5, 7, 14, 30"),
        ({"db_engine_version": "eight"}, "db_engine_version: 'eight' is not allowed; allowed: major.minor[.patch]"),
        ({"db_instance_class": "t3.micro"},
         "db_instance_class: 't3.micro' is not allowed; allowed: an RDS instance class"),
        ({"db_name": "my-db"}, "db_name: 'my-db' is not allowed (refused: '-'); allowed: a letter, then"),
        ({"db_name": "d" * 65}, "db_name: 'ddd"),
        ({"db_username": "admin"}, "db_username: 'admin' is reserved by AWS"),
        ({"function_runtime": "python2.7"}, "function_runtime: got 'python2.7'; allowed: python3.11, python3.12"),
        ({"function_architecture": "arm"}, "function_architecture: got 'arm'; allowed: arm64, x86_64"),
        ({"function_name": "x" * 60}, "function_name: 'xxxx"),
        ({"function_name": "x" * 57}, "is 57 characters; allowed: 1 to 56"),
        ({"function_name": "job.v2"}, "function_name: 'job.v2' is not allowed (refused: '.')"),
        ({"topic_name": "bad topic"}, "topic_name: 'bad topic' is not allowed (refused: ' ')"),
        ({"db_deletion_protection": "no"}, "db_deletion_protection: got 'no'; expected true or false"),
        ({"tags": {"team": 7}}, "tags: 'team': 7; keys and values must be strings"),
        ({"tags": ["team"]}, "tags: got ['team']; expected a mapping of strings to strings"),
        ({"tags": {"aws:team": "a"}}, "tags: key 'aws:team' starts with 'aws:', which AWS reserves"),
        ({"tags": {"RDS:x": "a"}}, "tags: key 'RDS:x' starts with 'rds:', which AWS reserves"),
        ({"tags": {"team": "it's"}}, "tags: value \"it's\" has characters AWS refuses in tags"),
        ({"tags": {"k" * 129: "a"}}, "is 129 characters; allowed: 1 to 128"),
        ({"tags": {"team": "v" * 257}}, "value of 'team' is 257 characters; allowed: at most 256"),
        ({"tags": {f"t{i}": "x" for i in range(47)}}, "tags: 47 tags; allowed: at most 46 per resource"),
        ({"tags": {"Name": "mine"}}, "tags: Name set by the component itself"),
        ({"function_reserved_concurrency": "lots"},
         "function_reserved_concurrency: got 'lots'; expected a whole number from 1 to 100000"),
        ({"function_reserved_concurrency_auto": "yes"}, "function_reserved_concurrency_auto: got 'yes'; expected true"),
        ({"function_reserved_concurrency": 0}, "function_reserved_concurrency: got 0; allowed: 1 to 100000"),
        ({"privat_subnet_ids": ["subnet-0a"]},
         "privat_subnet_ids: unknown argument; did you mean 'private_subnet_ids'?"),
        ({"db_instance": "db.t4g.micro"}, "db_instance: unknown argument; did you mean 'db_instance_class'?"),
    ],
)
def test_bad_argument_is_refused_before_anything_is_registered(override: dict[str, Any], expected: str) -> None:
    args = {**GOOD, **override}
    message, mocks = refused({k: v for k, v in args.items() if v is not None or k not in GOOD})
    assert expected in message
    assert message.startswith("VpcLambdaWithPrivateServices: invalid arguments:")
    assert mocks.registered == [], "nothing may be registered before the arguments are checked"


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_in({"vpc_id": "", "private_subnet_ids": ["subnet-0a"], "db_port": 0, "log_retention_days": 2})
    assert len(problems) == 4
    assert [p.argument for p in problems] == ["vpc_id", "private_subnet_ids", "db_port", "log_retention_days"]


def test_subnets_all_in_one_availability_zone_are_refused() -> None:
    message, mocks = refused(GOOD, {"subnet-0a": "cn-northwest-1a", "subnet-0b": "cn-northwest-1a"})
    assert ("private_subnet_ids: all in one availability zone: "
            "subnet-0a (cn-northwest-1a), subnet-0b (cn-northwest-1a)") in message
    lookups = sorted(a["id"] for token, a in mocks.calls if token == "aws:ec2/getSubnet:getSubnet")
    assert lookups == ["subnet-0a", "subnet-0b"]
    assert cloud_resources(mocks) == []


def test_subnets_in_two_zones_pass() -> None:
    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", GOOD),  # type: ignore[arg-type]
                      subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1b"})
    assert run.one("aws:lambda/function:Function", "svc-function").inputs["vpcConfig"]["subnetIds"] == [
        "subnet-0a", "subnet-0b"]


def test_subnets_given_as_outputs_are_checked_once_known() -> None:
    def program() -> None:
        subnets = pulumi.Output.from_input(["subnet-0a", "subnet-0b"])
        VpcLambdaWithPrivateServices("svc", {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": subnets})

    mocks = AwsMocks(subnet_azs={"subnet-0a": "cn-northwest-1a", "subnet-0b": "cn-northwest-1a"})
    # Raised once the subnets are known: Pulumi wraps it in the ValueError of the input it resolved.
    with pytest.raises(ValueError, match=r"VpcLambdaWithPrivateServices: invalid arguments:\n  - private_subnet_ids: "
                                         "all in one availability zone"):
        run_program(program, mocks=mocks)
    subnet_users = [r.name for r in mocks.registered if r.type in (
        "aws:lambda/function:Function", "aws:rds/subnetGroup:SubnetGroup", "aws:ec2/vpcEndpoint:VpcEndpoint")]
    assert subnet_users == [], "nothing placed in the subnets before they are checked"


def test_everything_placed_in_the_subnets_uses_the_checked_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subnet IDs the check hands back (marked here by reversing them) are the ones the
    functions, the DB subnet group and the endpoints receive, never the unchecked input."""
    import components.component as component_module

    def marked(subnet_ids: Any, zone_check: Any, parent: Any) -> pulumi.Output[list[str]]:
        return pulumi.Output.from_input(subnet_ids).apply(lambda ids: list(reversed(ids)))

    monkeypatch.setattr(component_module, "checked_subnet_ids", marked)
    run = run_program(lambda: VpcLambdaWithPrivateServices("svc", GOOD))  # type: ignore[arg-type]
    checked = list(reversed(GOOD["private_subnet_ids"]))
    for function in run.of_type("aws:lambda/function:Function"):
        assert function.inputs["vpcConfig"]["subnetIds"] == checked, function.name
    assert run.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == checked
    for endpoint in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        assert endpoint.inputs["subnetIds"] == checked, endpoint.name


def test_single_subnet_given_as_output_is_refused_with_the_same_message() -> None:
    def program() -> None:
        subnets = pulumi.Output.from_input(["subnet-0a"])
        VpcLambdaWithPrivateServices("svc", {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": subnets})

    with pytest.raises(ValueError, match=r"invalid arguments:\n  - private_subnet_ids: got \['subnet-0a'\]; "
                                         "expected two or more"):
        run_program(program)


def test_pure_checks() -> None:
    assert check_subnet_ids(["subnet-1", "subnet-2", "subnet-3"]) == []
    assert check_subnet_azs({"subnet-1": "a", "subnet-2": "b"}) == []
    assert check_subnet_azs({"subnet-1": "a", "subnet-2": "a", "subnet-3": "a"})
    assert problems_in(GOOD) == []
    assert problems_in({**GOOD, "function_timeout_seconds": 6}) == []


def test_each_subnet_is_looked_up_once_per_program() -> None:
    from components import PrivateServiceEndpoints

    def program() -> None:
        shared = PrivateServiceEndpoints("endpoints", {"vpc_id": GOOD["vpc_id"],
                                                       "subnet_ids": GOOD["private_subnet_ids"]})
        for name in ("a", "b", "c"):
            VpcLambdaWithPrivateServices(name, {**GOOD, "endpoints": shared})  # type: ignore[typeddict-item]

    run = run_program(program, subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1b"})
    lookups = [a["id"] for token, a in run.mocks.calls if token == "aws:ec2/getSubnet:getSubnet"]
    assert sorted(lookups) == ["subnet-0a", "subnet-0b"]
    assert len(run.of_type("aws:lambda/function:Function")) == 6


def test_a_refusal_says_which_component_refused() -> None:
    from components import PrivateServiceEndpoints

    with pytest.raises(ArgumentError) as component:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {"vpc_id": "", "private_subnet_ids": ["subnet-0a"]}))
    exact_words(component.value)
    assert component.value.source == "VpcLambdaWithPrivateServices"
    assert str(component.value).startswith("VpcLambdaWithPrivateServices: invalid arguments:\n  - vpc_id: ")
    with pytest.raises(ArgumentError) as shared:
        run_program(lambda: PrivateServiceEndpoints("shared", "not a mapping"))  # type: ignore[arg-type]
    exact_words(shared.value)
    assert shared.value.source == "PrivateServiceEndpoints"
    assert str(shared.value) == "PrivateServiceEndpoints: invalid arguments:\n  - args: got str; expected a mapping"
