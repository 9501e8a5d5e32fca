"""Evaluate a stack's program (`__main__.py` with `Pulumi.<stack>.yaml`) under Pulumi mocks,
with the component's real code, and describe what it declares."""

from __future__ import annotations

import contextlib
import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.resources.function import POLICY_NAMES, ROLE_NAMES
from localrun.pulumi_mocks import ACCOUNT_ID, ProgramRun, Registered, run_program
from localrun.token_verifier import TrustConfig

PROJECT_DIR = Path(__file__).resolve().parent.parent
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
        """The resource ID of what the job logs in to: the proxy's `prx-...`, or the instance's."""
        proxies = self.run.of_type("aws:rds/proxy:Proxy")
        if proxies:
            return str(proxies[0].outputs["arn"]).rsplit(":", 1)[-1]
        return str(self.instance.outputs["resourceId"])

    def token_trust(self, host: str, port: int, access_key: str, secret_key: str,
                    proxy: str | None = None) -> TrustConfig:
        """What a local database at `host:port` needs to check the job's tokens as IAM would: the
        job's key, and the `rds-db:connect` resources its role's policy allows. With `proxy`
        (`host:port` of a stand-in for the stack's RDS Proxy), tokens for it name the proxy;
        without, the database stands in for whatever the job logs in to."""
        allowed = [statement["Resource"] for statement in self.role_policy("job")["Statement"]
                   if statement["Action"] == "rds-db:connect"]
        target = self.job_db_target
        if proxy is None:
            return TrustConfig(host, port, self.region, self.partition, ACCOUNT_ID, target, {access_key: secret_key},
                               {access_key: allowed})
        return TrustConfig(host, port, self.region, self.partition, ACCOUNT_ID,
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
    config = {**stack_config(stack, project_dir), **(overrides or {})}
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
