"""Evaluate a stack's program (`__main__.py` with `Pulumi.<stack>.yaml`) under Pulumi mocks,
with the component's real code, and describe what it declares."""

from __future__ import annotations

import contextlib
import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import yaml

from ..component import VpcLambdaWithPrivateServices
from ..resources.function import POLICY_NAMES, ROLE_NAMES
from ..resources.private_vpc import PrivateVpc
from ..testing.pulumi_mocks import AwsMocks, ProgramRun, Registered, project_name, run_program
from .token_verifier import TrustConfig

if TYPE_CHECKING:
    from .jobs import Job

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""This repository (`make local` rehearses its dev stack); in an installed copy, where no stack is, unused."""
FUNCTION_TYPE = "aws:lambda/function:Function"
COMPONENT_TYPE = "vpclambda:index:VpcLambdaWithPrivateServices"


@dataclass(frozen=True)
class StackModel:
    stack: str
    project: str
    region: str
    partition: str
    run: ProgramRun
    component: Any
    """The `VpcLambdaWithPrivateServices` instance the program made."""

    @property
    def job_function(self) -> Registered:
        return self.run.one(FUNCTION_TYPE, f"{self.component_name}-function")

    @property
    def migration_function(self) -> Registered:
        return self.run.one(FUNCTION_TYPE, f"{self.component_name}-migration")

    @property
    def component_name(self) -> str:
        return str(self.run.one(COMPONENT_TYPE).name)

    @property
    def function_environment(self) -> dict[str, str]:
        """The environment the component gives the job."""
        return dict(self.job_function.inputs["environment"]["variables"])

    @property
    def migration_environment(self) -> dict[str, str]:
        """The environment the component gives the migration."""
        return dict(self.migration_function.inputs["environment"]["variables"])

    def role_policy(self, principal: str) -> dict[str, Any]:
        """A function role's own policy (`job`, `migration`), as the component wrote it."""
        name = f"{self.component_name}-{ROLE_NAMES[principal]}-{POLICY_NAMES[principal]}"  # type: ignore[index]
        return dict(json.loads(self.run.one("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"]))

    @property
    def instance(self) -> Registered:
        return self.run.one("aws:rds/instance:Instance", f"{self.component_name}-db")

    @property
    def job_db_target(self) -> str:
        """The resource ID of what the job logs in to: the proxy's `prx-...`, or the instance's (the
        component's, or `existing_database`'s)."""
        proxies = self.run.of_type("aws:rds/proxy:Proxy")
        if proxies:
            return str(proxies[0].outputs["arn"]).rsplit(":", 1)[-1]
        instances = self.run.of_type("aws:rds/instance:Instance")
        if instances:
            return str(self.instance.outputs["resourceId"])
        (login,) = self.job_logins
        return login.split(":dbuser:", 1)[1].split("/", 1)[0]

    @property
    def job_logins(self) -> list[str]:
        """The `rds-db:connect` resources the job's role allows."""
        return [statement["Resource"] for statement in self.role_policy("job")["Statement"]
                if statement["Action"] == "rds-db:connect"]

    def token_trust(self, host: str, port: int, access_key: str, secret_key: str,
                    proxy: str | None = None) -> TrustConfig:
        """What a local database at `host:port` needs to check the job's tokens as IAM would: the
        job's key, and the `rds-db:connect` resources its role's policy allows. With `proxy`
        (`host:port` of a stand-in for the stack's RDS Proxy), tokens for it name the proxy;
        without, the database stands in for whatever the job logs in to."""
        allowed = self.job_logins
        target = self.job_db_target
        account = self.run.mocks.account_id
        if proxy is None:
            return TrustConfig(host, port, self.region, self.partition, account, target, {access_key: secret_key},
                               {access_key: allowed})
        return TrustConfig(host, port, self.region, self.partition, account,
                           str(self.instance.outputs["resourceId"]), {access_key: secret_key}, {access_key: allowed},
                           relays={proxy: target})

    @property
    def user_variables(self) -> list[str]:
        """Names the stack gives as `function_environment` (passed through by local runs)."""
        return sorted(self.component.settings.function_environment)

    @property
    def package_path(self) -> Path:
        """The deployment package the component built."""
        return Path(self.job_function.inputs["code"].path)

    @property
    def topic_name(self) -> str:
        return str(self.run.one("aws:sns/topic:Topic", f"{self.component_name}-topic").outputs["name"])


def stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    return dict(yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text())["config"])


def evaluate_stack(stack: str = "dev", overrides: dict[str, Any] | None = None,
                   project_dir: Path = PROJECT_DIR) -> StackModel:
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    # A key overridden with null is removed (an example's stack config unsets the dev stack's schedule).
    config = {k: v for k, v in {**stack_config(stack, project_dir), **(overrides or {})}.items() if v is not None}
    region = str(config.get("aws:region", "us-east-1"))
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    captured: dict[str, Any] = {}

    def program() -> None:
        captured.update(runpy.run_path(str(project_dir / "__main__.py")))

    run = run_program(
        program,
        partition=partition,
        region=region,
        project=project,
        stack=stack,
        config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
    )
    return StackModel(stack=stack, project=project, region=region, partition=partition, run=run,
                      component=captured["service"])


CA_BUNDLE_CONFIG_KEY = "vpc-lambda:dbCaBundleFile"


def evaluate_with_ca_bundle(stack: str, ca_bundle: Path, workdir: Path,
                            overrides: dict[str, Any] | None = None) -> StackModel:
    """The stack with `ca_bundle` shipped as the database's CA bundle (the local CA that signed
    the stand-in database's certificate, as RDS's bundle would be), its package built under
    `workdir`: the package differs with every CA, so it stays out of the project. `overrides`
    are more stack config (absolute paths: the program runs in `workdir`)."""
    with contextlib.chdir(workdir):
        return evaluate_stack(stack, {**(overrides or {}), CA_BUNDLE_CONFIG_KEY: str(ca_bundle)})


JOB_STACK = "local"


def evaluate_job(job: Job, ca_bundle: Path, workdir: Path) -> StackModel:
    """A program of one component, in a private VPC of its own, deploying `job` (its arguments
    absolute), `ca_bundle` shipped as the database's CA bundle, its package built under `workdir`.
    The project is the one whose Pulumi.yaml is in the working directory, if any."""
    project = project_name(Path.cwd() / "__main__.py") or "job"
    made: dict[str, VpcLambdaWithPrivateServices] = {}

    def program() -> None:
        network = PrivateVpc(f"{job.name}-network", flow_logs=False)
        args: dict[str, Any] = {"vpc_id": network.vpc_id, "private_subnet_ids": network.private_subnet_ids,
                                **job.args, "db_ca_bundle_file": str(ca_bundle)}
        made["component"] = VpcLambdaWithPrivateServices(job.name, args)  # type: ignore[arg-type]
        for output_name, value in made["component"].outputs().items():  # as a stack program exports them
            pulumi.export(output_name, value)

    with contextlib.chdir(workdir):
        run = run_program(program, AwsMocks(region=job.region), project=project, stack=JOB_STACK)
    return StackModel(stack=JOB_STACK, project=project, region=run.mocks.region, partition=run.mocks.partition,
                      run=run, component=made["component"])


def resource_tree(model: StackModel) -> str:
    """A short tree: the stack, its components, and each component's children by type."""
    resources = model.run.resources
    components = [r for r in resources if r.id is None]
    lines = [f"{model.project}-{model.stack} (pulumi:pulumi:Stack, {model.region}, partition {model.partition})"]
    top = sorted((c for c in components if c.parent_type == "pulumi:pulumi:Stack"), key=lambda c: c.name)
    for index, component in enumerate(top):
        last = index == len(top) - 1
        lines.append(f"{'└─' if last else '├─'} {component.name} ({component.type})")
        children = sorted((r for r in resources if r.parent_type == component.type and r is not component),
                          key=lambda r: (r.type, r.name))
        for child_index, child in enumerate(children):
            branch = "└─" if child_index == len(children) - 1 else "├─"
            lines.append(f"{'   ' if last else '│  '}{branch} {child.type.split(':')[1]} {child.name}")
    return "\n".join(lines)
