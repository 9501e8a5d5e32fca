"""What AWS offers, checked at preview: the engine version, the instance class, Multi-AZ and
storage in the region; the endpoint services and the zones they serve; the policies of the
endpoints. The mocks answer these look-ups the way the provider does (including its failures),
and a refusal names the argument before any cloud resource is registered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.checks.availability import database_offer_problems, endpoint_zone_problems
from components.checks.lookups import DatabaseOffer, EndpointService
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import AwsMocks, ProgramRun, endpoint_service_name, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def refused(mocks: AwsMocks, **extra: Any) -> str:
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **extra}), mocks=mocks)  # type: ignore[misc]
    exact_words(caught.value)
    assert [r.name for r in mocks.registered if r.id is not None] == [], "nothing created before the check"
    return refusal(caught.value)


def built(mocks: AwsMocks | None = None, **extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, **extra}).outputs(),  # type: ignore[misc]
                       mocks=mocks or AwsMocks())


def test_engine_version_is_resolved_and_its_class_looked_up() -> None:
    run = built()
    calls = dict(run.mocks.calls)
    assert calls["aws:rds/getEngineVersion:getEngineVersion"] == {"engine": "mysql", "version": "8.4", "latest": True}
    orderable = calls["aws:rds/getOrderableDbInstance:getOrderableDbInstance"]
    assert (orderable["engineVersion"], orderable["instanceClass"], orderable["storageType"]) == (
        "8.4.7", "db.t4g.micro", "gp3")
    assert run.one("aws:rds/instance:Instance").inputs["engineVersion"] == "8.4", "RDS picks the minor version"


@pytest.mark.parametrize(
    ("mocks", "extra", "expected"),
    [
        (AwsMocks(), {"db_engine_version": "5.6"}, "db_engine_version: RDS MySQL '5.6' is not available in us-east-1"),
        (AwsMocks(), {"db_instance_class": "db.x2iedn.32xlarge"},
         "db_instance_class: 'db.x2iedn.32xlarge' cannot be ordered for MySQL 8.4.7 with gp3 storage in us-east-1"),
        (AwsMocks(multi_az_capable=False), {}, "db_multi_az: db.t4g.micro cannot run Multi-AZ in us-east-1"),
        (AwsMocks(orderable_zones=("us-east-1c",)), {},
         "private_subnet_ids: db.t4g.micro is offered in us-east-1c, but the subnets are in us-east-1a, us-east-1b"),
        (AwsMocks(orderable_zones=("us-east-1b", "us-east-1c")), {},
         "the database needs 2 of its subnets' zones where it is offered"),
    ],
)
def test_what_rds_does_not_offer_is_refused_naming_the_argument(mocks: AwsMocks, extra: dict[str, Any],
                                                                 expected: str) -> None:
    assert expected in refused(mocks, **extra)


def test_single_az_database_needs_one_zone_where_the_class_is_offered() -> None:
    run = built(AwsMocks(orderable_zones=("us-east-1b",)), db_multi_az=False)
    assert run.one("aws:rds/instance:Instance").inputs["multiAz"] is False


def test_every_problem_from_every_stage_at_once() -> None:
    message = refused(AwsMocks(), db_port=0, db_instance_class="db.z9.huge", function_reserved_concurrency_auto=True,
                      interface_endpoints=["sns"])
    assert "db_port: got 0; allowed: 1150 to 65535" in message
    assert "db_instance_class: 'db.z9.huge' cannot be ordered" in message
    assert ("function_reserved_concurrency_auto: needs the max_connections of db_instance_class "
            "'db.z9.huge'") in message
    assert "secretsmanager is unreachable" not in message, "reachability needs a valid db_port, which it lacks"


def test_reachability_and_availability_problems_together() -> None:
    message = refused(AwsMocks(), db_instance_class="db.z9.huge", interface_endpoints=["sns"])
    assert "db_instance_class: 'db.z9.huge' cannot be ordered" in message
    assert "interface_endpoints: secretsmanager is unreachable" in message


def test_a_service_without_an_endpoint_service_is_refused() -> None:
    message = refused(AwsMocks(partition="aws-cn", region="cn-northwest-1"),
                      interface_endpoints=["sns", "secretsmanager", "quicksight"])
    assert ("interface_endpoints: 'quicksight' has no interface endpoint service in cn-northwest-1 (looked for "
            "com.amazonaws.cn-northwest-1.quicksight and cn.com.amazonaws.cn-northwest-1.quicksight") in message


def test_an_endpoint_service_that_takes_no_policy_is_refused() -> None:
    mocks = AwsMocks()
    catalog = mocks.endpoint_catalog()
    catalog["com.amazonaws.us-east-1.sts"]["vpcEndpointPolicySupported"] = False
    mocks.endpoint_services = catalog
    message = refused(mocks, interface_endpoints=["sns", "secretsmanager", "sts"])
    assert "interface_endpoints: the endpoint service com.amazonaws.us-east-1.sts takes no endpoint policy" in message


def test_an_endpoint_cannot_go_in_a_zone_its_service_does_not_serve() -> None:
    mocks = AwsMocks(subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1b"})
    catalog = mocks.endpoint_catalog()
    catalog["com.amazonaws.us-east-1.sns"]["availabilityZones"] = ["us-east-1b", "us-east-1c"]
    mocks.endpoint_services = catalog
    message = refused(mocks)
    assert ("private_subnet_ids: com.amazonaws.us-east-1.sns is not offered in the zone of subnet-0a (us-east-1a) "
            "(it is in us-east-1b, us-east-1c)") in message


def test_zones_of_subnets_given_as_outputs_are_checked_once_known() -> None:
    import pulumi

    mocks = AwsMocks(subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1b"})
    catalog = mocks.endpoint_catalog()
    catalog["com.amazonaws.us-east-1.secretsmanager"]["availabilityZones"] = ["us-east-1b"]
    mocks.endpoint_services = catalog

    def program() -> None:
        subnets = pulumi.Output.from_input(["subnet-0a", "subnet-0b"])
        VpcLambdaWithPrivateServices("svc", {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": subnets})

    with pytest.raises(ValueError, match=r"invalid arguments:\n  - private_subnet_ids: com.amazonaws.us-east-1."
                                         "secretsmanager is not offered in the zone of subnet-0a"):
        run_program(program, mocks=mocks)
    placed = [r.name for r in mocks.registered if r.type in (
        "aws:lambda/function:Function", "aws:rds/subnetGroup:SubnetGroup", ENDPOINT)]
    assert placed == []


def test_extra_endpoints_get_an_account_scoped_policy_never_the_default() -> None:
    run = built(AwsMocks(partition="aws-cn", region="cn-northwest-1"),
                interface_endpoints=["sns", "secretsmanager", "sqs", "sts"])
    endpoints = {r.name: r for r in run.of_type(ENDPOINT)}
    assert set(endpoints) == {"svc-endpoint-SNS", "svc-endpoint-SecretsManager", "svc-endpoint-sqs",
                              "svc-endpoint-sts"}
    assert all(r.inputs.get("policy") for r in endpoints.values()), "no endpoint keeps AWS's full-access default"
    for extra in ("sqs", "sts"):
        endpoint = endpoints[f"svc-endpoint-{extra}"]
        assert endpoint.inputs["serviceName"] == endpoint_service_name("aws-cn", "cn-northwest-1", extra)
        assert endpoint.inputs["serviceName"].startswith("cn.com.amazonaws.")
        (statement,) = json.loads(endpoint.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "123456789012",
                                                           "aws:ResourceAccount": "123456789012"}}
    (sns,) = json.loads(endpoints["svc-endpoint-SNS"].inputs["policy"])["Statement"]
    assert sns["Principal"] == {"AWS": run.value["role_arn"]} and sns["Action"] == "sns:Publish"


def test_pure_judgements() -> None:
    offer = DatabaseOffer("8.4", "db.t4g.micro", version_found="8.4.7", orderable=True, multi_az_capable=True,
                          min_storage_gb=20, max_storage_gb=6144, supports_enhanced_monitoring=False,
                          supports_iam_database_authentication=True, supports_storage_encryption=False)
    problems = database_offer_problems(offer, "eu-west-1", True, 10000, 60)
    assert [p.argument for p in problems] == ["db_allocated_storage_gb", "db_monitoring_interval_seconds",
                                              "db_instance_class"]
    first = database_offer_problems(offer, "eu-west-1", True, 100, 0)[0]
    assert first.argument == "db_instance_class"
    assert first.message.startswith("db.t4g.micro does not support encrypted")
    service = EndpointService("sns", ("a", "b"), name="com.amazonaws.eu-west-1.sns",
                              availability_zones=("eu-west-1a", "eu-west-1b"))
    assert endpoint_zone_problems([service], {"s1": "eu-west-1a", "s2": "eu-west-1b"}) == []
    assert endpoint_zone_problems([service], {"s1": "eu-west-1a", "s3": "eu-west-1c"})
