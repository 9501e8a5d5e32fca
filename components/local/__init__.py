"""Rehearse a Lambda function locally: its real deployment package, run by the real
runtime interface client (``awslambdaric``) against a Lambda Runtime API on loopback."""

from .local_lambda import InvocationResult, LocalLambda, Status
from .runtime_api import Invocation, RuntimeApiServer

__all__ = ["Invocation", "InvocationResult", "LocalLambda", "RuntimeApiServer", "Status"]
