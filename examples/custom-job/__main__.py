"""Your own job in the component: the code in `job/` (using the runtime library
`vpclambda_runtime`), one third-party requirement installed for Lambda's platform, an extra
environment variable, and the job's own schema migration in `migrations/`."""

from pathlib import Path

import pulumi
from vpclambda import VpcLambdaWithPrivateServices

HERE = Path(__file__).resolve().parent
config = pulumi.Config()
service = VpcLambdaWithPrivateServices("stock-report", {
    "vpc_id": config.require("vpcId"),
    "private_subnet_ids": config.require_object("privateSubnetIds"),
    "function_source": str(HERE / "job"),
    "function_handler": "stock_report.handler",
    "function_requirements": [f"-r {HERE / 'job' / 'requirements.txt'}"],
    "function_environment": {"LOW_STOCK_THRESHOLD": "5"},
    "migrations_source": str(HERE / "migrations"),
})
pulumi.export("function_name", service.function_name)
pulumi.export("topic_arn", service.topic_arn)
pulumi.export("schema_migration_result", service.schema_migration_result)
