"""The component's security-group rules as the packet rehearsal installs them.

The rules are read from what the component registered under the Pulumi mocks (the
`SecurityGroupIngressRule` / `SecurityGroupEgressRule` resources, their group IDs mapped back to
the article's keys through the component's `security_group_ids` output) and held to the table
the component deploys them from (`SECURITY_GROUP_RULES`, through `planned_rules`): a rule the
component registers but the table does not have, or a row it does not register, stops the run.

This is the only module of the packet rehearsal that imports `components`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.checks.reachability import PathVerdict, RuleFinding, assess, describe_rule, rule_findings
from components.model.network_rules import NetworkFacts, Rule, network_facts, planned_rules, rule_port
from components.model.settings import Settings
from localrun.pulumi_mocks import Registered

__all__ = [
    "EGRESS_RULE_TYPE",
    "INGRESS_RULE_TYPE",
    "GroupRule",
    "NetworkFacts",
    "PathVerdict",
    "RuleFinding",
    "RulesDiffer",
    "article_table",
    "assess",
    "design_facts",
    "evaluated_rules",
    "findings",
    "parse_rule",
    "table_rules",
    "with_rules",
]

INGRESS_RULE_TYPE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE_TYPE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
Direction = Literal["ingress", "egress"]


class RulesDiffer(RuntimeError):
    """The rules the component registered are not the rows of its table."""


@dataclass(frozen=True)
class GroupRule:
    """One security-group rule: a group's members may send (egress) to, or receive (ingress)
    from, the members of a peer group (or an address range) on a protocol and ports."""

    group: str
    direction: Direction
    from_port: int
    to_port: int
    peer: str
    """A group key, or a CIDR block."""
    protocol: str = "tcp"
    """`tcp`, `udp`, or `-1` (all traffic)."""
    purpose: str = ""

    @property
    def peer_is_cidr(self) -> bool:
        return "/" in self.peer

    @property
    def key(self) -> tuple[str, str, str, int, int, str]:
        """What the rule allows, without its wording."""
        return (self.group, self.direction, self.protocol, self.from_port, self.to_port, self.peer)

    @property
    def ports(self) -> str:
        if self.protocol == "-1":
            return "all traffic"
        last = f"-{self.to_port}" if self.to_port != self.from_port else ""
        return f"{self.protocol.upper()} {self.from_port}{last}"

    def spec(self) -> str:
        """`lambda-sg egress 3306 rds-sg`: how `--without-rule` and `--extra-rule` name it."""
        last = f"-{self.to_port}" if self.to_port != self.from_port else ""
        return f"{self.group} {self.direction} {self.from_port}{last} {self.peer}"

    def reachability_rule(self) -> Rule:
        return Rule(group=self.group, direction=self.direction, port=self.from_port,
                    peer_group=None if self.peer_is_cidr else self.peer,
                    cidr=self.peer if self.peer_is_cidr else None, protocol=self.protocol,
                    to_port=None if self.to_port == self.from_port else self.to_port)

    def __str__(self) -> str:
        return describe_rule(self.reachability_rule())


def _int(value: Any) -> int:
    return int(float(value))


def evaluated_rules(resources: Iterable[Registered], group_ids: Mapping[str, str]) -> tuple[GroupRule, ...]:
    """The rule resources the component registered, in its keys: `group_ids` is its
    `security_group_ids` output (key -> ID)."""
    keys = {group_id: key for key, group_id in group_ids.items()}
    rules = []
    for resource in resources:
        if resource.type not in (INGRESS_RULE_TYPE, EGRESS_RULE_TYPE):
            continue
        inputs = resource.inputs
        group = keys.get(str(inputs.get("securityGroupId")))
        referenced = inputs.get("referencedSecurityGroupId")
        peer = keys.get(str(referenced)) if referenced else inputs.get("cidrIpv4")
        if group is None or peer is None:
            raise RulesDiffer(f"rule {resource.name} names a group the component's security_group_ids output does "
                              f"not have ({inputs.get('securityGroupId')} -> {referenced or inputs.get('cidrIpv4')})")
        protocol = str(inputs.get("ipProtocol", "tcp"))
        all_traffic = protocol == "-1"
        rules.append(GroupRule(
            group=group,
            direction="ingress" if resource.type == INGRESS_RULE_TYPE else "egress",
            from_port=0 if all_traffic else _int(inputs["fromPort"]),
            to_port=0 if all_traffic else _int(inputs["toPort"]),
            peer=str(peer),
            protocol=protocol,
            purpose=str(inputs.get("description", "")),
        ))
    return tuple(rules)


def table_rules(settings: Settings) -> tuple[GroupRule, ...]:
    """The rows the component deploys its rules from (the article's table, and the NAT rule when
    it is asked for), ports resolved."""
    rows = []
    for row in planned_rules(settings):
        port = rule_port(row, settings.db_port)
        rows.append(GroupRule(row.group, row.direction, port, port, row.peer, "tcp", row.purpose))
    return tuple(rows)


def held_to_table(evaluated: Sequence[GroupRule], table: Sequence[GroupRule]) -> tuple[GroupRule, ...]:
    """The evaluated rules in the table's order, each with its row's purpose; RulesDiffer when the
    two are not the same rules one for one."""
    rows = {row.key: row for row in table}
    extra = [str(rule) for rule in evaluated if rule.key not in rows]
    registered = [rule.key for rule in evaluated]
    missing = [str(row) for row in table if row.key not in registered]
    twice = sorted({str(rule) for rule in evaluated if registered.count(rule.key) > 1})
    if extra or missing or twice:
        raise RulesDiffer("the rules the component registered are not its table's rows: "
                          f"not in the table {extra}, not registered {missing}, registered twice {twice}")
    order = list(rows)
    return tuple(sorted((dataclasses.replace(rule, purpose=rows[rule.key].purpose) for rule in evaluated),
                        key=lambda rule: order.index(rule.key)))


def parse_rule(spec: str) -> GroupRule:
    """`GROUP DIRECTION PORT[-PORT] PEER` (TCP), for example `lambda-sg egress 443 0.0.0.0/0`."""
    parts = spec.split()
    if len(parts) != 4 or parts[1] not in ("ingress", "egress"):
        raise ValueError(f"a rule is 'GROUP ingress|egress PORT[-PORT] PEER' (TCP), got {spec!r}")
    group, _, ports, peer = parts
    direction: Direction = "ingress" if parts[1] == "ingress" else "egress"
    first, _, last = ports.partition("-")
    try:
        from_port, to_port = int(first), int(last or first)
    except ValueError:
        raise ValueError(f"ports must be numbers in {spec!r}") from None
    if not 0 < from_port <= to_port <= 65535:
        raise ValueError(f"ports out of range in {spec!r}")
    if "/" in peer:
        try:
            ipaddress.ip_network(peer)
        except ValueError as exc:
            raise ValueError(f"not an address range in {spec!r}: {exc}") from None
    return GroupRule(group, direction, from_port, to_port, peer, "tcp", purpose="added for this run (not in the table)")


def design_facts(settings: Settings) -> NetworkFacts:
    """The network the component builds, as reachability facts."""
    return network_facts(settings)


def with_rules(facts: NetworkFacts, rules: Iterable[GroupRule]) -> NetworkFacts:
    """`facts` with these rules in place of the table's."""
    return dataclasses.replace(facts, rules=tuple(rule.reachability_rule() for rule in rules))


def findings(facts: NetworkFacts) -> list[RuleFinding]:
    return rule_findings(facts)


def article_table(rules: Sequence[GroupRule]) -> list[str]:
    """The rules as the article's table (Markdown)."""
    lines = ["| group | direction | protocol/port | peer | purpose |", "|---|---|---|---|---|"]
    lines += [f"| {r.group} | {r.direction} | {r.ports} | {r.peer} | {r.purpose} |" for r in rules]
    return lines
