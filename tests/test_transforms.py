"""`transforms`: every child is reachable by its role, before it is created, under Pulumi's mocks
too (the engine's own `transforms` option does not run there); and the children are typed
attributes of the component."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pulumi
import pytest

from components import VpcLambdaWithPrivateServices
from components.component import TYPE_TOKEN
from components.model.child_roles import CHILD_ROLES
from components.model.problems import ArgumentError
from components.testing.pulumi_mocks import ProgramRun, run_program
from tests.problems import refusal
from tests.refusal_record import exact_words

VPC = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}
FUNCTION = "aws:lambda/function:Function"
EVERYTHING = {"schedule": "rate(1 hour)", "queue": {}, "vpc_flow_logs": True, "db_proxy": True,
              "alarm_email": "oncall@example.com",
              "function_permissions": [{"service": "s3", "actions": ["s3:GetObject"],
                                        "resources": ["arn:aws:s3:::reports/latest.csv"]}]}


def build(**extra: Any) -> ProgramRun:
    return run_program(lambda: VpcLambdaWithPrivateServices("svc", {**VPC, **extra}).outputs())  # type: ignore[misc]


def test_a_function_transform_changes_the_job_and_not_the_migration() -> None:
    run = build(transforms={"function": lambda args, opts: args.update(memory_size=1024)})
    assert run.one(FUNCTION, "svc-function").inputs["memorySize"] == 1024
    assert run.one(FUNCTION, "svc-migration").inputs["memorySize"] == 256


def test_a_transform_may_return_new_arguments_and_options() -> None:
    def protected_database(args: dict[str, Any], opts: pulumi.ResourceOptions) -> tuple[dict[str, Any], Any]:
        return ({**args, "performance_insights_enabled": True},
                pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True)))

    run = build(transforms={"database": protected_database,
                            "migration_function": [lambda a, o: a.update(timeout=120),
                                                   lambda a, o: a.update(memory_size=512)]})
    db = run.one("aws:rds/instance:Instance")
    assert db.inputs["performanceInsightsEnabled"] is True and db.options.protect is True
    assert db.inputs["engine"] == "mysql", "the other arguments are kept"
    migration = run.one(FUNCTION, "svc-migration").inputs
    assert (migration["timeout"], migration["memorySize"]) == (120, 512), "each transform of a role, in order"
    assert run.one("aws:sns/topic:Topic", "svc-topic").options.protect is False


def test_every_child_is_created_through_its_role() -> None:
    seen: Counter[str] = Counter()

    def counting(role: str) -> Any:
        def transform(args: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
            seen[role] += 1
            assert opts.parent is not None, role

        return transform

    run = build(**EVERYTHING, transforms={role: counting(role) for role in CHILD_ROLES})
    children = [r for r in run.resources if r.parent_type == TYPE_TOKEN]
    assert sum(seen.values()) == len(children), "every child, and each once"
    assert set(seen) == set(CHILD_ROLES), f"roles never used: {set(CHILD_ROLES) - set(seen)}"
    assert (seen["function"], seen["migration_function"], seen["security_group"], seen["queue"]) == (1, 1, 6, 1)


@pytest.mark.parametrize(("transforms", "expected"), [
    ({"lambda": lambda a, o: None}, "transforms: unknown child role 'lambda'"),
    ({"funtion": lambda a, o: None}, "did you mean 'function'?"),
    ({"function": "memory_size=1024"}, "transforms: function: got 'memory_size=1024'; expected a function"),
    (["function"], "transforms: got ['function']; expected a mapping of child roles"),
])
def test_unknown_roles_and_what_is_not_a_function_are_refused(transforms: Any, expected: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        build(transforms=transforms)
    exact_words(caught.value)
    assert caught.value.arguments == {"transforms"}
    assert expected in refusal(caught.value)


def test_a_transform_that_returns_something_else_is_reported_naming_transforms() -> None:
    with pytest.raises(ArgumentError) as caught:
        build(transforms={"topic": lambda args, opts: {"name": "x"}})
    exact_words(caught.value)
    assert caught.value.arguments == {"transforms"}
    assert "the 'topic' transform returned {'name': 'x'}; return None" in refusal(caught.value)


def test_the_children_are_typed_attributes() -> None:
    found: dict[str, Any] = {}

    def program() -> Any:
        component = VpcLambdaWithPrivateServices("svc", {**VPC, **EVERYTHING})  # type: ignore[misc]
        found["c"] = component
        return {
            "function": component.function.name, "migration": component.migration_function.name,
            "database": component.database.identifier if component.database else None,
            "topic": component.topic.arn if component.topic else None,
            "key": component.key.arn if component.key else None,
            "queue": component.queue.arn if component.queue else None,
            "schedule": component.schedule.name if component.schedule else None,
            "groups": sorted(component.security_groups), "endpoints": sorted(component.endpoints),
            "alarms": sorted(component.alarms), "log_group": component.log_group.name,
            "mapping": component.event_source_mapping.batch_size if component.event_source_mapping else None,
            "proxy": component.db_proxy.name if component.db_proxy else None,
            "roles": [component.role.name, component.migration_role.name],
        }

    run = run_program(program)
    value = run.value
    assert (value["function"], value["migration"], value["log_group"]) == (
        "svc-dev", "svc-dev-migrate", "/aws/lambda/svc-dev")
    assert value["topic"] == run.one("aws:sns/topic:Topic", "svc-topic").outputs["arn"]
    assert value["key"] == run.one("aws:kms/key:Key").outputs["arn"]
    assert value["database"] == run.one("aws:rds/instance:Instance").inputs["identifier"]
    assert value["queue"] == run.one("aws:sqs/queue:Queue", "svc-queue").outputs["arn"]
    assert value["schedule"] == "svc-dev-schedule" and value["mapping"] == 10
    assert value["groups"] == ["endpoint-sg", "lambda-sg", "migration-sg", "placeholder-sg", "proxy-sg", "rds-sg"]
    assert value["proxy"] == run.one("aws:rds/proxy:Proxy").inputs["name"]
    assert value["roles"] == [run.one("aws:iam/role:Role", "svc-LambdaExecRole").outputs["name"],
                              run.one("aws:iam/role:Role", "svc-migration-role").outputs["name"]]
    assert value["endpoints"] == ["s3", "secretsmanager", "sns"]
    assert {"function-errors", "schedule-failed-invocations", "queue-oldest-message"} <= set(value["alarms"])
    component = found["c"]
    assert isinstance(component.function, pulumi.CustomResource) and component.dead_letter_queue is not None
    # A program adds what the component does not: a subscription to the topic, say.
    assert component.topic is not None and component.alarm_topic is not None
