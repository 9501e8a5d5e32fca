"""The components as a Pulumi plugin for other languages: `provider/__main__.py` run as Pulumi
runs it (a subprocess that serves the provider protocol on a port it prints), asked for the
schema it infers from the code, as `pulumi package add` does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components import __version__
from components.component import TYPE_TOKEN, output_names
from components.model.args import REQUIRED_ARGS, Settings
from components.shared_endpoints import PRIVATE_SERVICE_ENDPOINTS_TYPE
from components.stack_config import NOT_FROM_CONFIG, config_key

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plugin() -> Iterator[subprocess.Popen[bytes]]:
    # The first argument is the engine's address; the schema is served without an engine.
    process = subprocess.Popen([sys.executable, str(ROOT / "provider" / "__main__.py"), "127.0.0.1:1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def schema(plugin: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert plugin.stdout is not None
    port = plugin.stdout.readline().decode().strip()
    assert port.isdigit(), (port, plugin.stderr.read().decode() if plugin.poll() is not None else "")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        reply = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(provider_pb2.GetSchemaRequest(version=0),
                                                                          timeout=60)
    return dict(json.loads(reply.schema))


def test_plugin_manifest_points_at_the_provider() -> None:
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": "python", "main": "provider"}


def test_schema_names_the_component_with_its_type_token(schema: dict[str, Any]) -> None:
    assert schema["name"] == "vpclambda" and schema["version"] == __version__
    assert sorted(schema["resources"]) == sorted([TYPE_TOKEN, PRIVATE_SERVICE_ENDPOINTS_TYPE])
    resource = schema["resources"][TYPE_TOKEN]
    assert resource["isComponent"] is True
    assert resource["description"].startswith("A Lambda function in private subnets")


def test_every_input_with_its_type_and_description(schema: dict[str, Any]) -> None:
    resource = schema["resources"][TYPE_TOKEN]
    inputs = resource["inputProperties"]
    assert set(inputs) == {config_key(name) for name in Settings.__dataclass_fields__}
    assert {config_key(n) for n in NOT_FROM_CONFIG} <= set(inputs)
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
    # Shared endpoints from other languages: an object of plain values taken from a PrivateServiceEndpoints.
    shared = schema["types"][inputs["endpoints"]["$ref"].split("/")[-1]]
    assert set(shared["properties"]) == {"vpcId", "securityGroupId", "services"}


def test_shared_endpoints_component_is_served_too(schema: dict[str, Any]) -> None:
    resource = schema["resources"][PRIVATE_SERVICE_ENDPOINTS_TYPE]
    assert resource["isComponent"] is True
    assert set(resource["inputProperties"]) == {"vpcId", "subnetIds", "services", "tags"}
    assert sorted(resource["requiredInputs"]) == ["subnetIds", "vpcId"]
    assert set(resource["properties"]) == {"securityGroupId", "endpointIds"}


def test_every_output_with_its_description(schema: dict[str, Any]) -> None:
    resource = schema["resources"][TYPE_TOKEN]
    outputs = resource["properties"]
    assert set(outputs) == {config_key(name) for name in output_names()}
    assert set(resource["required"]) == set(outputs)
    assert outputs["dbPort"]["type"] == "integer"
    assert outputs["securityGroupIds"]["type"] == "object"
    for name, prop in outputs.items():
        assert prop.get("description"), f"output {name} has no description"


def test_the_new_inputs_are_plain_values_other_languages_can_give(schema: dict[str, Any]) -> None:
    inputs = schema["resources"][TYPE_TOKEN]["inputProperties"]
    types = schema["types"]

    def type_of(prop: dict[str, Any]) -> dict[str, Any]:
        return dict(types[prop["$ref"].split("/")[-1]])

    for name in ("schedule", "existingTopicArn", "existingTopicKmsKeyArn", "existingKmsKeyArn"):
        assert inputs[name]["type"] == "string", name
    queue = type_of(inputs["queue"])
    assert set(queue["properties"]) == {"queueArn", "kmsKeyArn", "batchSize", "maximumBatchingWindowSeconds",
                                        "maximumConcurrency", "maxReceiveCount"}
    assert queue["properties"]["batchSize"]["type"] == "integer" and not queue.get("required")
    database = type_of(inputs["existingDatabase"])
    assert set(database["properties"]) == set(database["required"]) == {
        "address", "port", "securityGroupId", "secretArn", "resourceId"}
    assert database["properties"]["port"]["type"] == "integer"
    assert inputs["functionPermissions"]["type"] == "array"
    permission = type_of(inputs["functionPermissions"]["items"])
    assert set(permission["properties"]) == {"service", "actions", "resources", "allowWildcards"}
    assert sorted(permission["required"]) == ["actions", "resources", "service"]
    assert inputs["gatewayRouteTableIds"]["type"] == "array"
    assert inputs["transforms"]["type"] == "object", "a map of functions: Python programs only"
    outputs = schema["resources"][TYPE_TOKEN]["properties"]
    assert outputs["queueArn"]["type"] == outputs["queueUrl"]["type"] == "string"
