"""A job that reads one S3 object: `function_permissions` grants s3:GetObject on that object only,
and the component adds an S3 gateway endpoint (free, a route in the private subnets' route tables,
looked up at preview) whose policy lets exactly that call through, and lambda-sg's one rule to S3's
prefix list. No NAT, no CIDR rule."""

from pathlib import Path

import pulumi
from vpclambda import VpcLambdaWithPrivateServices

HERE = Path(__file__).resolve().parent
config = pulumi.Config()
bucket, key = config.require("bucket"), config.get("key") or "reports/latest.csv"
partition = config.get("partition") or "aws"
service = VpcLambdaWithPrivateServices("report-reader", {
    "vpc_id": config.require("vpcId"),
    "private_subnet_ids": config.require_object("privateSubnetIds"),
    "function_source": str(HERE / "job"),
    "function_handler": "read_report.handler",
    "function_environment": {"REPORT_BUCKET": bucket, "REPORT_KEY": key},
    "function_permissions": [
        {"service": "s3", "actions": ["s3:GetObject"], "resources": [f"arn:{partition}:s3:::{bucket}/{key}"]},
    ],
})
pulumi.export("endpoint_ids", service.endpoint_ids)
