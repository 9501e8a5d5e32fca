"""The one Pulumi mocks module: the tests and `make local` evaluate programs with it.

`run_program(...)` evaluates a Pulumi program under mocks (not in preview mode, so every
`apply` runs), waits for every registration, and returns what was registered with its
resolved inputs, so tests assert on plain data rather than on Outputs.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import ROOT, get_root_resource

ACCOUNT_ID = "123456789012"

# Partition -> (DNS suffix, a region of it).
PARTITIONS = {
    "aws": ("amazonaws.com", "us-east-1"),
    "aws-cn": ("amazonaws.com.cn", "cn-northwest-1"),
}


def endpoint_service_name(partition: str, region: str, service: str) -> str:
    """What the mocked `get_vpc_endpoint_service` answers. In China it answers with the
    `cn.com.amazonaws.` prefix for Secrets Manager, so a component that formats names
    itself instead of using the lookup is caught."""
    if partition == "aws-cn" and service == "secretsmanager":
        return f"cn.com.amazonaws.{region}.{service}"
    return f"com.amazonaws.{region}.{service}"


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str | None = None
    urn: str = ""
    depends_on: tuple[str, ...] = ()
    """Logical names of the resources this one waits for (explicit and input dependencies)."""

    @property
    def parent_type(self) -> str | None:
        """Type token of the parent, read from the URN's type chain."""
        chain = self.urn.split("::")[2].split("$") if self.urn else []
        return chain[-2] if len(chain) > 1 else None


