"""Rehearse a Lambda function locally: its real deployment package, run by the real
runtime interface client (``awslambdaric``) against a Lambda Runtime API on loopback."""

from localrun.local_lambda import (
    RESERVED_ENV_KEYS,
    FunctionArn,
    InvocationResult,
    LocalLambda,
    Status,
    parse_function_arn,
)
from localrun.runtime_api import InitError, Invocation, RuntimeApiServer

__all__ = [
    "RESERVED_ENV_KEYS",
    "FunctionArn",
    "InitError",
    "Invocation",
    "InvocationResult",
    "LocalLambda",
    "RuntimeApiServer",
    "Status",
    "parse_function_arn",
]
