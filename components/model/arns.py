"""The ARNs the component takes as arguments, parsed: each pattern names the parts a check needs
(partition, region, account), so an ARN of another region or partition is refused by name."""

from __future__ import annotations

import re

TOPIC_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                       r"(?P<name>[A-Za-z0-9_-]{1,256}(\.fifo)?)")
QUEUE_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                       r"(?P<name>[A-Za-z0-9_-]{1,80}(\.fifo)?)")
KEY_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                     r"key/(?P<key_id>(mrk-)?[0-9a-f-]{32,36})")
SECRET_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z0-9-]+):"
                        r"(?P<account>\d{12}):secret:(?P<name>[A-Za-z0-9/_+=.@!-]+)")


def elsewhere(match: re.Match[str], partition: str, region: str) -> str | None:
    """Where an ARN is when that is not the program's partition and region, else None."""
    if (match["partition"], match["region"]) == (partition, region):
        return None
    return f"{match['partition']} {match['region']}"
