"""The AsyncAPI 3.0 document: valid against the official schema, complete, consistent.

The official JSON Schema comes from the npm package ``@asyncapi/specs`` (no PyPI package ships
it), installed by CI with ``npm install --prefix .ci/node @asyncapi/specs@6``; without it the
validation tests skip and say how to install it (under CI they fail: tests/prerequisites.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import validator_for

from pytest_mistersmith.strategies import payloads
from simulator.asyncapi import REPLY_CHANNEL, USAGES, build_asyncapi, stream_of, write_asyncapi
from simulator.errors import ConfigError
from simulator.protocol.models import MODELS
from simulator.protocol.subjects import TEMPLATES, template
from simulator.protocol.topology import default_topology
from tests.prerequisites import missing

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / ".ci" / "node" / "node_modules" / "@asyncapi" / "specs"
SCHEMA = SPECS / "schemas" / "3.0.0-without-$id.json"
INSTALL = "npm install --prefix .ci/node @asyncapi/specs@6"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document, built once."""
    return build_asyncapi()


@pytest.fixture(scope="module")
def official() -> Any:
    """A validator of the official AsyncAPI 3.0.0 JSON Schema, in the draft it declares."""
    if not SCHEMA.is_file():
        missing(f"the official AsyncAPI 3.0.0 schema is not at {SCHEMA}", f"run `{INSTALL}`")
    package = json.loads((SPECS / "package.json").read_text("utf-8"))
    assert package["name"] == "@asyncapi/specs"
    schema = json.loads(SCHEMA.read_text("utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())


def _problems(validator: Any, doc: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_the_document_validates_against_the_official_schema(
    official: Any, document: dict[str, Any]
) -> None:
    assert official.schema["$schema"].startswith("http://json-schema.org/draft-07/")
    assert _problems(official, document) == []


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("operations", "send_agent_status", "action"), "publish"),
        (("channels", "task_result", "parameters", "task_id"), {"schema": 3}),
        (("info",), {"title": "no version"}),
        (("asyncapi",), "2.6.0"),
    ],
    ids=["bad-action", "bad-parameter", "info-without-version", "wrong-version"],
)
def test_the_official_schema_rejects_a_broken_document(
    official: Any, document: dict[str, Any], where: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(document)
    node = broken
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    assert _problems(official, broken) != []


def test_every_template_is_a_channel_with_its_parameters(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert set(channels) == {t.name for t in TEMPLATES} | {REPLY_CHANNEL}
    for tmpl in TEMPLATES:
        channel = channels[tmpl.name]
        assert channel["address"] == tmpl.pattern
        assert list(channel.get("parameters", {})) == list(tmpl.params)
    assert channels["task_assignment"]["parameters"]["task_type"]["enum"] == [
        "analysis",
        "synthesis",
        "execution",
        "validation",
        "monitoring",
    ]
    assert channels[REPLY_CHANNEL]["address"] is None


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = _refs(document)
    assert len(refs) > 50
    for ref in refs:
        _resolve(document, ref)


def test_messages_carry_the_models_schemas(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    assert set(messages) == set(MODELS)
    schemas = document["components"]["schemas"]
    for name in MODELS:
        assert messages[name]["payload"] == {"$ref": f"#/components/schemas/{name}"}
        assert messages[name]["contentType"] == "application/json"
        assert "$schema" not in schemas[name] and "$defs" not in schemas[name]
    assert {"SessionInfo", "ResourceUsage", "TaskType", "AgentState"} <= set(schemas)


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_payload_schemas_accept_generated_payloads(name: str, data: st.DataObject) -> None:
    document = build_asyncapi()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    doc = json.loads(data.draw(payloads(MODELS[name])))
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(doc)] == []


def test_operations_follow_the_usages_with_replies_for_request_reply(
    document: dict[str, Any],
) -> None:
    operations = document["operations"]
    for usage in USAGES:
        operation = operations[f"{usage.action}_{usage.template}"]
        assert operation["channel"] == {"$ref": f"#/channels/{usage.template}"}
        ref = f"#/channels/{usage.template}/messages/{usage.message}"
        assert {"$ref": ref} in operation["messages"]
        assert ("reply" in operation) == template(usage.template).request_reply
    discovery = operations["receive_system_discovery"]["reply"]
    assert discovery["address"] == {"location": "$message.payload#/reply_to"}
    assert discovery["messages"] == [
        {"$ref": f"#/channels/{REPLY_CHANNEL}/messages/CapabilityResponse"}
    ]
    assert "address" not in operations["send_agent_hook"]["reply"]  # the requester's inbox


def test_jetstream_is_stated_as_extensions(document: dict[str, Any]) -> None:
    topology = default_topology()
    streams = document["x-jetstream-streams"]
    assert set(streams) == {s.name for s in topology.streams}
    assert streams["task_lifecycle"]["max_msg_size"] == 10 * 1024 * 1024
    assert streams["agent_events"]["max_age"] == 7 * 86400 * 10**9  # as the API takes it: ns
    assert set(document["x-jetstream-consumers"]) == {c.name for c in topology.consumers}
    for tmpl in TEMPLATES:
        assert document["channels"][tmpl.name].get("x-jetstream-stream") == stream_of(
            tmpl, topology
        )
    assert document["channels"]["cli_hook"]["x-jetstream-stream"] == "claude_cli_integration"
    assert document["channels"]["agent_status"]["x-jetstream-consumers"] == ["agent_status_monitor"]
    assert "x-jetstream-stream" not in document["channels"]["agent_commands"]
    assert document["x-nats-max-payload"] == topology.max_payload


@pytest.mark.parametrize(("suffix", "load"), [(".json", json.loads), (".yaml", yaml.safe_load)])
def test_write_asyncapi_picks_the_format_by_suffix(
    tmp_path: Path, suffix: str, load: Any, document: dict[str, Any]
) -> None:
    path = tmp_path / f"asyncapi{suffix}"
    text = write_asyncapi(path)
    assert path.read_text("utf-8") == text
    assert load(text) == document


def test_write_asyncapi_without_a_path_prints_yaml(
    capsys: pytest.CaptureFixture[str], document: dict[str, Any]
) -> None:
    text = write_asyncapi(None)
    assert capsys.readouterr().out == text
    assert yaml.safe_load(text) == document


def test_write_asyncapi_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\*\.json, \*\.yaml or \*\.yml"):
        write_asyncapi(tmp_path / "asyncapi.txt")


def test_the_command_writes_the_document(tmp_path: Path) -> None:
    from simulator.cli import main

    out = tmp_path / "asyncapi.json"
    assert main(["asyncapi", "-o", str(out)]) == 0
    document = json.loads(out.read_text("utf-8"))
    assert document["asyncapi"].startswith("3.0")
    assert "x-jetstream-streams" in document
