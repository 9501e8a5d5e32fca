"""What Lambda does not offer in a partition, and how the component keeps clear of it.

AWS's China guide (Getting Started with AWS in China: Lambda, "Feature availability and
implementation differences") lists what Lambda lacks in the China Regions. Each entry here is one
of them: the argument that would ask for it (if any), what the component does about it (the docs'
AWS China table is generated from this), and how to recognise a resource that uses it, so a test
can walk everything the component and the stacks register and find none.

An argument whose feature is missing in the partition defaults to off there and is refused when
asked for (`problems`); elsewhere its default is on (`defaults`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .problems import Problem
from .settings import Settings

SOURCE = ("Getting Started with AWS in China: Lambda, \"Feature availability and implementation differences\"")

FUNCTION = "aws:lambda/function:Function"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"

XRAY_WRITE_POLICY = "AWSXRayDaemonWriteAccess"
"""The managed policy that lets Lambda send a function's trace segments to X-Ray."""
ASYNC_INVOCATION_METRICS = ("AsyncEventsReceived", "AsyncEventAge", "AsyncEventsDropped")
"""Lambda's asynchronous-invocation metrics (namespace `AWS/Lambda`)."""


def _tracing(type_token: str, inputs: Mapping[str, Any]) -> bool:
    if type_token == FUNCTION:
        return (inputs.get("tracingConfig") or {}).get("mode") == "Active"
    if type_token == ATTACHMENT:
        return str(inputs.get("policyArn", "")).endswith(f"/{XRAY_WRITE_POLICY}")
    return False


def _async_metrics(type_token: str, inputs: Mapping[str, Any]) -> bool:
    if type_token == ALARM:
        return inputs.get("namespace") == "AWS/Lambda" and inputs.get("metricName") in ASYNC_INVOCATION_METRICS
    if type_token == DASHBOARD:
        body = inputs.get("dashboardBody")
        widgets = json.loads(body).get("widgets", []) if isinstance(body, str) else []
        return any(metric[:1] == ["AWS/Lambda"] and len(metric) > 1 and metric[1] in ASYNC_INVOCATION_METRICS
                   for widget in widgets for metric in widget.get("properties", {}).get("metrics", []))
    return False


@dataclass(frozen=True)
class MissingFeature:
    feature: str
    """The feature, as AWS's guide names it."""
    handling: str
    """What the component does about it (the docs' AWS China table)."""
    used_by: Callable[[str, Mapping[str, Any]], bool]
    """Whether a resource (type token, inputs as the engine sees them) uses the feature."""
    argument: str | None = None
    """The argument that asks for the feature: off by default where it is missing, refused there."""


LAMBDA_MISSING: Mapping[str, tuple[MissingFeature, ...]] = {
    "aws-cn": (
        MissingFeature(
            "X-Ray integration (active tracing)",
            "`function_tracing` is off by default and refused when set to true; the execution role gets no "
            "X-Ray policy",
            _tracing, argument="function_tracing"),
        MissingFeature(
            "function URLs", "none is created (the functions are invoked by `pulumi up` and by your events)",
            lambda t, _: t == "aws:lambda/functionUrl:FunctionUrl"),
        MissingFeature(
            "SnapStart for Python", "not used", lambda t, i: t == FUNCTION and bool(i.get("snapStart"))),
        MissingFeature(
            "recursive-loop detection", "not configured",
            lambda t, _: t == "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"),
        MissingFeature(
            "asynchronous-invocation metrics (`AsyncEventsReceived`, `AsyncEventAge`, `AsyncEventsDropped`)",
            "no alarm or dashboard widget uses them; events that failed every retry are watched through the "
            "dead-letter queue's depth", _async_metrics),
        MissingFeature(
            "customer-managed-key encryption of .zip packages",
            "the package is not encrypted with the component's key (the key encrypts the functions' environment "
            "variables, `kms_key_arn`, which is not on the list)",
            lambda t, i: t == FUNCTION and bool(i.get("sourceKmsKeyArn"))),
    ),
}
"""Partition -> what Lambda lacks there (AWS's guide, `SOURCE`). A partition not listed lacks nothing."""


def missing_in(partition: str) -> tuple[MissingFeature, ...]:
    return LAMBDA_MISSING.get(partition, ())


def features_used(partition: str, type_token: str, inputs: Mapping[str, Any]) -> list[str]:
    """The features a resource uses that Lambda does not offer in the partition."""
    return [missing.feature for missing in missing_in(partition) if missing.used_by(type_token, inputs)]


def defaults(partition: str) -> dict[str, bool]:
    """Argument -> its default in the partition: off where its feature is missing, on elsewhere."""
    arguments = {missing.argument for features in LAMBDA_MISSING.values() for missing in features if missing.argument}
    off = {missing.argument for missing in missing_in(partition) if missing.argument}
    return {argument: argument not in off for argument in sorted(arguments)}


def with_defaults(settings: Settings, partition: str) -> Settings:
    """`settings` with each argument left unset (None) given its default in the partition."""
    unset: dict[str, Any] = {argument: default for argument, default in defaults(partition).items()
                             if getattr(settings, argument) is None}
    return dataclasses.replace(settings, **unset)


def problems(args: Mapping[str, Any], partition: str) -> list[Problem]:
    """Arguments that ask for a feature Lambda does not offer in the partition."""
    return [Problem(missing.argument, f"got true; {missing.feature} is not available for Lambda in partition "
                                      f"{partition!r} (AWS's China guide lists it among Lambda's differences there: "
                                      f"{SOURCE}); leave it unset (off in {partition}) or set it to false")
            for missing in missing_in(partition)
            if missing.argument is not None and args.get(missing.argument) is True]
