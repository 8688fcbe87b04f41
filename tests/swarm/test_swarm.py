"""A small swarm against the embedded server, everything on ``>`` captured: issue 6, part 8."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from pytest_mistersmith.capture import Capture, CapturedMessage
from pytest_mistersmith.janitor import TopologyState
from simulator.protocol import channels, subjects
from simulator.protocol.models import AgentState, TaskAssignment, TaskResult
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario, TaskMix
from simulator.swarm.swarm import _batched
from tests.waits import until

FAST = AgentGroup(count=4, task_duration=(0.01, 0.04), heartbeat_interval=0.2, failure_rate=0.3)
SLOW = AgentGroup(
    name="slow",
    count=1,
    capabilities=("monitoring",),
    task_duration=(3.0, 3.0),
    heartbeat_interval=0.2,
)

#: The mix without monitoring tasks, which only the slow agent takes (when a test says so).
WEIGHTS = {"analysis": 3.0, "synthesis": 2.0, "execution": 3.0, "validation": 1.0}


def scenario(seed: int = 1, *groups: AgentGroup, **hooks: Any) -> Scenario:
    """A small fast scenario (block 20 % of pre_task hooks by default)."""
    policy = HookPolicy(**{"kind": "block_rate", "rate": 0.2, "timeout": 1.0, **hooks})
    return Scenario(
        groups=groups or (FAST,),
        tasks=TaskMix(rate=40.0, weights=WEIGHTS, queue_share=0.3, workflows_per_minute=0.0),
        hooks=policy,
        duration=0.25,
        seed=seed,
        heartbeat_timeout=0.6,
    )


CHANNEL_NAMES = frozenset(c.name for c in channels.CHANNELS)


def family(subject: str) -> str | None:
    """The template name of ``subject``; None for inboxes and the JetStream API."""
    if subject.startswith(("_INBOX.", "$")):
        return None
    return subjects.parse(subject).name


def published(cap: Capture[Any]) -> list[CapturedMessage[Any]]:
    """What was published: not JetStream's deliveries to a consumer (reply ``$JS.ACK...``),
    which a ``>`` subscription also sees under the message's own subject."""
    return [m for m in cap.messages if not m.reply.startswith("$JS.ACK.")]


def _got(cap: Capture[Any]) -> Counter[str]:
    return Counter(f for f in (family(m.subject) for m in published(cap)) if f)


async def caught_up(cap: Capture[Any], metrics: Metrics, timeout: float = 5.0) -> Counter[str]:
    """Wait until the capture holds every message the swarm counted, per subject family."""

    def complete() -> bool:
        got = _got(cap)
        return all(got[f] >= n for f, n in metrics.published.items() if f in CHANNEL_NAMES)

    await until(cap, complete, "the capture holds every message the swarm counted", timeout)
    return _got(cap)


def results(cap: Capture[Any]) -> dict[str, list[TaskResult]]:
    out: dict[str, list[TaskResult]] = {}
    for m in published(cap):
        if family(m.subject) in ("task_result", "task_error"):
            result = TaskResult.model_validate_json(m.data)
            out.setdefault(result.task_id, []).append(result)
    return out


@pytest.mark.asyncio
async def test_swarm_proof(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    jetstream: JetStreamContext,
    nats_capture: Any,
) -> None:
    async with nats_capture(">") as cap:
        async with Swarm(nats_server.client_url, scenario(1, FAST, SLOW)) as s:
            d = s.dispatcher
            assert d is not None
            slow = await d.submit("monitoring", path="stream")
            await d.dispatch(12)
            for _ in range(3):
                await d.start_workflow()
            reply = await nats_client.request(
                subjects.agent_commands("worker-0", "configure"),
                _command("worker-0", "configure", {"max_tasks": 3}),
                timeout=2,
            )
            assert json.loads(reply.data)["accepted"] is True
            slow_0 = s.agent("slow-0")
            await until(cap, lambda: slow_0.state is AgentState.BUSY, "slow-0 busy")
            await d.cancel(slow.task_id, "test cancels the slow task")
            await s.wait_idle()
            await s.agent("worker-3").crash()
            await until(
                cap,
                lambda: "system_alerts" in {family(x) for x in cap.subjects},
                "an alert for the crashed worker-3",
                timeout=3,
            )
        got = await caught_up(cap, s.metrics)

    # every subject resolves through the catalogue; every payload validates against its model
    for m in cap.messages:
        if not m.subject.startswith(("_INBOX.", "$")):
            channels.for_subject(m.subject).payload.model_validate_json(m.data)
    # every channel the simulator's roles publish on appears
    # (cli.mutations: test_hooks; the 2.1 dialect's subjects: test_hooks; cli_context: Claude
    # Code's events, published by the hook bridge as an agent, tests/bridge/test_context)
    dialect_21 = {"control_startup", "agent_hook", "ctx_file_change", "agent_hook_response"}
    ours = {c.name for c in channels.CHANNELS if c.publishers & channels.SIMULATED}
    expected = ours - {"cli_mutation", "cli_context"} - dialect_21
    assert expected - set(got) == set()
    # every assignment got exactly one result or error
    final = results(cap)
    assert {a.task_id for a in d.assigned} == set(final)
    assert all(len(v) == 1 for v in final.values()), final
    statuses = Counter(v[0].status.value for v in final.values())
    assert statuses["completed"] and statuses["cancelled"] and statuses["failed"]
    assert final[slow.task_id][0].status.value == "cancelled"
    # blocked tasks never ran
    blocked = {
        t
        for t, (r, *_) in final.items()
        if r.error_details is not None and r.error_details.error_code == "hook_blocked"
    }
    assert blocked
    progressed = {
        m.subject.split(".")[1] for m in cap.messages if family(m.subject) == "task_progress"
    }
    assert blocked.isdisjoint(progressed)
    # workflows: orchestration, dependencies, coordination, and at least one rollback
    assert got["workflow_rollback"] >= 1
    # every message the topology should store is in its stream
    for name, info in mistersmith_topology.streams.items():
        patterns = info.config.subjects or []
        stored = sum(
            1
            for x in (m.subject for m in published(cap))
            if not x.startswith(("_INBOX.", "$")) and any(subjects.matches(p, x) for p in patterns)
        )
        state = await jetstream.stream_info(name)
        assert state.state.messages == stored, name
    assert s.counts()["offline"] == 4 and s.counts()["error"] == 1


