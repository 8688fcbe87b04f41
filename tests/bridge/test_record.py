"""Record and replay: every hook the bridge handles as a JSONL line; a replay feeds the inputs
back through a bridge, in order, fanned out to several agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.agents.hooks import HookResponder
from simulator.bridge import BridgeConfig, HookBridge, read_records, replay
from simulator.protocol.models import HookEvent
from simulator.servers import BinaryServer
from tests.bridge.hooks import run_hook, sample, tool

PRE = sample("PreToolUse")
SESSION = [
    sample("SessionStart"),
    tool(PRE, "Read", file_path="/a"),
    PRE,  # Bash: blocked
    tool(PRE, "Edit", file_path="/a.py"),
    sample("PostToolUse"),
    sample("Stop"),
]


@pytest.mark.asyncio
async def test_record_then_replay(
    nats_server: BinaryServer, responder: HookResponder, tmp_path: Path, nats_capture: Any
) -> None:
    record = tmp_path / "session.jsonl"
    for document in SESSION:
        code, _, _ = await run_hook(nats_server.client_url, document, "--record", str(record))
        assert code == 0
    records = list(read_records(record))
    assert [r.input for r in records] == SESSION
    assert [r.answer["exit_code"] for r in records] == [0] * len(SESSION)  # type: ignore[index]
    recorded = [r.event for r in records if r.event is not None]
    assert len(recorded) == 6  # Stop's is a ClaudeContext, answered neutrally
    assert recorded[-1]["context_type"] == "stop"  # type: ignore[index]
    first_pass = [(e.hook_type, e.tool_name) for e in responder.events]

    responder.events.clear()
    async with nats_capture("cli.startup", "cli.hooks.>", model=HookEvent) as wire:
        bridge = HookBridge(BridgeConfig(url=nats_server.client_url))
        try:
            answers = await replay(records, bridge.handle, speed=0)
        finally:
            await bridge.close()
    assert [a.output for a in answers] == [r.answer["output"] for r in records]  # type: ignore[index]
    assert [(e.hook_type, e.tool_name) for e in responder.events] == first_pass
    events = wire.messages
    assert events[0].subject == "cli.startup"
    assert [json.loads(m.data)["tool_name"] for m in events[1:]] == [
        "Read", "Bash", "Edit", "Write"
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_replay_fans_sessions_out_to_agents(
    nats_server: BinaryServer, responder: HookResponder, tmp_path: Path
) -> None:
    record = tmp_path / "session.jsonl"
    await run_hook(nats_server.client_url, tool(PRE, "Read"), "--record", str(record))
    bridge = HookBridge(BridgeConfig(url=nats_server.client_url))
    responder.events.clear()
    try:
        answers = await replay(list(read_records(record)), bridge.handle, speed=0, agents=3)
    finally:
        await bridge.close()
    assert [a.exit_code for a in answers] == [0, 0, 0]
    session = PRE["session_id"]
    assert sorted(e.agent_id for e in responder.events) == [f"{session}-{k}" for k in range(3)]


def test_a_broken_record_names_its_line(tmp_path: Path) -> None:
    record = tmp_path / "bad.jsonl"
    record.write_text('{"at": "2026-01-01T00:00:00+00:00", "input": {}}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a bridge record"):
        list(read_records(record))
