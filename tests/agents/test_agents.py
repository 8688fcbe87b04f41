"""Agents on the embedded server: status, heartbeats, commands, discovery, crashes, cancels."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest
from nats.aio.client import Client

from pytest_mistersmith.janitor import TopologyState
from simulator.agents import Runtime
from simulator.agents.agent import Agent
from simulator.agents.payloads import AuditRecord, CommandReply, make
from simulator.bus import Bus, dump, now
from simulator.protocol import subjects
from simulator.protocol.models import (
    AgentCommand,
    AgentState,
    AgentStatus,
    CapabilityQuery,
    CapabilityResponse,
    CommandType,
    ConfigChange,
    ControlMessage,
    TaskResult,
    TaskStatus,
)
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import AgentGroup
from tests.scenarios import quick_scenario as scenario


def command(agent: str, kind: str, payload: dict[str, Any] | None = None) -> bytes:
    cmd = make(
        AgentCommand,
        command_id=str(uuid.uuid4()),
        command_type=CommandType(kind),
        agent_id=agent,
        timestamp=now(),
        payload=payload,
    )
    return cmd.model_dump_json(by_alias=True, exclude_none=True).encode()


async def ask(client: Client, agent: str, kind: str, **payload: Any) -> CommandReply:
    msg = await client.request(
        subjects.agent_commands(agent, kind), command(agent, kind, payload or None), timeout=2
    )
    return CommandReply.model_validate_json(msg.data)


@pytest.mark.asyncio
async def test_lifecycle_status_and_heartbeats(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
) -> None:
    async with (
        nats_capture("agents.worker-0.status", "agents.worker-0.status.*", model=AgentStatus) as st,
        nats_capture("agents.*.heartbeat", model=AgentStatus) as hb,
    ):
        async with Swarm(nats_server.client_url, scenario()) as s:
            await hb.wait_for(6)
            assert {a.agent_id for a in s.agents} == {"worker-0", "worker-1", "worker-2"}
            assert all(a.state is AgentState.IDLE for a in s.agents)
        await st.wait_for(8)  # after the drain: stopping and offline too
    states = [m.subject.rsplit(".", 1)[-1] for m in st.messages if m.subject.count(".") == 3]
    assert states == ["starting", "idle", "stopping", "offline"]
    beat = hb.models[0]
    assert beat.last_heartbeat is not None and beat.max_tasks == 2


@pytest.mark.asyncio
async def test_stop_command_replies_and_drains(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    nats_capture: Any,
) -> None:
    async with (
        nats_capture("agents.worker-1.status.offline", model=AgentStatus) as off,
        nats_capture("system.audit.>", model=AuditRecord) as audit,
        Swarm(nats_server.client_url, scenario()) as s,
    ):
        reply = await ask(nats_client, "worker-1", "stop")
        assert reply.accepted and reply.status is AgentState.STOPPING
        assert reply.outcome.startswith("stopping: 0 running task(s) will finish")
        await off.wait_for(1)
        assert s.agent("worker-1").state is AgentState.OFFLINE
        again = await ask(nats_client, "worker-2", "stop")
        assert again.accepted
        await audit.wait_for(2)
        assert [r.action for r in audit.models] == ["stop", "stop"]


@pytest.mark.asyncio
async def test_pause_resume_configure_execute(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    nats_capture: Any,
) -> None:
    async with (
        nats_capture("tasks.*.result", model=TaskResult) as results,
        Swarm(nats_server.client_url, scenario()) as s,
    ):
        assert (await ask(nats_client, "worker-0", "pause")).outcome.startswith("paused")
        assert not s.agent("worker-0").accepting
        bad = await ask(nats_client, "worker-0", "configure", max_tasks=0)
        assert not bad.accepted and "max_tasks" in bad.outcome
        good = await ask(nats_client, "worker-0", "configure", max_tasks=4)
        assert good.accepted and s.agent("worker-0").max_tasks == 4
        mismatch = await nats_client.request(
            subjects.agent_commands("worker-0", "stop"), command("worker-0", "pause"), 2
        )
        assert "subject says stop" in CommandReply.model_validate_json(mismatch.data).outcome
        refused = await ask(nats_client, "worker-0", "execute", task_type="analysis")
        assert not refused.accepted
        assert (await ask(nats_client, "worker-0", "resume")).outcome == "resumed"
        done = await ask(nats_client, "worker-0", "execute", task_type="analysis")
        assert done.accepted and done.data is not None
        await results.wait_for(1)
        assert results.models[0].task_id == done.data["task_id"]
        assert results.models[0].agent_id == "worker-0"
        await s.wait_idle()


@pytest.mark.asyncio
async def test_capability_query_gets_a_response_per_agent(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client
) -> None:
    async with Swarm(nats_server.client_url, scenario(), dispatcher=False):
        inbox = nats_client.new_inbox()
        sub = await nats_client.subscribe(inbox)
        query = CapabilityQuery(
            query_id=str(uuid.uuid4()), required_capabilities=["analysis"], timestamp=now()
        )
        await nats_client.publish(
            subjects.system_discovery("agents"),
            query.model_dump_json(by_alias=True, exclude_none=True).encode(),
            reply=inbox,
        )
        answers = [CapabilityResponse.model_validate_json((await sub.next_msg(2)).data)]
        answers += [CapabilityResponse.model_validate_json((await sub.next_msg(2)).data)]
        answers += [CapabilityResponse.model_validate_json((await sub.next_msg(2)).data)]
        assert sorted(a.agent_id for a in answers) == ["worker-0", "worker-1", "worker-2"]
        assert all(a.query_id == query.query_id and "analysis" in a.capabilities for a in answers)


@pytest.mark.asyncio
async def test_own_heartbeats_reach_listeners_in_process_not_through_the_server(
    nats_server: BinaryServer, nats_client: Client
) -> None:
    """The heartbeat connection does not echo: own beats go to listeners, others' to handlers."""
    bus = await Bus.connect(nats_server.client_url, Metrics(), heartbeats=True)
    received: list[str] = []
    heard: list[list[str]] = []
    arrived = asyncio.Event()

    async def handler(msg: Any) -> None:
        received.append(msg.subject)
        arrived.set()

    try:
        remove = bus.on_heartbeat(heard.append)
        sub = await bus.subscribe_heartbeats(handler)
        await bus.settle()
        own = [(f"own-{i}", subjects.agent_heartbeat(f"own-{i}"), b"{}") for i in (1, 2)]
        await bus.publish_heartbeats(own)
        await nats_client.publish(subjects.agent_heartbeat("other-1"), b"{}")
        await nats_client.flush()
        await asyncio.wait_for(arrived.wait(), 5)
        await bus.settle()  # an echo of our own beats would be read before this returns
        assert heard == [["own-1", "own-2"]]  # one call per batch
        assert sub.delivered == 1
        assert received == [subjects.agent_heartbeat("other-1")]
        assert bus.metrics.published["agent_heartbeat"] == 2
        remove()
        await bus.publish_heartbeats(own)
        assert heard == [["own-1", "own-2"]]
    finally:
        await bus.close()
    assert bus.client.is_closed and bus.beats.is_closed


