"""The less common mistakes and paths of the model and the checks, each with the exact problem it
gives (argument and message) or the exact verdict: the branches the component's own tests do not
take."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components import VpcLambdaWithPrivateServices
from components.checks.reachability import PathVerdict, blocked_path_problems
from components.checks.validation import alarm_action_problems, problems_in
from components.model import aws_limits
from components.model.database_sizing import proxy_pool_size
from components.model.existing import PROXY_WITH_EXISTING_DATABASE, existing_problems
from components.model.permissions import check_entry, place_problems
from components.model.problems import ArgumentError, Problem
from components.model.settings import FunctionPermissionSettings
from components.model.triggers import cron_problems, queue_problems
from components.testing.pulumi_mocks import run_program
from tests.problems import refusal
from tests.refusal_record import exact_words
from tests.test_existing_resources import DATABASE, GROUP, INSTANCE, mocks
from tests.test_lookups import Answering, existing_world

VPC = {"vpc_id": "vpc-0a1b2c3d", "private_subnet_ids": ["subnet-0a", "subnet-0b"]}


# --- the limits of values sent to AWS: each kind of limit given the wrong kind of value ----------

@pytest.mark.parametrize(("type_token", "path", "value", "expected"), [
    ("aws:iam/rolePolicy:RolePolicy", "policy", 7, "got int; expected a JSON policy document"),
    ("aws:cloudwatch/dashboard:Dashboard", "dashboardBody", {"widgets": []},
     "got dict; expected a JSON dashboard body"),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "routeTableIds", "rtb-0a", "got 'rtb-0a'; expected a list"),
    ("aws:sns/topic:Topic", "tags", ["env"], "got ['env']; expected a mapping of strings to strings"),
    ("aws:lambda/function:Function", "environment.variables", ["A=1"],
     "got ['A=1']; expected a mapping of names to strings"),
])
def test_a_value_of_the_wrong_kind_is_refused(type_token: str, path: str, value: Any, expected: str) -> None:
    assert aws_limits.LIMITS[type_token][path].problems(value) == [expected]


def test_a_policy_over_its_statement_count_is_refused() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    limit = aws_limits.LIMITS["aws:sqs/queuePolicy:QueuePolicy"]["policy"]
    policy = {"Version": "2012-10-17", "Statement": [{**statement, "Sid": f"S{i}"} for i in range(21)]}
    assert limit.problems(json.dumps(policy)) == ["has 21 statements; allowed: at most 20"]
    policy["Statement"] = policy["Statement"][:20]
    assert limit.problems(json.dumps(policy)) == []


def test_a_sid_that_is_not_text_and_an_unknown_grammar_are_refused() -> None:
    limit = aws_limits.LIMITS["aws:kms/key:Key"]["policy"]
    statement = {"Sid": 3, "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    assert limit.problems(json.dumps({"Version": "2012-10-17", "Statement": [statement]})) == [
        "statement 1: Sid 3; expected text"]
    with pytest.raises(ValueError, match=r"^grammar 'session': expected one of identity, trust, resource$"):
        aws_limits.PolicyDocument("x", 10, grammar="session")


def test_a_dashboard_body_over_its_size_or_with_malformed_widgets_is_refused() -> None:
    limit = aws_limits.DashboardBody("CloudWatch", max_size=40)
    assert limit.problems(json.dumps({"widgets": [], "x": "y" * 40})) == ["is 64 bytes; allowed: at most 40"]
    limit = aws_limits.DashboardBody("CloudWatch")
    assert limit.problems(json.dumps({"widgets": ["text"]})) == ["widget 1: expected an object"]
    assert limit.problems(json.dumps({"widgets": [{"type": "metric", "properties": []}]})) == [
        "widget 1: properties: expected an object"]
    assert limit.problems(json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
                                                   "properties": {"markdown": "# orders"}}]})) == []


# --- the pure checks' rarer branches -------------------------------------------------------------

def test_a_permission_entry_that_is_not_a_mapping_is_refused() -> None:
    assert check_entry(2, "s3:GetObject") == (None, [Problem(
        "function_permissions", "entry 2: got 's3:GetObject'; expected {service, actions, resources}")])


@pytest.mark.parametrize("field", ["actions", "resources"])
def test_permission_actions_and_resources_must_be_lists_of_strings(field: str) -> None:
    entry = {"service": "s3", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/k"], field: "s3:GetObject"}
    assert check_entry(1, entry) == (None, [Problem(
        "function_permissions", f"entry 1: {field} got 's3:GetObject'; expected a list of strings")])


def test_a_resource_that_is_not_an_arn_is_left_to_the_form_check_by_the_place_check() -> None:
    permission = FunctionPermissionSettings("s3", ("s3:GetObject",), ("*", "arn:aws:s3:::b/k"), True)
    assert place_problems([permission], "aws", "us-east-1") == []
    assert [p.message for p in place_problems([permission], "aws-cn", "cn-north-1")] == [
        "entry 1: arn:aws:s3:::b/k is in partition aws, the program deploys to aws-cn"]


def test_every_n_minutes_from_the_start_is_a_cron_minute_eventbridge_takes() -> None:
    assert cron_problems("*/5 * * * ? *") == []
    assert cron_problems("*/0 * * * ? *") == ["minutes: '*/0': the increment after / must be a whole number above 0"]


def test_a_queue_key_in_another_region_is_refused() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab"
    queue = {"queue_arn": "arn:aws:sqs:us-east-1:123456789012:orders", "kms_key_arn": key}
    _, problems = queue_problems(queue, ("aws", "us-east-1"))
    assert problems == [Problem("queue", f"kms_key_arn {key} is in aws eu-west-1, not in aws us-east-1")]


def test_a_proxy_is_refused_in_front_of_an_existing_database() -> None:
    _, problems = existing_problems({"existing_database": DATABASE, "db_proxy": True})
    assert problems == [Problem("db_proxy", PROXY_WITH_EXISTING_DATABASE)]


def test_no_pool_is_sized_for_an_instance_class_of_unknown_memory() -> None:
    assert proxy_pool_size("db.z9.huge") is None
    assert proxy_pool_size("db.t4g.micro") is not None


def test_an_alarm_action_that_is_not_a_topic_arn_is_left_to_the_form_check() -> None:
    assert alarm_action_problems(["not-an-arn", 7], "aws", "us-east-1") == []
    assert [p.argument for p in problems_in({**VPC, "alarm_actions": ["not-an-arn"]})] == ["alarm_actions"]


def test_a_blocked_database_path_is_the_database_ports_to_fix() -> None:
    verdicts = [PathVerdict("database", False, "no rule admits TCP 3306"), PathVerdict("sns", True, "endpoint")]
    assert blocked_path_problems(verdicts, "interface_endpoints") == [
        Problem("db_port", "the database is unreachable: no rule admits TCP 3306")]


# --- the look-ups and checks of existing resources -----------------------------------------------

def build(found: Any, **args: Any) -> ArgumentError:
    with pytest.raises(ArgumentError) as raised:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", {**VPC, **args}).outputs(), mocks=found)
    exact_words(raised.value)
    return raised.value


def test_an_existing_database_at_another_address_is_refused() -> None:
    error = build(mocks(databases=[{**INSTANCE, "address": "other.c0abc.us-east-1.rds.amazonaws.com"}]),
                  existing_database=DATABASE)
    assert (f"existing_database: address {DATABASE['address']} is not orders-db's "
            "(other.c0abc.us-east-1.rds.amazonaws.com)") in refusal(error)


def test_an_existing_databases_security_group_in_another_vpc_is_refused() -> None:
    error = build(mocks(security_groups={GROUP: "vpc-0ther"}), existing_database=DATABASE)
    assert f"existing_database: security_group_id {GROUP} is in vpc-0ther, not in vpc_id vpc-0a1b2c3d" in refusal(error)


def test_an_existing_database_without_a_subnet_group_is_looked_up_without_one() -> None:
    found = mocks(databases=[{k: v for k, v in INSTANCE.items() if k != "dbSubnetGroup"}])
    run_program(lambda: VpcLambdaWithPrivateServices("svc", {**VPC, "existing_database": DATABASE}).outputs(),
                mocks=found)
    assert "aws:rds/getSubnetGroup:getSubnetGroup" not in {token for token, _ in found.calls}


def test_route_tables_that_cannot_be_looked_up_are_asked_for_by_name() -> None:
    read = {"service": "s3", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/r.csv"]}
    error = build(existing_world(refuse={"getRouteTables": "api error UnauthorizedOperation"}),
                  function_permissions=[read])
    assert refusal(error).arguments == ["gateway_route_table_ids"]


@pytest.mark.parametrize("form", ["mapping", "list"])
def test_the_providers_option_is_the_look_ups_provider_too(form: str) -> None:
    found = Answering()

    def program() -> Any:
        provider = aws.Provider("west", region="us-east-1")
        providers: Any = {"aws": provider} if form == "mapping" else [provider]
        return VpcLambdaWithPrivateServices("svc", VPC, opts=pulumi.ResourceOptions(providers=providers)).outputs()

    run_program(program, mocks=found)
    assert {provider.rsplit("::", 1)[-1] for _, provider in found.asked} == {"west-id"}


def test_arguments_that_are_not_a_mapping_are_refused_naming_args() -> None:
    with pytest.raises(ArgumentError) as raised:
        run_program(lambda: VpcLambdaWithPrivateServices("svc", ["vpc-0a1b2c3d"]))  # type: ignore[arg-type]
    exact_words(raised.value)
    assert refusal(raised.value).arguments == ["args"]
    assert "args: got list; expected a mapping of argument names to values" in refusal(raised.value)


def test_two_keys_are_each_looked_up_and_judged_on_their_own() -> None:
    from tests.test_existing_resources import KEY, TOPIC, TOPIC_KEY

    error = build(mocks(kms_keys={KEY: {"keyManager": "AWS"}, TOPIC_KEY: {}}), existing_kms_key_arn=KEY,
                  existing_topic_arn=TOPIC, existing_topic_kms_key_arn=TOPIC_KEY)
    assert refusal(error).arguments == ["existing_kms_key_arn"]
    error = build(mocks(kms_keys={KEY: {}, TOPIC_KEY: {"enabled": False, "keyState": "Disabled"}}),
                  existing_kms_key_arn=KEY, existing_topic_arn=TOPIC, existing_topic_kms_key_arn=TOPIC_KEY)
    assert refusal(error).arguments == ["existing_topic_kms_key_arn"]


def test_a_bytes_limit_counts_utf8_bytes_and_a_characters_limit_counts_characters() -> None:
    def policy(sid_length: int, letter: str) -> str:
        statement = {"Sid": letter * sid_length, "Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
                     "Resource": "*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, ensure_ascii=False)

    in_bytes = aws_limits.PolicyDocument("SNS", 1000, "bytes")
    in_characters = aws_limits.PolicyDocument("VPC", 1000)
    accented = policy(600, "é")  # about 720 characters, 1,320 bytes
    assert len(accented) < 1000 < len(accented.encode())
    assert in_bytes.problems(accented) == [f"is {len(accented.encode())} bytes; allowed: at most 1000"]
    assert in_characters.problems(accented) == []


@pytest.mark.parametrize(("argument", "value", "why"), [
    ("existing_kms_key_arn", "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab",
     "AWS services use keys of their own region only"),
    ("existing_topic_kms_key_arn", "arn:aws:kms:eu-west-1:123456789012:key/9f8e7d6c-1234-5678-9abc-0123456789ab",
     "a topic's key is in the topic's region"),
    ("existing_database", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-app-AbCdEf",
     "the function reads the secret through the Secrets Manager endpoint of its own region"),
])
def test_an_existing_resource_of_another_region_is_refused_naming_its_argument(argument: str, value: str,
                                                                                 why: str) -> None:
    from components.model.existing import place_problems
    from tests.test_existing_resources import TOPIC

    args: dict[str, Any] = {"existing_topic_arn": TOPIC, argument: value}
    if argument == "existing_database":
        args[argument] = {**DATABASE, "secret_arn": value}
    existing, problems = existing_problems(args)
    assert problems == []
    (problem,) = place_problems(existing, "aws", "us-east-1")
    assert problem.argument == argument
    assert problem.message == f"{value} is in aws eu-west-1, the program deploys to aws us-east-1; {why}"


def test_s3_without_a_gateway_endpoint_service_here_is_refused_naming_function_permissions() -> None:
    from components.testing.pulumi_mocks import AwsMocks

    catalog = AwsMocks().endpoint_catalog()
    catalog["com.amazonaws.us-east-1.s3"] = {**catalog["com.amazonaws.us-east-1.s3"], "serviceTypes": ("Interface",)}
    read = {"service": "s3", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/r.csv"]}
    error = build(AwsMocks(endpoint_services=catalog), function_permissions=[read])
    assert refusal(error).arguments == ["function_permissions"]
    assert "function_permissions: s3 offers no gateway endpoint in us-east-1 (" in refusal(error)


@pytest.mark.parametrize("answer", [{"keyState": None, "enabled": False}, {"keyUsage": None}],
                         ids=["no state", "no usage"])
def test_a_key_answer_missing_a_field_is_refused_in_plain_words(answer: dict[str, Any]) -> None:
    from tests.test_existing_resources import KEY

    error = build(mocks(kms_keys={KEY: answer}), existing_kms_key_arn=KEY)
    assert refusal(error).arguments == ["existing_kms_key_arn"]


def test_vertical_annotations_are_part_of_a_metric_widget() -> None:
    limit = aws_limits.LIMITS["aws:cloudwatch/dashboard:Dashboard"]["dashboardBody"]
    widget = {"type": "metric", "x": 18, "y": 0, "properties": {
        "region": "us-east-1", "metrics": [["AWS/Lambda", "Errors"]],
        "annotations": {"vertical": [{"label": "deploy", "value": "2026-12-03T10:00:00Z"}]}}}
    assert limit.problems(json.dumps({"widgets": [widget]})) == [], "6 by 6 when no size is given"
    assert limit.problems(json.dumps({"widgets": [{**widget, "x": 19}]})) == [
        "widget 1: at x 19, y 0, 6 by 6: outside the grid (24 units wide; height 1 to 1000)"]


def test_a_policy_at_its_limit_is_accepted_and_whitespace_counts_only_where_aws_counts_it() -> None:
    def policy(padding: int) -> str:
        statement = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]}) + " " * padding

    bare, without_spaces = len(policy(0)), len(policy(0).replace(" ", ""))
    iam = aws_limits.PolicyDocument("IAM", without_spaces, count_whitespace=False, grammar="identity")
    assert iam.problems(policy(500)) == [], "IAM does not count whitespace"
    assert iam.problems(policy(0).replace("sns:Publish", "sns:Publish2")) == [
        f"is {without_spaces + 1} characters; allowed: at most {without_spaces}"]
    counted = aws_limits.PolicyDocument("SQS", bare, "bytes", grammar="identity")
    assert counted.problems(policy(0)) == [], "exactly at the limit"
    assert counted.problems(policy(1)) == [f"is {bare + 1} bytes; allowed: at most {bare}"]


def test_an_endpoint_set_given_as_an_object_may_lack_endpoint_ids() -> None:
    from types import SimpleNamespace

    from components.model.endpoint_set import EndpointSet, endpoint_set

    given = SimpleNamespace(vpc_id="vpc-0a", security_group_id="sg-0a", services=["sns"])
    assert endpoint_set(given) == EndpointSet("vpc-0a", "sg-0a", ("sns",), None, None)


def test_two_services_in_one_program_each_get_the_offer_of_their_own_instance_class() -> None:
    """The look-ups are remembered per program: the second service's class is asked about, not
    answered with the first's."""
    from components import PrivateServiceEndpoints
    from components.testing.pulumi_mocks import ORDERABLE_CLASSES, AwsMocks

    def program() -> None:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC["vpc_id"], "subnet_ids": VPC["private_subnet_ids"]})
        VpcLambdaWithPrivateServices("orders", {**VPC, "endpoints": shared, "db_instance_class": "db.t4g.micro"})
        VpcLambdaWithPrivateServices("billing", {**VPC, "endpoints": shared, "db_instance_class": "db.r7g.large"})

    found = AwsMocks(orderable_classes=tuple(c for c in ORDERABLE_CLASSES if c != "db.r7g.large"))
    with pytest.raises(ArgumentError) as raised:
        run_program(program, mocks=found)
    (problem,) = refusal(raised.value).problems
    assert problem.argument == "db_instance_class"
    assert problem.message.startswith("'db.r7g.large' cannot be ordered for MySQL")
    asked = [a["instanceClass"] for token, a in found.calls if token.endswith("getOrderableDbInstance")]
    assert asked == ["db.t4g.micro", "db.r7g.large"]


