"""Reachability verdicts: can the function reach what it needs, given the network facts?

A pure function over plain data, so the article's three stages (not attached; attached without
an endpoint; attached with the endpoint) can be judged before anything is deployed. With a
database proxy the job's path to the database has two hops (the job to the proxy, the proxy to
the database), and the migration's own path is judged as well:

    verdicts = assess(facts)
    blocked = [v for v in verdicts if not v.reachable]

`rule_findings(facts)` judges the other way: a rule that no path of the function needs (one the
article's table does not have, such as egress to 0.0.0.0/0 without NAT) is a finding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..model.dependencies import purpose
from ..model.network_rules import ANYWHERE, HTTPS_PORT, NetworkFacts, Rule
from ..model.problems import Problem


@dataclass(frozen=True)
class PathVerdict:
    path: str
    """`database` (the job's), `migration-database` (the migration's, when it has groups of its
    own), or the AWS API's name (`sns`, `secretsmanager`)."""
    reachable: bool
    reason: str
    via: str = field(default="")

    def __str__(self) -> str:
        return f"{self.path}: {'reachable' if self.reachable else 'BLOCKED'} ({self.reason})"


def _names(groups: Iterable[str]) -> str:
    return ", ".join(groups) or "no security group"


def _egress_allows(facts: NetworkFacts, groups: Sequence[str], port: int, peers: Sequence[str] = (),
                   cidr: str | None = None, prefix_list: str | None = None) -> bool:
    for rule in facts.rules:
        if rule.direction != "egress" or rule.group not in groups or not rule.covers(port):
            continue
        if rule.peer_group is not None and rule.peer_group in peers:
            return True
        if prefix_list is not None and rule.prefix_list == prefix_list:
            return True
        if rule.cidr == ANYWHERE or (cidr is not None and rule.cidr == cidr):
            return True
    return False


def _ingress_allows(facts: NetworkFacts, groups: Sequence[str], port: int, sources: Sequence[str]) -> bool:
    return any(
        rule.direction == "ingress"
        and rule.group in groups
        and rule.covers(port)
        and (rule.peer_group in sources or rule.cidr == ANYWHERE)
        for rule in facts.rules
    )


def _hop(facts: NetworkFacts, sources: Sequence[str], targets: Sequence[str], port: int, action: str) -> str | None:
    """Why TCP `port` from `sources` to `targets` is blocked, or None when both sides allow it."""
    src, dst = _names(sources), _names(targets)
    if not _egress_allows(facts, sources, port, targets):
        return f"{src} allows no TCP {port} to {dst}: {action}"
    if not _ingress_allows(facts, targets, port, sources):
        return f"{dst} admits no TCP {port} from {src}: {action}"
    return None


def database_verdict(facts: NetworkFacts) -> PathVerdict:
    """The job's path to the database: direct, or through the proxy."""
    port = facts.database_port
    if not facts.function_attached:
        return PathVerdict("database", False, "function not attached to the VPC: the database in private subnets is "
                           "unreachable, connections time out")
    fn, db = facts.function_security_groups, facts.database_security_groups
    if facts.proxy_security_groups:
        proxy = facts.proxy_security_groups
        blocked = (_hop(facts, fn, proxy, facts.proxy_port, "connections to the proxy time out")
                   or _hop(facts, proxy, db, port, "the proxy cannot reach the database, connections through it fail"))
        if blocked:
            return PathVerdict("database", False, blocked)
        return PathVerdict("database", True, f"TCP {facts.proxy_port} from {_names(fn)} to {_names(proxy)}, TCP "
                                             f"{port} from {_names(proxy)} to {_names(db)}", via="proxy")
    blocked = _hop(facts, fn, db, port, "connections time out")
    if blocked:
        return PathVerdict("database", False, blocked)
    return PathVerdict("database", True, f"TCP {port} from {_names(fn)} to {_names(db)}", via="vpc")


