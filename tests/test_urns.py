"""The restructuring of the package (and every change since) keeps the URNs of what both stacks
already declared: a changed logical name, type or parent would make `pulumi up` replace or delete
a resource of an existing stack. `data/urns-before-restructure.json` holds the URNs both stacks
declared before `components/` was split into folders; every one must still be declared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun.stack_model import evaluate_stack

SNAPSHOT = Path(__file__).resolve().parent / "data" / "urns-before-restructure.json"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_urn_a_stack_declared_is_still_declared(stack: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the package is built under the working directory
    before = set(json.loads(SNAPSHOT.read_text())[stack])
    now = {r.urn for r in evaluate_stack(stack).run.resources}
    assert len(before) == 67
    assert sorted(before - now) == []
