"""The per-stack program: read the stack's config, create the component once, export its outputs.

With no `vpcId`/`privateSubnetIds` in the config, a private-only VPC (two AZs, no NAT) is
created first, so `pulumi up` works on an empty account; the component records its traffic."""

import pulumi

from components import VpcLambdaWithPrivateServices
from components.model.dependencies import GATEWAY_SERVICES
from components.model.problems import ArgumentError, Problem
from components.resources.private_vpc import PrivateVpc
from components.stack_config import args_from_config, named_by_config_key

config = pulumi.Config()
project = pulumi.get_project()
args = args_from_config(config)
component_name = config.get("componentName") or "lambda-test"

if "vpc_id" not in args and "private_subnet_ids" not in args:
    # Its flow logs are left to the component, which encrypts them with its key.
    network = PrivateVpc(f"{component_name}-network", flow_logs=False, tags=args.get("tags"))
    args["vpc_id"] = network.vpc_id
    args["private_subnet_ids"] = network.private_subnet_ids
    args.setdefault("vpc_flow_logs", True)
    # Its subnets are not known before they exist: the gateway endpoints of S3 and DynamoDB calls
    # (functionPermissions) are given its route table.
    permissions = args.get("function_permissions")
    if isinstance(permissions, list) and any(isinstance(p, dict) and p.get("service") in GATEWAY_SERVICES
                                             for p in permissions):
        args.setdefault("gateway_route_table_ids", network.route_table_ids)
elif "vpc_id" not in args or "private_subnet_ids" not in args:
    missing = "privateSubnetIds" if "vpc_id" in args else "vpcId"
    raise ArgumentError(
        [Problem(f"{project}:{missing}", "set vpcId and privateSubnetIds both, or neither (a private VPC is then "
                                         "created)")],
        source="stack config",
    )

with named_by_config_key(project, name_key="componentName"):
    service = VpcLambdaWithPrivateServices(component_name, args)
for output_name, value in service.outputs().items():
    pulumi.export(output_name, value)
