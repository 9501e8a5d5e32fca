"""The restructuring of the package (and every change since) keeps the URNs of what both stacks
already declared: a changed logical name, type or parent would make `pulumi up` replace or delete
a resource of an existing stack. `data/urns-before-restructure.json` holds the URNs both stacks
declared before `components/` was split into folders; every one must still be declared, but for
the few removed on purpose (`REMOVED_ON_PURPOSE`, each with its reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun.stack_model import evaluate_stack

SNAPSHOT = Path(__file__).resolve().parent / "data" / "urns-before-restructure.json"
COMPONENT = "vpclambda:index:VpcLambdaWithPrivateServices"
REMOVED_ON_PURPOSE = {
    f"urn:pulumi:{stack}::vpc-lambda::{COMPONENT}$aws:iam/rolePolicyAttachment:RolePolicyAttachment::"
    f"{name}-LambdaExecRole-xray-write": "Lambda has no X-Ray integration in AWS China, where both stacks are: "
                                         "no tracing there, and no X-Ray policy (its attachment is deleted)"
    for stack, name in (("dev", "lambda-test"), ("prod", "lambda-prod"))
}
"""URNs the stacks no longer declare, deliberately, and why: not a rename."""


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_urn_a_stack_declared_is_still_declared(stack: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the package is built under the working directory
    before = set(json.loads(SNAPSHOT.read_text())[stack])
    now = {r.urn for r in evaluate_stack(stack).run.resources}
    assert len(before) == 67
    removed = {urn for urn in REMOVED_ON_PURPOSE if urn.startswith(f"urn:pulumi:{stack}::")}
    assert removed <= before
    assert sorted(before - now) == sorted(removed), "only what is removed on purpose is gone"
