"""Every argument spelled out, subnets from a VPC made in this program (Outputs, checked once
known), and resource transforms reaching the arguments of the component's children."""

import pulumi
import pulumi_aws as aws
from transforms import cost_centre_tags, memory_optimised_database
from vpclambda import VpcLambdaWithPrivateServices, VpcLambdaWithPrivateServicesArgs

vpc = aws.ec2.Vpc("app", cidr_block="10.42.0.0/16", enable_dns_support=True, enable_dns_hostnames=True)
zones = aws.get_availability_zones_output(state="available")
subnets = [
    aws.ec2.Subnet(f"app-private-{i}", vpc_id=vpc.id, cidr_block=f"10.42.{i * 16}.0/20",
                   availability_zone=zones.names[i], map_public_ip_on_launch=False)
    for i in range(2)
]


args: VpcLambdaWithPrivateServicesArgs = {
    "vpc_id": vpc.id,
    "private_subnet_ids": [s.id for s in subnets],
    "db_name": "payroll",
    "db_username": "reader",
    "db_app_user": "payroll_app",  # the job's own login: an IAM token, no password
    "db_app_grants": ["SELECT", "INSERT", "UPDATE"],
    "db_engine_version": "8.4",
    "db_instance_class": "db.r6g.large",  # also sets the connection budget
    "db_allocated_storage_gb": 50,
    "db_port": 3306,
    "db_connect_timeout_seconds": 5,
    "db_deletion_protection": True,
    "db_final_snapshot": True,
    "db_multi_az": True,
    "db_backup_retention_days": 14,
    "db_monitoring_interval_seconds": 30,
    "db_proxy": True,  # an RDS Proxy in front of the database, IAM end to end
    "topic_name": "payroll-reports",
    "function_name": "payroll-report",
    "function_memory_mb": 512,
    "function_timeout_seconds": 60,
    "function_runtime": "python3.12",
    "function_architecture": "arm64",
    "function_reserved_concurrency_auto": True,  # the proxy's pool: half the class's max_connections
    "function_tracing": True,  # refused in AWS China, where Lambda has no X-Ray integration
    "log_retention_days": 90,
    "interface_endpoints": ["sns", "secretsmanager"],
    "nat_egress": False,
    "tags": {"team": "payments"},
}
service = VpcLambdaWithPrivateServices(
    "payroll", args, opts=pulumi.ResourceOptions(transforms=[memory_optimised_database, cost_centre_tags])
)
for name, value in service.outputs().items():
    pulumi.export(name, value)
