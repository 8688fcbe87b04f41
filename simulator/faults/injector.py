"""Inject a schedule's faults into a running cluster, through its handle, and heal at the end.

:class:`FaultInjector` is an asyncio task beside the swarm: at each fault's time it resolves the
target (the stream or meta leader, a seeded random node, a node, the largest minority, every
node), acts through :class:`~simulator.servers.NatsCluster` (its calls block, so they run in a
thread), then after the fault's duration brings the nodes back. Every start and end is told to
``notify`` (the live view), recorded as a :class:`FaultRecord` (the JSON report's ``faults``),
and published as a ``system.alerts.{severity}`` alert and a ``system.audit.{action}`` record,
their models and subjects taken from :mod:`simulator.protocol.channels`. :meth:`close` cancels
what is still to come and recovers every node (waiting for the streams to be led again).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nats.errors import Error as NatsError
from pydantic import JsonValue

from simulator.agents.behaviour import seeded_uuid
from simulator.bus import Bus, now
from simulator.errors import MisterSmithError
from simulator.faults.schedule import FaultSpec
from simulator.protocol import channels

__all__ = ["ClusterHandle", "FaultInjector", "FaultRecord"]

#: The ``component`` and ``agent_id`` our alerts and audit records carry.
COMPONENT = "fault-injector"
#: Seconds to find a leader to hit (a cluster still electing one).
_LOOKUP = 10.0
_SEVERITY = {"kill": "critical", "stop": "warning", "restart": "warning"}


class ClusterHandle(Protocol):
    """What the injector needs of a cluster (:class:`~simulator.servers.NatsCluster` has it)."""

    size: int

    def meta_leader(self, timeout: float = ...) -> int: ...
    def stream_leader(self, stream: str, timeout: float = ...) -> int: ...
    def kill(self, index: int | None = ...) -> None: ...
    def stop(self, index: int | None = ...) -> None: ...
    def start(self, index: int | None = ...) -> object: ...
    def restart(self, index: int, *, graceful: bool = ...) -> None: ...
    def pause(self, index: int) -> None: ...
    def resume(self, index: int) -> None: ...
    def partition(self, index: int) -> None: ...
    def heal(self, index: int) -> None: ...
    def recover(self, timeout: float | None = ...) -> None: ...


@dataclass
class FaultRecord:
    """One injected fault: what, on which nodes, when (seconds from the run's start)."""

    name: str
    kind: str
    target: str
    nodes: list[int]
    start_s: float
    end_s: float | None = None
    error: str = ""

    def to_dict(self) -> dict[str, JsonValue]:
        """Plain data for the JSON report (and the HTML report's fault windows)."""
        nodes = ", ".join(f"node {n}" for n in self.nodes) or "no node"
        return {
            "name": self.name,
            "kind": self.kind,
            "target": self.target,
            "nodes": list(self.nodes),
            "node": self.nodes[0] if len(self.nodes) == 1 else None,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s if self.end_s is not None else self.start_s, 3),
            "verdict": "fail" if self.error else "ok",
            "detail": self.error or f"{self.kind} {nodes}",
        }


Notify = Callable[[str], None]


