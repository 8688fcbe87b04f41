"""The vendored 12.2 JSON Schemas are verbatim copies of the spec's.

``tests/data/spec/nats-transport-spec-12.2.md`` is section 12.2 of the spec's
``nats-transport-spec.md``, copied verbatim (lines 265-383 of the file whose sha256 is
6c047e3c7e5606e7b677621473d891cd5f6e3b520f11bb01eaf68eb13d09264e), so that the check runs in
any clone of this repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

DATA = Path(__file__).resolve().parents[1] / "data"
VENDORED = DATA / "spec_schemas"
SPEC = DATA / "spec" / "nats-transport-spec-12.2.md"
NAMES = ["agent_command", "agent_status", "task_assignment", "task_result"]

# `AGENT_COMMAND_SCHEMA: {` ... up to the first `}` alone at the start of a line.
_BLOCK = re.compile(r"^([A-Z_]+)_SCHEMA: (\{.*?^\})", re.MULTILINE | re.DOTALL)


def vendored(name: str) -> dict[str, Any]:
    """A vendored schema, parsed."""
    schema: dict[str, Any] = json.loads((VENDORED / f"{name}.json").read_text(encoding="utf-8"))
    return schema


def spec_schemas() -> dict[str, str]:
    """The 12.2 schemas as they appear in the spec's text, by file stem."""
    text = SPEC.read_text(encoding="utf-8")
    return {match[1].lower(): match[2] for match in _BLOCK.finditer(text)}


def test_spec_states_exactly_the_vendored_schemas() -> None:
    assert SPEC.read_text(encoding="utf-8").startswith("### 12.2 Message Payload Schemas\n")
    found = spec_schemas()
    assert sorted(found) == NAMES
    for name, text in found.items():
        assert json.loads(text) == vendored(name), name
        assert (VENDORED / f"{name}.json").read_text(encoding="utf-8") == text + "\n", name


@pytest.mark.parametrize("name", NAMES)
def test_vendored_schema_is_a_draft_07_schema(name: str) -> None:
    schema = vendored(name)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)
