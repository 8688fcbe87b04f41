"""The heartbeat monitor: alerts and health when agents go quiet, an audit of every command.

It watches ``agents.*.heartbeat`` and the agent status subjects. An agent that said nothing
for ``heartbeat_timeout`` seconds (and did not go ``offline``) raises one
:class:`SystemAlert` on ``system.alerts.warning`` (``critical`` when it last said ``error``)
and a :class:`HealthReport` ``unhealthy`` on ``system.health.agent``; when it beats again,
``healthy`` and an ``info`` alert. Every command seen on ``agents.*.commands.*`` is recorded
as an :class:`AuditRecord` on ``system.audit.{command_type}``. All three are stored by the
``system_monitoring`` stream (ERRATA 3). The check runs every quarter of the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from simulator.agents.behaviour import rng_for, seeded_uuid
from simulator.agents.payloads import AuditRecord, HealthReport, Severity, SystemAlert, make
from simulator.bus import Bus, now
from simulator.protocol import subjects
from simulator.protocol.models import AgentCommand, AgentState, AgentStatus

__all__ = ["HEALTH_COMPONENT", "HeartbeatMonitor"]

#: The ``{component}`` of ``system.health.{component}`` for agents.
HEALTH_COMPONENT = "agent"


class HeartbeatMonitor:
    """Raises alerts for agents that miss heartbeats; audits commands."""

    def __init__(self, bus: Bus, *, heartbeat_timeout: float, seed: int = 0) -> None:
        self.bus = bus
        self.timeout = heartbeat_timeout
        self.seed = seed
        self.last_seen: dict[str, float] = {}
        self.last_state: dict[str, str] = {}
        self.silent: set[str] = set()
        self.alerts = 0
        self._count = 0
        self._subs: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe and start the periodic check (the caller settles the connection)."""
        wild = subjects.template
        for name, handler in (
            ("agent_heartbeat", self._on_heartbeat),
            ("agent_status_base", self._on_status),
            ("agent_commands", self._on_command),
        ):
            self._subs.append(await self.bus.subscribe(wild(name).wildcard, handler))
        self._task = asyncio.get_running_loop().create_task(self._check(), name="monitor")

    async def stop(self) -> None:
        """Stop checking and unsubscribe."""
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
        # The hot path (one per agent per interval): the agent id is the subject's 2nd token.
        agent = msg.subject.split(".", 2)[1]
        if agent in self.last_seen or agent in self.silent or agent not in self.last_state:
            await self._seen(agent)

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
        self.last_seen[agent] = time.monotonic()
        if agent in self.silent:
            self.silent.discard(agent)
            await self._health(agent, "healthy", "heartbeats resumed")
            await self._alert("info", agent, f"agent {agent} is beating again")

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
            cutoff = time.monotonic() - self.timeout
            for agent, seen in list(self.last_seen.items()):
                if seen < cutoff and agent not in self.silent:
                    self.silent.add(agent)
                    crashed = self.last_state.get(agent) == AgentState.ERROR.value
                    quiet = f"no heartbeat from {agent} for {self.timeout:g} s"
                    await self._alert("critical" if crashed else "warning", agent, quiet)
                    await self._health(agent, "unhealthy", quiet)

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
