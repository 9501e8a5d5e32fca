"""The preview's look-ups (`components/checks/lookups.py`): each asks the provider the component was
given, and a failed look-up's own words reach the refusal, under the argument to change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components import VpcLambdaWithPrivateServices
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import AwsMocks, run_program
from tests.problems import refusal
from tests.test_existing_resources import DATABASE, GROUP, INSTANCE, KEY, TOPIC, TOPIC_KEY, VPC

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
EVERYTHING_EXISTING = {
    "existing_topic_arn": TOPIC, "existing_topic_kms_key_arn": TOPIC_KEY, "existing_kms_key_arn": KEY,
    "existing_database": DATABASE, "queue": {"queue_arn": QUEUE},
    "function_permissions": [{"service": "s3", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/r.csv"]}],
}
LOOK_UPS_OF_EXISTING = {
    "getPartition", "getRegion", "getCallerIdentity", "getSubnet", "getVpc", "getVpcEndpointService",
    "getVpcEndpoint", "getRouteTables", "getTopic", "getQueue", "getKey", "getInstances", "getInstance",
    "getSubnetGroup", "getSecurityGroup",
}
LOOK_UPS_OF_OWN = {"getPartition", "getRegion", "getCallerIdentity", "getSubnet", "getVpc", "getVpcEndpointService",
                   "getVpcEndpoint", "getEngineVersion", "getOrderableDbInstance"}


@dataclass
class Answering(AwsMocks):
    """The mocks, also recording which provider each look-up asked, and failing the look-ups named
    in `refuse` with the given words, as the provider reports an AWS error."""

    refuse: dict[str, str] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        name = args.token.rsplit(":", 1)[-1]
        self.asked.append((name, args.provider))
        if name in self.refuse:
            self.calls.append((args.token, dict(args.args)))
            return {}, [("", self.refuse[name])]
        return super().call(args)


def existing_world(**extra: Any) -> Answering:
    return Answering(topics={"orders-events": TOPIC}, kms_keys={KEY: {}, TOPIC_KEY: {}}, databases=[INSTANCE],
                     security_groups={GROUP: "vpc-0a1b2c3d"}, queues={"orders": QUEUE}, **extra)


def component(args: dict[str, Any], provider: Callable[[], pulumi.ProviderResource] | None = None
              ) -> Callable[[], Any]:
    def program() -> Any:
        opts = pulumi.ResourceOptions(provider=provider()) if provider else None
        return VpcLambdaWithPrivateServices("svc", {**VPC, **args}, opts=opts).outputs()

    return program


@pytest.mark.parametrize(("args", "look_ups"), [(EVERYTHING_EXISTING, LOOK_UPS_OF_EXISTING), ({}, LOOK_UPS_OF_OWN)],
                         ids=["existing-resources", "own-resources"])
def test_every_look_up_asks_the_provider_the_component_was_given(args: dict[str, Any], look_ups: set[str]) -> None:
    """A look-up without the component's provider would ask the default one: another region or
    account than the resources it creates (the `opts=` of each look-up)."""
    mocks = existing_world()
    run_program(component(args, lambda: aws.Provider("east", region="us-east-1")), mocks=mocks)
    assert {name for name, _ in mocks.asked} == look_ups
    assert {(name, provider.rsplit("::", 1)[-1]) for name, provider in mocks.asked} == {
        (name, "east-id") for name in look_ups}


@pytest.mark.parametrize(("look_up", "argument", "args"), [
    ("getInstances", "existing_database", EVERYTHING_EXISTING),
    ("getInstance", "existing_database", EVERYTHING_EXISTING),
    ("getSubnetGroup", "existing_database", EVERYTHING_EXISTING),
    ("getSecurityGroup", "existing_database", EVERYTHING_EXISTING),
    ("getKey", "existing_kms_key_arn", {"existing_kms_key_arn": KEY}),
    ("getTopic", "existing_topic_arn", {"existing_topic_arn": TOPIC}),
    ("getQueue", "queue", {"queue": {"queue_arn": QUEUE}}),
    ("getVpc", "vpc_id", {}),
    ("getEngineVersion", "db_engine_version", {}),
    ("getOrderableDbInstance", "db_instance_class", {}),
    ("getVpcEndpointService", "interface_endpoints", {}),
])
def test_a_failed_look_up_is_refused_in_the_providers_own_words(look_up: str, argument: str,
                                                                args: dict[str, Any]) -> None:
    words = f"operation error {look_up}: https response error StatusCode: 403, api error AccessDenied: no {look_up}"
    with pytest.raises(ArgumentError) as raised:
        run_program(component(args), mocks=existing_world(refuse={look_up: words}))
    problems = refusal(raised.value).problems
    assert any(p.argument == argument and f"no {look_up}" in p.message for p in problems), problems


def test_the_gateway_endpoint_services_look_up_failing_is_refused_in_its_words() -> None:
    words = "api error UnauthorizedOperation: no DescribeVpcEndpointServices"
    mocks = existing_world()

    class GatewayRefused(Answering):
        def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
            if args.token.endswith("getVpcEndpointService") and args.args.get("serviceType") == "Gateway":
                return {}, [("", words)]
            return super().call(args)

    mocks = GatewayRefused(**{f: getattr(mocks, f) for f in ("topics", "kms_keys", "databases", "security_groups",
                                                             "queues")})
    with pytest.raises(ArgumentError) as raised:
        run_program(component({"function_permissions": EVERYTHING_EXISTING["function_permissions"]}), mocks=mocks)
    assert "function_permissions: " in refusal(raised.value)
    assert any("no DescribeVpcEndpointServices" in p.message for p in refusal(raised.value).problems)
