"""boto3 clients, created once per execution environment and only when first needed.

Each client has short connect/read timeouts and at most two attempts, so a missing
network path (a VPC without NAT and without an interface endpoint for the service) fails
in seconds with a clear error instead of running into the function's timeout.
boto3 honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from errors import HandlerError
from settings import Settings

SERVICE_NAMES = {"secretsmanager": "Secrets Manager", "sns": "SNS"}

MAX_ATTEMPTS = 2

_clients: dict[str, Any] = {}


def client(service: str, settings: Settings) -> Any:
    """The shared client for ``service`` in the function's region."""
    cached = _clients.get(service)
    if cached is not None:
        return cached
    import boto3  # provided by the Lambda runtime; imported on first use, not at module import
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.aws_connect_timeout,
        read_timeout=settings.aws_read_timeout,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    )
    created = boto3.session.Session().client(service, region_name=settings.region, config=config)
    _clients[service] = created
    return created


def describe_endpoint(aws_client: Any) -> str:
    """Where a client sends its requests, for error messages."""
    try:
        return str(aws_client.meta.endpoint_url)
    except AttributeError:
        return "its regional endpoint"


@contextmanager
def translated_errors(aws_client: Any, service: str, call: str, error: type[HandlerError]) -> Iterator[None]:
    """Turn every botocore failure of `call` into `error`, saying whether the service could not be
    reached (the missing-endpoint case) or refused the call, and why."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    name = SERVICE_NAMES.get(service, service)
    try:
        yield
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as exc:
        raise error(
            f"{name} is unreachable at {describe_endpoint(aws_client)} ({exc}); "
            f"a function in a VPC without NAT needs an interface endpoint for {service}"
        ) from exc
    except ClientError as exc:
        detail = exc.response.get("Error", {})
        raise error(f"{name} refused {call}: {detail.get('Code', 'error')}: {detail.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise error(f"{name} {call} failed: {exc}") from exc
