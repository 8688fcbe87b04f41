"""``mistersmith run --workers N / --expect-workers N``: the coordinator's side of a run.

Private to :mod:`simulator.cli`. The coordinator's swarm holds no agent: it runs the hook
responder and the monitor at once, starts the local workers (round-robin over the server's
URLs), waits until every expected worker joined (a first Ctrl-C or a local worker's failure
ends the wait), assigns the shares, waits until every share runs, then discovers the agents
and dispatches like a one-process run. The drain stops the dispatching and the monitor's
checks, asks every worker to drain, absorbs their figures, and stops the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pydantic import JsonValue
from rich.console import Console
from rich.markup import escape

from simulator.cli._span import connection_lost, run_span
from simulator.errors import ConfigError
from simulator.faults.session import FaultSession
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import Scenario

__all__ = ["Spread", "spread_run"]

#: Seconds every share gets to start its agents once assigned.
READY_TIMEOUT = 120.0
_POLL = 0.25

Watch = Callable[[object, Callable[[], dict[str, int]]], Awaitable[str]]


@dataclass(frozen=True)
class Spread:
    """How a run is spread: local workers, workers expected from elsewhere, the run's name."""

    workers: int = 0
    expect_workers: int = 0
    run_name: str = "mistersmith"
    join_timeout: float = 30.0
    #: Credential options passed to local workers (the run's, as given on the command line).
    worker_args: tuple[str, ...] = ()

    @property
    def expected(self) -> int:
        """Workers the run waits for."""
        return self.workers + self.expect_workers


async def _until(
    step: Awaitable[None], stop: asyncio.Event, failed: Callable[[], list[str]]
) -> None:
    """Await ``step``, unless a stop signal or a failed local worker comes first."""
    task = asyncio.ensure_future(step)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=_POLL)
            if stop.is_set():
                raise ConfigError("interrupted while waiting for the workers")
            if problems := failed():
                raise ConfigError(problems[0])
        task.result()
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def spread_run(
    spread: Spread,
    scenario: Scenario,
    url: str,
    urls: Sequence[str],
    connect_options: dict[str, object],
    metrics: Metrics,
    console: Console,
    stop: asyncio.Event,
    watch: Callable[[object, Callable[[], dict[str, int]]], Awaitable[str]],
    drain_timeout: float,
    session: FaultSession | None = None,
) -> tuple[str, dict[str, JsonValue]]:
    """Run ``scenario`` over the workers; the failure ("" if none) and the report's workers.

    With a fault ``session``, the faults go in and are healed from here, and the history (the
    dispatcher's JetStream publishes, all made here) is checked after the drain."""
    from simulator.servers.workers import LocalWorkers
    from simulator.swarm import Swarm
    from simulator.swarm.dispatcher import Dispatcher
    from simulator.swarm.workers import Coordinator

    swarm = Swarm(
        url, scenario, metrics=metrics, connect_options=connect_options, agents=range(0),
        dispatcher=False, task_consumer=None, announce=False, name="mistersmith-coordinator",
        wire_heartbeats=False,
    )  # fmt: skip
    local = (
        LocalWorkers(spread.workers, urls, spread.run_name, spread.worker_args)
        if spread.workers
        else None
    )
    coordinator: Coordinator | None = None

    def failed() -> list[str]:
        return local.failed() if local is not None else []

    async def close() -> None:
        if coordinator is not None:
            await coordinator.close()
        await swarm.stop()
        if local is not None:
            await asyncio.to_thread(local.stop, 5.0)

    try:
        await swarm.start()
        assert swarm.bus is not None
        coordinator = Coordinator(
            swarm.bus, scenario, run_id=spread.run_name, expected=spread.expected
        )
        coordinator.monitor = swarm.monitor
        await coordinator.open()
        if local is not None:
            local.start()
        console.print(
            f"waiting for {spread.expected} worker(s) to join run {escape(spread.run_name)} "
            f"(within {spread.join_timeout:g} s)"
        )
        await _until(coordinator.gather(spread.join_timeout), stop, failed)
        await coordinator.assign()
        await _until(coordinator.wait_ready(READY_TIMEOUT), stop, failed)
        dispatcher = Dispatcher(swarm.bus, scenario)
        dispatcher.changed = swarm.runtime.changed
        await dispatcher.start(expected_agents=scenario.agent_count)
        swarm.dispatcher = dispatcher
        coordinator.outstanding = lambda: dispatcher.outstanding.keys()
        await coordinator.start()
        await swarm.announce("start")
    except BaseException:
        await close()
        raise

    async def drain() -> None:
        assert coordinator is not None
        try:
            if swarm.dispatcher is not None:
                await swarm.dispatcher.stop()
            if swarm.monitor is not None:
                swarm.monitor.stop_checking()
            if not connection_lost(swarm):  # else the server is gone: nobody to drain
                await coordinator.drain(drain_timeout)
        finally:
            await close()

    failure = await run_span(
        scenario=scenario, metrics=metrics, console=console, bus=swarm.bus, session=session,
        where=f"{len(coordinator.workers)} worker(s)", what="workers", interrupted=stop.is_set,
        watch=lambda: watch(swarm, coordinator.counts), drain=drain, checked=swarm,
    )  # fmt: skip
    return failure, coordinator.workers_report()