def migration_database_verdict(facts: NetworkFacts) -> PathVerdict:
    """The migration's own path to the database (it logs in directly, as the master user)."""
    groups, db, port = facts.migration_security_groups, facts.database_security_groups, facts.database_port
    if not facts.function_attached:
        return PathVerdict("migration-database", False, "function not attached to the VPC: the migration cannot "
                           "reach the database")
    blocked = _hop(facts, groups, db, port, "the migration's connections time out")
    if blocked:
        return PathVerdict("migration-database", False, blocked)
    return PathVerdict("migration-database", True, f"TCP {port} from {_names(groups)} to {_names(db)}", via="vpc")


def _caller_groups(facts: NetworkFacts, service: str) -> tuple[str, ...]:
    """The groups of the function that calls `service`: the migration's, when it has its own."""
    if facts.migration_security_groups and service in facts.migration_services:
        return facts.migration_security_groups
    return facts.function_security_groups


def service_verdict(facts: NetworkFacts, service: str) -> PathVerdict:
    action = purpose(service)
    if not facts.function_attached:
        return PathVerdict(service, True, "function outside the VPC uses Lambda's own internet access",
                           via="internet")
    groups = _caller_groups(facts, service)
    fn = _names(groups)
    gateway = next((e for e in facts.endpoints if e.service == service and e.kind == "gateway"), None)
    if gateway is not None and gateway.subnets:
        if _egress_allows(facts, groups, HTTPS_PORT, prefix_list=service):
            return PathVerdict(service, True, f"gateway endpoint for {service} in the subnets' route tables",
                               via="gateway")
        return PathVerdict(service, False, f"{fn} allows no TCP 443 to the prefix list of the {service} gateway "
                                           f"endpoint: {action} times out")
    endpoint = next((e for e in facts.endpoints if e.service == service and e.kind == "interface"), None)
    if endpoint is not None and endpoint.private_dns and endpoint.subnets:
        blocked = _hop(facts, groups, endpoint.security_groups, HTTPS_PORT, f"{action} times out")
        if blocked:
            return PathVerdict(service, False, blocked)
        return PathVerdict(service, True, f"interface endpoint for {service} with private DNS", via="endpoint")
    if facts.nat_egress:
        if _egress_allows(facts, groups, HTTPS_PORT, cidr=ANYWHERE):
            return PathVerdict(service, True, "NAT egress, TCP 443 to the internet", via="nat")
        return PathVerdict(service, False, f"{fn} allows no TCP 443 to the internet: NAT egress is unused, "
                           f"{action} times out")
    if endpoint is not None and not endpoint.private_dns:
        return PathVerdict(service, False, f"the interface endpoint for {service} has private DNS off and there is "
                           f"no NAT egress: the SDK resolves the public name, {action} times out")
    if endpoint is not None and not endpoint.subnets:
        return PathVerdict(service, False, f"the interface endpoint for {service} is in no subnet: {action} times out")
    return PathVerdict(service, False, f"no NAT egress and no interface endpoint for {service}: {action} times out")


@dataclass(frozen=True)
class RuleFinding:
    """A rule that opens more than any path of the function needs."""

    rule: Rule
    reason: str

    def __str__(self) -> str:
        return f"{describe_rule(self.rule)}: {self.reason}"


def describe_rule(rule: Rule) -> str:
    """`lambda-sg egress TCP 443 to 0.0.0.0/0`, as the article's table reads."""
    if rule.protocol == "-1":
        ports = "all traffic"
    else:
        last = rule.to_port if rule.to_port is not None else rule.port
        ports = f"{rule.protocol.upper()} {rule.port}" + (f"-{last}" if last != rule.port else "")
    peer = rule.peer_group or rule.cidr or "nothing"
    return f"{rule.group} {rule.direction} {ports} {'to' if rule.direction == 'egress' else 'from'} {peer}"


