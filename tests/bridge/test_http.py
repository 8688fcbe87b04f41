"""``hook serve``: the same bridge for Claude Code's ``http`` hooks, POSTs as Claude Code sends
them, against the embedded server; failures are 200 JSON decisions, never error statuses."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_mistersmith.janitor import TopologyState
from simulator.agents.hooks import HookResponder
from simulator.bridge import BridgeConfig, HookServer
from simulator.servers import BinaryServer
from tests.bridge.hooks import sample, tool
from tests.bridge.test_command import TABLE

pytestmark = pytest.mark.asyncio

PRE = sample("PreToolUse")


def post(url: str, body: bytes | dict[str, Any]) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def hook_server(nats_server: BinaryServer) -> Iterator[HookServer]:
    with HookServer(BridgeConfig(url=nats_server.client_url, timeout=1.0)) as server:
        yield server


@pytest.mark.parametrize(("case", "stdin", "expected"), TABLE, ids=[t[0] for t in TABLE])
async def test_answers(
    hook_server: HookServer,
    responder: HookResponder,
    case: str,
    stdin: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    assert await asyncio.to_thread(post, hook_server.url, stdin) == (200, expected)


async def test_healthz(hook_server: HookServer) -> None:
    def get() -> tuple[int, Any]:
        base = hook_server.url.rsplit("/", 1)[0]
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())

    assert await asyncio.to_thread(get) == (200, {"status": "ok", "nats": True})
    assert hook_server.url.startswith("http://127.0.0.1:")


async def test_silent_service_is_denied_in_the_body(
    hook_server: HookServer, mistersmith_topology: TopologyState
) -> None:
    status, body = await asyncio.to_thread(post, hook_server.url, PRE)
    assert status == 200
    decision = body["hookSpecificOutput"]
    assert decision["permissionDecision"] == "deny"
    assert "no hook answer within 1 s" in decision["permissionDecisionReason"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", {"continue": False}),
        (sample("PostToolUse", tool_input="x"), {"decision": "block"}),
    ],
    ids=["not-json", "post-tool-bad-field"],
)
async def test_bad_input_is_blocked(
    hook_server: HookServer, body: bytes | dict[str, Any], expected: dict[str, Any]
) -> None:
    status, answer = await asyncio.to_thread(post, hook_server.url, body)
    assert status == 200
    assert expected.items() <= answer.items()
    assert "denied (--on-failure deny)" in (answer.get("stopReason") or answer["reason"])


async def test_no_server_fails_closed_per_request() -> None:
    with HookServer(BridgeConfig(url="nats://127.0.0.1:1", timeout=1.0)) as server:
        status, body = await asyncio.to_thread(post, server.url, tool(PRE, "Read"))
    assert status == 200
    assert body["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "cannot reach NATS" in body["hookSpecificOutput"]["permissionDecisionReason"]


async def test_allow_on_failure_when_asked() -> None:
    config = BridgeConfig(url="nats://127.0.0.1:1", timeout=1.0, on_failure="allow")
    with HookServer(config) as server:
        assert await asyncio.to_thread(post, server.url, PRE) == (200, {})


async def test_hook_serve_command(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> None:
    """``mistersmith hook serve`` prints its URL, answers, and stops on SIGTERM."""
    import signal
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "hook", "serve", "--url", nats_server.client_url,
        "--timeout", "0.5",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/hook")
        status, body = await asyncio.to_thread(post, url, PRE)  # nobody answers: denied
        assert status == 200
        assert body["hookSpecificOutput"]["permissionDecision"] == "deny"
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0


async def test_concurrent_hooks_each_get_their_own_answer(
    hook_server: HookServer, responder: HookResponder
) -> None:
    tools = ["Read", "Bash", "Edit"] * 8
    documents = [
        {**tool(PRE, name, file_path=f"/f{k}"), "session_id": f"s{k % 3}"}
        for k, name in enumerate(tools)
    ]
    answers = await asyncio.gather(
        *(asyncio.to_thread(post, hook_server.url, d) for d in documents)
    )
    for name, (status, body) in zip(tools, answers, strict=True):
        assert status == 200
        decision = body["hookSpecificOutput"]["permissionDecision"]
        assert decision == ("deny" if name == "Bash" else "allow"), (name, body)
        if name == "Edit":
            assert body["hookSpecificOutput"]["updatedInput"]["replace_all"] is False
    assert len(responder.events) == len(tools)
