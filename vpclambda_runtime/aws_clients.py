"""boto3 clients whose every call fits in the phase of the invocation that makes it.

botocore's timeouts are set when a client is created, so a call's timeouts are chosen
first (:func:`call_timeouts`) and the client with those timeouts is taken from a small
cache, created on first need. With the configured timeouts (``AWS_CONNECT_TIMEOUT``,
default 3 s; ``AWS_READ_TIMEOUT``, default 5 s) a call makes at most two attempts in all
(``total_max_attempts`` counts the first one; botocore's ``max_attempts`` would count
retries only); when two attempts no longer fit in what is left of the phase, one, and
when one no longer fits at its configured timeouts, one with shorter timeouts.
boto3 honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` on its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .budget import Phase
from .contract import service_name
from .errors import HandlerError
from .settings import Settings

TOTAL_MAX_ATTEMPTS = 2
RETRY_SLEEP_ALLOWANCE_S = 1.0
"""Upper bound of botocore's standard-mode sleep before a retry (jittered; at most 1 s for throttling)."""
MIN_CALL_S = 0.2
"""A call with less time than this left in its phase is not attempted."""
FIRST_CLIENT_ALLOWANCE_S = 0.3
"""Time the first client of a service takes to create (importing boto3, loading the service's model),
taken from the call's time since the timeouts must be chosen before it."""
MAX_CACHED_CLIENTS = 6


@dataclass(frozen=True)
class CallTimeouts:
    connect: float
    read: float
    attempts: int

    @property
    def worst_case(self) -> float:
        """The longest a call can take: every attempt times out, with the sleeps between them."""
        return self.attempts * (self.connect + self.read) + (self.attempts - 1) * RETRY_SLEEP_ALLOWANCE_S


_clients: dict[tuple[str, CallTimeouts], Any] = {}


def _round_down(seconds: float) -> float:
    # Tenths, so that the few shortened clients ever needed can be cached.
    return math.floor(seconds * 10) / 10


def call_timeouts(settings: Settings, available: float) -> CallTimeouts | None:
    """The timeouts and attempts of a call that must end within ``available`` seconds, or None
    when there is too little time to attempt it."""
    connect, read = float(settings.aws_connect_timeout), float(settings.aws_read_timeout)
    for attempts in (TOTAL_MAX_ATTEMPTS, 1):
        timeouts = CallTimeouts(connect, read, attempts)
        if timeouts.worst_case <= available:
            return timeouts
    if available < MIN_CALL_S:
        return None
    # One attempt, its connect and read timeouts shortened in proportion.
    short_connect = max(_round_down(available * connect / (connect + read)), 0.1)
    return CallTimeouts(short_connect, max(_round_down(available - short_connect), 0.1), 1)


def client(service: str, settings: Settings, timeouts: CallTimeouts) -> Any:
    """A client for ``service`` in the function's region with exactly these timeouts and attempts."""
    key = (service, timeouts)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    import boto3  # provided by the Lambda runtime; imported on first use, not at module import
    from botocore.config import Config

    config = Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"mode": "standard", "total_max_attempts": timeouts.attempts},
    )
    created = boto3.session.Session().client(service, region_name=settings.region, config=config)
    if len(_clients) >= MAX_CACHED_CLIENTS:
        _clients.pop(next(iter(_clients)))
    _clients[key] = created
    return created


def describe_endpoint(aws_client: Any) -> str:
    """Where a client sends its requests, for error messages."""
    try:
        return str(aws_client.meta.endpoint_url)
    except AttributeError:
        return "its regional endpoint"


@contextmanager
def aws_call(service: str, call: str, settings: Settings, phase: Phase, error: type[HandlerError]) -> Iterator[Any]:
    """A client for one call that must end within ``phase``; every failure of the call becomes ``error``."""
    name = service_name(service)
    first_client = not any(cached == service for cached, _ in _clients)
    timeouts = call_timeouts(settings, phase.remaining() - (FIRST_CLIENT_ALLOWANCE_S if first_client else 0.0))
    if timeouts is None:
        raise error(
            f"{name} {call} not attempted: {phase.remaining():.1f} s left of the invocation's time budget "
            f"(phase: {phase.name})"
        )
    aws_client = client(service, settings, timeouts)
    with translated_errors(aws_client, service, call, error, timeouts, phase.name):
        yield aws_client


@contextmanager
def translated_errors(
    aws_client: Any, service: str, call: str, error: type[HandlerError], timeouts: CallTimeouts, phase: str
) -> Iterator[None]:
    """Turn every botocore failure of `call` into `error`, saying whether the service could not be
    reached (the missing-endpoint case), did not answer in time, refused the call, or answered
    something that is not an answer."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )
    from botocore.parsers import ResponseParserError

    name = service_name(service)
    attempts = f"{timeouts.attempts} attempt{'s' if timeouts.attempts > 1 else ''}"
    try:
        yield
    except ReadTimeoutError as exc:
        raise error(
            f"{name} at {describe_endpoint(aws_client)} accepted the connection but did not answer {call} "
            f"within {timeouts.read:g} s ({attempts}; phase: {phase}): {exc}"
        ) from exc
    except (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError) as exc:
        raise error(
            f"{name} is unreachable at {describe_endpoint(aws_client)} ({exc}; connect timeout {timeouts.connect:g} s, "
            f"{attempts}; phase: {phase}); a function in a VPC without NAT needs an interface endpoint for {service}"
        ) from exc
    except ClientError as exc:
        detail = exc.response.get("Error", {})
        raise error(f"{name} refused {call}: {detail.get('Code', 'error')}: {detail.get('Message', exc)}") from exc
    except ResponseParserError as exc:
        raise error(
            f"{name} at {describe_endpoint(aws_client)} answered {call} with a response that is not a valid "
            f"{name} response (phase: {phase}): {' '.join(str(exc).split())[:300]}"
        ) from exc
    except BotoCoreError as exc:
        raise error(f"{name} {call} failed (phase: {phase}): {exc}") from exc
