"""Agent commands (``agents.{id}.commands.{command_type}``, core request-reply): what each does.

The reply is a :class:`~simulator.protocol.models.CommandReply`: the agent's status after the
command, ``accepted`` and an ``outcome`` sentence saying what happened. ``execute`` runs the task in
``payload`` (``task_type``, optional ``task_id`` and ``task_data``); ``stop`` drains the agent
(the reply comes at once, state ``stopping``); ``pause``/``resume`` stop/restart taking tasks
(heartbeats go on); ``configure`` sets ``max_tasks`` and/or ``capabilities``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import JsonValue, ValidationError

from simulator.agents._runtime import Work
from simulator.agents.behaviour import rng_for, seeded_uuid
from simulator.bus import now
from simulator.protocol.models import (
    AgentCommand,
    AgentState,
    CommandReply,
    CommandType,
    TaskAssignment,
)

if TYPE_CHECKING:
    from simulator.agents.agent import Agent

__all__ = ["handle_command"]


def _reply(
    agent: Agent, cmd: AgentCommand, accepted: bool, outcome: str, **data: JsonValue
) -> CommandReply:
    extra = {"data": data} if data else {}
    return agent.status_as(
        CommandReply,
        command_id=cmd.command_id,
        command_type=cmd.command_type,
        accepted=accepted,
        outcome=outcome,
        **extra,
    )


async def handle_command(
    agent: Agent, cmd: AgentCommand, subject_type: str | None = None
) -> CommandReply:
    """Carry out ``cmd`` on ``agent``; the reply says what happened.

    ``subject_type`` is the ``{command_type}`` token of the subject it came on: it must agree
    with the payload's ``command_type``, as its ``agent_id`` must with the agent.
    """
    kind = cmd.command_type
    if cmd.agent_id != agent.agent_id:
        return _reply(agent, cmd, False, f"command for {cmd.agent_id} sent to {agent.agent_id}")
    if subject_type is not None and subject_type != kind.value:
        return _reply(agent, cmd, False, f"subject says {subject_type}, payload says {kind.value}")
    if kind is CommandType.STOP:
        if agent.state in (AgentState.STOPPING, AgentState.OFFLINE):
            return _reply(agent, cmd, False, f"already {agent.state.value}")
        running, queued = len(agent.running), len(agent.queued)
        await agent.begin_stop(f"stop command {cmd.command_id}")
        agent.runtime.spawn(agent.finish_stop(), f"stop {agent.agent_id}")
        return _reply(
            agent,
            cmd,
            True,
            f"stopping: {running} running task(s) will finish, {queued} queued released",
            running=running,
            queued=queued,
        )
    if kind is CommandType.PAUSE:
        agent.paused = True
        await agent.note("paused")
        return _reply(agent, cmd, True, "paused: no new tasks until resume")
    if kind is CommandType.RESUME:
        was = agent.paused
        agent.paused = False
        await agent.note("resumed")
        await agent.resume_queued()
        return _reply(agent, cmd, True, "resumed" if was else "was not paused")
    if kind is CommandType.CONFIGURE:
        return await _configure(agent, cmd)
    return await _execute(agent, cmd)


async def _configure(agent: Agent, cmd: AgentCommand) -> CommandReply:
    payload = cmd.payload or {}
    unknown = sorted(set(payload) - {"max_tasks", "capabilities"})
    max_tasks = payload.get("max_tasks", agent.max_tasks)
    caps = payload.get("capabilities", list(agent.capabilities))
    valid_caps = isinstance(caps, list) and all(isinstance(c, str) for c in caps)
    if unknown or not isinstance(max_tasks, int) or max_tasks < 1 or not valid_caps:
        return _reply(
            agent,
            cmd,
            False,
            "rejected: configure takes max_tasks (int >= 1) and capabilities (list of str)",
            unknown=list(unknown),
        )
    assert isinstance(caps, list)
    agent.max_tasks = max_tasks
    agent.capabilities = tuple(str(c) for c in caps)
    await agent.note("configured", {"max_tasks": max_tasks, "capabilities": list(caps)})
    await agent.publish_capabilities()
    await agent.resume_queued()
    return _reply(agent, cmd, True, f"configured: {sorted(payload)}")


async def _execute(agent: Agent, cmd: AgentCommand) -> CommandReply:
    if not agent.accepting:
        return _reply(agent, cmd, False, f"not taking tasks ({agent.state.value})")
    payload = cmd.payload or {}
    rng = rng_for(agent.runtime.seed, "command-task", cmd.command_id)
    try:
        assignment = TaskAssignment.model_validate(
            {
                "task_id": payload.get("task_id", seeded_uuid(rng)),
                "task_type": payload.get("task_type", agent.capabilities[0]),
                "assigned_agent": agent.agent_id,
                "timestamp": now(),
                **({"task_data": payload["task_data"]} if "task_data" in payload else {}),
            }
        )
    except (ValidationError, IndexError) as error:
        return _reply(agent, cmd, False, f"rejected: bad task in payload ({error})")
    await agent.offer(Work(assignment, "command"))
    return _reply(
        agent, cmd, True, f"task {assignment.task_id} accepted", task_id=assignment.task_id
    )
