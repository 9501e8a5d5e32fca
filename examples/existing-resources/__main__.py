"""The job on what the account already has: its SNS topic (encrypted with its own key), its KMS key
and its RDS MySQL instance. The component creates no topic, key or instance: it adds lambda-sg, the
rule from lambda-sg to the instance's security group, the endpoints, the role (scoped to these ARNs)
and the functions, and its alarms watch the instance. The key's policy must hold the statements
docs/existing-resources.md lists (the preview prints them for this stack).

    pulumi config set topicArn arn:aws:sns:...:payments-events
    pulumi config set topicKeyArn arn:aws:kms:...:key/...
    pulumi config set kmsKeyArn arn:aws:kms:...:key/...
    pulumi config set --path database.address payments.abc.us-east-1.rds.amazonaws.com
    pulumi config set --path database.port 3306
    pulumi config set --path database.security_group_id sg-...
    pulumi config set --path database.secret_arn arn:aws:secretsmanager:...
    pulumi config set --path database.resource_id db-...
"""

import pulumi
from vpclambda import VpcLambdaWithPrivateServices

config = pulumi.Config()
service = VpcLambdaWithPrivateServices("payments-report", {
    "vpc_id": config.require("vpcId"),
    "private_subnet_ids": config.require_object("privateSubnetIds"),
    "existing_topic_arn": config.require("topicArn"),
    "existing_topic_kms_key_arn": config.require("topicKeyArn"),
    "existing_kms_key_arn": config.require("kmsKeyArn"),
    "existing_database": config.require_object("database"),
    "db_name": "payments",
})
pulumi.export("role_arn", service.role_arn)
pulumi.export("security_group_ids", service.security_group_ids)
pulumi.export("schema_migration_result", service.schema_migration_result)
