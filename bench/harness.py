"""The function as the component builds it, bound to the local services `make local` uses.

The dev stack is evaluated under the project's Pulumi mocks with a throwaway CA as its
database CA bundle (``dbCaBundleFile``), in a scratch directory so the package is not
written into the repository; the package it passed to the Lambda function is unpacked as
Lambda unpacks it. MariaDB (TLS required, checking the job's IAM tokens as RDS does) stands in
for RDS and moto for Secrets Manager and SNS, on loopback; the package's migration function
creates the application user the job logs in as, as `pulumi up` runs it. The environment the
workers get is the component's, bound to those services (``components.local.wiring.local_function_env``),
plus what Lambda's runtime sets (``components.local.LocalLambda.process_env``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from components.local.local_lambda import LocalLambda
from components.local.services import AwsEmulator, MariaDB, Pki, local_services, migration_statements, start_mariadb
from components.local.stack_model import StackModel, evaluate_with_ca_bundle
from components.local.wiring import DUMMY_CREDENTIALS, extract_package, local_function_env

STACK = "dev"
SMALL_TABLE_ROWS = 10
"""The table of the warm and cold figures: small, so reading rows (the same work on both sides)
does not hide the handler's own cost."""


@dataclass(frozen=True)
class Workspace:
    """Scratch directories of one benchmark run."""

    root: Path

    @property
    def scratch(self) -> Path:
        return self.dir("scratch")

    @property
    def logs(self) -> Path:
        return self.dir("logs")

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class StackUnderTest:
    pki: Pki
    model: StackModel
    package_dir: Path
    """The deployment package, unpacked (Lambda's task root)."""


def evaluate_dev_stack(workspace: Workspace) -> StackUnderTest:
    pki = Pki.create(workspace.dir("pki"))
    model = evaluate_with_ca_bundle(STACK, pki.ca, workspace.dir("stack"))
    package_dir = extract_package(model.package_path, workspace.dir("package"))
    return StackUnderTest(pki=pki, model=model, package_dir=package_dir)


@dataclass(frozen=True)
class FunctionUnderTest:
    stack: StackUnderTest
    db: MariaDB
    aws: AwsEmulator
    env: dict[str, str]
    """The whole environment of a process that runs the package."""
    memory_mb: int
    """The memory size the stack gives the function."""

    @property
    def package_dir(self) -> Path:
        return self.stack.package_dir

    def employees(self, rows: int) -> None:
        """Recreate ``employees`` from the packaged migrations with ``rows`` rows."""
        self.db.reset_employees(migration_statements(self.package_dir), rows)

    def mariadb_version(self) -> str:
        return str(self.db.query("SELECT VERSION()", database=None)[0][0])


@contextlib.contextmanager
def function_under_test(stack: StackUnderTest, workspace: Workspace) -> Iterator[FunctionUnderTest]:
    """Start MariaDB and moto, bind the component's environment to them; stop them afterwards."""
    model = stack.model
    with contextlib.ExitStack() as cleanup:
        db = start_mariadb(workspace.dir("mariadb"), stack.pki)
        cleanup.callback(db.stop)
        aws = AwsEmulator(topic_name=model.topic_name, region=model.region)
        cleanup.callback(aws.stop)
        services = local_services(db, aws)
        db.trust(model.token_trust(services.db_host, db.port, DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                   DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))
        migration_inputs = model.migration_function.inputs
        migration_env = local_function_env(model.migration_environment, services,
                                           logging_config=migration_inputs["loggingConfig"])
        with LocalLambda(stack.package_dir, migration_inputs["handler"], migration_env,
                         model.migration_function.outputs["arn"], timeout_s=float(migration_inputs["timeout"]),
                         memory_mb=int(migration_inputs["memorySize"]),
                         runtime=f"python{sys.version_info.major}.{sys.version_info.minor}") as migration:
            created = migration.invoke({})
        if not created.ok:
            raise RuntimeError(f"the migration could not create the application user: {created.error}")
        inputs = model.job_function.inputs
        function_env = local_function_env(model.function_environment, services,
                                          logging_config=inputs["loggingConfig"])
        runtime = LocalLambda(
            stack.package_dir, inputs["handler"], function_env, model.job_function.outputs["arn"],
            timeout_s=float(inputs["timeout"]), memory_mb=int(inputs["memorySize"]),
            runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
        )
        yield FunctionUnderTest(stack=stack, db=db, aws=aws, env=runtime.process_env(),
                                memory_mb=int(inputs["memorySize"]))