def test_a_blocked_migration_path_is_the_database_ports_to_fix() -> None:
    verdicts = [PathVerdict("migration-database", False, "no rule admits TCP 3306 from migration-sg")]
    assert blocked_path_problems(verdicts, "endpoints") == [
        Problem("db_port", "the database is unreachable from the migration: no rule admits TCP 3306 from "
                           "migration-sg")]


def test_a_misspelt_field_of_an_existing_database_gets_a_suggestion() -> None:
    from components.model.existing import database_problems

    _, problems = database_problems({**DATABASE, "adress": DATABASE["address"]})
    assert problems == [Problem("existing_database", "unknown field 'adress'; did you mean 'address'?")]


def test_an_arn_known_only_at_deployment_is_refused_in_words_not_by_its_objects_address() -> None:
    """The preview checks an existing queue, key or topic where it is and that it exists: it needs
    the ARN as text (an Output's repr would only show an address)."""
    from components.model.existing import existing_problems as existing

    arn = pulumi.Output.from_input("arn:aws:sqs:us-east-1:123456789012:orders")
    later = "an Output, known only at deployment (give the text itself: the preview checks it)"
    assert queue_problems({"queue_arn": arn}, ("aws", "us-east-1"))[1] == [Problem(
        "queue", f"queue_arn got {later}; expected an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<name>)")]
    (problem,) = existing({"existing_topic_arn": arn})[1]
    assert (problem.argument, problem.message.startswith(f"got {later}; expected the ARN of")) == (
        "existing_topic_arn", True)


