"""One simulated agent: lifecycle, status, heartbeats, commands, tasks.

Lifecycle (:class:`~simulator.protocol.models.AgentState`): ``starting`` → ``idle`` ⇄ ``busy``
→ ``stopping`` → ``offline``, and ``error`` on a crash. ``busy`` means at least one task in
flight. Every change is published as an :class:`AgentStatus` on ``agents.{id}.status`` and on
``agents.{id}.status.{state}`` (the ``status_type`` token is the new state, so
``agents.*.status.offline`` follows agents going away), plus an :class:`AgentEvent` on
``agents.{id}.events.{event_type}`` for started, paused, resumed, configured, stopping,
stopped, crashed.

Stopping (a ``stop`` command, ``Swarm.stop`` or a hook answer with ``continue: false``,
ERRATA 16): the agent goes ``stopping``, takes no new task, releases its queued ones (stream
tasks are nak'ed for redelivery, core ones end ``cancelled``), lets its running tasks finish
(or, past the drain timeout, cancels them and naks them unreported), then goes ``offline``.

The swarm owns the shared subscriptions and routes to :meth:`Agent.offer`,
:meth:`Agent.command` and :meth:`Agent.cancel`; heartbeats come from the swarm's wheel through
:meth:`Agent.heartbeat_payload` (pre-serialized: no pydantic per beat).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from typing import TypeVar

from nats.errors import MsgAlreadyAckdError
from pydantic import JsonValue

from simulator.agents._execute import Running, execute, finish, hook_event
from simulator.agents._runtime import Runtime, Work
from simulator.agents.behaviour import rng_for, seeded_uuid
from simulator.bus import now
from simulator.protocol import subjects
from simulator.protocol.models import (
    AgentEvent,
    AgentLog,
    AgentState,
    AgentStatus,
    ErrorDetails,
    HookType,
    SessionInfo,
    TaskStatus,
    make,
)
from simulator.swarm.scenario import AgentGroup

__all__ = ["LIVE_STATES", "Agent", "AgentState"]

S = TypeVar("S", bound=AgentStatus)

#: ERRATA 15: 2.1's ``agent.ready`` is the ``idle`` status.
_STATE_EVENTS = {AgentState.IDLE: "ready", AgentState.BUSY: "busy"}

#: States in which an agent holds or may take tasks.
LIVE_STATES = frozenset({AgentState.STARTING, AgentState.IDLE, AgentState.BUSY})


class Agent:
    """A simulated agent of ``group``, sharing its swarm's :class:`Runtime`."""

    def __init__(self, agent_id: str, group: AgentGroup, runtime: Runtime) -> None:
        self.agent_id = agent_id
        self.group = group
        self.runtime = runtime
        self.capabilities: tuple[str, ...] = tuple(group.capabilities)
        self.max_tasks = group.max_tasks
        self.state = AgentState.OFFLINE
        self.tasks_done = 0
        self.paused = False
        #: False stops heartbeats (a hung agent); the monitor then raises an alert.
        self.heartbeats = True
        self.running: dict[str, tuple[Running, asyncio.Task[TaskStatus]]] = {}
        self.queued: deque[Work] = deque()
        self._started = time.monotonic()
        self._events = 0
        self._stop_task: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()
        rng = rng_for(runtime.seed, "session", agent_id)
        self.session_info = SessionInfo(
            agent_id=agent_id, session_id=seeded_uuid(rng), model="claude-sim", start_time=now()
        )
        self.heartbeat_subject = subjects.agent_heartbeat(agent_id)
        self._status_subject = subjects.agent_status(agent_id)
        self._hb_head = f'{{"agent_id":{json.dumps(agent_id)},"status":"'.encode()

    # --- state ----------------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether the agent takes new tasks (live, not paused)."""
        return self.state in (AgentState.IDLE, AgentState.BUSY) and not self.paused

    @property
    def load(self) -> int:
        """Tasks held: running and queued."""
        return len(self.running) + len(self.queued)

    def status(self, **extra: object) -> AgentStatus:
        """The agent's status now, as published."""
        return self.status_as(AgentStatus, **extra)

    def status_as(self, model: type[S], **extra: object) -> S:
        """The agent's status now as ``model`` (AgentStatus or a subclass), with ``extra``."""
        return model.model_validate(
            {
                "agent_id": self.agent_id,
                "status": self.state,
                "timestamp": now(),
                "capacity": max(0.0, 1.0 - len(self.running) / self.max_tasks),
                "current_tasks": len(self.running),
                "max_tasks": self.max_tasks,
                "uptime_seconds": int(time.monotonic() - self._started),
                **extra,
            }
        )

    async def _set_state(self, state: AgentState) -> None:
        if state is self.state:
            return
        self.state = state
        await self._publish_state()

    async def _publish_state(self) -> None:
        state = self.state
        self.runtime.metrics.agent_state(self.agent_id, state.value)
        stamp = now().isoformat().replace("+00:00", "Z")
        bus, status = self.runtime.bus, self._status_json(stamp) + b"}"  # one for all three
        await bus.publish("agent_status_base", self._status_subject, status)
        await bus.publish("agent_status", subjects.agent_status(self.agent_id, state.value), status)
        if state in _STATE_EVENTS:  # 2.1's topic conventions agent.ready / agent.busy
            await bus.publish(
                "agent_state_event", subjects.agent_state_event(_STATE_EVENTS[state]), status
            )
        self.runtime.notify()

    async def note(self, event_type: str, data: dict[str, JsonValue] | None = None) -> None:
        """Publish a lifecycle event on ``agents.{id}.events.{event_type}``."""
        await self._event(event_type, data)

    async def _event(self, event_type: str, data: dict[str, JsonValue] | None = None) -> None:
        self._events += 1
        rng = rng_for(self.runtime.seed, "event", self.agent_id, self._events)
        event = make(
            AgentEvent,
            event_id=seeded_uuid(rng),
            agent_id=self.agent_id,
            event_type=event_type,
            state=self.state,
            data=data,
            timestamp=now(),
        )
        subject = subjects.agent_events(self.agent_id, event_type)
        await self.runtime.bus.publish("agent_events", subject, event)

    async def log(self, level: str, message: str, task_id: str | None = None) -> None:
        """Publish a log line on ``agents.{id}.logs.{level}``."""
        line = {"agent_id": self.agent_id, "level": level, "message": message}
        extra = {"task_id": task_id} if task_id else {}
        log = AgentLog.model_validate({**line, **extra, "timestamp": now()})
        subject = subjects.agent_logs(self.agent_id, level)
        await self.runtime.bus.publish("agent_logs", subject, log)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Go ``starting``, run the startup hook, announce capabilities, go ``idle``."""
        self._started = time.monotonic()
        await self._set_state(AgentState.STARTING)
        event, event_id = hook_event(self, HookType.STARTUP, None)
        answer = await self.runtime.gateway.ask(event, event_id)
        await self.publish_capabilities()
        await self._set_state(AgentState.IDLE)
        await self._event("started", {"capabilities": list(self.capabilities)})
        if answer.stops_agent:
            self.request_stop(f"startup hook: {answer.stop_reason or 'stop'}")

    async def publish_capabilities(self) -> None:
        """Announce the capabilities on ``agents.{id}.capabilities``."""
        status = self.status(capabilities=list(self.capabilities))
        subject = subjects.agent_capabilities(self.agent_id)
        await self.runtime.bus.publish("agent_capabilities", subject, status)

    def heartbeat_payload(self, timestamp: str) -> bytes:
        """The heartbeat (an :class:`AgentStatus` with ``last_heartbeat``), pre-serialized."""
        return self._status_json(timestamp) + f',"last_heartbeat":"{timestamp}"}}'.encode()

    def _status_json(self, timestamp: str) -> bytes:
        """:meth:`status` serialized by hand, its closing brace left off (a status change and
        a heartbeat each: no pydantic per message; a test holds it to the model's dump)."""
        n = len(self.running)
        capacity = max(0.0, 1.0 - n / self.max_tasks)
        return (
            self._hb_head
            + (
                f'{self.state.value}","timestamp":"{timestamp}","capacity":{capacity},'
                f'"current_tasks":{n},"max_tasks":{self.max_tasks},'
                f'"uptime_seconds":{int(time.monotonic() - self._started)}'
            ).encode()
        )

    def request_stop(self, reason: str) -> None:
        """Stop in the background (from inside a task or a command handler)."""
        if self._stop_task is None and self.state in LIVE_STATES:
            self._stop_task = self.runtime.spawn(self.stop(reason), f"stop {self.agent_id}")

    async def stop(self, reason: str = "stop", drain_timeout: float = 30.0) -> None:
        """Drain: ``stopping``, release queued tasks, let running ones finish, ``offline``."""
        if await self.begin_stop(reason):
            await self.finish_stop(drain_timeout)

    async def begin_stop(self, reason: str) -> bool:
        """Go ``stopping`` and release the queued tasks; False if not live."""
        if self.state not in LIVE_STATES:
            return False
        await self._set_state(AgentState.STOPPING)
        await self._event("stopping", {"reason": reason, "running": len(self.running)})
        while self.queued:
            await self._release(self.queued.popleft(), "agent stopping")
        return True

    async def finish_stop(self, drain_timeout: float = 30.0) -> None:
        """Let the running tasks finish (nak them past ``drain_timeout``), go ``offline``."""
        if self.running:
            self._drained.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._drained.wait(), drain_timeout)
        for running, task in list(self.running.values()):
            task.cancel()  # past the drain timeout: left unacked (nak) for redelivery
            if running.work.msg is not None and not running.reported:
                await running.work.msg.nak()
        await self._event("stopped", {"tasks_done": self.tasks_done})
        await self._set_state(AgentState.OFFLINE)

    async def crash(self) -> None:
        """Die without draining: ``error``, no more heartbeats, unreported tasks nak'ed."""
        if self.state not in LIVE_STATES:
            return
        # Synchronously first: nothing new starts, no task of ours resumes past an await.
        self.heartbeats = False
        self.state = AgentState.ERROR
        running, queued = list(self.running.values()), list(self.queued)
        self.running.clear()
        self.queued.clear()
        for _, task in running:
            task.cancel()
        for work in [r.work for r, _ in running if not r.reported] + queued:
            self.runtime.holders.pop(work.task_id, None)
            if work.msg is not None:
                await work.msg.nak()
        for r, _ in running:
            self.runtime.holders.pop(r.work.task_id, None)
            if r.reported and r.work.msg is not None:  # its result is out: don't redeliver
                with contextlib.suppress(MsgAlreadyAckdError):
                    await r.work.msg.ack()
        await self._publish_state()
        await self._event("crashed")

    async def _release(self, work: Work, reason: str) -> None:
        if work.msg is not None:
            await work.msg.nak()
            self.runtime.holders.pop(work.task_id, None)
        else:
            await self._cancel_queued(work, reason)

    # --- tasks ----------------------------------------------------------------------------

    async def offer(self, work: Work) -> None:
        """Take ``work``: run it now if a slot is free, else queue it."""
        self.runtime.holders[work.task_id] = self
        early = self.runtime.early_cancels.pop(work.task_id, None)
        if early is not None:
            await self._cancel_queued(work, early)
            return
        if len(self.running) < self.max_tasks and self.accepting:
            await self._launch(work)
        else:
            self.queued.append(work)

    async def _launch(self, work: Work) -> None:
        running = Running(work)
        task = self.runtime.spawn(self._run(running), f"task {work.task_id}")
        self.running[work.task_id] = (running, task)
        await self._set_state(AgentState.BUSY)

    async def _run(self, running: Running) -> TaskStatus:
        try:
            outcome = await execute(self, running)
            self.tasks_done += 1
            if outcome.stop_reason is not None:
                self.request_stop(outcome.stop_reason)
            return outcome.status
        finally:
            self.running.pop(running.work.task_id, None)
            self.runtime.holders.pop(running.work.task_id, None)
            await self._after_task()

    async def resume_queued(self) -> None:
        """Start queued tasks while slots are free (after resume or configure)."""
        await self._after_task()

    async def _after_task(self) -> None:
        while self.queued and self.accepting and len(self.running) < self.max_tasks:
            await self._launch(self.queued.popleft())
        if not self.running:
            self._drained.set()
            if self.state is AgentState.BUSY:
                await self._set_state(AgentState.IDLE)
        self.runtime.notify()

    async def cancel(self, task_id: str, reason: str) -> bool:
        """Cancel a queued or running task (``tasks.{task_id}.cancel``); False if not held."""
        if task_id in self.running:
            running, _ = self.running[task_id]
            running.reason = reason
            running.cancelled.set()
            return True
        for work in self.queued:
            if work.task_id == task_id:
                self.queued.remove(work)
                await self._cancel_queued(work, reason)
                return True
        return False

    async def _cancel_queued(self, work: Work, reason: str) -> None:
        details = ErrorDetails(error_code="cancelled", error_message=reason)
        started = asyncio.get_running_loop().time()
        await finish(self, Running(work), TaskStatus.CANCELLED, started, details=details)
        self.runtime.holders.pop(work.task_id, None)
        self.runtime.notify()
