"""Rules the code states and no other test held: a migration numbered below the latest applied one
is refused; a security-group rule admits its peer and nobody else; the package's file modes are
fixed whatever the machine's umask; SNS's size limit is counted in UTF-8 bytes, before any call."""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from components.build.packaging import PackageInputs, build_package, build_zip_bytes
from components.checks.reachability import assess, database_verdict, describe_rule, rule_findings, service_verdict
from components.model.network_rules import Endpoint, NetworkFacts, Rule
from vpclambda_runtime import aws_clients, sns
from vpclambda_runtime.budget import Budget
from vpclambda_runtime.contract import Migration
from vpclambda_runtime.errors import MigrationError, NotificationError
from vpclambda_runtime.migration_runner import Recorded, pending_migrations
from vpclambda_runtime.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------ migrations: never below the latest applied


def migration(version: int, name: str) -> Migration:
    return Migration(version, f"{version:04d}_{name}.sql", f"sha-{version}", (f"CREATE TABLE t{version} (id INT)",))


def recorded(m: Migration) -> Recorded:
    return Recorded(m.version, m.filename, m.checksum, datetime(2026, 11, 30, 12, 0, 0))


def test_a_new_migration_numbered_below_the_latest_applied_one_is_refused() -> None:
    first, third = migration(1, "employees"), migration(3, "titles")
    late = migration(2, "late_branch")
    with pytest.raises(MigrationError) as raised:
        pending_migrations([recorded(first), recorded(third)], [first, late, third])
    assert str(raised.value) == ("0002_late_branch.sql not applied but migration 3 is: a new migration needs a "
                                 "version above the latest applied one; renumber it")


def test_every_migration_below_the_latest_is_named() -> None:
    applied = migration(5, "five")
    with pytest.raises(MigrationError, match=r"^0001_one\.sql, 0004_four\.sql not applied but migration 5 is"):
        pending_migrations([recorded(applied)], [migration(1, "one"), migration(4, "four"), applied])


def test_migrations_above_the_latest_applied_one_are_pending_in_order() -> None:
    first, second, third = migration(1, "a"), migration(2, "b"), migration(3, "c")
    assert pending_migrations([recorded(first)], [first, second, third]) == [second, third]
    assert pending_migrations([], [first, second]) == [first, second]
    assert pending_migrations([recorded(first), recorded(second)], [first, second]) == []


@pytest.mark.parametrize(("changed", "expected"), [
    ({"filename": "0001_renamed.sql"}, "migration 1 was applied as 0001_a.sql (2026-11-30 12:00:00) but is now "
                                       "named 0001_renamed.sql; restore its name"),
    ({"checksum": "sha-other"}, "migration 0001_a.sql was changed after it was applied (2026-11-30 12:00:00): its "
                                "SHA-256 was sha-1, it is now sha-other; restore the applied file and put the "
                                "change in a new migration with a higher version"),
])
def test_an_applied_migration_renamed_or_changed_is_refused(changed: dict[str, str], expected: str) -> None:
    first = migration(1, "a")
    with pytest.raises(MigrationError) as raised:
        pending_migrations([recorded(first)], [dataclasses.replace(first, **changed)])
    assert str(raised.value) == expected


def test_a_package_older_than_the_database_is_refused() -> None:
    first, second = migration(1, "a"), migration(2, "b")
    with pytest.raises(MigrationError) as raised:
        pending_migrations([recorded(first), recorded(second)], [first])
    assert str(raised.value) == ("the database has migration 0002_b.sql (applied 2026-11-30 12:00:00) but this "
                                 "package has no migration 2: the package is older than the database's schema")


# ------------------------------------------------------------------ reachability: a rule admits its peer only


RULES = (
    Rule("lambda-sg", "egress", 3306, peer_group="rds-sg"),
    Rule("lambda-sg", "egress", 443, peer_group="endpoint-sg"),
    Rule("rds-sg", "ingress", 3306, peer_group="lambda-sg"),
    Rule("endpoint-sg", "ingress", 443, peer_group="lambda-sg"),
)
ENDPOINT = Endpoint("sns", private_dns=True, subnets=("subnet-a",), security_groups=("endpoint-sg",))


