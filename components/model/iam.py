"""Policy documents the component writes that depend on nothing but plain values: trust policies,
managed-policy ARNs, endpoint and topic policies."""

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


def account_endpoint_policy(account_id: str) -> str:
    """What may pass through an endpoint the function does not use itself (an extra entry in
    `interface_endpoints`, for other workloads in the VPC, or a shared endpoint set): any call by a
    principal of this account on a resource of this account. Calls on other accounts' resources,
    or with no resource account, are refused through it."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ThisAccountsPrincipalsOnThisAccountsResources",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": account_id, "aws:ResourceAccount": account_id}},
        }],
    })


def deny_publish_without_tls(topic_arn: str) -> str:
    """A topic policy that refuses every publish not made over TLS."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyPublishWithoutTLS",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })


def queue_policy(queue_arn: str, senders: dict[str, str] | None = None) -> str:
    """A queue's policy: every access without TLS refused; and `senders` (service principal ->
    the ARN of the one source it may send for) allowed to send."""
    statements: list[dict[str, object]] = [{
        "Sid": "DenyAccessWithoutTLS",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": queue_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]
    statements += [{
        "Sid": "SendFromTheSchedule" if principal.startswith("events.") else f"SendFrom{principal.split('.')[0]}",
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    } for principal, source_arn in (senders or {}).items()]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