def _needed_rules(facts: NetworkFacts) -> set[Rule]:
    """The rules the functions' paths use, exactly: TCP to the database port (through the proxy,
    with one) and to 443, between the groups that hold the functions, the proxy, the database and
    the endpoints they call."""
    fn, db, port = facts.function_security_groups, facts.database_security_groups, facts.database_port
    needed: set[Rule] = set()

    def pair(sources: Sequence[str], targets: Sequence[str], to_port: int) -> None:
        needed.update(Rule(s, "egress", to_port, peer_group=t) for s in sources for t in targets)
        needed.update(Rule(t, "ingress", to_port, peer_group=s) for s in sources for t in targets)

    if facts.proxy_security_groups:
        pair(fn, facts.proxy_security_groups, facts.proxy_port)
        pair(facts.proxy_security_groups, db, port)
    else:
        pair(fn, db, port)
    if facts.migration_security_groups:
        # The migration's own groups hold its path (with the proxy, lambda-sg leads to no database).
        own = tuple(g for g in facts.migration_security_groups if g not in fn) or facts.migration_security_groups
        pair(own, db, port)
    called = [e for e in facts.endpoints if e.service in facts.services and e.private_dns and e.subnets]
    for endpoint in called:
        pair(_caller_groups(facts, endpoint.service), endpoint.security_groups, HTTPS_PORT)
    if facts.nat_egress and any(s not in {e.service for e in called} for s in facts.services):
        needed |= {Rule(f, "egress", HTTPS_PORT, cidr=ANYWHERE) for f in fn}
    return needed


def rule_findings(facts: NetworkFacts) -> list[RuleFinding]:
    """Every rule that no path of the function needs: a port, a peer or an address range more than
    the function's database and AWS APIs use (egress to 0.0.0.0/0 without NAT, a port range, all
    traffic). Judged on the function attached as the component builds it."""
    needed = _needed_rules(facts)
    findings = []
    for rule in facts.rules:
        exact = dataclasses.replace(rule, to_port=None) if rule.to_port == rule.port else rule
        if exact in needed:
            continue
        if rule.cidr is not None:
            reason = ("no path of the function needs an address range: every path it takes names a security "
                      "group" + ("" if facts.nat_egress else ", and without NAT nothing outside the VPC is reached"))
        else:
            reason = "no path of the function uses it"
        findings.append(RuleFinding(rule, reason))
    return findings


def assess(facts: NetworkFacts) -> list[PathVerdict]:
    """A verdict for every path the functions need: the job's to the database, the migration's
    when it has groups of its own, then each AWS API from the function that calls it."""
    migration = [migration_database_verdict(facts)] if facts.migration_security_groups else []
    return [database_verdict(facts), *migration, *(service_verdict(facts, s) for s in facts.services)]


def blocked(verdicts: Iterable[PathVerdict]) -> list[PathVerdict]:
    return [v for v in verdicts if not v.reachable]


def blocked_path_problems(verdicts: Iterable[PathVerdict], endpoints_argument: str) -> list[Problem]:
    """Each blocked path as a problem naming what to change: the article's stages 1 and 2,
    refused at preview instead of timing out at run time. A blocked AWS API is the endpoints'
    argument's to fix (`interface_endpoints`, or `endpoints` for a shared set); the database
    path depends on `db_port`'s rules."""
    problems = []
    for v in blocked(verdicts):
        if v.path == "database":
            problems.append(Problem("db_port", f"the database is unreachable: {v.reason}"))
        elif v.path == "migration-database":
            problems.append(Problem("db_port", f"the database is unreachable from the migration: {v.reason}"))
        elif endpoints_argument == "interface_endpoints":
            problems.append(Problem("interface_endpoints", f"{v.path} is unreachable: {v.reason}; add {v.path!r} to "
                                                           "interface_endpoints, or set nat_egress=true if the "
                                                           "subnets route to a NAT gateway"))
        else:
            problems.append(Problem(endpoints_argument, f"the function calls {v.path}, which the shared "
                                                        f"PrivateServiceEndpoints has no endpoint for ({v.reason}); "
                                                        f"add {v.path!r} to its services, or set nat_egress=true if "
                                                        "the subnets route to a NAT gateway"))
    return problems