def facts(rules: tuple[Rule, ...] = RULES) -> NetworkFacts:
    return NetworkFacts(function_attached=True, function_security_groups=("lambda-sg",),
                        database_security_groups=("rds-sg",), database_port=3306, rules=rules,
                        endpoints=(ENDPOINT,), services=("sns",))


def replaced(old: Rule, new: Rule) -> tuple[Rule, ...]:
    return tuple(new if rule == old else rule for rule in RULES)


def test_the_article_s_rules_reach_both() -> None:
    assert [v.reachable for v in assess(facts())] == [True, True]


def test_a_database_group_admitting_another_group_does_not_admit_the_function() -> None:
    rules = replaced(RULES[2], Rule("rds-sg", "ingress", 3306, peer_group="bastion-sg"))
    verdict = database_verdict(facts(rules))
    assert not verdict.reachable
    assert verdict.reason == "rds-sg admits no TCP 3306 from lambda-sg: connections time out"


def test_an_endpoint_group_admitting_another_group_does_not_admit_the_function() -> None:
    rules = replaced(RULES[3], Rule("endpoint-sg", "ingress", 443, peer_group="bastion-sg"))
    verdict = service_verdict(facts(rules), "sns")
    assert not verdict.reachable
    assert verdict.reason == "endpoint-sg admits no TCP 443 from lambda-sg: publish times out"


def test_a_function_group_allowing_egress_to_another_group_does_not_reach_the_database() -> None:
    rules = replaced(RULES[0], Rule("lambda-sg", "egress", 3306, peer_group="cache-sg"))
    verdict = database_verdict(facts(rules))
    assert not verdict.reachable
    assert verdict.reason == "lambda-sg allows no TCP 3306 to rds-sg: connections time out"


def test_a_rule_of_another_group_with_the_right_peer_admits_nothing() -> None:
    rules = replaced(RULES[2], Rule("other-sg", "ingress", 3306, peer_group="lambda-sg"))
    assert not database_verdict(facts(rules)).reachable
    rules = replaced(RULES[0], Rule("other-sg", "egress", 3306, peer_group="rds-sg"))
    assert not database_verdict(facts(rules)).reachable


def test_a_rule_for_another_port_or_direction_admits_nothing() -> None:
    assert not database_verdict(facts(replaced(RULES[2], Rule("rds-sg", "ingress", 5432, peer_group="lambda-sg")))
                                ).reachable
    assert not database_verdict(facts(replaced(RULES[2], Rule("rds-sg", "egress", 3306, peer_group="lambda-sg")))
                                ).reachable
    assert not database_verdict(facts(replaced(RULES[0], Rule("lambda-sg", "ingress", 3306, peer_group="rds-sg")))
                                ).reachable


def test_an_address_range_other_than_anywhere_admits_nothing_and_anywhere_admits_the_function() -> None:
    narrow = replaced(RULES[2], Rule("rds-sg", "ingress", 3306, cidr="10.9.0.0/16"))
    assert not database_verdict(facts(narrow)).reachable
    anywhere = replaced(RULES[2], Rule("rds-sg", "ingress", 3306, cidr="0.0.0.0/0"))
    assert database_verdict(facts(anywhere)).reachable


# ------------------------------------------------------------------ the package's modes whatever the umask


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


FILES = {"report.py": "from vpclambda_runtime import invocation\n\ndef handler(event, context):\n    return 1\n",
         "lib/__init__.py": "", "lib/tool.sh": "#!/bin/sh\necho hi\n", "data/prices.json": "{}"}


def lay_out(directory: Path, mask: int, executable_mode: int) -> Path:
    with umask(mask):
        for name, text in FILES.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text)
    (directory / "lib" / "tool.sh").chmod(executable_mode)
    return directory


def modes(data: bytes) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: (info.external_attr >> 16, info.create_system, info.date_time)
                for info in archive.infolist()}


