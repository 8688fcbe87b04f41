"""The heartbeat monitor: alerts and health when agents go quiet, an audit of every command.

It watches ``agents.*.heartbeat`` and the agent status subjects; the heartbeats of its own
bus's agents it learns in-process (:meth:`~simulator.bus.Bus.on_heartbeat`), since that bus's
heartbeat connection does not echo them back. An agent that said nothing for
``heartbeat_timeout`` seconds (and did not go ``offline``) raises one :class:`SystemAlert` on
``system.alerts.warning`` (``critical`` when it last said ``error``) and a
:class:`HealthReport` ``unhealthy`` on ``system.health.agent``; when it beats again,
``healthy`` and an ``info`` alert. Every command seen on ``agents.*.commands.*`` is recorded
as an :class:`AuditRecord` on ``system.audit.{command_type}``. All three are stored by the
``system_monitoring`` stream (ERRATA 3). The check runs every quarter of the timeout.

While it checks, it also reports, at its first check and then every ``heartbeat_timeout``
(at least every :data:`REPORT_EVERY` seconds): a :class:`HealthReport` on
``system.health.swarm`` (``healthy``, or ``degraded`` while some agent is silent) and the
swarm's figures as :class:`SystemMetrics` on 2.1's ``system.metrics``. A missed agent and its
recovery are also 2.1 system events, :class:`SystemEvent` on ``events.agent_missed`` and
``events.agent_recovered``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from simulator.agents.behaviour import rng_for, seeded_uuid
from simulator.bus import Bus, now, until_closed
from simulator.protocol import subjects
from simulator.protocol.models import (
    AgentCommand,
    AgentState,
    AgentStatus,
    AuditRecord,
    HealthReport,
    Severity,
    SystemAlert,
    SystemEvent,
    SystemMetrics,
    make,
)

__all__ = ["HEALTH_COMPONENT", "REPORT_EVERY", "SWARM_COMPONENT", "HeartbeatMonitor"]

#: The ``{component}`` of ``system.health.{component}`` for agents.
HEALTH_COMPONENT = "agent"
#: The ``{component}`` of the periodic report on the swarm as a whole.
SWARM_COMPONENT = "swarm"
#: The longest time between two periodic reports, in seconds.
REPORT_EVERY = 5.0
_CHECK_CHUNK = 5000


class HeartbeatMonitor:
    """Raises alerts for agents that miss heartbeats; audits commands."""

    def __init__(
        self,
        bus: Bus,
        *,
        heartbeat_timeout: float,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        wire_heartbeats: bool = True,
    ) -> None:
        self.bus = bus
        #: Whether other processes' heartbeats are heard on the wire; False: they are vouched
        #: for (:meth:`vouch`) by whoever knows, e.g. a workers' coordinator from their stats.
        self.wire_heartbeats = wire_heartbeats
        #: Seconds, monotonic: when agents were last seen and how long they have been silent.
        self.clock = clock
        self.timeout = heartbeat_timeout
        self.seed = seed
        self.last_seen: dict[str, float] = {}
        self.last_state: dict[str, str] = {}
        self.silent: set[str] = set()
        self._next_report = 0.0
        self.alerts = 0
        self._count = 0
        self._subs: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self, *, check: bool = True) -> None:
        """Subscribe, and unless ``check`` is False start the periodic check.

        The caller settles the connection. A swarm subscribes before its agents start and
        begins checking once their hearts beat (:meth:`start_checking`): thousands of agents
        take seconds to start, silent all the while.
        """
        wild = subjects.template
        self._unlisten = self.bus.on_heartbeat(self._on_local_heartbeat)
        if self.wire_heartbeats:
            self._subs.append(await self.bus.subscribe_heartbeats(self._on_heartbeat))
        for name, handler in (
            ("agent_status_base", self._on_status),
            ("agent_commands", self._on_command),
        ):
            self._subs.append(await self.bus.subscribe(wild(name).wildcard, handler))
        if check:
            self.start_checking()

    def stop_checking(self) -> None:
        """Stop the periodic check (a swarm stops it before its agents drain)."""
        if self._task is not None:
            self._task.cancel()

    def start_checking(self) -> None:
        """Start the periodic check; every agent seen so far gets a full timeout from now."""
        if self._task is None or self._task.done():
            started = self.clock()
            self.last_seen = dict.fromkeys(self.last_seen, started)
            self._task = asyncio.get_running_loop().create_task(
                until_closed(self._check()), name="monitor"
            )

    async def stop(self) -> None:
        """Stop checking and unsubscribe."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []

    def _next_id(self) -> str:
        self._count += 1
        return seeded_uuid(rng_for(self.seed, "monitor", self._count))

    async def _on_heartbeat(self, msg: Msg) -> None:
        # One per remote agent per interval: the agent id is the subject's 2nd token.
        agent = msg.subject.split(".", 2)[1]
        if agent in self.last_seen or agent in self.silent or agent not in self.last_state:
            await self._seen(agent)

    def vouch(self, agents: list[str]) -> None:
        """Count ``agents`` as heard now (their process says they beat), unless offline."""
        offline = AgentState.OFFLINE.value
        self._on_local_heartbeat([a for a in agents if self.last_state.get(a) != offline])

    def _on_local_heartbeat(self, agents: list[str]) -> None:
        # The hot path (a slot of the local wheel at a time). A local agent beats only while
        # live, and before any offline status of its own: every id is one to watch.
        self.last_seen.update(dict.fromkeys(agents, self.clock()))
        if self.silent:
            for agent in self.silent.intersection(agents):
                task = asyncio.get_running_loop().create_task(self._seen(agent))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _on_status(self, msg: Msg) -> None:
        try:
            status = AgentStatus.model_validate_json(msg.data)
        except ValidationError:
            self.bus.metrics.error("monitor", f"invalid status on {msg.subject}")
            return
        agent = status.agent_id
        self.last_state[agent] = status.status.value
        if status.status is AgentState.OFFLINE:
            self.last_seen.pop(agent, None)
            self.silent.discard(agent)
            return
        await self._seen(agent)

    async def _seen(self, agent: str) -> None:
        self.last_seen[agent] = self.clock()
        if agent in self.silent:
            self.silent.discard(agent)
            await self._health(agent, "healthy", "heartbeats resumed")
            await self._alert("info", agent, f"agent {agent} is beating again")
            await self._event("agent_recovered", agent)

    async def _on_command(self, msg: Msg) -> None:
        try:
            cmd = AgentCommand.model_validate_json(msg.data)
        except ValidationError:
            self.bus.metrics.error("monitor", f"invalid command on {msg.subject}")
            return
        record = make(
            AuditRecord,
            audit_id=self._next_id(),
            action=cmd.command_type.value,
            agent_id=cmd.agent_id,
            command_id=cmd.command_id,
            source=cmd.metadata.source if cmd.metadata and cmd.metadata.source else None,
            timestamp=now(),
        )
        subject = subjects.system_audit(cmd.command_type.value)
        await self.bus.publish("system_audit", subject, record)

    async def _check(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / 4)
            await self.check()

    async def check(self) -> None:
        """One check: alert on every agent silent for more than the timeout, by ``clock``."""
        cutoff = self.clock() - self.timeout
        agents = list(self.last_seen)
        quiet: list[str] = []
        for start in range(0, len(agents), _CHECK_CHUNK):  # yields: heartbeats stay on time
            quiet += [
                a
                for a in agents[start : start + _CHECK_CHUNK]
                if self.last_seen.get(a, cutoff) < cutoff
            ]
            await asyncio.sleep(0)
        for agent in quiet:
            seen = self.last_seen.get(agent)  # again: it may have beaten or left meanwhile
            if seen is None or seen >= cutoff or agent in self.silent:
                continue
            self.silent.add(agent)
            crashed = self.last_state.get(agent) == AgentState.ERROR.value
            why = f"no heartbeat from {agent} for {self.timeout:g} s"
            await self._alert("critical" if crashed else "warning", agent, why)
            await self._health(agent, "unhealthy", why)
            await self._event("agent_missed", agent)
        if self.clock() >= self._next_report:
            self._next_report = self.clock() + min(self.timeout, REPORT_EVERY)
            await self._report()

    async def _report(self) -> None:
        """The swarm's periodic health and figures."""
        watched, silent = len(self.last_seen), len(self.silent)
        health = make(
            HealthReport,
            component=SWARM_COMPONENT,
            status="degraded" if silent else "healthy",
            detail=f"{watched - silent} of {watched} agents beating",
            timestamp=now(),
        )
        await self.bus.publish("system_health", subjects.system_health(SWARM_COMPONENT), health)
        m = self.bus.metrics
        figures = SystemMetrics(
            component=SWARM_COMPONENT,
            agents=watched,
            agents_busy=sum(1 for state in self.last_state.values() if state == "busy"),
            messages_published=m.total_messages,
            tasks_completed=m.tasks["completed"],
            tasks_failed=m.tasks["failed"] + m.tasks["timeout"],
            uptime_seconds=round(m.elapsed, 3),
            timestamp=now(),
        )
        await self.bus.publish("system_metrics", subjects.system_metrics(), figures)

    async def _event(self, event_type: str, agent: str) -> None:
        event = SystemEvent(
            event_id=self._next_id(),
            event_type=event_type,
            source=HEALTH_COMPONENT,
            agent_id=agent,
            timestamp=now(),
        )
        await self.bus.publish("events", subjects.events(event_type), event)

    async def _alert(self, severity: Severity, agent: str, message: str) -> None:
        self.alerts += severity != "info"
        alert = SystemAlert(
            alert_id=self._next_id(),
            severity=severity,
            component=HEALTH_COMPONENT,
            message=message,
            agent_id=agent,
            timestamp=now(),
        )
        await self.bus.publish("system_alerts", subjects.system_alerts(severity), alert)

    async def _health(self, agent: str, status: str, detail: str) -> None:
        report = HealthReport.model_validate(
            {
                "component": HEALTH_COMPONENT,
                "status": status,
                "agent_id": agent,
                "detail": detail,
                "timestamp": now(),
            }
        )
        await self.bus.publish("system_health", subjects.system_health(HEALTH_COMPONENT), report)
