"""The component as a Pulumi plugin for other languages: the schema Pulumi infers from the code
(`pulumi package add` runs the same inference through provider/), generated in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from components import VpcLambdaWithPrivateServices, __version__
from components.args import REQUIRED_ARGS, Settings
from components.component import TYPE_TOKEN, output_names
from components.stack_config import config_key

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    provider_source = (ROOT / "provider" / "__main__.py").read_text()
    assert 'PROVIDER_NAME = "vpclambda"' in provider_source
    analyzed = Analyzer("vpclambda").analyze([VpcLambdaWithPrivateServices])
    spec = generate_schema("vpclambda", __version__, None, analyzed["component_definitions"],
                           analyzed["type_definitions"], list(analyzed["dependencies"]))
    return json.loads(json.dumps(spec.to_json() if hasattr(spec, "to_json") else spec, default=vars))


def test_plugin_manifest_points_at_the_provider() -> None:
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": "python", "main": "provider"}
    assert "component_provider_host(components=[VpcLambdaWithPrivateServices]" in (
        ROOT / "provider" / "__main__.py").read_text()


def test_schema_names_the_component_with_its_type_token(schema: dict[str, Any]) -> None:
    assert schema["name"] == "vpclambda" and schema["version"] == __version__
    assert list(schema["resources"]) == [TYPE_TOKEN]
    resource = schema["resources"][TYPE_TOKEN]
    assert resource["isComponent"] is True
    assert resource["description"].startswith("A Lambda function in private subnets")


def test_every_input_with_its_type_and_description(schema: dict[str, Any]) -> None:
    resource = schema["resources"][TYPE_TOKEN]
    inputs = resource["inputProperties"]
    assert set(inputs) == {config_key(name) for name in Settings.__dataclass_fields__}
    assert sorted(resource["requiredInputs"]) == sorted(config_key(n) for n in REQUIRED_ARGS)
    assert inputs["vpcId"]["type"] == "string"
    assert inputs["privateSubnetIds"]["type"] == "array" and inputs["privateSubnetIds"]["items"]["type"] == "string"
    assert inputs["dbPort"]["type"] == "integer"
    assert inputs["natEgress"]["type"] == "boolean"
    assert inputs["tags"]["type"] == "object"
    assert inputs["interfaceEndpoints"]["type"] == "array"
    for name, prop in inputs.items():
        assert prop.get("description"), f"input {name} has no description"
    assert "Default: `3306`" in inputs["dbPort"]["description"]


def test_every_output_with_its_description(schema: dict[str, Any]) -> None:
    resource = schema["resources"][TYPE_TOKEN]
    outputs = resource["properties"]
    assert set(outputs) == {config_key(name) for name in output_names()}
    assert set(resource["required"]) == set(outputs)
    assert outputs["dbPort"]["type"] == "integer"
    assert outputs["securityGroupIds"]["type"] == "object"
    for name, prop in outputs.items():
        assert prop.get("description"), f"output {name} has no description"