@pytest.mark.asyncio
async def test_crash_redelivers_its_stream_tasks(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
) -> None:
    slow = AgentGroup(count=3, task_duration=(0.4, 0.4), heartbeat_interval=0.1, failure_rate=0.0)
    async with (
        nats_capture("agents.worker-0.status.busy") as busy,
        nats_capture("tasks.*.result", "tasks.*.error", model=TaskResult) as final,
        Swarm(nats_server.client_url, scenario(slow)) as s,
    ):
        assert s.dispatcher is not None
        tasks = [await s.dispatcher.submit(path="stream") for _ in range(6)]
        await busy.wait_for(1)
        held = set(s.agent("worker-0").running)
        assert held
        await s.agent("worker-0").crash()
        await s.wait_idle()
        await final.wait_for(len(tasks))
    by_task = {r.task_id: r for r in final.models}
    assert len(final.models) == len(tasks) == len(by_task)
    for task_id in held:
        assert by_task[task_id].agent_id != "worker-0"
        assert by_task[task_id].status.value == "completed"


@pytest.mark.asyncio
async def test_a_task_past_max_deliver_is_closed_as_failed(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> None:
    """No agent here takes it: nak'ed until max_deliver, then the dispatcher stops waiting."""
    async with Swarm(nats_server.client_url, scenario()) as s:
        d = s.dispatcher
        assert d is not None
        d.capable["monitoring"] = ["ghost-1"]  # an agent that is gone; nobody here offers it
        orphan = await d.submit("monitoring", path="stream")
        normal = await d.submit("analysis", path="stream")
        await s.wait_idle(timeout=15)  # task_processor: max_deliver 5, each nak 0.5 s apart
        assert d.undeliverable == [orphan.task_id]
        assert d.finished == {
            orphan.task_id: TaskStatus.FAILED,
            normal.task_id: TaskStatus.COMPLETED,
        }
        assert s.metrics.error_counts["dispatcher"] == 1
        assert "max_deliver" in s.metrics.errors[-1]


@pytest.mark.asyncio
async def test_cancel_and_deadline(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
) -> None:
    slow = AgentGroup(count=2, task_duration=(2.0, 2.0), heartbeat_interval=0.1, failure_rate=0.0)
    async with (
        nats_capture("tasks.*.result", "tasks.*.error", model=TaskResult) as final,
        Swarm(nats_server.client_url, scenario(slow, deadline=0.3)) as s,
    ):
        assert s.dispatcher is not None
        late = await s.dispatcher.submit("analysis", path="queue")
        await final.wait_for(1, timeout=3)
        assert final.subjects == [subjects.task_error(late.task_id)]
        assert final.models[0].status.value == "timeout"
        async with Swarm(nats_server.client_url, scenario(slow, deadline=None)) as s:
            assert s.dispatcher is not None
            task = await s.dispatcher.submit("execution", path="stream")
            async with nats_capture(subjects.task_progress(task.task_id)) as progress:
                await progress.wait_for(1, timeout=3)
            await s.dispatcher.cancel(task.task_id, "not needed any more")
            await final.wait_for(2)
            cancelled = final.models[1]
            assert final.subjects[1] == subjects.task_result(task.task_id)
            assert cancelled.status.value == "cancelled"
            assert cancelled.error_details is not None
            assert cancelled.error_details.error_message == "not needed any more"
            await s.wait_idle()


@pytest.mark.asyncio
async def test_a_cancel_before_its_task_is_honoured(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    async with (
        nats_capture("tasks.*.result", model=TaskResult) as final,
        Swarm(nats_server.client_url, scenario()) as s,
    ):
        assert s.dispatcher is not None
        task_id = str(uuid.uuid4())
        await s.dispatcher.cancel(task_id, "changed my mind")
        await s.runtime.bus.settle()
        await s.dispatcher.submit("analysis", path="queue", task_id=task_id)
        await final.wait_for(1)
        await s.wait_idle()
    assert final.models[0].status.value == "cancelled"
    assert final.models[0].error_details is not None
    assert final.models[0].error_details.error_message == "changed my mind"


@pytest.mark.asyncio
async def test_the_swarm_announces_its_configuration_and_control_operations(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    async with (
        nats_capture("system.control.*", model=ControlMessage) as control,
        nats_capture("system.config.>", model=ConfigChange) as config,
    ):
        async with Swarm(nats_server.client_url, scenario(), dispatcher=False):
            await control.wait_for(1, timeout=3)
        await control.wait_for(2, timeout=3)
        await config.wait_for(1)
    assert control.subjects == ["system.control.start", "system.control.stop"]
    assert [c.agents for c in control.models] == [3, 3]
    assert config.subjects == ["system.config.swarm.applied"]
    assert config.models[0].settings["seed"] == 3


@pytest.mark.parametrize("state", list(AgentState))
@pytest.mark.parametrize("running", [0, 1, 3])
def test_a_status_serialized_by_hand_is_the_models_dump(state: AgentState, running: int) -> None:
    """Must fail if the hand-made status (a status change, a heartbeat) drifts from the
    model's ``dump``: same fields, same order, same formats (capacity as a fraction)."""
    agent = Agent("analyst-7", AgentGroup(max_tasks=3), cast(Runtime, SimpleNamespace(seed=1)))
    agent.state = state
    agent.running = dict.fromkeys(range(running))  # type: ignore[arg-type]
    stamp = now()
    text = stamp.isoformat().replace("+00:00", "Z")
    expected = dump(agent.status(timestamp=stamp))
    assert agent._status_json(text) + b"}" == expected
    beat = AgentStatus.model_validate_json(agent.heartbeat_payload(text))
    assert beat == agent.status(timestamp=stamp, last_heartbeat=stamp)
