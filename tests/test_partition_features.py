"""What Lambda lacks in a partition (`components/model/partition_features.py`): X-Ray tracing
off by default and refused in AWS China, on elsewhere; and a resource using anything else on
AWS China's list of Lambda differences is recognised (the walk over everything the component
and the stacks register is in `test_aws_limits.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.model import partition_features
from components.model.partition_features import ASYNC_INVOCATION_METRICS, LAMBDA_MISSING, features_used
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import ProgramRun, run_program
from tests.refusal_record import exact_words

FUNCTION = "aws:lambda/function:Function"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
EXTRA_CA = Path(__file__).resolve().parent / "data" / "extra-ca.pem"
"""No RDS bundle ships for aws-us-gov: a CA bundle of one's own."""


def build(partition: str, **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **extra}).outputs(),  # type: ignore[misc]
                       partition=partition)


def xray_policies(run: ProgramRun) -> list[str]:
    return [a.inputs["policyArn"] for a in run.of_type(ATTACHMENT) if "XRay" in a.inputs["policyArn"]]


def tracing_modes(run: ProgramRun) -> set[str]:
    return {f.inputs["tracingConfig"]["mode"] for f in run.of_type(FUNCTION)}


def test_tracing_is_off_in_aws_china_by_default_with_no_xray_policy() -> None:
    run = build("aws-cn")
    assert tracing_modes(run) == {"PassThrough"}
    assert xray_policies(run) == []


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov"])
def test_tracing_is_on_by_default_elsewhere(partition: str) -> None:
    run = build(partition, **({"db_ca_bundle_file": str(EXTRA_CA)} if partition == "aws-us-gov" else {}))
    assert tracing_modes(run) == {"Active"}
    # One per function's role: the job's and the migration's.
    assert xray_policies(run) == [f"arn:{partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"] * 2


def test_tracing_can_be_turned_off_anywhere() -> None:
    for partition in ("aws", "aws-cn"):
        run = build(partition, function_tracing=False)
        assert tracing_modes(run) == {"PassThrough"} and xray_policies(run) == []


def test_tracing_asked_for_in_aws_china_is_refused_citing_the_difference() -> None:
    with pytest.raises(ArgumentError) as caught:
        build("aws-cn", function_tracing=True)
    exact_words(caught.value)
    assert caught.value.arguments == {"function_tracing"}
    (problem,) = caught.value.problems
    assert "X-Ray integration" in problem.message and "'aws-cn'" in problem.message
    assert "Feature availability and implementation differences" in problem.message
    assert "set it to false" in problem.message


def test_the_refusal_comes_with_the_other_problems_before_anything_is_registered() -> None:
    mocks_run: list[ProgramRun] = []
    with pytest.raises(ArgumentError) as caught:
        mocks_run.append(build("aws-cn", function_tracing=True, db_port=1))
    exact_words(caught.value)
    assert caught.value.arguments == {"function_tracing", "db_port"}
    assert mocks_run == []


def test_defaults_by_partition() -> None:
    assert partition_features.defaults("aws-cn") == {"function_tracing": False}
    assert partition_features.defaults("aws") == {"function_tracing": True}
    assert partition_features.problems({"function_tracing": False}, "aws-cn") == []
    assert partition_features.problems({"function_tracing": True}, "aws") == []


def dashboard_with(metric: str) -> dict[str, Any]:
    body = {"widgets": [{"type": "metric", "properties": {"metrics": [["AWS/Lambda", metric, "FunctionName", "f"]]}}]}
    return {"dashboardBody": json.dumps(body)}


# One resource using each feature AWS China's Lambda lacks: the walk is only as good as these.
USING: dict[str, tuple[str, dict[str, Any]]] = {
    "X-Ray integration (active tracing)": (FUNCTION, {"tracingConfig": {"mode": "Active"}}),
    "function URLs": ("aws:lambda/functionUrl:FunctionUrl", {"functionName": "f", "authorizationType": "NONE"}),
    "SnapStart for Python": (FUNCTION, {"snapStart": {"applyOn": "PublishedVersions"}}),
    "recursive-loop detection": ("aws:lambda/functionRecursionConfig:FunctionRecursionConfig",
                                 {"functionName": "f", "recursiveLoop": "Terminate"}),
    "asynchronous-invocation metrics (`AsyncEventsReceived`, `AsyncEventAge`, `AsyncEventsDropped`)": (
        "aws:cloudwatch/metricAlarm:MetricAlarm", {"namespace": "AWS/Lambda", "metricName": "AsyncEventAge"}),
    "customer-managed-key encryption of .zip packages": (FUNCTION, {"sourceKmsKeyArn": "arn:aws-cn:kms:k"}),
}


def test_each_missing_feature_is_recognised() -> None:
    assert {missing.feature for missing in LAMBDA_MISSING["aws-cn"]} == set(USING)
    for feature, (type_token, inputs) in USING.items():
        assert features_used("aws-cn", type_token, inputs) == [feature]
        assert features_used("aws", type_token, inputs) == [], "the commercial partition has them all"
    assert features_used("aws-cn", ATTACHMENT, {"policyArn": "arn:aws-cn:iam::aws:policy/AWSXRayDaemonWriteAccess"})
    for metric in ASYNC_INVOCATION_METRICS:
        assert features_used("aws-cn", "aws:cloudwatch/dashboard:Dashboard", dashboard_with(metric))
    assert not features_used("aws-cn", "aws:cloudwatch/dashboard:Dashboard", dashboard_with("Errors"))
    account_wide = {"dashboardBody": json.dumps({"widgets": [{"type": "metric", "properties": {
        "metrics": [["AWS/Lambda", "AsyncEventsDropped"]]}}]})}
    assert features_used("aws-cn", "aws:cloudwatch/dashboard:Dashboard", account_wide), "a metric with no dimension"
    assert not features_used("aws-cn", FUNCTION, {"tracingConfig": {"mode": "PassThrough"}, "kmsKeyArn": "k"}), (
        "the environment's key is not the package's")
