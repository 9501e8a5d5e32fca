"""IAM documents shared by the component's roles."""

import json


def managed_policy_arn(partition: str, policy: str) -> str:
    """`arn:<partition>:iam::aws:policy/<policy>`: the AWS-managed policy constants in
    pulumi-aws are hard-coded to `arn:aws:`, which does not exist in AWS China."""
    return f"arn:{partition}:iam::aws:policy/{policy}"


def service_trust_policy(service_principal: str) -> str:
    """A role that only `service_principal` may assume."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service_principal}, "Action": "sts:AssumeRole"}],
    })
