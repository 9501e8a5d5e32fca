"""Every constraint of every argument, table-driven: each argument with each kind of bad value it
can get (wrong type, out of range, bad pattern, unknown choice) is refused before anything is
registered, and the message names that argument. A new argument without rows here fails
`test_every_argument_has_its_bad_values`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import VpcLambdaWithPrivateServices
from components.build import function_code
from components.checks.validation import problems_in
from components.model.endpoint_set import endpoint_set
from components.model.problems import ArgumentError, Problem
from components.model.settings import Settings
from components.testing.pulumi_mocks import AwsMocks, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

GOOD: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
NOT_A_PEM = Path(__file__)
KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
DATABASE = {"address": "orders.abc.us-east-1.rds.amazonaws.com", "port": 3306, "security_group_id": "sg-0123abcd",
            "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-AbCdEf",
            "resource_id": "db-ABCDEFGHIJKLMNOP"}
READ = {"service": "s3", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::reports/latest.csv"]}

# argument -> {kind of bad value: value}
BAD_VALUES: dict[str, dict[str, Any]] = {
    "vpc_id": {"type": 7, "pattern": "my-vpc", "empty": ""},
    "private_subnet_ids": {"type": "subnet-0a", "too few": ["subnet-0a"], "pattern": ["subnet-0a", "sg-1"],
                           "duplicate": ["subnet-0a", "subnet-0a"]},
    "db_name": {"type": 5, "pattern": "my-db", "too long": "d" * 65},
    "db_identifier": {"type": 5, "pattern": "1db", "too long": "d" * 64, "double hyphen": "db--1"},
    "db_username": {"type": 5, "pattern": "9user", "too long": "u" * 17, "reserved": "rdsadmin"},
    "db_app_user": {"type": 5, "pattern": "app-user", "too long": "a" * 33, "reserved": "rdsadmin",
                    "the master user": "dbuser"},
    "db_app_grants": {"type": "SELECT", "DDL": ["SELECT", "DROP"], "GRANT": ["SELECT", "GRANT OPTION"],
                      "everything": ["ALL PRIVILEGES"], "none": [], "duplicate": ["SELECT", "select"],
                      "not a name": [1]},
    "db_engine_version": {"type": 8.4, "pattern": "eight"},
    "db_instance_class": {"type": 1, "pattern": "t3.micro"},
    "db_allocated_storage_gb": {"type": "20", "low": 19, "high": 65537},
    "db_port": {"type": "3306", "low": 1149, "high": 65536, "bool": True},
    "db_ca_bundle_file": {"type": 3, "missing file": "/nonexistent/bundle.pem", "not a PEM": str(NOT_A_PEM)},
    "db_connect_timeout_seconds": {"type": 5.5, "low": 0, "high": 61},
    "db_deletion_protection": {"type": "no"},
    "db_final_snapshot": {"type": 0},
    "db_multi_az": {"type": "true"},
    "db_backup_retention_days": {"type": "7", "low": 0, "high": 36},
    "db_monitoring_interval_seconds": {"type": "60", "choice": 45},
    "db_slow_query_seconds": {"type": "1s", "low": -0.5, "high": 31_536_001},
    "db_apply_immediately": {"type": "yes"},
    "db_proxy": {"type": "yes"},
    "topic_name": {"type": 1, "pattern": "bad topic", "too long": "t" * 257},
    "function_name": {"type": 1, "pattern": "job.v2", "too long": "f" * 57},
    "function_memory_mb": {"type": "256", "low": 127, "high": 10241},
    "function_timeout_seconds": {"type": "30", "low": 0, "high": 901, "below connect timeout": 5},
    "function_runtime": {"type": 3.12, "choice": "python2.7"},
    "function_architecture": {"type": 64, "choice": "arm"},
    "function_reserved_concurrency": {"type": "10", "low": 0, "high": 100_001},
    "function_reserved_concurrency_auto": {"type": "true"},
    "function_tracing": {"type": "on"},
    "function_source": {"type": 3, "missing directory": "/nonexistent/job", "a file": str(NOT_A_PEM)},
    "function_handler": {"type": 3, "pattern": "app", "not in the source": "app.nothere"},
    "function_requirements": {"type": "humanize", "unreadable file": ["-r /nonexistent/requirements.txt"]},
    "function_environment": {"type": ["A"], "reserved name": {"AWS_REGION": "x"}, "too big": {"BIG": "x" * 4000},
                             "the component's own": {"TOPIC_ARN": "x"}},
    "migrations_source": {"type": 3, "missing directory": "/nonexistent/migrations"},
    "log_retention_days": {"type": "30", "choice": 10},
    "interface_endpoints": {"type": "sns", "pattern": ["SNS!"], "duplicate": ["sns", "sns"]},
    "nat_egress": {"type": "false"},
    "vpc_flow_logs": {"type": 1},
    "alarms": {"type": "yes"},
    "alarm_email": {"type": 1, "pattern": "oncall"},
    "alarm_actions": {"type": "arn:aws:sns:us-east-1:123456789012:t", "pattern": ["arn:aws:sqs:us-east-1:1:q"]},
    "alarm_thresholds": {"type": ["db-cpu"], "unknown name": {"db-cpus": 1}, "high": {"db-cpu": 101},
                         "low": {"function-errors": 0}},
    "endpoints": {"type": "vpce-123", "incomplete": {"vpc_id": "vpc-0a1b2c3d"},
                  "services-not-a-list": {"vpc_id": "vpc-0a1b2c3d", "security_group_id": "sg-0a", "services": "sns"}},
    "tags": {"type": ["team"], "reserved prefix": {"aws:team": "x"}, "too many": {f"t{i}": "x" for i in range(47)},
             "characters": {"team": "it's"}, "taken by the component": {"Name": "x"}},
    "schedule": {"type": 60, "five-field cron": "cron(0 6 * * ?)", "plural for one": "rate(1 minutes)",
                 "zero": "rate(0 hours)", "singular for many": "rate(5 minute)", "unknown unit": "rate(1 week)",
                 "both days": "cron(0 6 1 * MON *)", "neither day": "cron(0 6 ? * ? *)",
                 "out of range": "cron(0 25 * * ? *)", "bad month": "cron(0 6 ? JANUARY MON *)",
                 "not an expression": "hourly"},
    "queue": {"type": "orders", "unknown field": {"batchsize": 5}, "batch too big": {"batch_size": 10_001},
              "batch above 10 without a window": {"batch_size": 100},
              "window": {"maximum_batching_window_seconds": 301}, "concurrency": {"maximum_concurrency": 1},
              "receive count": {"max_receive_count": 0}, "not an ARN": {"queue_arn": "orders"},
              "key without queue_arn": {"kms_key_arn": KEY},
              "redrive of a given queue": {"queue_arn": QUEUE, "max_receive_count": 3},
              "FIFO with a window": {"queue_arn": f"{QUEUE}.fifo", "maximum_batching_window_seconds": 5},
              "FIFO batch": {"queue_arn": f"{QUEUE}.fifo", "batch_size": 11, "maximum_batching_window_seconds": 1},
              "key not an ARN": {"queue_arn": QUEUE, "kms_key_arn": "alias/orders"}},
    "existing_topic_arn": {"type": 1, "pattern": QUEUE},
    "existing_topic_kms_key_arn": {"type": 1, "an alias": "arn:aws:kms:us-east-1:123456789012:alias/topics",
                                   "without the topic": KEY},
    "existing_kms_key_arn": {"type": 1, "an alias": "alias/mine"},
    "existing_database": {"type": "orders.abc.us-east-1.rds.amazonaws.com", "missing fields": {"address": "db.local"},
                          "unknown field": {**DATABASE, "username": "admin"},
                          "address with a port": {**DATABASE, "address": "orders.example.com:3306"},
                          "port": {**DATABASE, "port": 80}, "group": {**DATABASE, "security_group_id": "vpc-0a1b"},
                          "secret": {**DATABASE, "secret_arn": QUEUE},
                          "resource id": {**DATABASE, "resource_id": "orders-db"}},
    "function_permissions": {"type": READ, "a string": "s3:GetObject", "unknown service": [{**READ, "service": "s4"}],
                             "action of another service": [{**READ, "actions": ["sqs:SendMessage"]}],
                             "unknown action": [{**READ, "actions": ["s3:GetObjekt"]}],
                             "not service:Action": [{**READ, "actions": ["GetObject"]}],
                             "wildcard action": [{**READ, "actions": ["s3:Get*"]}],
                             "wildcard resource": [{**READ, "resources": ["arn:aws:s3:::reports/*"]}],
                             "every resource": [{**READ, "resources": ["*"]}],
                             "wildcard matching nothing": [{**READ, "actions": ["s3:Fly*"], "allow_wildcards": True}],
                             "not an ARN": [{**READ, "resources": ["reports/latest.csv"]}],
                             "resource of another service": [{**READ, "resources": [QUEUE]}],
                             "missing field": [{"service": "s3", "actions": ["s3:GetObject"]}],
                             "unknown field": [{**READ, "effect": "Deny"}],
                             "no actions": [{**READ, "actions": []}],
                             "allow_wildcards type": [{**READ, "allow_wildcards": "yes"}],
                             "too big": [{**READ, "resources": [f"arn:aws:s3:::reports/{i:04d}-{'k' * 60}.csv"
                                                                for i in range(100)]}]},
    "gateway_route_table_ids": {"type": "rtb-0a1b2c3d", "pattern": ["route-1"], "empty": [],
                                "without a gateway endpoint": ["rtb-0a1b2c3d"]},
    "transforms": {"type": ["function"], "unknown role": {"lambda": lambda args, opts: None},
                   "not callable": {"function": "memory_size=1024"}},
}
def problems_of(name: str, value: Any) -> list[Problem]:
    """What the pure checks find in the good arguments with `name` set to `value`."""
    if name == "endpoints":
        found = endpoint_set(value)
        return [found] if isinstance(found, Problem) else []
    args = {**GOOD, name: value}
    return problems_in(args) + function_code.problems_in(args)


def cases() -> list[tuple[str, str, Any]]:
    return [(name, kind, value) for name, values in BAD_VALUES.items() for kind, value in values.items()]


def test_every_argument_has_its_bad_values() -> None:
    assert set(BAD_VALUES) == set(Settings.__dataclass_fields__)
    for name, values in BAD_VALUES.items():
        assert "type" in values, f"{name}: no wrong-type value"


@pytest.mark.parametrize(("name", "kind", "value"), cases(), ids=[f"{n}-{k}" for n, k, _ in cases()])
def test_bad_value_is_refused_naming_the_argument(name: str, kind: str, value: Any) -> None:
    problems = problems_of(name, value)
    assert problems, f"{name}={value!r} ({kind}) was accepted"
    assert {p.argument for p in problems} == {name}, problems


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_the_component_refuses_before_registering_anything(name: str) -> None:
    kind, value = next(iter(BAD_VALUES[name].items()))
    mocks = AwsMocks()
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {**GOOD, name: value}),  # type: ignore[misc]
                    mocks=mocks)
    exact_words(caught.value)
    assert caught.value.arguments == {name}, (kind, str(caught.value))
    assert [r.name for r in mocks.registered] == []


def test_unknown_argument_and_bad_component_name() -> None:
    assert problems_in({**GOOD, "db_instanse_class": "db.t4g.micro"}) == [
        Problem("db_instanse_class", "unknown argument; did you mean 'db_instance_class'?")]
    for name in ("Svc", "svc_", "svc-", "s--c", "1svc", "s" * 33):
        with pytest.raises(ArgumentError) as caught:
            run_program(lambda name=name: VpcLambdaWithPrivateServices(name, GOOD))  # type: ignore[misc]
        exact_words(caught.value)
        (problem,) = caught.value.problems
        assert problem.argument == "name"
        assert problem.message.startswith(f"got {name!r}; allowed: a lowercase letter")


def test_every_problem_of_every_stage_comes_at_once() -> None:
    with pytest.raises(ArgumentError) as caught:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {  # type: ignore[misc]
            **GOOD, "db_port": 0, "db_instance_class": "db.z9.huge"}))
    exact_words(caught.value)
    message = refusal(caught.value)
    assert "db_port: got 0; allowed: 1150 to 65535" in message
    assert "db_instance_class: 'db.z9.huge' cannot be ordered" in message
