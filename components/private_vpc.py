"""A private-only VPC for stacks that bring none: two availability zones, no internet
gateway, no NAT, DNS support and host names on (interface endpoints' private DNS needs both)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

PRIVATE_VPC_TYPE = "vpclambda:index:PrivateVpc"


class PrivateVpc(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        cidr_block: str = "10.20.0.0/16",
        az_count: int = 2,
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
                opts=child,
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
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids})