class FaultInjector:
    """Runs ``faults`` against ``cluster`` for a run of ``duration`` seconds from ``started``."""

    def __init__(
        self,
        cluster: ClusterHandle,
        faults: list[FaultSpec],
        *,
        duration: float,
        seed: int = 0,
        bus: Bus | None = None,
        notify: Notify = lambda line: None,
        started: float | None = None,
    ) -> None:
        self.cluster = cluster
        self.faults = faults
        self.duration = duration
        self.bus = bus
        self.notify = notify
        self.started = time.monotonic() if started is None else started
        self.records: list[FaultRecord] = []
        self._rng = random.Random(f"faults-{seed}")
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        """Start injecting (a task; the schedule's times count from ``started``)."""
        self._task = asyncio.create_task(self._run())

    async def wait(self) -> None:
        """Until every fault of the schedule has been injected and healed."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Cancel what has not happened, bring every node back, and wait for the cluster."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        async with self._lock:
            await asyncio.to_thread(self.cluster.recover)
        for record in self.records:
            if record.end_s is None:
                record.end_s = self._now()
                await self._tell(record, healed=True)

    def _now(self) -> float:
        return time.monotonic() - self.started

    async def _run(self) -> None:
        plan = sorted((t, i) for i, f in enumerate(self.faults) for t in f.times(self.duration))
        running: set[asyncio.Task[None]] = set()
        try:
            for at, index in plan:
                await asyncio.sleep(max(0.0, at - self._now()))  # the schedule's clock
                task = asyncio.create_task(self._inject(self.faults[index]))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()

    async def _targets(self, fault: FaultSpec) -> list[int]:
        size = self.cluster.size
        if fault.target == "stream-leader":
            assert fault.stream is not None
            return [await asyncio.to_thread(self.cluster.stream_leader, fault.stream, _LOOKUP)]
        if fault.target == "meta-leader":
            return [await asyncio.to_thread(self.cluster.meta_leader, _LOOKUP)]
        if fault.target == "node":
            assert fault.node is not None
            return [fault.node]
        if fault.target == "random":
            return [self._rng.randrange(size)]
        if fault.target == "minority":
            return sorted(self._rng.sample(range(size), (size - 1) // 2))
        return list(range(size))

    async def _inject(self, fault: FaultSpec) -> None:
        name = fault.text.partition("@")[0]
        record = FaultRecord(name, fault.action, fault.text, [], self._now())
        self.records.append(record)
        async with self._lock:
            try:
                record.nodes = await self._targets(fault)
                record.start_s = self._now()
                await asyncio.gather(*(self._act(fault.action, n) for n in record.nodes))
            except (MisterSmithError, OSError) as exc:
                record.error = " ".join(str(exc).split())
        await self._tell(record, healed=False)
        if fault.duration > 0:
            await asyncio.sleep(fault.duration)
        async with self._lock:
            try:
                await asyncio.gather(*(self._heal(fault.action, n) for n in record.nodes))
            except (MisterSmithError, OSError) as exc:
                record.error = record.error or " ".join(str(exc).split())
        record.end_s = self._now()
        await self._tell(record, healed=True)

    async def _act(self, action: str, node: int) -> None:
        do: Callable[[int], None] = {
            "kill": self.cluster.kill,
            "stop": self.cluster.stop,
            "restart": lambda i: self.cluster.restart(i, graceful=False),
            "pause": self.cluster.pause,
            "partition": self.cluster.partition,
        }[action]
        await asyncio.to_thread(do, node)

    async def _heal(self, action: str, node: int) -> None:
        if action in ("kill", "stop"):
            await asyncio.to_thread(self.cluster.start, node)
        elif action == "pause":
            await asyncio.to_thread(self.cluster.resume, node)
        elif action == "partition":
            await asyncio.to_thread(self.cluster.heal, node)

    async def _tell(self, record: FaultRecord, *, healed: bool) -> None:
        nodes = ", ".join(str(n) for n in record.nodes) or "-"
        if record.error:
            line = f"fault {record.target}: failed: {record.error}"
        elif healed:
            line = f"fault {record.name} on node {nodes}: healed at {record.end_s or 0:.1f} s"
        else:
            line = f"fault {record.name} on node {nodes}: injected at {record.start_s:.1f} s"
        self.notify(line)
        if self.bus is not None:
            severity = "info" if healed else _SEVERITY.get(record.kind, "warning")
            if record.error:
                severity = "critical"
            action = f"fault_{record.kind}_{'healed' if healed else 'injected'}"
            # the run goes on when the bus is reconnecting (a node it used is down)
            with contextlib.suppress(NatsError, asyncio.TimeoutError):
                await asyncio.wait_for(self._publish(line, severity, action), 5.0)

    async def _publish(self, line: str, severity: str, action: str) -> None:
        assert self.bus is not None
        for name, values in (
            (
                "system_alerts",
                {"severity": severity, "component": COMPONENT, "message": line},
            ),
            ("system_audit", {"action": action, "agent_id": COMPONENT, "source": line}),
        ):
            chan = channels.channel(name)
            model = chan.payload.model_validate(
                {"alert_id" if name == "system_alerts" else "audit_id": seeded_uuid(self._rng)}
                | values
                | {"timestamp": now()}
            )
            subject = chan.subject_for(model.model_dump())
            await self.bus.publish(name, subject, model)
