"""A private-only VPC for stacks that bring none: two availability zones, no internet
gateway, no NAT, DNS support and host names on (interface endpoints' private DNS needs both),
flow logs of all traffic to CloudWatch Logs (encrypted with `flow_log_kms_key_arn` when given;
the program leaves them to `VpcLambdaWithPrivateServices(vpc_flow_logs=True)`, which encrypts
them with its key), and the default security group stripped of its rules so nothing placed in
it by mistake can talk to anything."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from .flow_logs import FLOW_LOG_RETENTION_DAYS, FlowLogSettings, create_flow_logs
from .network import INTERFACE_RELEASE_TIMEOUT

PRIVATE_VPC_TYPE = "vpclambda:index:PrivateVpc"


class PrivateVpc(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    route_table_ids: pulumi.Output[list[str]]
    """The private subnets' route table (one, VPC-local routes only): for gateway endpoints."""

    def __init__(
        self,
        name: str,
        cidr_block: str = "10.20.0.0/16",
        az_count: int = 2,
        flow_log_retention_days: int = FLOW_LOG_RETENTION_DAYS,
        flow_logs: bool = True,
        flow_log_kms_key_arn: pulumi.Input[str] | None = None,
        tags: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(PRIVATE_VPC_TYPE, name, None, opts)
        tags = dict(tags or {})
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr_block,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        # Adopting the default group with empty rule lists removes AWS's allow-all rules.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={**tags, "Name": f"{name}-default - no rules"},
            opts=child,
        )
        if flow_logs:
            create_flow_logs(name, vpc.id, FlowLogSettings(f"/vpc-flow-logs/{name}", flow_log_retention_days,
                                                          flow_log_kms_key_arn), tags, self)
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        # Only the VPC-local route: no internet gateway, no NAT.
        route_table = aws.ec2.RouteTable(
            f"{name}-private-rt", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-private"}, opts=child
        )
        prefix = cidr_block.split(".")[:2]
        subnet_ids = []
        for index in range(az_count):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index + 1}",
                vpc_id=vpc.id,
                cidr_block=f"{prefix[0]}.{prefix[1]}.{index * 16}.0/20",
                availability_zone=zones.names[index],
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-private-{index + 1}"},
                # A VPC function's interfaces hold the subnet until Lambda releases them.
                opts=pulumi.ResourceOptions(parent=self,
                                            custom_timeouts=pulumi.CustomTimeouts(delete=INTERFACE_RELEASE_TIMEOUT)),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index + 1}-rt",
                subnet_id=subnet.id,
                route_table_id=route_table.id,
                opts=child,
            )
            subnet_ids.append(subnet.id)
        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*subnet_ids)
        self.route_table_ids = pulumi.Output.all(route_table.id)
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids,
                               "route_table_ids": self.route_table_ids})
