"""The Claude-CLI hook flow on the embedded server: both dialects, blocks, stops, mutations."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest
from nats.aio.client import Client

from pytest_mistersmith.janitor import TopologyState
from simulator.agents.hooks import HOOK_EVENT_HEADER, HookResponder
from simulator.protocol import channels, subjects
from simulator.protocol.models import (
    AgentState,
    AgentStatus,
    HookDecision,
    HookEvent,
    HookResponse,
    HookType,
    TaskResult,
)
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario, TaskMix
from tests.waits import until

GROUP = AgentGroup(count=2, task_duration=(0.01, 0.02), heartbeat_interval=0.2, failure_rate=0.0)


def scenario(**hooks: Any) -> Scenario:
    return Scenario(
        groups=(GROUP,),
        tasks=TaskMix(weights={"execution": 1.0, "synthesis": 1.0}, workflows_per_minute=0.0),
        hooks=HookPolicy(**{"kind": "approve_all", "timeout": 1.0, **hooks}),
        seed=11,
    )


def block_everything(event: HookEvent) -> HookResponse:
    if event.hook_type is HookType.PRE_TASK:
        return HookResponse(decision=HookDecision.BLOCK, reason=f"no {event.tool_name} today")
    return HookResponse(decision=HookDecision.APPROVE)


@pytest.mark.asyncio
async def test_blocked_tasks_end_cancelled_and_never_run(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    async with (
        nats_capture("tasks.*.progress") as progress,
        nats_capture("tasks.*.result", "tasks.*.error", model=TaskResult) as final,
        nats_capture("cli.hooks.>", model=HookEvent) as hooks,
        Swarm(nats_server.client_url, scenario()) as s,
    ):
        # the user's own responder (a second connection) replaces the built-in one
        s_responder = s.responder
        assert s_responder is not None
        await s_responder.stop()
        mine = HookResponder(nats_server.client_url, s.scenario.hooks, 0, decide=block_everything)
        await mine.start()
        try:
            assert s.dispatcher is not None
            tasks = await s.dispatcher.dispatch(6)
            await s.wait_idle()
        finally:
            await mine.stop()
        s.responder = None
        await final.wait_for(6)
    assert progress.messages == []
    assert {r.status.value for r in final.models} == {"cancelled"}
    assert {r.task_id for r in final.models} == {t.task_id for t in tasks}
    for r in final.models:
        assert r.error_details is not None and r.error_details.error_code == "hook_blocked"
        assert r.error_details.error_message is not None
        assert r.error_details.error_message.startswith("no ")
    assert {h.hook_type for h in hooks.models} == {HookType.PRE_TASK}
    assert mine.answered["block"] == 6


@pytest.mark.asyncio
async def test_continue_false_stops_the_agent(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    def stop_worker_0(event: HookEvent) -> HookResponse:
        stop = event.hook_type is HookType.PRE_TASK and event.agent_id == "worker-0"
        return HookResponse.model_validate(
            {"decision": "continue", "continue": not stop, "stop_reason": "enough"}
        )

    responder: Any = None
    async with (
        nats_capture("agents.worker-0.status.*", model=AgentStatus) as status,
        nats_capture("tasks.*.result", model=TaskResult) as final,
        Swarm(nats_server.client_url, scenario(timeout=0.3), hook_responder=None) as s,
    ):
        responder = HookResponder(s.runtime.bus, s.scenario.hooks, 0, decide=stop_worker_0)
        await responder.start()
        assert s.dispatcher is not None
        for _ in range(20):  # each drawn for worker-0 or -1
            await s.dispatcher.submit("execution", path="queue")
            if any(a.assigned_agent == "worker-0" for a in s.dispatcher.assigned):
                break
        else:
            pytest.fail("20 execution tasks and none assigned to worker-0", pytrace=False)
        await s.wait_idle()
        worker_0 = s.agent("worker-0")
        await until(status, lambda: worker_0.state is AgentState.OFFLINE, "worker-0 offline")
        await responder.stop()
    stopped = [r for r in final.models if r.agent_id == "worker-0"]
    assert [r.status.value for r in stopped] == ["cancelled"]
    assert stopped[0].error_details is not None
    assert stopped[0].error_details.error_code == "agent_stopped"
    states = [m.subject.rsplit(".", 1)[1] for m in status.messages]
    assert states[-2:] == ["stopping", "offline"]


def sandbox_pre_task(event: HookEvent) -> HookResponse:
    """Approve everything; pre_task answers add ``{"sandbox": true}`` to the tool input."""
    mods = {"sandbox": True} if event.hook_type is HookType.PRE_TASK else None
    return HookResponse.model_validate(
        {"decision": "approve", **({"modifications": mods} if mods else {})}
    )


@pytest.mark.asyncio
async def test_modifications_reach_tool_input_and_mutations(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
) -> None:
    async with (
        nats_capture("tasks.*.result", model=TaskResult) as final,
        nats_capture("cli.mutations.*", model=HookResponse) as mutations,
        nats_capture("cli.responses.*", model=HookResponse) as responses,
        Swarm(nats_server.client_url, scenario(timeout=0.3), hook_responder=None) as s,
    ):
        responder = HookResponder(s.runtime.bus, s.scenario.hooks, 0, decide=sandbox_pre_task)
        await responder.start()
        assert s.dispatcher is not None
        await s.dispatcher.dispatch(3)
        await s.wait_idle()
        await responder.stop()
        await mutations.wait_for(3)
        await final.wait_for(3)
    assert len(final.models) == 3
    for r in final.models:
        assert r.result_data is not None
        tool_input = r.result_data["tool_input"]
        assert isinstance(tool_input, dict) and tool_input["sandbox"] is True
    assert len(responses.messages) >= 3  # a pre_task answer per task, at least
    assert all(m.headers and m.headers.get(HOOK_EVENT_HEADER) for m in responses.messages)


@pytest.mark.asyncio
async def test_no_answer_takes_the_default_decision(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    sc = scenario(timeout=0.1, default="block")
    async with (
        nats_capture("tasks.*.result", model=TaskResult) as final,
        Swarm(nats_server.client_url, sc, hook_responder=None) as s,
    ):
        assert s.dispatcher is not None
        await s.dispatcher.dispatch(2)
        await s.wait_idle()
        await final.wait_for(2)
    assert {r.status.value for r in final.models} == {"cancelled"}
    assert s.metrics.hook_decisions["timeout"] >= 2 + GROUP.count


@pytest.mark.asyncio
async def test_dialect_21_uses_request_reply_and_its_subjects(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    nats_capture: Any,
) -> None:
    sc = scenario(dialect="2.1", kind="block_tools", tools=("Bash",))
    async with (
        nats_capture("agent.*.*", "control.startup", "ctx.*.file_change") as dialect,
        nats_capture("cli.>") as cli,
        nats_capture("tasks.*.result", "tasks.*.error", model=TaskResult) as final,
        Swarm(nats_server.client_url, sc) as s,
    ):
        assert s.dispatcher is not None
        tasks = await s.dispatcher.dispatch(8)
        await s.wait_idle()
        await final.wait_for(len(tasks))
    assert cli.messages == []
    assert not [m for m in dialect.messages if m.subject.endswith(".hook_response")]  # no mods
    kinds = {
        m.subject.split(".")[-1] if m.subject.count(".") == 2 else m.subject
        for m in dialect.messages
    }
    assert {"pre", "post", "control.startup", "file_change"} <= kinds
    pre = [m for m in dialect.messages if m.subject.endswith(".pre")]
    assert pre and all(m.reply for m in pre)
    blocked = [r for r in final.models if r.status.value == "cancelled"]
    bash = [
        HookEvent.model_validate_json(m.data)
        for m in pre
        if HookEvent.model_validate_json(m.data).tool_name == "Bash"
    ]
    assert len(blocked) == len(bash) > 0


@pytest.mark.asyncio
async def test_dialect_21_publishes_modifications_on_hook_response(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_capture: Any,
) -> None:
    """Every 2.1 hook family appears; only the modified answers reach ``hook_response``."""

    group = AgentGroup(
        count=2, task_duration=(0.01, 0.02), heartbeat_interval=0.2, failure_rate=0.5
    )
    sc = dataclasses.replace(scenario(dialect="2.1", timeout=0.5), groups=(group,))
    async with (
        nats_capture("agent.*.*", "control.startup", "ctx.*.file_change") as dialect,
        nats_capture("agent.*.hook_response", model=HookResponse) as mutations,
        nats_capture("cli.>") as cli,
        nats_capture("tasks.*.result", "tasks.*.error", model=TaskResult) as final,
        Swarm(nats_server.client_url, sc, hook_responder=None) as s,
    ):
        responder = HookResponder(s.runtime.bus, s.scenario.hooks, 0, decide=sandbox_pre_task)
        await responder.start()
        assert s.dispatcher is not None
        tasks = await s.dispatcher.dispatch(8)
        await s.wait_idle()
        await final.wait_for(len(tasks))
        pre = [m for m in dialect.messages if m.subject.endswith(".pre")]
        await mutations.wait_for(len(pre))
        await responder.stop()
    assert cli.messages == []
    families = {subjects.parse(m.subject).name for m in dialect.messages}
    assert families == {"control_startup", "agent_hook", "agent_hook_response", "ctx_file_change"}
    for m in dialect.messages:  # each payload is its channel's model
        channels.for_subject(m.subject).payload.model_validate_json(m.data)
    stages = {
        m.subject.rsplit(".", 1)[1] for m in dialect.messages if m.subject.startswith("agent.")
    }
    assert stages == {"pre", "post", "error", "hook_response"}
    # one per modified (pre_task) answer, none for the post and error answers
    assert [m.model for m in mutations.messages] == [
        HookResponse(decision=HookDecision.APPROVE, modifications={"sandbox": True})
    ] * len(pre)
    agents = Counter(m.subject.split(".")[1] for m in mutations.messages)
    assert agents == Counter(m.subject.split(".")[1] for m in pre)
    assert s.metrics.published["agent_hook_response"] == len(pre)
    assert responder.metrics.errors == []  # the responder ignores its own hook_response
    asked = [m for m in dialect.messages if m.subject.endswith((".pre", ".post", ".error"))]
    assert responder.answered == Counter(approve=len(asked))
