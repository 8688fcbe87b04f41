"""``mistersmith run``: a server with the topology, a swarm on it, a live view, a report.

Private to :mod:`simulator.cli`. The order is fixed: catch SIGINT/SIGTERM, start (or reach)
the server, apply the topology, run the swarm until its duration or a signal, drain the swarm,
stop the server, then print the summary and write the report. A first signal drains cleanly
(exit 0); a second one cancels the drain.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from simulator.cli._faults import make_session
from simulator.cli._span import connection_lost, run_span, server_gone
from simulator.cli._spread import Spread, spread_run
from simulator.cli._target import Target, prepare_external, secured_spread, start_target
from simulator.errors import ServerError
from simulator.faults.session import FaultOptions, FaultSession
from simulator.servers.backend import Backend, ClusterBackend
from simulator.servers.security import Security
from simulator.signals import StopSignals
from simulator.swarm.metrics import Metrics
from simulator.swarm.report import LiveView, build_report, progress_line, summary
from simulator.swarm.scenario import Scenario

if TYPE_CHECKING:
    from simulator.bridge.replay_swarm import ReplayPlan

__all__ = ["RunOptions", "run"]

#: Seconds the swarm gets to drain after the run (or the first Ctrl-C).
DRAIN_TIMEOUT = 45.0
_TICK = 0.25
_PLAIN_EVERY = 5.0


@dataclass(frozen=True)
class RunOptions:
    """What ``mistersmith run`` was asked for, parsed and validated."""

    scenario: Scenario
    backend: Backend = "binary"
    url: str | None = None
    report: Path | None = None
    html: Path | None = None
    server_bin: str | None = None
    image: str | None = None
    #: The embedded server's profile (open by default).
    security: Security | None = None
    #: ``nats.connect`` keywords for ``url`` (credentials and TLS of a secured server).
    connect_options: Mapping[str, object] = field(default_factory=dict)
    #: Spread over worker processes (``--workers``, ``--expect-workers``); None: one process.
    spread: Spread | None = None
    #: Every ``--url`` given (workers connect round-robin); the first is the run's server.
    urls: tuple[str, ...] = ()
    #: Faults to inject (a cluster), the history checker, what a loss means.
    faults: FaultOptions = field(default_factory=FaultOptions)
    #: What the cluster's nodes run on (``--backend cluster``).
    nodes_on: ClusterBackend = "binary"
    #: A topology file instead of ours (storage, replicas); JetStream's ``sync_interval``.
    topology: Path | None = None
    sync_interval: str | None = None
    #: ``--replay``: recorded bridge sessions played instead of simulated agents.
    replay: ReplayPlan | None = None
    #: ``--duration`` as given (a replay runs to its end unless it is given).
    duration_given: float | None = None


async def _swarm_run(
    options: RunOptions,
    target: Target,
    metrics: Metrics,
    console: Console,
    signals: StopSignals,
    workers: dict[str, Any],
    session: FaultSession | None = None,
) -> str | None:
    """Run the swarm; None when it never started, else "" or the failure that ended it.

    A spread run fills ``workers`` (the report's ``workers``)."""
    from simulator.swarm import Swarm

    scenario = options.scenario
    stop = signals.bind()
    if signals.count:
        return None
    if target.apply_missing:
        await prepare_external(target)
    for note in target.notes:
        console.print(f"[cyan]note[/] {escape(note)}")
    if options.spread is not None:

        async def watch(swarm: Any, counts: Callable[[], dict[str, int]]) -> str:
            return await _watch(swarm, metrics, scenario, console, stop, target.where, counts)

        spread = await secured_spread(options.spread, target, scenario, console)
        failure, report = await spread_run(
            spread, scenario, target.client_url, target.urls, target.options,
            metrics, console, stop, watch, DRAIN_TIMEOUT, session,
        )  # fmt: skip
        workers.update(report)
        return failure
    # the responder: the scenario's; on a secured server, one identity for the whole swarm
    swarm: Any
    if options.replay is not None:  # recorded bridge sessions as the agents
        from simulator.bridge.replay_swarm import ReplaySwarm

        swarm = ReplaySwarm(
            target.client_url,
            options.replay,
            scenario,
            metrics=metrics,
            connect_options=target.options,
            duration=options.duration_given,
        )
    else:
        swarm = Swarm(
            target.client_url,
            scenario,
            metrics=metrics,
            connect_options=target.options,
            agent_options=target.agent_options,
        )
    try:
        await swarm.start()
    except BaseException:
        await swarm.stop()
        raise

    async def drain() -> None:
        try:
            await asyncio.wait_for(swarm.stop(), DRAIN_TIMEOUT)
        except asyncio.TimeoutError:
            metrics.error("run", f"the swarm did not drain within {DRAIN_TIMEOUT:g} s")

    async def watching() -> str:
        return await _watch(swarm, metrics, scenario, console, stop, target.where, swarm.counts)

    return await run_span(  # a replay has no bus of its own (its bridge's connection)
        scenario=scenario, metrics=metrics, console=console, bus=getattr(swarm, "bus", None),
        session=session,
        where=target.where, what="swarm", interrupted=lambda: bool(signals.count),
        watch=watching, drain=drain, checked=swarm,
    )  # fmt: skip


async def _watch(
    swarm: Any,
    metrics: Metrics,
    scenario: Scenario,
    console: Console,
    stop: asyncio.Event,
    where: str,
    counts: Callable[[], dict[str, int]],
) -> str:
    """Run the swarm (dispatch for the duration, then let it go idle) until done or stopped.

    Returns "" or the swarm's crash (recorded in the metrics too); the drain is the caller's.
    """
    running = asyncio.create_task(swarm.run(scenario.duration))
    stopping = asyncio.create_task(stop.wait())
    live = None
    if console.is_terminal:
        live = Live(console=console, refresh_per_second=4, transient=True)
    fitted = LiveView()
    last_line = time.monotonic()
    if live is not None:
        live.start()
    try:
        while not (running.done() or stop.is_set() or connection_lost(swarm)):
            await asyncio.wait({running, stopping}, timeout=_TICK)
            if live is not None:
                view = fitted.render(
                    metrics,
                    duration=scenario.duration,
                    where=where,
                    states=counts(),
                    size=(console.size.width, console.size.height - 1),
                )
                live.update(view)
            elif time.monotonic() - last_line >= _PLAIN_EVERY:
                last_line = time.monotonic()
                console.print(progress_line(metrics, counts()), markup=False)
    finally:
        if live is not None:
            live.stop()
        for task in (running, stopping):
            task.cancel()
        outcome = (await asyncio.gather(running, stopping, return_exceptions=True))[0]
    if await server_gone(swarm):
        failure = f"lost the server at {where}: the connection closed after its reconnect attempts"
        metrics.error("run", failure)
        return failure
    if isinstance(outcome, TimeoutError):  # not idle after the dispatching: tasks left over
        metrics.error("run", " ".join(str(outcome).split()))
    elif isinstance(outcome, Exception):
        failure = f"the swarm failed: {type(outcome).__name__}: {' '.join(str(outcome).split())}"
        metrics.error("swarm", failure)
        return failure
    return ""


def run(options: RunOptions, console: Console) -> int:
    """Run the swarm as ``options`` say; print the summary, write the report.

    Returns 0 (also when a signal stopped the run), 1 when the swarm itself failed.
    """
    metrics = Metrics()
    target: Target | None = None
    session: FaultSession | None = None
    failure: str | None = ""
    workers: dict[str, Any] = {}
    with StopSignals() as signals:
        try:
            target = start_target(options)
            session = make_session(options.faults, target.urls, target, console)
            failure = asyncio.run(
                _swarm_run(options, target, metrics, console, signals, workers, session)
            )
        except asyncio.CancelledError:
            metrics.error("run", "the drain was cancelled by a second signal")
        finally:
            metrics.end()
            if target is not None:
                try:
                    target.stop()
                except ServerError as exc:
                    metrics.error("server", str(exc))
        interrupted = signals.count > 0
        if failure is None:
            console.print("interrupted before the swarm started")
        console.print(summary(metrics))
        for line in session.summary() if session is not None else []:
            console.print(escape(line), highlight=False)
        server_info = target.info if target is not None else None
        report = build_report(
            metrics,
            options.scenario,
            server=server_info,
            interrupted=interrupted,
            workers=workers or None,
        )
        report.update(session.report() if session is not None else {})
        if options.report is not None:
            options.report.parent.mkdir(parents=True, exist_ok=True)
            options.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            console.print(f"report written to {escape(str(options.report))}")
        if options.html is not None:
            from simulator.swarm.html import write_html

            label = options.report.name if options.report is not None else "this run"
            write_html(options.html, [(label, report)])
            console.print(f"HTML report written to {escape(str(options.html))}")
    if failure:
        console.print(f"[bold red]{escape(failure)}[/]")
        return 1
    if session is not None and session.result is not None and session.result.lost:
        lost = session.result.lost
        if session.failed:
            console.print(f"[bold red]{lost} acknowledged publish(es) lost[/]")
            return 1
        console.print(f"[yellow]warning: {lost} acknowledged publish(es) lost (--loss-warning)[/]")
    return 0