@dataclass
class AwsMocks(pulumi.runtime.Mocks):
    partition: str = "aws"
    region: str = "us-east-1"
    subnet_azs: dict[str, str] = field(default_factory=dict)
    """Subnet ID -> availability zone, answered by `get_subnet`."""
    registered: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def dns_suffix(self) -> str:
        return PARTITIONS[self.partition][0]

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{ACCOUNT_ID}:{resource}"

    def _hex(self, name: str) -> str:
        return hashlib.sha256(f"{name}{next(self._ids)}".encode()).hexdigest()[:17]

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        out = dict(inputs)
        typ, name = args.typ, args.name
        rid = f"{name}-id"
        physical = inputs.get("name") or f"{name}-{self._hex(name)[:7]}"
        if typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = f"sg-{self._hex(name)}"
            out.update(arn=self.arn("ec2", f"security-group/{rid}"), name=physical)
        elif typ in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                     "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
            rid = f"sgr-{self._hex(name)}"
        elif typ == "aws:sns/topic:Topic":
            rid = self.arn("sns", physical)
            out.update(arn=rid, name=physical)
        elif typ == "aws:rds/subnetGroup:SubnetGroup":
            rid = physical.lower()
            out.update(name=rid, arn=self.arn("rds", f"subgrp:{rid}"))
        elif typ == "aws:rds/instance:Instance":
            rid = f"db-{self._hex(name).upper()}"
            address = f"{name.lower()}.c0abcdefgh.{self.region}.rds.{self.dns_suffix}"
            port = inputs.get("port", 3306)
            out.update(
                address=address,
                port=port,
                endpoint=f"{address}:{port}",
                arn=self.arn("rds", f"db:{name}"),
                masterUserSecrets=[
                    {
                        "secretArn": self.arn("secretsmanager", f"secret:rds!{rid.lower()}-AbCdEf"),
                        "secretStatus": "active",
                        "kmsKeyId": self.arn("kms", "key/aws-managed"),
                    }
                ],
            )
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            rid = f"vpce-{self._hex(name)}"
            out.update(
                arn=self.arn("ec2", f"vpc-endpoint/{rid}"),
                dnsEntries=[{"dnsName": f"{rid}.{inputs.get('serviceName', '')}", "hostedZoneId": "Z1"}],
            )
        elif typ == "aws:iam/role:Role":
            rid = physical
            out.update(arn=self.arn("iam", f"role/{physical}", region=False), name=physical)
        elif typ == "aws:iam/rolePolicy:RolePolicy":
            rid = f"{inputs.get('role')}:{physical}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            rid = physical
            out.update(arn=self.arn("logs", f"log-group:{physical}"), name=physical)
        elif typ == "aws:lambda/function:Function":
            rid = physical
            out.update(arn=self.arn("lambda", f"function:{physical}"), name=physical,
                       invokeArn=f"{self.arn('lambda', f'function:{physical}')}/invocations")
        elif typ == "aws:lambda/invocation:Invocation":
            rid = f"{inputs.get('functionName')}_{self._hex(name)[:8]}"
            out.update(result='{"statusCode": 200, "applied": true}')
        elif typ == "aws:kms/key:Key":
            rid = f"{self._hex(name)[:8]}-1234-5678-9abc-{self._hex(name)[:12]}"
            out.update(arn=self.arn("kms", f"key/{rid}"), keyId=rid)
        elif typ == "aws:sqs/queue:Queue":
            rid = f"https://sqs.{self.region}.{self.dns_suffix}/{ACCOUNT_ID}/{physical}"
            out.update(arn=self.arn("sqs", physical), url=rid, name=physical)
        elif typ == "aws:rds/parameterGroup:ParameterGroup":
            rid = physical.lower()
            out.update(name=rid, arn=self.arn("rds", f"pg:{rid}"))
        elif typ == "aws:ec2/vpc:Vpc":
            rid = f"vpc-{self._hex(name)}"
            out.update(arn=self.arn("ec2", f"vpc/{rid}"), defaultSecurityGroupId=f"sg-default-{rid}")
        elif typ == "aws:ec2/subnet:Subnet":
            rid = f"subnet-{self._hex(name)}"
            out.update(arn=self.arn("ec2", f"subnet/{rid}"))
        elif typ == "aws:ec2/routeTable:RouteTable":
            rid = f"rtb-{self._hex(name)}"
        self.registered.append(Registered(typ, name, inputs, out, id=rid if args.custom else None))
        return rid, out

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]  # both accepted
        token, a = args.token, dict(args.args)
        self.calls.append((token, a))
        if token == "aws:index/getPartition:getPartition":
            return {
                "id": self.partition,
                "partition": self.partition,
                "dnsSuffix": self.dns_suffix,
                "reverseDnsPrefix": ".".join(reversed(self.dns_suffix.split("."))),
            }
        if token == "aws:index/getRegion:getRegion":
            return {"id": self.region, "name": self.region, "region": self.region,
                    "endpoint": f"ec2.{self.region}.{self.dns_suffix}", "description": self.region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": self.arn("iam", "user/test", region=False),
                    "id": ACCOUNT_ID, "userId": "AIDTEST"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{s}" for s in "abc"]
            return {"names": names, "zoneIds": [f"z{i}" for i in range(3)], "id": self.region}
        if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            service = a["service"]
            return {
                "id": service,
                "service": service,
                "serviceName": endpoint_service_name(self.partition, self.region, service),
                "serviceType": a.get("serviceType", "Interface"),
                "privateDnsName": f"{service}.{self.region}.{self.dns_suffix}",
            }
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet_id = a["id"]
            if subnet_id not in self.subnet_azs:  # unknown subnets land in zones a, b, c, a, ...
                self.subnet_azs[subnet_id] = f"{self.region}{'abc'[len(self.subnet_azs) % 3]}"
            return {"id": subnet_id, "availabilityZone": self.subnet_azs[subnet_id], "vpcId": "vpc-given"}
        raise NotImplementedError(f"mocks: no answer for invoke {token}")


class RecordingMonitor(MockMonitor):
    """Also keeps each registration's dependencies, which mocks are not told about."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.dependencies: dict[str, tuple[str, ...]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.dependencies[response.urn] = tuple(urn.split("::")[-1] for urn in request.dependencies)
        return response


@dataclass
class ProgramRun:
    mocks: AwsMocks
    resources: list[Registered]
    value: Any
    """What the program returned, with every Output resolved."""
    exports: dict[str, Any]
    """The stack outputs the program exported, resolved."""

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]


def run_program(
    program: Callable[[], Any],
    *,
    partition: str = "aws",
    region: str | None = None,
    project: str = "vpc-lambda",
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    subnet_azs: Mapping[str, str] | None = None,
    mocks: AwsMocks | None = None,
) -> ProgramRun:
    """Run `program` under fresh mocks (or the given ones, to inspect them after a failure)
    and return everything it registered."""
    if mocks is None:
        mocks = AwsMocks(partition=partition, region=region or PARTITIONS[partition][1],
                         subnet_azs=dict(subnet_azs or {}))
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)  # a fresh root stack per program, so exports do not leak between runs
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), [])
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _run() -> pulumi.Output[Any]:
        value = pulumi.Output.from_input(program())
        root = get_root_resource()
        exports = pulumi.Output.from_input(dict(getattr(root, "outputs", {})))
        return pulumi.Output.all(value, exports).apply(
            lambda both: result.update(value=both[0], exports=both[1])
        )

    _run()
    urns = {reg.urn.split("::")[-1]: reg.urn for reg in monitor.get_registered_resources().values()}
    for reg in mocks.registered:
        reg.urn = urns.get(reg.name, "")
        reg.depends_on = monitor.dependencies.get(reg.urn, ())
    return ProgramRun(mocks=mocks, resources=list(mocks.registered), value=result.get("value"),
                      exports=result.get("exports") or {})
