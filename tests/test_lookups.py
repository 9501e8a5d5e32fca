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
from tests.refusal_record import exact_words
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


def existing_world(kind: type[Answering] = Answering, **extra: Any) -> Answering:
    return kind(topics={"orders-events": TOPIC}, kms_keys={KEY: {}, TOPIC_KEY: {}}, databases=[INSTANCE],
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
    exact_words(raised.value)
    problems = refusal(raised.value).problems
    assert any(p.argument == argument and f"no {look_up}" in p.message for p in problems), problems


def test_the_gateway_endpoint_services_look_up_failing_is_refused_in_its_words() -> None:
    words = "api error UnauthorizedOperation: no DescribeVpcEndpointServices"

    class GatewayRefused(Answering):
        def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
            if args.token.endswith("getVpcEndpointService") and args.args.get("serviceType") == "Gateway":
                return {}, [("", words)]
            return super().call(args)

    mocks = existing_world(GatewayRefused)
    with pytest.raises(ArgumentError) as raised:
        run_program(component({"function_permissions": EVERYTHING_EXISTING["function_permissions"]}), mocks=mocks)
    exact_words(raised.value)
    assert "function_permissions: " in refusal(raised.value)
    assert any("no DescribeVpcEndpointServices" in p.message for p in refusal(raised.value).problems)


# Each look-up reads every field of the provider's answer into its facts: answers that differ from
# every default, so that a field left out, or read from the wrong key, shows.

ANSWERS: dict[str, Any] = {
    "getPartition": {"partition": "aws-cn", "dnsSuffix": "amazonaws.com.cn"},
    "getRegion": {"region": "cn-north-1", "name": "cn-north-1"},
    "getCallerIdentity": {"accountId": "210987654321"},
    "getSubnet": {"id": "subnet-9", "availabilityZone": "cn-north-1b", "vpcId": "vpc-9"},
    "getVpc": {"id": "vpc-9", "enableDnsSupport": True, "enableDnsHostnames": True},
    "getEngineVersion": {"version": "8.4", "versionActual": "8.4.7"},
    "getOrderableDbInstance": {"availabilityZones": ["cn-north-1b", "cn-north-1a"], "multiAzCapable": True,
                               "minStorageSize": 21, "maxStorageSize": 6143, "supportsEnhancedMonitoring": True,
                               "supportsIamDatabaseAuthentication": True, "supportsStorageEncryption": True},
    "getKey": {"enabled": True, "keyState": "PendingDeletion", "keyUsage": "SIGN_VERIFY", "keySpec": "RSA_2048",
               "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keyManager": "AWS"},
    "getInstances": {"instanceIdentifiers": ["orders-db"]},
    "getInstance": {"engine": "mariadb", "address": "orders-db.x.rds.amazonaws.com", "port": 3307,
                    "dbInstanceClass": "db.r6g.large", "allocatedStorage": 200, "vpcSecurityGroups": ["sg-1", "sg-2"],
                    "dbParameterGroups": ["orders-tls"], "dbSubnetGroup": "orders-subnets"},
    "getSubnetGroup": {"vpcId": "vpc-7"},
    "getSecurityGroup": {"vpcId": "vpc-5"},
    "getVpcEndpoint": {"id": "vpce-3", "privateDnsEnabled": True, "tags": {"endpoint-owner": "someone"}},
}


@dataclass
class Scripted(AwsMocks):
    """Answers each look-up with ANSWERS (endpoint services by type), records what was asked."""

    asked_args: dict[str, dict[str, Any]] = field(default_factory=dict)

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        name = args.token.rsplit(":", 1)[-1]
        self.asked_args[name] = dict(args.args)
        if name == "getVpcEndpointService":
            gateway = args.args.get("serviceType") == "Gateway"
            return {"serviceName": "cn.com.amazonaws.cn-north-1.s3" if gateway else "cn.com.amazonaws.cn-north-1.sns",
                    "availabilityZones": ["cn-north-1b", "cn-north-1a"], "vpcEndpointPolicySupported": gateway}
        if name == "getRouteTables":
            subnet = {f["name"]: f["values"] for f in args.args["filters"]}.get("association.subnet-id")
            return {"ids": {("subnet-a",): ["rtb-a"], None: ["rtb-main"]}.get(subnet and tuple(subnet), [])}
        return ANSWERS[name]


def test_each_look_up_reads_every_field_of_the_answer() -> None:
    from components.checks import lookups
    from components.checks.lookups import (
        DatabaseFacts,
        DatabaseOffer,
        EndpointService,
        ExistingEndpoint,
        KeyFacts,
        Place,
        SubnetFacts,
        VpcFacts,
    )

    found: dict[str, Any] = {}

    def program() -> None:
        invoke = lookups.invoke_options(None)
        found.update(
            place=lookups.place(invoke), subnet=lookups.subnet(invoke, "subnet-9"), vpc=lookups.vpc(invoke, "vpc-9"),
            offer=lookups.database_offer(invoke, "8.4", "db.r6g.large"), key=lookups.kms_key(invoke, "arn:k"),
            database=lookups.database_by_resource_id(invoke, "db-ABC"),
            group=lookups.security_group_vpc(invoke, "sg-1"),
            interface=lookups.endpoint_service(invoke, "cn-north-1", "sns"),
            gateway=lookups.gateway_endpoint_service(invoke, "cn-north-1", "s3"),
            existing=lookups.existing_endpoint(invoke, "vpc-9", "cn.com.amazonaws.cn-north-1.sns"),
            existing_gateway=lookups.existing_gateway_endpoint(invoke, "vpc-9", "cn.com.amazonaws.cn-north-1.s3"),
            tables=lookups.route_tables(invoke, "vpc-9", ("subnet-a", "subnet-b")),
        )

    mocks = Scripted()
    run_program(program, mocks=mocks)
    candidates = ("com.amazonaws.cn-north-1.{}", "cn.com.amazonaws.cn-north-1.{}")
    assert found == {
        "place": Place("aws-cn", "cn-north-1", "amazonaws.com.cn", "210987654321"),
        "subnet": SubnetFacts("subnet-9", "cn-north-1b", "vpc-9"),
        "vpc": VpcFacts("vpc-9", True, True),
        "offer": DatabaseOffer("8.4", "db.r6g.large", version_found="8.4.7", orderable=True,
                               availability_zones=("cn-north-1a", "cn-north-1b"), multi_az_capable=True,
                               min_storage_gb=21, max_storage_gb=6143, supports_enhanced_monitoring=True,
                               supports_iam_database_authentication=True, supports_storage_encryption=True),
        "key": KeyFacts("arn:k", True, True, "PendingDeletion", "SIGN_VERIFY", "RSA_2048", "AWS"),
        "database": DatabaseFacts("db-ABC", "orders-db", "mariadb", "orders-db.x.rds.amazonaws.com", 3307,
                                  "db.r6g.large", 200, ("sg-1", "sg-2"), ("orders-tls",), "vpc-7"),
        "group": "vpc-5",
        "interface": EndpointService("sns", tuple(c.format("sns") for c in candidates),
                                     "cn.com.amazonaws.cn-north-1.sns", ("cn-north-1a", "cn-north-1b"), False),
        "gateway": EndpointService("s3", tuple(c.format("s3") for c in candidates), "cn.com.amazonaws.cn-north-1.s3",
                                   (), True),
        "existing": ExistingEndpoint("vpce-3", True, "someone"),
        "existing_gateway": ExistingEndpoint("vpce-3", False, "someone"),
        "tables": ("rtb-a", "rtb-main"),
    }
    asked = mocks.asked_args
    assert asked["getEngineVersion"] == {"engine": "mysql", "version": "8.4", "latest": True}
    assert asked["getOrderableDbInstance"] == {"engine": "mysql", "engineVersion": "8.4.7",
                                               "instanceClass": "db.r6g.large", "storageType": "gp3",
                                               "preferredInstanceClasses": ["db.r6g.large"]}
    assert asked["getInstances"] == {"filters": [{"name": "dbi-resource-id", "values": ["db-ABC"]}]}
    assert asked["getInstance"] == {"dbInstanceIdentifier": "orders-db"}
    assert asked["getSubnetGroup"] == {"name": "orders-subnets"}
    assert asked["getKey"] == {"keyId": "arn:k"}
    assert asked["getSecurityGroup"] == {"id": "sg-1"}
    assert asked["getVpcEndpoint"] == {"vpcId": "vpc-9", "serviceName": "cn.com.amazonaws.cn-north-1.s3",
                                       "filters": [{"name": "vpc-endpoint-type", "values": ["Gateway"]}]}
