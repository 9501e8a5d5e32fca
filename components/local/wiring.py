"""Bind what the component gives the function to local stand-ins.

The function's environment comes from the component (evaluated under mocks), never from a
hand-written copy: only the variables that name cloud resources are pointed at the local
services, and a variable this module does not know fails loudly, so a change to the
component's wiring cannot slip past the local rehearsal and the tests.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpclambda_runtime import contract
from vpclambda_runtime.contract import COMPONENT_VARIABLES, JOB_VARIABLES, MIGRATION_VARIABLES

from ..model.dependencies import CALLED_FROM_THE_VPC

if TYPE_CHECKING:
    from .local_lambda import Placement
    from .services import AwsEmulator, MariaDB

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing"}
# boto3 reads a per-service endpoint from these before AWS_ENDPOINT_URL.
SERVICE_ENDPOINT_VARIABLES = {d.service: d.endpoint_variable for d in CALLED_FROM_THE_VPC}


@dataclass(frozen=True)
class LocalServices:
    db_host: str
    db_port: int
    secret_arn: str
    topic_arn: str
    region: str
    aws_endpoint_url: str | None
    """Where boto3 sends every call (`AWS_ENDPOINT_URL`); None: to the service's own name, as in AWS."""


@dataclass
class Wiring:
    """Where a rehearsal's functions run and what their environments bind them to."""

    network: str
    """`loopback`, or `packets` (network namespaces)."""
    db: MariaDB
    aws: AwsEmulator
    migration_env: dict[str, str]
    job_env: dict[str, str]
    migration_placement: Placement | None = None
    job_placement: Placement | None = None
    report: Callable[[], dict[str, Any]] = field(default=dict)
    """Called when the functions have run: more fields for the outcome."""
    blocked: tuple[str, ...] = ()
    """The paths the verdicts judge blocked in this rehearsal (`database`, `sns`...): they must fail."""


def lambda_logging_env(logging_config: Mapping[str, str] | None) -> dict[str, str]:
    """What Lambda sets in the environment for a function's `logging_config`."""
    if not logging_config:
        return {}
    env = {"AWS_LAMBDA_LOG_FORMAT": logging_config.get("logFormat", "Text").upper()}
    if env["AWS_LAMBDA_LOG_FORMAT"] == "JSON" and logging_config.get("applicationLogLevel"):
        env["AWS_LAMBDA_LOG_LEVEL"] = logging_config["applicationLogLevel"]
    return env


def local_function_env(component_env: Mapping[str, str], services: LocalServices,
                       blocked_services: Mapping[str, str] | None = None,
                       logging_config: Mapping[str, str] | None = None,
                       user_variables: Iterable[str] = ()) -> dict[str, str]:
    """The component's environment of one function (the job's or the migration's) with its cloud
    resources replaced by `services`, plus what Lambda sets (for `logging_config`, the function's
    log format and level). `blocked_services` maps an AWS API to an unanswering URL (a rehearsed
    missing network path). `user_variables` are the names given as `function_environment`:
    passed through as they are. The migration keeps the application user identified the way the
    local database can check tokens (PAM), since MariaDB has no AWS plugin."""
    own = set(component_env) - set(user_variables)
    unknown = sorted(own - set(COMPONENT_VARIABLES))
    kind = "job" if contract.DB_USER in own else "migration"
    expected = set(JOB_VARIABLES if kind == "job" else MIGRATION_VARIABLES)
    missing = sorted(expected - own)
    unknown += sorted(own - expected - set(unknown))
    if unknown or missing:
        raise ValueError(f"the component's {kind} environment changed: new {unknown}, gone {missing}; "
                         "update components/local/wiring.py so local runs bind it")
    env = dict(component_env)
    env.update({contract.DB_HOST: services.db_host, contract.DB_PORT: str(services.db_port)})
    if contract.DB_SECRET_ARN in env:
        env[contract.DB_SECRET_ARN] = services.secret_arn
    if contract.TOPIC_ARN in env:
        env[contract.TOPIC_ARN] = services.topic_arn
    if contract.DB_APP_USER in env:
        env[contract.DB_APP_USER_PLUGIN] = contract.PAM_PLUGIN
    env.update(
        AWS_REGION=services.region,
        AWS_DEFAULT_REGION=services.region,
        **DUMMY_CREDENTIALS,
        **lambda_logging_env(logging_config),
    )
    if services.aws_endpoint_url is not None:
        env["AWS_ENDPOINT_URL"] = services.aws_endpoint_url
    for service, url in (blocked_services or {}).items():
        env[SERVICE_ENDPOINT_VARIABLES[service]] = url
    return env


def extract_package(zip_path: Path, destination: Path) -> Path:
    """Unpack the deployment package as Lambda does into its task root."""
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(destination)
    return destination
