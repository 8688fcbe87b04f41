"""The ``command`` hook as Claude Code runs it: a process per hook, JSON on stdin, against the
embedded server with a hook responder answering on NATS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from pytest_mistersmith.janitor import TopologyState
from simulator.agents.hooks import HookResponder
from simulator.protocol import channels
from simulator.protocol.headers import HOOK_EVENT_ID
from simulator.protocol.models import HookEvent, HookType
from simulator.servers import BinaryServer
from tests.bridge.hooks import ENTRIES, run_hook, sample, tool

pytestmark = pytest.mark.asyncio


PRE = sample("PreToolUse")

#: (stdin, exit code, stdout JSON) for the answered events, each through a real process.
TABLE: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "approve",
        tool(PRE, "Read", file_path="/etc/hosts"),
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "allow",
                "permissionDecisionReason": "fine",
            }
        },
    ),
    (
        "block",
        PRE,
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "no Bash here",
            }
        },
    ),
    (
        "modify",
        tool(PRE, "Edit", file_path="/a.py", old_string="x", new_string="y"),
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "allow",
                "updatedInput": {
                    "file_path": "/a.py",
                    "old_string": "x",
                    "new_string": "y",
                    "replace_all": False,
                },
            }
        },
    ),
    ("stop", tool(PRE, "Task"), {"continue": False, "stopReason": "enough for today"}),
    ("post-block", sample("PostToolUse", tool_name="Bash"),
     {"decision": "block", "reason": "no Bash here"}),
    ("post-approve", sample("PostToolUse"), {}),
    ("error", sample("PostToolUseFailure", tool_name="Read"), {}),
    ("startup", sample("SessionStart"), {}),
    ("file-change", sample("FileChanged"), {}),
    ("neutral-stop", sample("Stop"), {}),
    ("neutral-prompt", sample("UserPromptSubmit"), {}),
    ("neutral-notification", sample("Notification"), {}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "stdin", "expected"), TABLE, ids=[t[0] for t in TABLE])
async def test_answers(
    nats_server: BinaryServer,
    responder: HookResponder,
    case: str,
    stdin: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    code, out, err = await run_hook(nats_server.client_url, stdin)
    assert (code, err) == (0, "")
    assert json.loads(out) == expected


@pytest.mark.parametrize("entry", sorted(ENTRIES))
async def test_both_entry_points(
    nats_server: BinaryServer, responder: HookResponder, entry: str
) -> None:
    code, out, _ = await run_hook(nats_server.client_url, PRE, entry=entry)
    assert code == 0
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    code, out, err = await run_hook("nats://127.0.0.1:1", PRE, "--timeout", "1", entry=entry)
    assert (code, out) == (2, "") and "cannot reach NATS" in err


async def test_the_command_hook_imports_only_what_it_needs() -> None:
    """A process per hook: neither rich, the swarm, the servers nor the other commands."""
    import subprocess
    import sys

    heavy = ("rich", "simulator.swarm", "simulator.servers.binary", "simulator.cli.run", "docker")
    for code in ("import simulator.bridge.command", "import simulator.cli"):
        shown = f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
        out = subprocess.run(
            [sys.executable, "-c", f"import sys; {code}; {shown}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert out.stdout.strip() == "[]", (code, out.stdout)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
async def test_a_usage_error_blocks(entry: str) -> None:
    code, out, err = await run_hook("nats://127.0.0.1:1", PRE, "--timeout", "-1", entry=entry)
    assert (code, out) == (2, "")
    assert "--timeout" in err


async def test_the_event_on_the_wire(nats_server: BinaryServer, responder: HookResponder) -> None:
    code, _, _ = await run_hook(nats_server.client_url, sample("PostToolUseFailure"))
    assert code == 0
    (event,) = responder.events
    assert event.hook_type is HookType.ON_ERROR
    assert event.agent_id == "9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"
    assert event.context_id == "toolu_01ABC125"
    assert event.tool_name == "Bash"
    assert event.tool_response == {
        "error": "Command exited with non-zero status code 2",
        "is_interrupt": False,
    }


async def test_agent_id_option_names_the_subject(
    nats_server: BinaryServer, responder: HookResponder, nats_capture: Any
) -> None:
    async with nats_capture("cli.hooks.>", model=HookEvent) as hooks:
        code, _, _ = await run_hook(
            nats_server.client_url, tool(PRE, "Read"), "--agent-id", "claude-1"
        )
        assert code == 0
    (msg,) = hooks.messages
    assert msg.subject == channels.channel("cli_hook").subject_for(
        {"hook_type": "pre_task", "agent_id": "claude-1"}
    )


async def test_session_id_is_made_a_token(
    nats_server: BinaryServer, responder: HookResponder
) -> None:
    code, _, _ = await run_hook(
        nats_server.client_url, {**tool(PRE, "Read"), "session_id": "a.b c*d"}
    )
    assert code == 0
    assert [e.agent_id for e in responder.events] == ["a_b_c_d"]


async def test_2_1_dialect(nats_server: BinaryServer, responder: HookResponder) -> None:
    code, out, _ = await run_hook(nats_server.client_url, PRE, "--dialect", "2.1")
    assert code == 0
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"


# --- failures: each gives the fail-closed answer, exit 2 and one stderr line, in bounded time ---


def failed(code: int, out: str, err: str, cause: str) -> None:
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("mistersmith hook: ")
    assert cause in err and err.rstrip().endswith("denied (--on-failure deny)")


async def test_no_server() -> None:
    started = time.monotonic()
    code, out, err = await run_hook("nats://127.0.0.1:1", PRE, "--timeout", "3")
    failed(code, out, err, "cannot reach NATS at nats://127.0.0.1:1")
    assert time.monotonic() - started < 30  # bounded (generous: a loaded machine)


async def test_silent_service(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> None:
    code, out, err = await run_hook(nats_server.client_url, PRE, "--timeout", "0.5")
    failed(code, out, err, "no hook answer within 0.5 s")


async def test_silent_service_allowed_on_request(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> None:
    code, out, err = await run_hook(
        nats_server.client_url, PRE, "--timeout", "0.5", "--on-failure", "allow"
    )
    assert (code, json.loads(out)) == (0, {})
    assert "no hook answer" in err and "allowed (--on-failure allow)" in err


async def test_malformed_answer(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client
) -> None:
    async def answer(msg: Msg) -> None:
        event = HookEvent.model_validate_json(msg.data)
        subject = channels.channel("cli_response").subject_for({"agent_id": event.agent_id})
        headers = {HOOK_EVENT_ID: (msg.headers or {})[HOOK_EVENT_ID]}
        await nats_client.publish(subject, b'{"decision": "maybe"}', headers=headers)

    await nats_client.subscribe(channels.channel("cli_hook").template.wildcard, cb=answer)
    await nats_client.flush()
    code, out, err = await run_hook(nats_server.client_url, PRE)
    failed(code, out, err, "malformed answer on cli.responses.")
    assert "decision" in err


@pytest.mark.parametrize(
    ("stdin", "cause"),
    [
        (b"not json", "stdin is not JSON"),
        (b"[1, 2]", "stdin is a JSON list, not an object"),
        (b'{"session_id": "s"}', "no hook_event_name"),
        (json.dumps({**PRE, "hook_event_name": "ToolDreamt"}).encode(), "unknown hook_event_name"),
        (json.dumps({**PRE, "tool_input": "rm -rf /"}).encode(), "tool_input"),
    ],
    ids=["not-json", "not-object", "no-event", "unknown-event", "bad-field"],
)
async def test_bad_stdin(nats_server: BinaryServer, stdin: bytes, cause: str) -> None:
    failed(*(await run_hook(nats_server.client_url, stdin)), cause)


async def test_bad_agent_id(nats_server: BinaryServer) -> None:
    code, out, err = await run_hook(nats_server.client_url, PRE, "--agent-id", "a.b")
    failed(code, out, err, "--agent-id 'a.b' is not a subject token")


async def test_oversize_input(nats_server: BinaryServer) -> None:
    big = {**PRE, "tool_input": {"content": "x" * (1 << 20)}}
    code, out, err = await run_hook(nats_server.client_url, big)
    failed(code, out, err, "exceeds the limit of 1048576")
