"""A scheduled job: the built-in employees report every weekday at 07:30 UTC. EventBridge invokes the
job (only this rule may: the permission names it), retries a delivery it cannot make, and sends an
event it gave up on to the dead-letter queue; an alarm watches the rule's failed invocations."""

import pulumi
from vpclambda import VpcLambdaWithPrivateServices

config = pulumi.Config()
service = VpcLambdaWithPrivateServices("employees-report", {
    "vpc_id": config.require("vpcId"),
    "private_subnet_ids": config.require_object("privateSubnetIds"),
    "schedule": "cron(30 7 ? * MON-FRI *)",
    "alarm_email": config.get("alarmEmail") or "oncall@example.com",
})
rule = service.schedule
assert rule is not None
pulumi.export("schedule_rule", rule.name)
pulumi.export("dead_letter_queue_arn", service.dead_letter_queue_arn)
