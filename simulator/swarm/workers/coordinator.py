"""The coordinator of a run spread over workers: who joined, who holds which agents, who went
silent, and the merge of everyone's figures.

It lives beside the dispatcher, the monitor and the hook responder, on their connection (a
:class:`~simulator.bus.Bus`): :meth:`Coordinator.open` listens on ``system.control.*`` and
starts its own ``beat`` (and a ``system.health.coordinator`` report) every interval;
:meth:`gather` waits for the expected workers, :meth:`assign` hands each a share of the agents
(:func:`~simulator.swarm.workers.control.split`, in the order of their names), :meth:`wait_ready`
waits until every share runs, :meth:`start` starts the run's clock. A worker that said
``ready`` and is then silent for 1.5 intervals is *lost* (checked every quarter interval, so
said within 2 intervals of its last word; one still starting its agents, after 10): an error
in the metrics, a ``lost`` control message, an ``unhealthy`` report on
``system.health.worker``, and its agents and the tasks it held go into the report
(:meth:`workers_report`, with how many of those tasks were finished since: JetStream
redelivered them to another worker). A lost worker that speaks again (starved of CPU, not
dead) is live again, as an agent that beats again: the report counts its ``silences``.
:meth:`drain` asks every live worker to drain and absorbs each one's ``final`` figures exactly
(:meth:`~simulator.swarm.metrics.Metrics.absorb`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import JsonValue

from simulator import __version__
from simulator.bus import Bus, now
from simulator.errors import MisterSmithError
from simulator.protocol import subjects
from simulator.protocol.models import HealthReport, HealthStatus, make
from simulator.swarm.metrics import Metrics
from simulator.swarm.monitor import HeartbeatMonitor
from simulator.swarm.scenario import Scenario
from simulator.swarm.swarm import agent_ids
from simulator.swarm.timeline import Timeline
from simulator.swarm.workers import control as c

__all__ = ["Coordinator", "WorkerState", "WorkersError"]

#: A worker silent this many intervals is lost.
LOST_AFTER = 1.5
#: A worker still starting its share (assigned, not ready) is lost after this many silent
#: intervals: every agent's start floods the coordinator's connection (hook events, statuses),
#: and the worker's stats wait behind them; a worker is not lost for being busy starting.
STARTING_LOST_AFTER = 10.0


class WorkersError(MisterSmithError):
    """The workers of a run did not join, get ready or answer in time."""


@dataclass
class WorkerState:
    """What the coordinator knows of one worker."""

    name: str
    version: str
    last_seen: float
    share: range | None = None
    ready: bool = False
    #: Agents per state and tasks held, from its last ``stats``.
    states: dict[str, int] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None
    lost: bool = False
    #: How often it went silent (a worker starved of CPU may come back: then it is not lost).
    silences: int = 0
    #: The server it connected to (``host:port``), as it said when it joined.
    server: str = ""
    #: How its agents connect, as it said when ready: ``one per agent`` or ``shared``.
    connections: str = ""
    #: Seconds from the coordinator's ``assign`` to this worker's ``ready`` (its agents up),
    #: and the CPU seconds that start took the worker (as it said).
    start_s: float | None = None
    start_cpu_s: float | None = None


class Coordinator:
    """Joins, shares, liveness and figures of the workers of run ``run_id``."""

    def __init__(
        self,
        bus: Bus,
        scenario: Scenario,
        *,
        run_id: str,
        expected: int,
        interval: float = c.INTERVAL,
    ) -> None:
        self.bus = bus
        self.scenario = scenario
        self.run_id = run_id
        self.expected = expected
        self.interval = interval
        self.workers: dict[str, WorkerState] = {}
        self.phase = "gathering"
        self._nonce = uuid.uuid4().hex
        self._since = time.time()
        self._rival: str | None = None
        self._sub: Subscription | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        #: The task ids the dispatcher still waits for (set once it runs): a lost worker's held
        #: tasks that leave it were finished elsewhere (JetStream redelivered them).
        self.outstanding: Callable[[], Collection[str]] | None = None
        #: The run's heartbeat monitor: each worker's stats vouch for its agents' heartbeats
        #: (which stay off the coordinator's connection); a lost worker's agents go silent.
        self.monitor: HeartbeatMonitor | None = None
        self._ids = [agent_id for agent_id, _ in agent_ids(scenario)]
        self._assigned_at: float | None = None

    @property
    def metrics(self) -> Metrics:
        """The run's metrics (where workers' figures are absorbed)."""
        return self.bus.metrics

    async def open(self) -> None:
        """Listen on ``system.control.*``, claim the run name, start beating."""
        self._sub = await self.bus.subscribe(c.wildcard(), self._on_control)
        await self.bus.settle()
        await self._send(c.BEAT, self._beat_data())
        await self.bus.settle()
        self._loops.append(asyncio.create_task(self._beat(), name="coordinator-beat"))
        self._loops.append(asyncio.create_task(self._watch(), name="coordinator-watch"))

    def _beat_data(self) -> dict[str, JsonValue]:
        return {"nonce": self._nonce, "phase": self.phase, "since": self._since}

    async def _send(self, operation: str, data: Mapping[str, JsonValue], **kw: int) -> None:
        subject, message = c.control(operation, c.COORDINATOR, self.run_id, data, **kw)
        await self.bus.publish("system_control", subject, message)

    async def _health(self, component: str, status: HealthStatus, detail: str) -> None:
        report = make(
            HealthReport, component=component, status=status, detail=detail, timestamp=now()
        )
        await self.bus.publish("system_health", subjects.system_health(component), report)

    def _check_rival(self) -> None:
        if self._rival is not None:
            raise WorkersError(
                f"run {self.run_id!r}: another coordinator on this server uses that name; "
                "give this run another (--run NAME)"
            )

    # --- the run, step by step ---------------------------------------------------------------

    async def gather(self, timeout: float) -> None:
        """Wait until :attr:`expected` workers joined (a WorkersError after ``timeout``)."""
        await self._until(lambda: len(self.workers) >= self.expected, timeout, "joined")

    async def assign(self) -> None:
        """Give each worker its share of the agents (in the order of their names)."""
        self._check_rival()
        self.phase = "assigned"
        names = sorted(self.workers)
        shares = c.split(self.scenario.agent_count, len(names))
        settings: dict[str, JsonValue] = dict(self.scenario.to_dict())
        self._assigned_at = time.monotonic()
        for name, share in zip(names, shares, strict=True):
            self.workers[name].share = share
            data: dict[str, JsonValue] = {
                "name": name,
                "first": share.start,
                "stop": share.stop,
                "total": self.scenario.agent_count,
                "interval": self.interval,
                "scenario": settings,
            }
            await self._send(c.ASSIGN, data, agents=len(share))

    async def wait_ready(self, timeout: float) -> None:
        """Wait until every worker's agents are up."""
        await self._until(
            lambda: all(w.ready or w.lost for w in self.workers.values()), timeout, "ready"
        )

    async def start(self) -> None:
        """Start the run's clock on every worker."""
        self.phase = "running"
        await self._send(c.START, {}, agents=self.scenario.agent_count)

    async def drain(self, timeout: float) -> None:
        """Ask every worker to drain; absorb each final figure that comes within ``timeout``."""
        self.phase = "draining"
        await self._send(c.DRAIN, {})
        with contextlib.suppress(WorkersError):
            await self._until(
                lambda: all(w.final is not None or w.lost for w in self.workers.values()),
                timeout,
                "drained",
            )
        for worker in self.workers.values():
            if worker.final is None and not worker.lost:
                self.metrics.error("workers", f"worker {worker.name} sent no figures in time")

    async def close(self) -> None:
        """Say the run is over; stop beating and listening."""
        self.phase = "ended"
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        with contextlib.suppress(Exception):
            await self._send(c.END, {})
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def _until(self, done: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            self._check_rival()
            remaining = deadline - loop.time()
            if remaining <= 0:
                have = sum(
                    1
                    for w in self.workers.values()
                    if what == "joined" or (w.ready if what == "ready" else w.final is not None)
                )
                raise WorkersError(
                    f"run {self.run_id!r}: {have} of {self.expected} worker(s) {what} within "
                    f"{timeout:g} s (start them with: mistersmith worker --url URL "
                    f"--run {self.run_id})"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, self.interval))

    # --- what the live view and the report read ------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Agents per state over every worker, from their last stats."""
        total: Counter[str] = Counter()
        for worker in self.workers.values():
            if not worker.lost:
                total.update(worker.states)
        return dict(total)

    @property
    def start_seconds(self) -> float | None:
        """Seconds from :meth:`assign` to the last worker's ``ready``: every share's agents
        started (None until every worker is ready)."""
        times = [w.start_s for w in self.workers.values()]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def workers_report(self) -> dict[str, JsonValue]:
        """The report's ``workers``: each one's agents, whether lost and what it held, and its
        own timeline."""
        out: dict[str, JsonValue] = {}
        for name, w in sorted(self.workers.items()):
            entry: dict[str, JsonValue] = {
                "version": w.version,
                "server": w.server,
                "connections": w.connections,
                "agents": [w.share.start, w.share.stop] if w.share is not None else None,
                "lost": w.lost,
                "silences": w.silences,
                "start_s": None if w.start_s is None else round(w.start_s, 3),
                "start_cpu_s": w.start_cpu_s,
            }
            if w.lost:
                entry["held"] = list(w.held)
                if self.outstanding is not None:
                    waiting = self.outstanding()
                    entry["held_finished"] = sum(1 for t in w.held if t not in waiting)
            if w.final is not None:
                entry["timeline"] = w.final["timeline"]
                entry["messages"] = sum(int(n) for n in w.final["published"].values())
            else:  # lost: its figures died with it
                entry["timeline"] = Timeline().to_dict()
                entry["messages"] = None
            out[name] = entry
        return out

    # --- messages and loops --------------------------------------------------------------------

    async def _on_control(self, msg: Msg) -> None:
        message = c.parse(msg)
        if message is None or message.run_id != self.run_id or message.data is None:
            return
        data = message.data
        if message.component == c.COORDINATOR:
            if message.operation != c.BEAT or data.get("nonce") in (None, self._nonce):
                return
            theirs = (float(str(data.get("since", 0.0))), str(data.get("nonce")))
            if theirs < (self._since, self._nonce):  # the newcomer gives way
                self._rival = theirs[1]
                self._changed.set()
            elif data.get("phase") == "gathering":  # tell the newcomer at once
                await self._send(c.BEAT, self._beat_data())
            return
        name = str(data.get("name", ""))
        worker = self.workers.get(name)
        op = message.operation
        if op == c.JOIN:
            await self._on_join(name, str(data.get("version", "")), worker)
            if name in self.workers:
                self.workers[name].server = str(data.get("server", ""))
        elif worker is None:
            return
        elif op == c.STATS:
            worker.last_seen = time.monotonic()
            if worker.lost:
                await self._recover(worker)
            states = data.get("states")
            worker.states = (
                {str(k): int(str(v)) for k, v in states.items()} if isinstance(states, dict) else {}
            )
            held = data.get("held")
            worker.held = [str(t) for t in held] if isinstance(held, list) else []
            if self.monitor is not None and worker.share is not None and not worker.lost:
                quiet = data.get("silent")
                silent = {str(a) for a in quiet} if isinstance(quiet, list) else set()
                share = self._ids[worker.share.start : worker.share.stop]
                self.monitor.vouch([a for a in share if a not in silent] if silent else share)
        elif op == c.READY:
            worker.ready, worker.last_seen = True, time.monotonic()
            worker.connections = str(data.get("connections", ""))
            if self._assigned_at is not None:
                worker.start_s = worker.last_seen - self._assigned_at
            cpu = data.get("cpu_s")
            worker.start_cpu_s = float(cpu) if isinstance(cpu, int | float) else None
        elif op == c.FINAL and worker.final is None:
            worker.final, worker.lost = dict(data), False
            self.metrics.absorb(data, label=f"worker {name}")
        self._changed.set()

    async def _on_join(self, name: str, version: str, worker: WorkerState | None) -> None:
        if worker is not None and self.phase == "gathering":
            worker.last_seen = time.monotonic()  # a repeated join
            return
        reason = ""
        if not name:
            reason = "a worker needs a name"
        elif version != __version__:
            reason = f"version {version or '?'} cannot join a run of version {__version__}"
        elif self.phase != "gathering":
            reason = f"run {self.run_id!r} has started; join before it starts"
        elif len(self.workers) >= self.expected:
            reason = f"run {self.run_id!r} expects {self.expected} worker(s), all joined"
        if reason:
            await self._send(c.REFUSE, {"name": name, "reason": reason})
            return
        self.workers[name] = WorkerState(name, version, time.monotonic())

    async def _beat(self) -> None:
        while True:
            await self._send(c.BEAT, self._beat_data())
            live = sum(1 for w in self.workers.values() if not w.lost)
            lost = len(self.workers) - live
            status: HealthStatus = "degraded" if lost else "healthy"
            detail = f"run {self.run_id}: {live} worker(s) live, {lost} lost"
            await self._health(c.COORDINATOR, status, detail)
            await asyncio.sleep(self.interval)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval / 4)
            if self.phase not in ("assigned", "running"):
                continue
            clock = time.monotonic()
            for worker in self.workers.values():
                after = LOST_AFTER if worker.ready else STARTING_LOST_AFTER
                if worker.lost or worker.final is not None:
                    continue
                if worker.last_seen > clock - after * self.interval:
                    continue
                await self._lose(worker, after)

    async def _lose(self, worker: WorkerState, after: float) -> None:
        worker.lost = True
        worker.silences += 1
        share = worker.share or range(0)
        held = ", ".join(worker.held) or "none"
        self.metrics.error(
            "workers",
            f"worker {worker.name} lost (silent {after * self.interval:g} s): agents "
            f"{share.start}..{share.stop - 1}, tasks held: {held}",
        )
        data: dict[str, JsonValue] = {
            "name": worker.name,
            "first": share.start,
            "stop": share.stop,
            "held": list(worker.held),
        }
        await self._send(c.LOST, data, agents=len(share))
        await self._health(c.WORKER, "unhealthy", f"worker {worker.name} lost")
        self._changed.set()

    async def _recover(self, worker: WorkerState) -> None:
        """A worker silent long enough to be lost spoke again (it was starved, not dead)."""
        worker.lost = False
        await self._health(c.WORKER, "healthy", f"worker {worker.name} is back")