def test_subnet_ids_given_as_one_string_are_not_taken_for_a_list() -> None:
    from components.checks.preview_checks import known_subnet_ids

    assert known_subnet_ids("subnet-0a") is None
    assert known_subnet_ids(("subnet-0a", "subnet-0b")) == ["subnet-0a", "subnet-0b"]
    assert known_subnet_ids(["subnet-0a", pulumi.Output.from_input("subnet-0b")]) is None


def test_two_services_each_get_the_look_up_of_their_own_topic() -> None:
    from components import PrivateServiceEndpoints
    from tests.test_existing_resources import TOPIC

    missing = TOPIC.replace("orders-events", "billing-events")

    def program() -> None:
        shared = PrivateServiceEndpoints("shared", {"vpc_id": VPC["vpc_id"], "subnet_ids": VPC["private_subnet_ids"]})
        VpcLambdaWithPrivateServices("orders", {**VPC, "endpoints": shared, "existing_topic_arn": TOPIC})
        VpcLambdaWithPrivateServices("billing", {**VPC, "endpoints": shared, "existing_topic_arn": missing})

    with pytest.raises(ArgumentError) as raised:
        run_program(program, mocks=mocks())
    (problem,) = refusal(raised.value).problems
    assert problem.argument == "existing_topic_arn" and problem.message.startswith(f"{missing} cannot be looked up")


