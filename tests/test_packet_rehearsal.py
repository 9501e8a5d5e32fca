"""`make local ARGS="--packets"`: the article's three stages on network namespaces, the rules the
component registers installed as stateful packet filters; each rule of the table removed in turn
times out exactly the path it opened; a rule the table does not have is a reachability finding.
The same with the proxy on (`--db-proxy`): the job through a stand-in for the proxy in proxy-sg,
the migration on its own path, each of the table's rows removed in turn.

The rehearsals run as a user runs them (`python -m components.local`), several at once: their namespaces
have names of their own, so they do not collide (nor with another suite on the machine)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components.local import netns
from components.local.netns import Namespaces
from components.local.packets import PacketNetwork, plan_layout
from components.local.rehearsal import RuleChanges, UnknownRule, runbook_entry, stage_facts
from components.local.security_groups import (
    GroupRule,
    RulesDiffer,
    design_facts,
    evaluated_rules,
    findings,
    held_to_table,
    parse_rule,
    table_rules,
    with_rules,
)
from components.local.services import Pki
from components.local.stack_model import StackModel, evaluate_with_ca_bundle
from components.testing.pulumi_mocks import ProgramRun

ROOT = Path(__file__).resolve().parent.parent
DB_HOST = "lambda-test-db.c0abcdefgh.cn-northwest-1.rds.amazonaws.com.cn"
SNS_URL = "https://sns.cn-northwest-1.amazonaws.com.cn"
SECRETS_URL = "https://secretsmanager.cn-northwest-1.amazonaws.com.cn"
# The dev stack's network as the rehearsal lays it out (its VPC is 10.20.0.0/16, two /20 subnets).
FUNCTION, MIGRATION, DATABASE = "10.20.0.10", "10.20.16.10", "10.20.16.20"
SNS_ENDPOINT, SECRETS_ENDPOINT, SNS_PUBLIC, SECRETS_PUBLIC = "10.20.0.30", "10.20.0.31", "52.82.208.11", "52.82.208.12"
OUTSIDE = "100.64.0.10"
ARTICLE_TABLE = [
    "| group | direction | protocol/port | peer | purpose |",
    "| lambda-sg | egress | TCP 3306 | rds-sg | function to the database |",
    "| lambda-sg | egress | TCP 443 | endpoint-sg | function to the interface endpoints |",
    "| rds-sg | ingress | TCP 3306 | lambda-sg | database accepts the function |",
    "| endpoint-sg | ingress | TCP 443 | lambda-sg | endpoints accept the function |",
]


# --------------------------------------------------------------------------- the rules, as data


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> StackModel:
    work = tmp_path_factory.mktemp("stack")
    return evaluate_with_ca_bundle("dev", Pki.create(work / "pki").ca, work)


@pytest.fixture(scope="module")
def proxy_model(tmp_path_factory: pytest.TempPathFactory) -> StackModel:
    work = tmp_path_factory.mktemp("proxy-stack")
    return evaluate_with_ca_bundle("dev", Pki.create(work / "pki").ca, work, {"vpc-lambda:dbProxy": True})


def registered(model: StackModel) -> tuple[GroupRule, ...]:
    return evaluated_rules(model.run.resources, model.run.exports["security_group_ids"])


def test_the_installed_rules_are_the_ones_the_component_registered_held_to_its_table(model: StackModel) -> None:
    rules = held_to_table(registered(model), table_rules(model.component.settings))
    assert [rule.spec() for rule in rules] == [
        "lambda-sg egress 3306 rds-sg", "lambda-sg egress 443 endpoint-sg",
        "rds-sg ingress 3306 lambda-sg", "endpoint-sg ingress 443 lambda-sg"]
    assert [rule.purpose for rule in rules] == [row.purpose for row in table_rules(model.component.settings)]


def _with_rule_inputs(run: ProgramRun, name_part: str, **inputs: Any) -> list[Any]:
    resources = copy.deepcopy(run.resources)
    (rule,) = [r for r in resources if name_part in r.name and r.type.endswith("EgressRule")]
    rule.inputs.update(inputs)
    return resources


def test_a_registered_rule_that_is_not_a_table_row_stops_the_run(model: StackModel) -> None:
    ids = model.run.exports["security_group_ids"]
    table = table_rules(model.component.settings)
    wider = evaluated_rules(_with_rule_inputs(model.run, "egress-3306", toPort=3310.0), ids)
    with pytest.raises(RulesDiffer, match=r"not in the table \['lambda-sg egress TCP 3306-3310 to rds-sg'\], "
                                          r"not registered \['lambda-sg egress TCP 3306 to rds-sg'\]"):
        held_to_table(wider, table)
    with pytest.raises(RulesDiffer, match="names a group the component's security_group_ids output does not have"):
        evaluated_rules(_with_rule_inputs(model.run, "egress-443", referencedSecurityGroupId="sg-elsewhere"), ids)
    twice = registered(model) + tuple(r for r in registered(model) if r.spec() == "rds-sg ingress 3306 lambda-sg")
    with pytest.raises(RulesDiffer, match=r"registered twice \['rds-sg ingress TCP 3306 from lambda-sg'\]"):
        held_to_table(twice, table)


def test_rule_changes_apply_to_a_copy(model: StackModel) -> None:
    rules = held_to_table(registered(model), table_rules(model.component.settings))
    kept = RuleChanges(without=(parse_rule("rds-sg ingress 3306 lambda-sg"),),
                       extra=(parse_rule("lambda-sg egress 443 0.0.0.0/0"),)).apply(rules)
    assert [r.spec() for r in kept] == ["lambda-sg egress 3306 rds-sg", "lambda-sg egress 443 endpoint-sg",
                                        "endpoint-sg ingress 443 lambda-sg", "lambda-sg egress 443 0.0.0.0/0"]
    assert len(rules) == 4 and len(table_rules(model.component.settings)) == 4, "the source is untouched"
    with pytest.raises(UnknownRule, match="the component has no such rule"):
        RuleChanges(without=(parse_rule("rds-sg ingress 5432 lambda-sg"),)).apply(rules)
    for bad in ("rds-sg ingress 3306", "rds-sg inbound 3306 lambda-sg", "rds-sg ingress 0 lambda-sg",
                "lambda-sg egress 443 10.0.0.0/33"):
        with pytest.raises(ValueError):
            parse_rule(bad)


def test_a_rule_the_table_does_not_have_is_a_reachability_finding(model: StackModel) -> None:
    settings = model.component.settings
    table = table_rules(settings)
    assert findings(with_rules(design_facts(settings), table)) == [], "the article's table: every rule is needed"
    extras = ["lambda-sg egress 443 0.0.0.0/0", "rds-sg ingress 3306 endpoint-sg", "lambda-sg egress 3306-3310 rds-sg",
              "endpoint-sg ingress 443 10.20.0.0/16"]
    found = findings(with_rules(design_facts(settings), (*table, *(parse_rule(e) for e in extras))))
    assert [str(f).split(":")[0] for f in found] == [
        "lambda-sg egress TCP 443 to 0.0.0.0/0", "rds-sg ingress TCP 3306 from endpoint-sg",
        "lambda-sg egress TCP 3306-3310 to rds-sg", "endpoint-sg ingress TCP 443 from 10.20.0.0/16"]
    assert str(found[0]) == ("lambda-sg egress TCP 443 to 0.0.0.0/0: no path of the function needs an address "
                             "range: every path it takes names a security group, and without NAT nothing outside "
                             "the VPC is reached")
    assert found[1].reason == "no path of the function uses it"
    # With NAT egress and no endpoint, the NAT rule is used; the endpoint group's rules are not.
    nat = dataclasses.replace(with_rules(design_facts(settings), (*table, parse_rule(extras[0]))), nat_egress=True,
                              endpoints=())
    assert [str(f).split(":")[0] for f in findings(nat)] == [
        "lambda-sg egress TCP 443 to endpoint-sg", "endpoint-sg ingress TCP 443 from lambda-sg"]


def test_without_root_the_packet_rehearsal_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert netns.unavailable() == ("network namespaces and packet filters need root (CI runs as root; here: "
                                   "sudo make local ...)")


# --------------------------------------------------------------------------- packets, without the services


def _listen(port: int) -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(16)
    return server


def _connect(address: str, port: int, timeout: float = 1.0) -> Callable[[], str]:
    def attempt() -> str:
        with socket.socket() as client:
            client.settimeout(timeout)
            try:
                client.connect((address, port))
                client.sendall(b"ping")
                return "connected"
            except TimeoutError:
                return "timed out"
            except OSError as exc:
                return f"failed: {exc}"
    return attempt


def _root_namespace() -> str:
    return netns.run([netns.tool("ip") or "ip", "-j", "addr"])


@pytest.fixture
def network(model: StackModel) -> Iterator[PacketNetwork]:
    settings = model.component.settings
    design = design_facts(settings)
    rules = (*table_rules(settings), parse_rule("endpoint-sg egress 3306 rds-sg"))  # sends, but is not admitted
    names = {"sns": "sns.example", "secretsmanager": "sm.example"}
    layout = plan_layout(stage_facts(design, 3), design, DB_HOST, names)
    with Namespaces() as made:
        built = PacketNetwork.build(made, layout, rules)
        listeners = [built.namespaces[where].call(functools.partial(_listen, port)) for where, port in (
            ("database", 3306), ("database", 22), ("endpoints", 443), ("internet", 443), ("function", 8080))]
        try:
            yield built
        finally:
            for listener in listeners:
                listener.close()
    assert netns.existing(made.prefix) == [], "every namespace of the run is removed"
    assert not list(netns.NETNS_ETC_DIR.glob(f"{made.prefix}-*")), "and its /etc/netns files"


@pytest.mark.integration
def test_the_filters_have_security_group_semantics(network: PacketNetwork) -> None:
    ns = network.namespaces
    attempts = {
        # (from, to, port): the outcome
        ("function", DATABASE, 3306): "connected",  # lambda-sg egress + rds-sg ingress; the reply is let back in
        ("migration", DATABASE, 3306): "connected",  # another member of lambda-sg
        ("function", SNS_ENDPOINT, 443): "connected",  # the same subnet: bridged, filtered the same way
        ("function", SECRETS_ENDPOINT, 443): "connected",
        ("function", DATABASE, 22): "timed out",  # a port no rule opens
        ("database", FUNCTION, 8080): "timed out",  # rds-sg has no egress: default deny
        ("endpoints", DATABASE, 3306): "timed out",  # endpoint-sg may send, rds-sg admits only lambda-sg members
        ("function", SNS_PUBLIC, 443): "timed out",  # outside the VPC
    }
    seen = {key: ns[key[0]].call(_connect(key[1], key[2])) for key in attempts}
    assert seen == attempts
    assert sorted(network.dropped()) == [
        f"database egress {DATABASE} > {FUNCTION}:8080",
        f"database ingress {SNS_ENDPOINT} > {DATABASE}:3306",
        f"function egress {FUNCTION} > {DATABASE}:22",
        f"function egress {FUNCTION} > {SNS_PUBLIC}:443",
    ]
    # Stateful: the function's namespace admits nothing new (no ingress rule names lambda-sg), yet
    # its connections got their replies; the table has no rule for the way back.
    chain = ns["function"].nft_list("chain", "inet", "security_groups", "ingress")["nftables"]
    rules = [item["rule"]["expr"] for item in chain if "rule" in item]
    accepting = [expr for expr in rules if {"accept": None} in expr]
    assert len(accepting) == 2, "only loopback and established,related: nothing new is admitted"
    assert {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}} \
        in accepting[1]


@pytest.mark.integration
def test_the_network_stays_inside_the_runs_namespaces(network: PacketNetwork) -> None:
    root = _root_namespace()
    for address in (FUNCTION, MIGRATION, DATABASE, SNS_ENDPOINT, SNS_PUBLIC, "10.20.0.1"):
        assert f'"{address}"' not in root, f"{address} is not on this machine's own interfaces"
    for role, namespace in network.namespaces.items():
        routes = json.loads(namespace.ip("-j", "route"))
        gateways = {route.get("gateway") for route in routes} - {None}
        assert gateways <= {"10.20.0.1", "10.20.16.1"}, (role, routes)
        links = json.loads(namespace.ip("-j", "link"))
        assert {link["ifname"] for link in links} <= {"lo", "eni0", "subnet0", "subnet1", "function", "migration",
                                                     "database", "endpoints"}, (role, links)
    assert [r.get("type") for r in json.loads(network.namespaces["vpc"].ip("-j", "route")) if r["dst"] == "default"] \
        == ["blackhole"], "no internet gateway, no NAT: what the VPC cannot route is dropped"


# --------------------------------------------------------------------------- whole rehearsals


@dataclasses.dataclass(frozen=True)
class Run:
    code: int
    out: str
    outcome: dict[str, Any]

    def failure_seconds(self) -> float:
        """How long the failed function waited, from its `-> Error: ... (N s)` line."""
        match = re.search(r"^  -> \w+: .*\((\d+\.\d) s\)$", self.out, re.MULTILINE)
        assert match, self.out[-3000:]
        return float(match.group(1))


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "components.local", "--packets", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def collect(process: subprocess.Popen[str]) -> Run:
    out, err = process.communicate(timeout=300)
    lines = out.strip().splitlines()
    assert lines and lines[-1].startswith("{"), (
        f"the rehearsal ended without its outcome line ({process.returncode}):\n{out[-3000:]}\n{err[-4000:]}")
    run = Run(process.returncode, out, json.loads(lines[-1]))
    assert run.outcome["network"] == "packets", out[-3000:]
    return run


def stop(process: subprocess.Popen[str]) -> None:
    """A rehearsal left running by a failed test: SIGTERM first, so it removes its namespaces."""
    if process.poll() is None:
        process.terminate()
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def together(*arg_lists: tuple[str, ...]) -> list[Run]:
    """Rehearsals run at the same time."""
    processes = [launch(*args) for args in arg_lists]
    try:
        return [collect(process) for process in processes]
    finally:
        for process in processes:
            stop(process)


def printed_before_the_functions_ran(run: Run, *lines: str) -> None:
    first_function = run.out.index("== Schema migration")
    for line in lines:
        assert 0 <= run.out.find(line) < first_function, line


@pytest.fixture(scope="module")
def stages() -> dict[int, Run]:
    return dict(zip((1, 2, 3), together(("--stage", "1"), ("--stage", "2"), ("--stage", "3")), strict=True))


@pytest.mark.integration
def test_stage_3_the_design_works_on_packets(stages: dict[int, Run]) -> None:
    run = stages[3]
    assert run.code == 0, run.out[-3000:]
    assert run.outcome["statusCode"] == 200 and run.outcome["delivered"] is True and run.outcome["employees"] == 5
    assert run.outcome["dropped"] == [], "no connection the design makes is dropped"
    printed_before_the_functions_ran(run, *ARTICLE_TABLE, f"endpoint-sns               {SNS_ENDPOINT}",
                                     "ok       sns: interface endpoint for sns with private DNS")
    assert f"MariaDB at {DB_HOST} ({DATABASE}:3306), TLS required" in run.out
    assert "the function verifies them with the run's CA (ca.pem, AWS_CA_BUNDLE); no endpoint override" in run.out
    assert '"event": "notification_published"' in run.out and '"tls_version": "TLSv1.3"' in run.out


@pytest.mark.integration
def test_stage_1_not_attached_the_database_connect_times_out(stages: dict[int, Run]) -> None:
    run = stages[1]
    assert run.code == 0 and run.outcome["expected"] is True, "as the article says"
    assert run.outcome["failed"] == "invocation"
    assert run.outcome["error"] == (f"DatabaseUnreachableError: cannot connect to the database at {DB_HOST}:3306 "
                                    "(connect timeout 5s): timed out")
    assert run.outcome["runbook"] == runbook_entry("DatabaseUnreachableError")
    assert f"what it means and what to check: {run.outcome['runbook']}" in run.out
    assert run.failure_seconds() >= 5.0, "it waited out its connect timeout: dropped, not refused"
    # Outside the VPC the database has no route; the job reads no secret (it signs its token itself).
    assert run.outcome["dropped"] == [f"internet no-route {OUTSIDE} > {DATABASE}:3306"]
    assert '"event": "secret_fetched"' not in run.out.split("== Invocation")[1]
    assert (f"names in the function's namespace (/etc/netns/.../hosts): {DB_HOST} -> {DATABASE}, "
            f"sns.cn-northwest-1.amazonaws.com.cn -> {SNS_PUBLIC}, "
            f"secretsmanager.cn-northwest-1.amazonaws.com.cn -> {SECRETS_PUBLIC}") in run.out
    printed_before_the_functions_ran(run, *ARTICLE_TABLE, "not attached: Lambda's own network, no security group",
                                     "BLOCKED  database: function not attached to the VPC")


@pytest.mark.integration
def test_stage_2_without_the_sns_endpoint_publish_times_out(stages: dict[int, Run]) -> None:
    run = stages[2]
    assert run.code == 0 and run.outcome["expected"] is True, "as the article says"
    assert run.outcome["failed"] == "invocation"
    assert run.outcome["error"].startswith(f"NotificationError: SNS is unreachable at {SNS_URL} (Connect timeout on "
                                           f'endpoint URL: "{SNS_URL}/"; connect timeout 3 s, 2 attempts')
    assert run.outcome["runbook"] == runbook_entry("NotificationError")
    assert f"what it means and what to check: {run.outcome['runbook']}" in run.out
    assert run.failure_seconds() >= 6.0
    # The public name resolved to the public address; lambda-sg lets nothing go there.
    assert run.outcome["dropped"] == [f"function egress {FUNCTION} > {SNS_PUBLIC}:443"]
    assert "endpoint-sns" not in run.out
    assert (f"names in the function's namespace (/etc/netns/.../hosts): {DB_HOST} -> {DATABASE}, "
            f"sns.cn-northwest-1.amazonaws.com.cn -> {SNS_PUBLIC}, "
            f"secretsmanager.cn-northwest-1.amazonaws.com.cn -> {SECRETS_ENDPOINT}") in run.out
    printed_before_the_functions_ran(run, *ARTICLE_TABLE, "BLOCKED  sns: no NAT egress and no interface endpoint")


@pytest.mark.integration
def test_an_egress_rule_to_anywhere_is_a_finding_and_without_nat_still_times_out() -> None:
    (run,) = together(("--stage", "2", "--extra-rule", "lambda-sg egress 443 0.0.0.0/0"))
    printed_before_the_functions_ran(
        run, "| lambda-sg | egress | TCP 443 | 0.0.0.0/0 | added for this run (not in the table) |",
        "FINDING  lambda-sg egress TCP 443 to 0.0.0.0/0: no path of the function needs an address range")
    assert run.outcome["error"].startswith(f"NotificationError: SNS is unreachable at {SNS_URL}")
    # Now lambda-sg lets it out: the VPC router drops it, having no route (no NAT).
    assert run.outcome["dropped"] == [f"vpc no-route {FUNCTION} > {SNS_PUBLIC}:443"]


# Each row of the table: the error of the first function that needs its path (the schema migration,
# as `pulumi up` runs it: the database, or the secret before it) and where the packets are dropped.
REMOVED = {
    "lambda-sg egress 3306 rds-sg": (
        f"DatabaseUnreachableError: cannot connect to the database at {DB_HOST}:3306 (connect timeout 5s): timed out",
        f"migration egress {MIGRATION} > {DATABASE}:3306", "database: lambda-sg allows no TCP 3306 to rds-sg", 5.0),
    "lambda-sg egress 443 endpoint-sg": (
        f"SecretError: Secrets Manager is unreachable at {SECRETS_URL} (Connect timeout on endpoint URL",
        f"migration egress {MIGRATION} > {SECRETS_ENDPOINT}:443",
        "secretsmanager: lambda-sg allows no TCP 443 to endpoint-sg", 6.0),
    "rds-sg ingress 3306 lambda-sg": (
        f"DatabaseUnreachableError: cannot connect to the database at {DB_HOST}:3306 (connect timeout 5s): timed out",
        f"database ingress {MIGRATION} > {DATABASE}:3306", "database: rds-sg admits no TCP 3306 from lambda-sg", 5.0),
    "endpoint-sg ingress 443 lambda-sg": (
        f"SecretError: Secrets Manager is unreachable at {SECRETS_URL} (Connect timeout on endpoint URL",
        f"endpoints ingress {MIGRATION} > {SECRETS_ENDPOINT}:443",
        "secretsmanager: endpoint-sg admits no TCP 443 from lambda-sg", 6.0),
}


@pytest.fixture(scope="module")
def removals() -> dict[str, Run]:
    specs = list(REMOVED)
    return dict(zip(specs, together(*(("--without-rule", spec) for spec in specs)), strict=True))


def test_the_removals_cover_every_row_of_the_table(model: StackModel) -> None:
    assert sorted(REMOVED) == sorted(row.spec() for row in table_rules(model.component.settings))


@pytest.mark.integration
@pytest.mark.parametrize("spec", list(REMOVED))
def test_removing_a_rule_times_out_exactly_the_path_it_opened(removals: dict[str, Run], spec: str) -> None:
    run = removals[spec]
    error, dropped, verdict, waited = REMOVED[spec]
    assert run.code == 0 and run.outcome["expected"] is True, "as the verdicts on the rules installed say"
    assert run.outcome["failed"] == "migration"
    assert run.outcome["error"].startswith(error), run.outcome["error"]
    assert run.outcome["runbook"] == runbook_entry(error.split(":")[0])
    assert run.failure_seconds() >= waited, "a connect timeout: the packets were dropped, not refused"
    assert run.outcome["dropped"] == [dropped], "dropped on that rule's path, and nowhere else"
    printed_before_the_functions_ran(run, f"BLOCKED  {verdict}", f"left out for this run: {parse_rule(spec)}")
    table = [line for line in ARTICLE_TABLE[1:] if line.startswith(f"| {spec.split()[0]} | {spec.split()[1]} | "
                                                                     f"TCP {spec.split()[2]} |")]
    assert len(table) == 1 and table[0] not in run.out, "the rule is not installed"
    assert all(line in run.out for line in ARTICLE_TABLE if line not in table)


# --------------------------------------------------------------------------- clean-up and fallback


@pytest.mark.integration
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_an_interrupted_packet_rehearsal_removes_its_namespaces(signal_name: str) -> None:
    process = launch()
    try:
        interrupt_and_check(process, signal_name)
    finally:
        stop(process)


def interrupt_and_check(process: subprocess.Popen[str], signal_name: str) -> None:
    assert process.stdout is not None
    prefix, seen = None, []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if match := re.search(r"namespaces (vl\w+)-\{", line):
            prefix = match.group(1)
        if "RDS MySQL -> MariaDB at" in line:
            break
    assert prefix and netns.existing(prefix), "".join(seen)
    assert list(netns.NETNS_ETC_DIR.glob(f"{prefix}-*"))
    servers = [pid for pid in os.listdir("/proc") if pid.isdigit() and _in_namespace(int(pid), f"{prefix}-database")]
    assert servers, "MariaDB runs in the database's namespace"

    process.send_signal(getattr(signal, signal_name))
    time.sleep(0.3)
    process.send_signal(getattr(signal, signal_name))  # impatient: a second one must not cut the clean-up short
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 130, rest + errors
    assert json.loads(rest.strip().splitlines()[-1])["error"] == "interrupted"
    assert netns.existing(prefix) == [], "every namespace is removed"
    assert not list(netns.NETNS_ETC_DIR.glob(f"{prefix}-*")), "and its /etc/netns files"
    assert not any(Path(f"/proc/{pid}").exists() for pid in servers), "the database is stopped"


def _in_namespace(pid: int, name: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(netns.NETNS_RUN_DIR / name).st_ino
    except OSError:
        return False


@pytest.mark.integration
def test_when_namespaces_cannot_be_made_the_loopback_rehearsal_runs() -> None:
    """The third namespace fails: the two made are removed and the rehearsal runs on loopback."""
    program = (
        "import sys\n"
        "from components.local import netns\n"
        "from components.local.rehearsal import main\n"
        "add = netns.Namespaces.add\n"
        "def failing(self, role):\n"
        "    if len(self.names) == 2:\n"
        "        print('made', self.prefix, flush=True)\n"
        "        raise netns.NamespaceError('ip netns add: Operation not permitted')\n"
        "    return add(self, role)\n"
        "netns.Namespaces.add = failing\n"
        "sys.exit(main(['--packets']))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0 and outcome["statusCode"] == 200, result.stdout[-3000:] + result.stderr[-3000:]
    assert outcome["network"] == "loopback" and "dropped" not in outcome
    assert ("--packets: the network namespaces could not be made: ip netns add: Operation not permitted"
            in result.stdout)
    assert "rehearsing on loopback instead" in result.stdout
    (prefix,) = re.findall(r"^made (\w+)$", result.stdout, re.MULTILINE)
    assert netns.existing(prefix) == [], "the namespaces made before the failure are removed"


# --------------------------------------------------------------------------- with the proxy (--db-proxy)

PROXY_HOST = "lambda-test-dev-proxy.proxy-c0abcdefgh.cn-northwest-1.rds.amazonaws.com.cn"
PROXY = "10.20.0.40"
# Each row of the table with the proxy on: which function fails first (the migration, as `pulumi
# up` runs it, then the job), its error, where the packets are dropped, the verdict, the wait.
REMOVED_WITH_PROXY = {
    "lambda-sg egress 443 endpoint-sg": (
        "migration", f"SecretError: Secrets Manager is unreachable at {SECRETS_URL} (Connect timeout on endpoint URL",
        f"migration egress {MIGRATION} > {SECRETS_ENDPOINT}:443",
        "secretsmanager: lambda-sg, migration-sg allows no TCP 443 to endpoint-sg", 6.0),
    "endpoint-sg ingress 443 lambda-sg": (
        "migration", f"SecretError: Secrets Manager is unreachable at {SECRETS_URL} (Connect timeout on endpoint URL",
        f"endpoints ingress {MIGRATION} > {SECRETS_ENDPOINT}:443",
        "secretsmanager: endpoint-sg admits no TCP 443 from lambda-sg, migration-sg", 6.0),
    "lambda-sg egress 3306 proxy-sg": (
        "invocation", f"DatabaseUnreachableError: cannot connect to the database at {PROXY_HOST}:3306 (connect "
                      "timeout 5s): timed out",
        f"function egress {FUNCTION} > {PROXY}:3306", "database: lambda-sg allows no TCP 3306 to proxy-sg", 5.0),
    "proxy-sg ingress 3306 lambda-sg": (
        "invocation", f"DatabaseUnreachableError: cannot connect to the database at {PROXY_HOST}:3306 (connect "
                      "timeout 5s): timed out",
        f"proxy ingress {FUNCTION} > {PROXY}:3306", "database: proxy-sg admits no TCP 3306 from lambda-sg", 5.0),
    "proxy-sg egress 3306 rds-sg": (
        "invocation", f"DatabaseUnreachableError: the database at {PROXY_HOST}:3306 closed the connection during "
                      "the handshake", f"proxy egress {PROXY} > {DATABASE}:3306",
        "database: proxy-sg allows no TCP 3306 to rds-sg", 3.0),
    "rds-sg ingress 3306 proxy-sg": (
        "invocation", f"DatabaseUnreachableError: the database at {PROXY_HOST}:3306 closed the connection during "
                      "the handshake", f"database ingress {PROXY} > {DATABASE}:3306",
        "database: rds-sg admits no TCP 3306 from proxy-sg", 3.0),
    "migration-sg egress 3306 rds-sg": (
        "migration", f"DatabaseUnreachableError: cannot connect to the database at {DB_HOST}:3306 (connect timeout "
                     "5s): timed out", f"migration egress {MIGRATION} > {DATABASE}:3306",
        "migration-database: lambda-sg, migration-sg allows no TCP 3306 to rds-sg", 5.0),
    "rds-sg ingress 3306 migration-sg": (
        "migration", f"DatabaseUnreachableError: cannot connect to the database at {DB_HOST}:3306 (connect timeout "
                     "5s): timed out", f"database ingress {MIGRATION} > {DATABASE}:3306",
        "migration-database: rds-sg admits no TCP 3306 from lambda-sg, migration-sg", 5.0),
}


def in_batches(*arg_lists: tuple[str, ...], size: int = 5) -> list[Run]:
    """Rehearsals run a few at a time (the machine has few cores)."""
    runs: list[Run] = []
    for start in range(0, len(arg_lists), size):
        runs += together(*arg_lists[start:start + size])
    return runs


@pytest.fixture(scope="module")
def proxy_runs() -> dict[str, Run]:
    specs = list(REMOVED_WITH_PROXY)
    runs = in_batches(("--db-proxy",), *(("--db-proxy", "--without-rule", spec) for spec in specs))
    return dict(zip(["design", *specs], runs, strict=True))


def test_with_the_proxy_the_installed_rules_are_its_table(proxy_model: StackModel) -> None:
    settings = proxy_model.component.settings
    rules = held_to_table(registered(proxy_model), table_rules(settings))
    assert sorted(rule.spec() for rule in rules) == sorted(REMOVED_WITH_PROXY)
    assert findings(with_rules(design_facts(settings), rules)) == [], "every rule is on a path"
    # A direct path from the job to the database would be a finding: no path needs it with the proxy.
    extra = findings(with_rules(design_facts(settings), (*rules, parse_rule("lambda-sg egress 3306 rds-sg"))))
    assert [str(f) for f in extra] == ["lambda-sg egress TCP 3306 to rds-sg: no path of the function uses it"]


@pytest.mark.integration
def test_with_the_proxy_the_design_works_on_packets(proxy_runs: dict[str, Run]) -> None:
    run = proxy_runs["design"]
    assert run.code == 0, run.out[-3000:]
    assert run.outcome["statusCode"] == 200 and run.outcome["delivered"] is True
    assert run.outcome["dropped"] == [], "no connection the design makes is dropped"
    assert (run.outcome["db_user"], run.outcome["token_verified"]) == ("app", True)
    printed_before_the_functions_ran(
        run, "| proxy-sg | egress | TCP 3306 | rds-sg | proxy to the database |",
        f"proxy                      {PROXY}    proxy-sg",
        "ok       database: TCP 3306 from lambda-sg to proxy-sg, TCP 3306 from proxy-sg to rds-sg",
        "ok       migration-database: TCP 3306 from lambda-sg, migration-sg to rds-sg", f"{PROXY_HOST} -> {PROXY}")
    assert re.search(rf"IAM token verified, login as 'app' admitted \(host {re.escape(PROXY_HOST)}:3306, .*"
                     r"dbuser:prx-[0-9a-f]+/app", run.out), run.out[-3000:]


def test_with_the_proxy_the_removals_cover_every_row_of_the_table(proxy_model: StackModel) -> None:
    assert sorted(REMOVED_WITH_PROXY) == sorted(row.spec() for row in table_rules(proxy_model.component.settings))


@pytest.mark.integration
@pytest.mark.parametrize("spec", list(REMOVED_WITH_PROXY))
def test_with_the_proxy_removing_a_rule_fails_exactly_the_path_it_opened(proxy_runs: dict[str, Run],
                                                                          spec: str) -> None:
    run = proxy_runs[spec]
    failed, error, dropped, verdict, waited = REMOVED_WITH_PROXY[spec]
    assert run.code == 0 and run.outcome["expected"] is True, "as the verdicts on the rules installed say"
    assert run.outcome["failed"] == failed
    assert run.outcome["error"].startswith(error), run.outcome["error"]
    assert run.failure_seconds() >= waited, "the packets were dropped, not refused"
    assert run.outcome["dropped"] == [dropped], "dropped on that rule's path, and nowhere else"
    printed_before_the_functions_ran(run, f"BLOCKED  {verdict}", f"left out for this run: {parse_rule(spec)}")
