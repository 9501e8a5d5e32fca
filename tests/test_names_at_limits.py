"""Every named resource built at the longest inputs allowed, the limits stated here (not read from
the checks): the names reach AWS's limits exactly, and one character more is refused at preview
with an `ArgumentError` naming the argument (or the stack config key)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.model.problems import ArgumentError
from components.resources.private_vpc import PrivateVpc
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, run_program
from tests.refusal_record import exact_words

NAME_32 = "a-b2-b2-b2-b2-b2-b2-b2-b2-b2-b2c"
ROLE = "aws:iam/role:Role"
FUNCTION = "aws:lambda/function:Function"
LONGEST: dict[str, Any] = {
    "function_name": "f" * 56,  # the migration function adds "-migrate": 64, Lambda's limit
    "topic_name": "t" * 256,
    "db_name": "d" * 64,
    "db_username": "u" * 16,
    "vpc_flow_logs": True,
    "db_monitoring_interval_seconds": 1,
}
BASE = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
HEX7 = r"-[0-9a-f]{7}"


def build(name: str, **args: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices(name, {**BASE, **args}).outputs(),  # type: ignore[misc]
                       partition="aws", stack="production-eu")


def refused(name: str, **args: Any) -> ArgumentError:
    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices(name, {**BASE, **args}), mocks=mocks)  # type: ignore[misc]
    exact_words(caught.value)
    assert mocks.registered == [], "refused before anything is registered"
    return caught.value


@pytest.fixture(scope="module")
def longest() -> ProgramRun:
    assert len(NAME_32) == 32
    return build(NAME_32, **LONGEST)


def test_every_role_of_the_component_at_the_longest_name(longest: ProgramRun) -> None:
    roles = {r.name: r.outputs["name"] for r in longest.of_type(ROLE)}
    suffixes = {"-LambdaExecRole": 55, "-migration-role": 55, "-db-monitoring-role": 59, "-flow-logs-role": 55}
    assert set(roles) == {NAME_32 + suffix for suffix in suffixes}, "the flow-log role is built too"
    for suffix, length in suffixes.items():
        name = roles[NAME_32 + suffix]
        assert re.fullmatch(re.escape(NAME_32 + suffix) + HEX7, name), name
        assert len(name) == length <= 64


def test_the_private_vpc_s_flow_log_role_at_the_longest_name_is_63_characters() -> None:
    """The stack program's network is `<component name>-network`; with flow logs its role is
    `<name>-network-flow-logs-role-<7 hex>`: 63 characters of IAM's 64 at a 32-character name."""
    run = run_program(lambda: PrivateVpc(f"{NAME_32}-network", flow_logs=True) and None, partition="aws")
    (role,) = [r.outputs["name"] for r in run.of_type(ROLE)]
    assert re.fullmatch(re.escape(f"{NAME_32}-network-flow-logs-role") + HEX7, role)
    assert len(role) == 63


def test_the_functions_the_database_and_the_topic_at_their_limits(longest: ProgramRun) -> None:
    names = {f.name: f.inputs["name"] for f in longest.of_type(FUNCTION)}
    assert names == {f"{NAME_32}-function": "f" * 56, f"{NAME_32}-migration": "f" * 56 + "-migrate"}
    assert len(names[f"{NAME_32}-migration"]) == 64
    assert longest.one("aws:sns/topic:Topic", f"{NAME_32}-topic").inputs["name"] == "t" * 256
    db = longest.one("aws:rds/instance:Instance").inputs
    assert (db["dbName"], db["username"]) == ("d" * 64, "u" * 16)
    assert db["identifier"] == f"{NAME_32}-production-eu" and len(db["identifier"]) == 46
    groups = {g.inputs["name"] for g in longest.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert f"/aws/lambda/{'f' * 56}-migrate" in groups
    assert f"/vpc-flow-logs/{NAME_32}-production-eu" in groups


def test_a_component_name_of_33_characters_is_refused_naming_name() -> None:
    error = refused(NAME_32 + "d")
    assert error.arguments == {"name"}
    (problem,) = error.problems
    assert problem.message.startswith(f"got {NAME_32 + 'd'!r}; allowed: a lowercase letter")
    assert "at most 32 characters" in problem.message


@pytest.mark.parametrize(("argument", "value"), [
    ("function_name", "f" * 57),
    ("topic_name", "t" * 257),
    ("db_name", "d" * 65),
    ("db_username", "u" * 17),
])
def test_one_character_more_is_refused_naming_the_argument(argument: str, value: str) -> None:
    error = refused("svc", **{argument: value})
    assert error.arguments == {argument}, error


def test_the_stack_program_names_the_config_key() -> None:
    import runpy
    from pathlib import Path

    main = Path(__file__).resolve().parent.parent / "__main__.py"
    for name, refused_ in ((NAME_32, False), (NAME_32 + "d", True)):
        def program() -> None:
            runpy.run_path(str(main))

        config = {"vpc-lambda:componentName": name}
        if not refused_:
            run = run_program(program, partition="aws-cn", region="cn-northwest-1", project="vpc-lambda",
                              stack="dev", config=config)
            roles = {r.name: len(r.outputs["name"]) for r in run.of_type(ROLE)}
            assert roles == {f"{name}-LambdaExecRole": 55, f"{name}-migration-role": 55, f"{name}-flow-logs-role": 55,
                             f"{name}-db-monitoring-role": 59}, "the program's network leaves its flow logs to it"
            continue
        with pytest.raises(ArgumentError) as caught:
            run_program(program, partition="aws-cn", region="cn-northwest-1", project="vpc-lambda", stack="dev",
                        config=config)
        exact_words(caught.value)
        assert caught.value.arguments == {"vpc-lambda:componentName"}, caught.value