def test_a_dashboards_time_range_elements_are_accepted_and_an_empty_cron_item_is_refused() -> None:
    limit = aws_limits.LIMITS["aws:cloudwatch/dashboard:Dashboard"]["dashboardBody"]
    assert limit.problems(json.dumps({"widgets": [], "start": "-PT6H", "end": "P0D", "periodOverride": "auto"})) == []
    assert cron_problems("0 6,,8 * * ? *") == ["hours: '6,,8' has an empty item"]


def test_every_integration_problem_comes_at_once() -> None:
    from tests.test_existing_resources import KEY

    error = build(mocks(kms_keys={}), queue={"queue_arn": "arn:aws:sqs:eu-west-1:123456789012:orders"},
                  existing_kms_key_arn=KEY)
    assert sorted(refusal(error).arguments) == ["existing_kms_key_arn", "queue"]


def test_a_component_inside_another_asks_the_provider_its_parent_was_given() -> None:
    found = Answering()

    def program() -> Any:
        provider = aws.Provider("west", region="us-east-1")
        platform = pulumi.ComponentResource("acme:platform:Services", "platform",
                                            opts=pulumi.ResourceOptions(providers={"aws": provider}))
        return VpcLambdaWithPrivateServices("svc", VPC, opts=pulumi.ResourceOptions(parent=platform)).outputs()

    run_program(program, mocks=found)
    assert {provider.rsplit("::", 1)[-1] for _, provider in found.asked} == {"west-id"}