def test_the_zip_is_the_same_bytes_with_the_same_modes_whatever_the_umask(tmp_path: Path) -> None:
    private = lay_out(tmp_path / "private", 0o077, 0o700)
    shared = lay_out(tmp_path / "shared", 0o002, 0o775)
    assert (private / "report.py").stat().st_mode & 0o777 == 0o600
    assert (shared / "report.py").stat().st_mode & 0o777 == 0o664
    first = build_zip_bytes({name: private / name for name in FILES})
    second = build_zip_bytes({name: shared / name for name in FILES})
    assert first == second
    assert set(modes(first).values()) == {(0o100644, 3, (1980, 1, 1, 0, 0, 0))}


def test_a_built_package_is_the_same_bytes_whatever_the_umask(tmp_path: Path) -> None:
    migrations = ROOT / "examples" / "custom-job" / "migrations"
    one = build_package(PackageInputs(source_dir=lay_out(tmp_path / "a", 0o077, 0o700), migrations_dir=migrations),
                        tmp_path / "build-a")
    two = build_package(PackageInputs(source_dir=lay_out(tmp_path / "b", 0o022, 0o755), migrations_dir=migrations),
                        tmp_path / "build-b")
    data = one.path.read_bytes()
    assert data == two.path.read_bytes() and one.sha256_base64 == two.sha256_base64
    assert {mode for mode, _, _ in modes(data).values()} == {0o100644}


# ------------------------------------------------------------------ SNS: 256 KB of UTF-8, checked before any call

LIMIT = 256 * 1024
ENVELOPE = len('{"default": ""}')  # what MessageStructure=json wraps the text in


