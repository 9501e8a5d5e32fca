"""Notifications carry what database rows carry, refuse before any call what SNS or JSON would
refuse, and every failure that escapes a job leaves its failure line, typed or not."""

from __future__ import annotations

import json

import pytest

from localrun.wiring import SERVICE_ENDPOINT_VARIABLES

from .stand_ins import HttpStub


def test_row_values_are_serialised_as_documented(start_cases, aws):
    fn = start_cases()
    run = fn.invoke({"case": "notify_row_values"})
    assert run.ok, run.error
    envelope = aws.delivered(json.loads(run.payload["body"])["message_id"])
    assert json.loads(envelope["Message"]) == {
        "amount": "1234.50",                          # Decimal: its exact digits, as a string
        "hired_on": "2020-01-02",                     # date: ISO 8601
        "updated_at": "2020-01-02T03:04:05.600000",   # datetime: ISO 8601
        "raw": "AP9hYg==",                            # bytes: base64
        "name": "Ada",
    }


@pytest.mark.parametrize(("kind", "expected"), [
    ("set", "set is not JSON serialisable"),
    ("lone_surrogate", "not valid Unicode"),
    ("nan", "NaN"),
])
def test_what_json_cannot_carry_is_refused_before_any_call(start_cases, kind, expected):
    with HttpStub(200, b"") as sns:
        fn = start_cases(env={SERVICE_ENDPOINT_VARIABLES["sns"]: sns.url})
        run = fn.invoke({"case": "notify_message", "kind": kind})
        assert sns.requests == [], "nothing may reach SNS"
    assert run.error_type == "NotificationError", run.error
    assert expected in run.error_message
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert failed["error_type"] == "NotificationError"


@pytest.mark.parametrize(("subject", "expected"), [
    ("x" * 101, "101 characters; SNS accepts at most 100"),
    ("line one\nline two", "control character U+000A"),
    ("a\ttab", "control character U+0009"),
], ids=["too-long", "newline", "tab"])
def test_a_subject_sns_would_refuse_is_refused_before_the_call(start_cases, subject, expected):
    with HttpStub(200, b"") as sns:
        fn = start_cases(env={SERVICE_ENDPOINT_VARIABLES["sns"]: sns.url})
        run = fn.invoke({"case": "notify_subject", "subject": subject})
        assert sns.requests == [], "nothing may reach SNS"
    assert run.error_type == "NotificationError", run.error
    assert expected in run.error_message


def test_a_subject_of_100_characters_is_delivered_whole(start_cases, aws):
    subject = "s" * 99 + "!"
    run = start_cases().invoke({"case": "notify_subject", "subject": subject})
    assert run.ok, run.error
    assert aws.delivered(json.loads(run.payload["body"])["message_id"])["Subject"] == subject


def test_an_untyped_failure_of_the_job_leaves_its_failure_line(start_cases):
    fn = start_cases()
    run = fn.invoke({"case": "raise_plain"})
    assert run.error_type == "LookupError", run.error  # Lambda reports the job's own exception
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["error_type"], failed["error_class"], failed["phase"]) == ("JobError", "LookupError", "job")
    assert failed["error_message"] == "a failure of the job's own code"
    assert failed.get("dependency") is None, "raised outside every dependency's phase"


def test_an_untyped_failure_inside_a_phase_names_the_phase(start_cases, employees):
    employees(3)
    fn = start_cases()
    run = fn.invoke({"case": "bad_query_arguments"})
    assert run.error_type == "KeyError", run.error
    (failed,) = fn.events("invocation_failed", run.request_id)
    assert (failed["error_type"], failed["error_class"]) == ("JobError", "KeyError")
    assert (failed["dependency"], failed["phase"]) == ("database", "query")
    back = fn.invoke({"case": "count_stream"})
    assert back.ok, back.error
    assert json.loads(back.payload["body"]) == {"rows": 3}
