"""Claude Code's events the spec has no hook type for: each run through ``mistersmith-hook`` as
Claude Code runs it, published on ``cli.context.{session}.{context_type}`` as a
``ClaudeContext``, answered with Claude Code's neutral ``{}`` (spec-notes 27)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_mistersmith.janitor import TopologyState
from simulator.bridge.claude import CONTEXT, parse_input
from simulator.protocol import channels
from simulator.protocol.models import ClaudeContext, ClaudeContextType, HookEvent
from simulator.servers import BinaryServer
from tests.bridge.hooks import DATA, run_hook, sample

SESSION = "9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"
_COMMON = {"session_id", "transcript_path", "cwd", "permission_mode", "hook_event_name"}
#: Every sample input of tests/data/claude_hooks for an event published on cli.context.
SAMPLES = sorted(p.stem for p in DATA.glob("*.json") if p.stem in CONTEXT)


def test_the_samples_cover_the_issues_events() -> None:
    wanted = {"Stop", "SubagentStop", "UserPromptSubmit", "Notification", "PreCompact"}
    assert wanted | {"PermissionRequest", "SessionEnd"} <= set(SAMPLES)


def test_every_context_type_is_a_claude_code_event_name() -> None:
    assert {t.value for t in CONTEXT.values()} == {t.value for t in ClaudeContextType}
    assert CONTEXT["UserPromptSubmit"] is ClaudeContextType.USER_PROMPT_SUBMIT
    assert "file_change" not in {t.value for t in ClaudeContextType}


def test_the_catalogue_places_each_context_type() -> None:
    assert channels.for_subject(f"cli.context.{SESSION}.file_change").payload is HookEvent
    for context_type in ClaudeContextType:
        chan = channels.for_subject(f"cli.context.{SESSION}.{context_type}")
        assert (chan.name, chan.payload) == ("cli_context", ClaudeContext)
    assert channels.channel("cli_context").stream == "claude_cli_integration"


@pytest.mark.asyncio
@pytest.mark.parametrize("event", SAMPLES)
async def test_published_and_answered_neutrally(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
    event: str,
) -> None:
    stdin = sample(event)
    async with nats_capture("cli.>") as published:
        code, out, err = await run_hook(nats_server.client_url, stdin, "--timeout", "5")
    assert (code, json.loads(out), err) == (0, {}, "")
    (msg,) = published.messages
    context_type = CONTEXT[event].value
    assert msg.subject == f"cli.context.{SESSION}.{context_type}"
    record = ClaudeContext.model_validate_json(msg.data)
    assert record.context_type.value == context_type
    assert (record.group_id, record.session_id, record.agent_id) == (SESSION, SESSION, SESSION)
    assert (record.cwd, record.permission_mode) == ("/home/dev/demo", "default")
    assert record.data == {k: v for k, v in stdin.items() if k not in _COMMON}


@pytest.mark.asyncio
async def test_the_session_is_the_group_whatever_the_agent_id(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    stdin = sample("Stop", session_id="s.1 x")
    async with nats_capture("cli.context.>", model=ClaudeContext) as published:
        code, _, _ = await run_hook(nats_server.client_url, stdin, "--agent-id", "claude-1")
    assert code == 0
    (msg,) = published.messages
    assert msg.subject == "cli.context.s_1_x.stop"
    assert msg.model is not None and msg.model.agent_id == "claude-1"
    assert msg.model.session_id == "s.1 x"


@pytest.mark.asyncio
async def test_no_server_fails_closed_for_a_context_event() -> None:
    code, out, err = await run_hook("nats://127.0.0.1:1", sample("Stop"), "--timeout", "1")
    assert (code, out) == (2, "")
    assert "cannot reach NATS" in err and err.rstrip().endswith("denied (--on-failure deny)")


def test_a_record_that_cannot_be_made_names_the_field() -> None:
    from simulator.bridge.claude import BridgeError, context_record
    from simulator.bus import now

    claude = parse_input(json.dumps(sample("Stop")).encode())
    with pytest.raises(BridgeError, match="Stop does not make a ClaudeContext: context_id"):
        context_record(claude, "a1", now(), "not-a-uuid")