def test_a_message_of_exactly_256_kb_is_accepted_and_one_byte_more_refused() -> None:
    text = "a" * (LIMIT - ENVELOPE)
    assert len(sns.encode_message({"default": text}).encode("utf-8")) == LIMIT
    with pytest.raises(NotificationError) as raised:
        sns.encode_message({"default": text + "a"})
    assert str(raised.value) == f"the notification is {LIMIT + 1} bytes; SNS accepts at most {LIMIT}"


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    # 100,000 Chinese characters: well under 262,144 characters, 300,000 bytes in UTF-8.
    text = "报告" * 50_000
    with pytest.raises(NotificationError) as raised:
        sns.encode_message({"default": text})
    assert str(raised.value) == f"the notification is {300_000 + ENVELOPE} bytes; SNS accepts at most {LIMIT}"
    fits = "报" * ((LIMIT - ENVELOPE) // 3)
    assert len(sns.encode_message({"default": fits}).encode("utf-8")) <= LIMIT


def test_a_report_sns_would_refuse_is_refused_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(aws_clients, "client", lambda *args: calls.append(args))
    settings = load_settings({
        "AWS_REGION": "cn-northwest-1", "DB_HOST": "db.internal", "DB_PORT": "3306", "DB_NAME": "app",
        "DB_SECRET_ARN": "arn:aws-cn:secretsmanager:cn-northwest-1:123456789012:secret:db-AbCdEf",
        "TOPIC_ARN": "arn:aws-cn:sns:cn-northwest-1:123456789012:report"})
    report = sns.to_json({"employees": ["张伟"] * 30_000})  # 180,015 characters, 300,015 bytes
    assert len(report) < LIMIT < len(report.encode("utf-8"))
    with pytest.raises(NotificationError, match=r"^the notification is \d+ bytes; SNS accepts at most 262144$"):
        sns.publish(settings, {"default": report}, "report", Budget(30.0))
    with pytest.raises(NotificationError, match="subject is 101 characters"):
        sns.publish(settings, {"default": "ok"}, "x" * 101, Budget(30.0))
    assert calls == []


# ------------------------------------------------------------------ rules no path needs


def test_the_article_s_rules_are_exactly_what_the_paths_need() -> None:
    assert rule_findings(facts()) == []


def test_rules_beyond_the_paths_are_findings_with_their_reason() -> None:
    extra = (
        Rule("lambda-sg", "egress", 443, cidr="0.0.0.0/0"),
        Rule("rds-sg", "ingress", 3306, to_port=3310, peer_group="lambda-sg"),
        Rule("lambda-sg", "egress", 0, protocol="-1", peer_group="rds-sg"),
        Rule("rds-sg", "ingress", 3306, to_port=3306, peer_group="lambda-sg"),  # a range of one port: the same rule
    )
    found = rule_findings(facts(RULES + extra))
    assert [(str(f), f.reason) for f in found] == [
        ("lambda-sg egress TCP 443 to 0.0.0.0/0: no path of the function needs an address range: every path it "
         "takes names a security group, and without NAT nothing outside the VPC is reached",
         "no path of the function needs an address range: every path it takes names a security group, and without "
         "NAT nothing outside the VPC is reached"),
        ("rds-sg ingress TCP 3306-3310 from lambda-sg: no path of the function uses it",
         "no path of the function uses it"),
        ("lambda-sg egress all traffic to rds-sg: no path of the function uses it", "no path of the function uses it"),
    ]


def test_with_nat_egress_to_the_internet_is_needed_only_for_a_service_without_an_endpoint() -> None:
    anywhere = Rule("lambda-sg", "egress", 443, cidr="0.0.0.0/0")
    through_nat = dataclasses.replace(facts((*RULES, anywhere)), nat_egress=True, services=("sns", "secretsmanager"))
    assert rule_findings(through_nat) == [], "secretsmanager has no endpoint: it is reached through NAT"
    all_served = dataclasses.replace(through_nat, services=("sns",))
    (finding,) = rule_findings(all_served)
    assert finding.rule == anywhere
    assert finding.reason == ("no path of the function needs an address range: every path it takes names a "
                              "security group")


def test_an_endpoint_the_function_does_not_call_needs_no_rule() -> None:
    unused = dataclasses.replace(facts(), services=())
    assert [str(f) for f in rule_findings(unused)] == [
        "lambda-sg egress TCP 443 to endpoint-sg: no path of the function uses it",
        "endpoint-sg ingress TCP 443 from lambda-sg: no path of the function uses it",
    ]
    no_dns = dataclasses.replace(facts(), endpoints=(dataclasses.replace(ENDPOINT, private_dns=False),))
    assert len(rule_findings(no_dns)) == 2
    no_subnets = dataclasses.replace(facts(), endpoints=(dataclasses.replace(ENDPOINT, subnets=()),))
    assert len(rule_findings(no_subnets)) == 2


@pytest.mark.parametrize(("rule", "text"), [
    (Rule("a", "egress", 443, peer_group="b"), "a egress TCP 443 to b"),
    (Rule("a", "ingress", 3306, cidr="10.0.0.0/8"), "a ingress TCP 3306 from 10.0.0.0/8"),
    (Rule("a", "egress", 1024, to_port=2048, prefix_list="s3"), "a egress TCP 1024-2048 to nothing"),
    (Rule("a", "egress", 53, protocol="udp", to_port=53, cidr="0.0.0.0/0"), "a egress UDP 53 to 0.0.0.0/0"),
    (Rule("a", "ingress", 0, protocol="-1"), "a ingress all traffic from nothing"),
])
def test_a_rule_reads_as_the_article_s_table(rule: Rule, text: str) -> None:
    assert describe_rule(rule) == text


# ------------------------------------------------------------ through the database proxy, and the migration's path

PROXY_RULES = (
    Rule("lambda-sg", "egress", 443, peer_group="endpoint-sg"),
    Rule("endpoint-sg", "ingress", 443, peer_group="lambda-sg"),
    Rule("lambda-sg", "egress", 3306, peer_group="proxy-sg"),
    Rule("proxy-sg", "ingress", 3306, peer_group="lambda-sg"),
    Rule("proxy-sg", "egress", 3306, peer_group="rds-sg"),
    Rule("rds-sg", "ingress", 3306, peer_group="proxy-sg"),
    Rule("migration-sg", "egress", 3306, peer_group="rds-sg"),
    Rule("rds-sg", "ingress", 3306, peer_group="migration-sg"),
)


def proxied(rules: tuple[Rule, ...] = PROXY_RULES, **changes: Any) -> NetworkFacts:
    return dataclasses.replace(facts(rules), proxy_security_groups=("proxy-sg",), proxy_port=3306,
                               migration_security_groups=("lambda-sg", "migration-sg"), **changes)


def test_through_the_proxy_both_paths_reach_the_database_and_no_rule_is_spare() -> None:
    verdicts = {v.path: v for v in assess(proxied())}
    assert str(verdicts["database"]) == ("database: reachable (TCP 3306 from lambda-sg to proxy-sg, TCP 3306 from "
                                         "proxy-sg to rds-sg)")
    assert verdicts["database"].via == "proxy"
    assert str(verdicts["migration-database"]) == (
        "migration-database: reachable (TCP 3306 from lambda-sg, migration-sg to rds-sg)")
    assert verdicts["migration-database"].via == "vpc"
    assert rule_findings(proxied()) == []
    direct = (*PROXY_RULES, Rule("lambda-sg", "egress", 3306, peer_group="rds-sg"))
    assert [str(f) for f in rule_findings(proxied(direct))] == [
        "lambda-sg egress TCP 3306 to rds-sg: no path of the function uses it"]


@pytest.mark.parametrize(("dropped", "path", "reason"), [
    (2, "database", "lambda-sg allows no TCP 3306 to proxy-sg: connections to the proxy time out"),
    (3, "database", "proxy-sg admits no TCP 3306 from lambda-sg: connections to the proxy time out"),
    (4, "database", "proxy-sg allows no TCP 3306 to rds-sg: the proxy cannot reach the database, connections "
                    "through it fail"),
    (5, "database", "rds-sg admits no TCP 3306 from proxy-sg: the proxy cannot reach the database, connections "
                    "through it fail"),
    (6, "migration-database", "lambda-sg, migration-sg allows no TCP 3306 to rds-sg: the migration's connections "
                              "time out"),
    (7, "migration-database", "rds-sg admits no TCP 3306 from lambda-sg, migration-sg: the migration's "
                              "connections time out"),
])
def test_each_hop_s_missing_rule_blocks_its_path(dropped: int, path: str, reason: str) -> None:
    rules = tuple(r for i, r in enumerate(PROXY_RULES) if i != dropped)
    verdicts = {v.path: v for v in assess(proxied(rules))}
    assert str(verdicts[path]) == f"{path}: BLOCKED ({reason})"
    assert verdicts[path].reachable is False
    assert [v.path for v in verdicts.values() if not v.reachable] == [path]


def test_a_migration_outside_the_vpc_cannot_reach_the_database() -> None:
    verdicts = {v.path: v for v in assess(proxied(function_attached=False))}
    assert (verdicts["migration-database"].reachable, verdicts["migration-database"].reason) == (
        False, "function not attached to the VPC: the migration cannot reach the database")
    assert not any(v.path == "migration-database" for v in assess(facts()))


def test_the_migration_calls_its_apis_from_its_own_groups() -> None:
    secrets = dataclasses.replace(ENDPOINT, service="secretsmanager")
    own = (Rule("migration-sg", "egress", 443, peer_group="endpoint-sg"),
           Rule("endpoint-sg", "ingress", 443, peer_group="migration-sg"))
    calling = proxied((*PROXY_RULES, *own), endpoints=(ENDPOINT, secrets), services=("sns", "secretsmanager"),
                      migration_services=("secretsmanager",))
    assert rule_findings(calling) == []
    assert all(v.reachable for v in assess(calling))
    not_calling = dataclasses.replace(calling, services=("sns",), migration_services=())
    assert {str(f) for f in rule_findings(not_calling)} == {
        "migration-sg egress TCP 443 to endpoint-sg: no path of the function uses it",
        "endpoint-sg ingress TCP 443 from migration-sg: no path of the function uses it"}
