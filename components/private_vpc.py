"""A private-only VPC for stacks that bring none: two availability zones, no internet
gateway, no NAT, DNS support and host names on (interface endpoints' private DNS needs both),
flow logs of all traffic to CloudWatch Logs, and the default security group stripped of its
rules so nothing placed in it by mistake can talk to anything."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from .iam import service_trust_policy

PRIVATE_VPC_TYPE = "vpclambda:index:PrivateVpc"
FLOW_LOGS_PRINCIPAL = "vpc-flow-logs.amazonaws.com"


class PrivateVpc(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        cidr_block: str = "10.20.0.0/16",
        az_count: int = 2,
        flow_log_retention_days: int = 365,
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
        self._flow_logs(name, vpc.id, flow_log_retention_days, tags, child)
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

    def _flow_logs(
        self, name: str, vpc_id: pulumi.Output[str], retention_days: int, tags: Mapping[str, str],
        child: pulumi.ResourceOptions,
    ) -> None:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", retention_in_days=retention_days, tags=dict(tags), opts=child
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=service_trust_policy(FLOW_LOGS_PRINCIPAL),
            tags=dict(tags),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-delivery",
            role=role.id,
            policy=log_group.arn.apply(lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [arn, f"{arn}:*"],
                }],
            })),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags=dict(tags),
            opts=child,
        )
