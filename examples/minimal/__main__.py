"""The smallest program: the component in two private subnets of an existing VPC."""

import pulumi
from vpclambda import VpcLambdaWithPrivateServices

config = pulumi.Config()
service = VpcLambdaWithPrivateServices("orders-notifier", {
    "vpc_id": config.require("vpcId"),
    "private_subnet_ids": config.require_object("privateSubnetIds"),
})
pulumi.export("function_arn", service.function_arn)
pulumi.export("topic_arn", service.topic_arn)
