"""``mistersmith hook-responder`` with ``mistersmith hook``: the whole loop with no code."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from pytest_mistersmith.janitor import TopologyState
from simulator.bridge.responder import modify_rule, service_policy
from simulator.servers import BinaryServer
from tests.bridge.hooks import run_hook, sample, tool

PRE = sample("PreToolUse")


@pytest_asyncio.fixture
async def responder_process(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "hook-responder", "--url", nats_server.client_url,
        "--block-tool", "Bash", "--modify", "Edit:replace_all=false", "--modify", "*:note=hi",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)  # printed once subscribed
    assert line.decode().startswith("answering hooks on ")
    yield process
    process.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "answered: approve 2, block 1" in out.decode()


@pytest.mark.asyncio
async def test_the_loop_with_no_code(
    nats_server: BinaryServer, responder_process: asyncio.subprocess.Process
) -> None:
    url = nats_server.client_url
    code, out, _ = await run_hook(url, PRE)
    assert code == 0
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    code, out, _ = await run_hook(url, tool(PRE, "Edit", file_path="/a.py"))
    assert json.loads(out)["hookSpecificOutput"]["updatedInput"] == {
        "file_path": "/a.py", "replace_all": False, "note": "hi"
    }  # fmt: skip
    code, out, _ = await run_hook(url, tool(PRE, "Read", file_path="/a"))
    assert json.loads(out)["hookSpecificOutput"]["updatedInput"] == {
        "file_path": "/a",
        "note": "hi",
    }


def test_a_modify_rule_must_name_tool_and_key() -> None:
    assert modify_rule("Bash:timeout=60") == ("Bash", "timeout", 60)
    assert modify_rule("*:mode=fast") == ("*", "mode", "fast")
    with pytest.raises(ValueError, match="expected TOOL:KEY=VALUE"):
        modify_rule("Bash=60")


def test_block_rate_is_seeded() -> None:
    from simulator.bridge.claude import agent_id_for, hook_event, parse_input
    from simulator.bus import now

    decide = service_policy(block_rate=0.5, seed=3)
    events = [
        hook_event(parse_input(json.dumps({**PRE, "tool_use_id": f"t{k}"}).encode()),
                   agent_id_for(None, "s"), now())
        for k in range(40)
    ]  # fmt: skip
    first = [decide(e).decision.value for e in events]
    assert first == [decide(e).decision.value for e in events]
    assert 5 < first.count("block") < 35
