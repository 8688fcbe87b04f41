"""A worker: one share of a run's agents in this process, coordinated over NATS.

:meth:`Worker.run` joins run ``run_id`` (a ``join`` every half second until the coordinator
assigns a share or refuses; nobody answering within ``join_timeout`` is a
:class:`~simulator.swarm.workers.coordinator.WorkersError`), starts a
:class:`~simulator.swarm.Swarm` of its share only (no dispatcher, monitor or responder: those
are the coordinator's), says ``ready``, starts its clock at ``start``, sends ``stats`` and a
``system.health.worker`` report every interval, and on ``drain`` (or a local stop) drains its
agents and sends its figures as ``final``. A coordinator silent for :data:`GONE_AFTER`
intervals (killed, or its server gone) ends the worker too: nothing stays behind a dead run
(it still sends its figures, in case the coordinator was only starved of CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from pydantic import JsonValue

from simulator import __version__
from simulator.agents import AgentOptions
from simulator.bus import Bus, now
from simulator.protocol import subjects
from simulator.protocol.models import ControlMessage, HealthReport, make
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import loads_scenario
from simulator.swarm.swarm import Swarm
from simulator.swarm.workers import control as c
from simulator.swarm.workers.coordinator import WorkersError

__all__ = ["DEFAULT_RUN", "GONE_AFTER", "Worker", "WorkerOptions"]

#: The run name when none is given (``--run``).
DEFAULT_RUN = "mistersmith"
#: A coordinator silent this many intervals is gone: the worker stops.
GONE_AFTER = 5.0
_JOIN_EVERY = 0.5


@dataclass(frozen=True)
class WorkerOptions:
    """Where a worker connects and which run it joins."""

    url: str
    name: str
    run_id: str = DEFAULT_RUN
    #: ``nats.connect`` keywords (the run's credentials and TLS).
    connect_options: Mapping[str, object] = field(default_factory=dict)
    #: Per-agent connections: each agent's own credentials (a secured server we started).
    agent_options: AgentOptions | None = None
    join_timeout: float = 10.0
    drain_timeout: float = 30.0


class Worker:
    """One worker of a run (see the module docstring)."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.metrics = Metrics()
        self.swarm: Swarm | None = None
        #: How the worker ended: ``drained``, ``stopped`` (locally), ``coordinator gone``.
        self.outcome = ""
        self._bus: Bus | None = None
        self._answer: asyncio.Future[ControlMessage] | None = None
        self._started = asyncio.Event()
        self._over = asyncio.Event()
        self._last_beat: float | None = None
        self._interval = c.INTERVAL

    async def run(self, stop: asyncio.Event | None = None) -> str:
        """Join, run the share, drain, report; returns :attr:`outcome`."""
        opts = self.options
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        await _reachable(opts)
        bus = self._bus = await Bus.connect(
            opts.url, self.metrics, name=f"mistersmith-worker-{opts.name}",
            options=opts.connect_options,
        )  # fmt: skip
        loops: list[asyncio.Task[None]] = []
        try:
            await bus.subscribe(c.wildcard(), self._on_control)
            await bus.settle()
            assignment = await self._join()
            data = assignment.data or {}
            self._interval = float(str(data.get("interval", c.INTERVAL)))
            scenario = loads_scenario(
                json.dumps(data["scenario"]), source=f"run {opts.run_id} (worker {opts.name})"
            )
            share = range(int(str(data["first"])), int(str(data["stop"])))
            self._last_beat = loop.time()
            loops.append(asyncio.create_task(self._report(), name="worker-stats"))
            loops.append(asyncio.create_task(self._watch(), name="worker-watch"))
            swarm = self.swarm = Swarm(
                opts.url, scenario, metrics=self.metrics, hook_responder=None,
                dispatcher=False, monitor=False, connect_options=opts.connect_options,
                agent_options=opts.agent_options, agents=share, announce=False,
                name=f"mistersmith-worker-{opts.name}",
            )  # fmt: skip
            cpu = time.process_time()
            try:
                await swarm.start()
            except BaseException:
                await swarm.stop()
                raise
            cpu = round(time.process_time() - cpu, 3)  # what its start cost this process
            connections = "one per agent" if opts.agent_options is not None else "shared"
            await self._send(c.READY, {"cpu_s": cpu, "connections": connections}, agents=len(share))
            await self._until(self._started, stop)
            if self._started.is_set():
                self.metrics.begin()
                await self._until(self._over, stop)
            if not self.outcome:
                self.outcome = "stopped"
            await swarm.stop(opts.drain_timeout)
            self.metrics.end()
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            with contextlib.suppress(Exception):  # harmless if the coordinator is really gone
                await self._final()
        finally:
            for task in loops:
                task.cancel()
            await bus.close()
        return self.outcome

    async def _until(self, event: asyncio.Event, stop: asyncio.Event | None) -> None:
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._over.wait())}
        if stop is not None:
            waits.add(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _send(self, operation: str, data: Mapping[str, JsonValue], **kw: int) -> None:
        assert self._bus is not None
        body: dict[str, JsonValue] = {"name": self.options.name, **data}
        subject, message = c.control(operation, c.WORKER, self.options.run_id, body, **kw)
        await self._bus.publish("system_control", subject, message)

    async def _join(self) -> ControlMessage:
        assert self._answer is not None and self._bus is not None
        opts = self.options
        loop = asyncio.get_running_loop()
        deadline = loop.time() + opts.join_timeout
        while loop.time() < deadline:
            url = self._bus.client.connected_url
            where = f"{url.hostname}:{url.port}" if url is not None else ""
            await self._send(c.JOIN, {"version": __version__, "server": where})
            with contextlib.suppress(asyncio.TimeoutError):
                answer = await asyncio.wait_for(
                    asyncio.shield(self._answer), min(_JOIN_EVERY, deadline - loop.time())
                )
                if answer.operation == c.REFUSE:
                    reason = (answer.data or {}).get("reason", "refused")
                    raise WorkersError(f"worker {opts.name}: run {opts.run_id!r}: {reason}")
                return answer
        raise WorkersError(
            f"worker {opts.name}: no run {opts.run_id!r} answered on {opts.url} within "
            f"{opts.join_timeout:g} s (is `mistersmith run --workers/--expect-workers` "
            "running, with this --run name, and not started yet?)"
        )

    async def _on_control(self, msg: Msg) -> None:
        message = c.parse(msg)
        if message is None or message.run_id != self.options.run_id:
            return
        if message.component != c.COORDINATOR:
            return
        loop = asyncio.get_running_loop()
        op, data = message.operation, message.data or {}
        mine = data.get("name") == self.options.name
        if op == c.BEAT:
            if self._last_beat is not None:
                self._last_beat = loop.time()
        elif op in (c.ASSIGN, c.REFUSE) and mine:
            if self._answer is not None and not self._answer.done():
                self._answer.set_result(message)
        elif op == c.START:
            self._started.set()
        elif op == c.DRAIN:
            self._end("drained")
        elif op == c.END:
            self._end("coordinator gone")

    def _end(self, outcome: str) -> None:
        if not self.outcome:
            self.outcome = outcome
        self._over.set()

    async def _report(self) -> None:
        assert self._bus is not None
        opts = self.options
        while True:
            swarm = self.swarm
            states: dict[str, JsonValue] = {}
            held: list[JsonValue] = []
            silent: list[JsonValue] = []  # agents that stopped beating (crashed, hung)
            if swarm is not None and swarm.agents:
                silent = [a.agent_id for a in swarm.agents if not a.heartbeats]
                states = {k: v for k, v in swarm.counts().items() if v}
                with contextlib.suppress(RuntimeError):
                    held = list(swarm.runtime.holders)
            await self._send(c.STATS, {"states": states, "held": held, "silent": silent})
            agents = len(swarm.agents) if swarm is not None else 0
            report = make(
                HealthReport,
                component=c.WORKER,
                status="healthy",
                detail=f"worker {opts.name} of run {opts.run_id}: {agents} agent(s)",
                timestamp=now(),
            )
            await self._bus.publish("system_health", subjects.system_health(c.WORKER), report)
            await asyncio.sleep(self._interval)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval / 2)
            last = self._last_beat
            if last is None or loop.time() - last <= GONE_AFTER * self._interval:
                continue
            with contextlib.suppress(Exception):  # a starved loop: read what came meanwhile
                assert self._bus is not None
                await self._bus.client.flush(timeout=int(self._interval) + 1)
                await asyncio.sleep(0)
            if self._last_beat == last:
                self._end("coordinator gone")
                return

    async def _final(self) -> None:
        """Send the figures; the message counts itself (it is in the figures it carries)."""
        assert self._bus is not None
        self.metrics.message("system_control")
        data: dict[str, JsonValue] = {"name": self.options.name, **self.metrics.snapshot()}
        subject, message = c.control(c.FINAL, c.WORKER, self.options.run_id, data)
        await self._bus.publish("system_control", subject, message, counted=False)
        await self._bus.client.flush()


async def _reachable(opts: WorkerOptions) -> None:
    """One quiet connection attempt first: an unreachable or refusing server is one line."""
    import nats

    async def quiet(exc: Exception) -> None:
        return None

    try:
        client = await nats.connect(
            opts.url, allow_reconnect=False, connect_timeout=5, error_cb=quiet,
            max_reconnect_attempts=1, reconnect_time_wait=0.1,
            name=f"mistersmith-worker-{opts.name}", **opts.connect_options,
        )  # fmt: skip
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise WorkersError(f"worker {opts.name}: cannot reach {opts.url}: {reason}") from None
    await client.close()
