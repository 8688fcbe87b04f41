"""The mapping of Claude Code's hook contract, without a server (spec-notes 27)."""

from __future__ import annotations

import json

import pytest

from simulator.bridge.claude import (
    BridgeError,
    agent_id_for,
    claude_answer,
    failure_answer,
    parse_input,
)
from simulator.protocol.models import HookResponse
from tests.bridge.hooks import sample

PRE = parse_input(json.dumps(sample("PreToolUse")).encode())


def answer(**response: object) -> dict[str, object]:
    return claude_answer(PRE, HookResponse.model_validate(response)).output


def test_continue_leaves_the_decision_to_claude_code() -> None:
    assert answer(decision="continue") == {}
    assert answer(decision="approve") != {}


def test_stop_wins_over_the_decision() -> None:
    assert answer(decision="approve", **{"continue": False}, reason="r") == {
        "continue": False,
        "stopReason": "r",
    }


def test_a_block_carries_no_updated_input() -> None:
    specific = answer(decision="block", modifications={"command": "ls"})["hookSpecificOutput"]
    assert specific == {"hookEventName": "PreToolUse", "permissionDecision": "deny"}


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("PreToolUse", {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                               "permissionDecision": "deny",
                                               "permissionDecisionReason": "X"}}),
        ("PostToolUse", {"decision": "block", "reason": "X"}),
        ("SessionStart", {"continue": False, "stopReason": "X"}),
        ("", {"continue": False, "stopReason": "X"}),
    ],
)  # fmt: skip
def test_a_failure_over_http_is_a_blocking_body(event: str, body: dict[str, object]) -> None:
    failed = failure_answer(event, "boom", "deny")
    assert failed.exit_code == 2 and failed.stdout() == ""
    reason = "mistersmith hook: boom; denied (--on-failure deny)"
    assert json.dumps(failed.http_body()) == json.dumps(body).replace('"X"', json.dumps(reason))


def test_allow_on_failure_is_neutral() -> None:
    allowed = failure_answer("PreToolUse", "boom\nand more", "allow")
    assert (allowed.exit_code, allowed.http_body(), allowed.stdout()) == (0, {}, "{}")
    assert "\n" not in allowed.message


def test_agent_ids() -> None:
    assert agent_id_for(None, "ab.c d") == "ab_c_d"
    assert agent_id_for(None, "x" * 300) == "x" * 128
    assert agent_id_for("claude-1", "ignored") == "claude-1"
    with pytest.raises(BridgeError, match="--agent-id 'a b'"):
        agent_id_for("a b", "s")
    with pytest.raises(BridgeError, match="session_id is empty"):
        agent_id_for(None, "")


def test_continue_with_modifications_allows_the_modified_input() -> None:
    specific = answer(decision="continue", modifications={"timeout": 5})["hookSpecificOutput"]
    assert specific["permissionDecision"] == "allow"
    assert specific["updatedInput"] == {**sample("PreToolUse")["tool_input"], "timeout": 5}


def test_the_events_fields() -> None:
    from simulator.bridge.claude import hook_event
    from simulator.bus import now

    def event(name: str, **changes: object) -> dict[str, object]:
        claude = parse_input(json.dumps(sample(name, **changes)).encode())
        return hook_event(claude, "a1", now()).model_dump(mode="json", exclude_none=True)

    start = event("SessionStart")
    assert start["hook_type"] == "startup"
    assert start["session_info"]["model"] == "claude-sonnet-4-5"
    assert start["tool_input"] == {"source": "startup", "model": "claude-sonnet-4-5"}
    assert event("PostToolUse", tool_response="3 files")["tool_response"] == {"output": "3 files"}
    changed = event("FileChanged")
    assert changed["tool_input"] == {"file_path": "/home/dev/demo/.env", "event": "change"}
    assert event("PreToolUse")["session_info"]["model"] == "unknown"
