"""Two services in one private VPC, sharing one set of interface endpoints.

AWS refuses a second interface endpoint with private DNS for the same service in a VPC, so the
endpoints are made once (`PrivateServiceEndpoints`) and given to every service as `endpoints`.
Each service adds its own two rules to the endpoints' security group (its lambda-sg to it on
443, it from its lambda-sg on 443), so destroying one service leaves the other intact.
"""

import pulumi
from vpclambda import PrivateServiceEndpoints, PrivateVpc, VpcLambdaWithPrivateServices

network = PrivateVpc("apps-network")
endpoints = PrivateServiceEndpoints("apps-endpoints", {
    "vpc_id": network.vpc_id,
    "subnet_ids": network.private_subnet_ids,
    "services": ["sns", "secretsmanager"],
})

services = {
    name: VpcLambdaWithPrivateServices(name, {
        "vpc_id": network.vpc_id,
        "private_subnet_ids": network.private_subnet_ids,
        "endpoints": endpoints,
        "topic_name": f"{name}-notifications",
    })
    for name in ("orders", "billing")
}

pulumi.export("endpoint_ids", endpoints.endpoint_ids)
for name, service in services.items():
    pulumi.export(f"{name}_function_arn", service.function_arn)