def _command(agent: str, kind: str, payload: dict[str, Any] | None = None) -> bytes:
    import uuid
    from datetime import datetime, timezone

    body: dict[str, Any] = {
        "command_id": str(uuid.uuid4()),
        "command_type": kind,
        "agent_id": agent,
        "timestamp": datetime.now(timezone.utc).isoformat(),
    }
    if payload is not None:
        body["payload"] = payload
    return json.dumps(body).encode()


_VOLATILE = {"timestamp", "start_time", "execution_time_ms", "deadline", "uptime_seconds"}
_DETERMINED = {
    "task_assignment",
    "task_queue",
    "task_progress",
    "task_result",
    "task_error",
    "cli_hook",
    "cli_response",
    "cli_startup",
    "cli_file_change",
    "workflow_orchestration",
    "workflow_dependencies",
    "workflow_coordination",
    "workflow_rollback",
}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


async def _seeded_run(url: str, seed: int, capture: Any) -> list[tuple[str, str]]:
    async with capture(">") as cap:
        async with Swarm(url, scenario(seed)) as s:
            assert s.dispatcher is not None
            await s.dispatcher.dispatch(10)
            await s.dispatcher.start_workflow()
            await s.wait_idle()
        await caught_up(cap, s.metrics)
    return sorted(
        (m.subject, json.dumps(_strip(json.loads(m.data)), sort_keys=True))
        for m in published(cap)
        if family(m.subject) in _DETERMINED
    )


@pytest.mark.asyncio
async def test_same_seed_same_payloads(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
) -> None:
    first = await _seeded_run(nats_server.client_url, 5, nats_capture)
    second = await _seeded_run(nats_server.client_url, 5, nats_capture)
    assert first == second
    assert len(first) > 50
    other = await _seeded_run(nats_server.client_url, 6, nats_capture)
    assert other != first


@pytest.mark.asyncio
async def test_run_dispatches_at_the_rate_then_idles(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> None:
    sc = scenario(2)
    async with Swarm(nats_server.client_url, sc) as s:
        await s.run(0.25)
        assert s.dispatcher is not None
        assert len(s.dispatcher.assigned) == int(sc.tasks.rate * 0.25)
        assert s.counts()["idle"] == FAST.count
        assert sum(s.metrics.tasks.values()) == len(s.dispatcher.assigned)
    assert s.counts() == {**dict.fromkeys(s.counts(), 0), "offline": FAST.count}


@pytest.mark.asyncio
async def test_a_test_can_consume_the_stream_tasks_itself(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, jetstream: JetStreamContext
) -> None:
    async with Swarm(nats_server.client_url, scenario(4), task_consumer=None) as s:
        assert s.dispatcher is not None
        task = await s.dispatcher.submit("analysis", path="stream")
        psub = await jetstream.pull_subscribe_bind("task_processor", "task_lifecycle")
        (msg,) = await psub.fetch(1, timeout=2)
        assert TaskAssignment.model_validate_json(msg.data).task_id == task.task_id
        await msg.ack()
        assert all(a.tasks_done == 0 for a in s.agents)
        assert set(s.dispatcher.outstanding) == {task.task_id}


@pytest.mark.asyncio
async def test_agents_start_in_a_window_the_next_as_soon_as_one_is_up() -> None:
    """Must fail with batches: one slow start (a late hook answer) does not hold up the next
    ones; never more than the window at once; every start runs, in order."""
    started: list[int] = []
    running, most = 0, 0
    slow = asyncio.Event()

    async def start(i: int) -> None:
        nonlocal running, most
        started.append(i)
        running += 1
        most = max(most, running)
        if i == 0:
            await slow.wait()  # the first one waits for the last one to have started
        else:
            await asyncio.sleep(0)
            if i == 9:
                slow.set()
        running -= 1

    await asyncio.wait_for(_batched((start(i) for i in range(10)), size=3), 5)
    assert started == list(range(10)) and most == 3


@pytest.mark.asyncio
async def test_a_failed_start_is_raised_and_the_rest_not_started() -> None:
    started: list[int] = []

    async def start(i: int) -> None:
        started.append(i)
        await asyncio.sleep(0.01 * i)
        if i == 1:
            raise RuntimeError("agent 1 failed")

    with pytest.raises(RuntimeError, match="agent 1 failed"):
        await _batched((start(i) for i in range(10)), size=2)
    assert started == [0, 1, 2]  # 2 took 0's place; 1's failure ended the window
