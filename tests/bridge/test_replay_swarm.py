"""``mistersmith run --replay``: recorded bridge sessions played as a swarm's agents; the
events reach the server in the recorded order, each session fanned out to N agents."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_mistersmith.janitor import TopologyState
from simulator.bridge.replay_swarm import ReplaySwarm, load_plan
from simulator.errors import ConfigError
from simulator.protocol.models import ClaudeContext, HookEvent
from simulator.servers import BinaryServer
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import HookPolicy, default_scenario
from tests.bridge.hooks import sample, tool
from tests.cli_runs import run_cli

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
GAP = 0.2  # seconds between two recorded hooks of the file


def _session(session: str) -> list[dict[str, Any]]:
    pre = sample("PreToolUse", session_id=session)
    post = sample("PostToolUse", session_id=session)
    return [
        sample("SessionStart", session_id=session),
        tool({**pre, "tool_use_id": "t1"}, "Read", file_path="/a"),
        tool({**post, "tool_use_id": "t1"}, "Read", file_path="/a"),
        sample("UserPromptSubmit", session_id=session),
        tool({**pre, "tool_use_id": "t2"}, "Grep", pattern="x"),
        sample("Stop", session_id=session),
    ]


#: Two sessions, interleaved as they were recorded.
RECORDED = [doc for pair in zip(_session("sA"), _session("sB"), strict=True) for doc in pair]
#: What each agent publishes, in order (cli.startup carries the agent in its payload).
EXPECTED = ["startup", "pre_task", "post_task", "user_prompt_submit", "pre_task", "stop"]


def _write(path: Path, documents: list[dict[str, Any]], gap: float = GAP) -> Path:
    with path.open("w") as out:
        for i, document in enumerate(documents):
            at = (T0 + timedelta(seconds=gap * i)).isoformat()
            line = {"at": at, "input": document, "event": None, "response": None, "answer": {}}
            out.write(json.dumps(line) + "\n")
    return path


def _who_and_what(data: bytes) -> tuple[str, str]:
    document = json.loads(data)
    if "context_type" in document:
        record = ClaudeContext.model_validate(document)
        return record.group_id, record.context_type.value
    event = HookEvent.model_validate(document)
    return event.agent_id, event.hook_type.value


APPROVE = dataclasses.replace(default_scenario(), hooks=HookPolicy(kind="approve_all"))


@pytest.mark.asyncio
async def test_a_replay_reproduces_the_recorded_events_in_order(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
    tmp_path: Path,
) -> None:
    plan = load_plan(_write(tmp_path / "s.jsonl", RECORDED), speed=0, fan_out=2)
    assert list(plan.sessions) == ["sA", "sB"] and plan.agent_count == 4
    metrics = Metrics()
    swarm = ReplaySwarm(nats_server.client_url, plan, APPROVE, metrics=metrics)
    async with nats_capture("cli.>") as wire:
        await swarm.start()
        try:
            await swarm.run()
        finally:
            await swarm.stop()
    played: dict[str, list[str]] = {}
    for msg in wire.messages:
        if not msg.subject.startswith("cli.responses."):
            who, what = _who_and_what(msg.data)
            played.setdefault(who, []).append(what)
    assert played == {agent: EXPECTED for agent in ("sA-0", "sA-1", "sB-0", "sB-1")}
    assert swarm.counts()["offline"] == 4
    # tool calls as tasks: Read completed, Grep still running when the session stopped
    assert (metrics.tasks_started, dict(metrics.tasks)) == (8, {"completed": 4})
    assert dict(metrics.hook_decisions) == {"approve": 16}
    assert metrics.published["cli_context"] == 8 and not metrics.errors


@pytest.mark.asyncio
async def test_the_recorded_pace_is_kept_then_sped_up(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, tmp_path: Path
) -> None:
    path = _write(tmp_path / "s.jsonl", _session("sA")[:3], gap=0.5)
    for speed, at_least in ((1.0, 1.0), (4.0, 0.25)):
        swarm = ReplaySwarm(nats_server.client_url, load_plan(path, speed), APPROVE)
        await swarm.start()
        try:
            began = time.monotonic()
            await swarm.run()
            took = time.monotonic() - began
        finally:
            await swarm.stop()
        assert took >= at_least, (speed, took)  # the recorded gaps, divided by the speed


def test_a_file_that_is_not_a_record_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(ConfigError, match=r"--replay .*bad.jsonl:1: not a bridge record"):
        load_plan(bad)
    empty = _write(tmp_path / "empty.jsonl", [])
    with pytest.raises(ConfigError, match="no recorded session"):
        load_plan(empty)
    with pytest.raises(ConfigError, match="cannot read it"):
        load_plan(tmp_path / "missing.jsonl")


def test_mistersmith_run_replay(tmp_path: Path) -> None:
    recorded = _write(tmp_path / "s.jsonl", RECORDED)
    report = tmp_path / "report.json"
    args = ["--replay", str(recorded), "--speed", "0", "--agents", "2", "--seed", "1"]
    done = run_cli([*args, "--report", str(report)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "running 4 agents" in done.stdout
    data = json.loads(report.read_text())
    assert data["tasks"]["started"] + data["tasks"]["by_status"].get("cancelled", 0) == 8
    assert data["hooks"]["answered"] == 16
    assert data["messages"]["by_family"]["cli_context"] == 8
    assert data["errors"]["total"] == 0, data["errors"]


def test_speed_needs_replay(tmp_path: Path) -> None:
    done = run_cli(["--speed", "2"], tmp_path)
    assert done.returncode == 2
    assert "--speed: only used with --replay" in done.stdout + done.stderr
