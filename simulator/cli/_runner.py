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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from simulator.cli._faults import durability, durability_overrides, make_session, run_checker
from simulator.cli._spread import Spread, spread_run
from simulator.errors import ServerError, TopologyError
from simulator.faults.session import FaultOptions, FaultSession
from simulator.protocol import topology as topo
from simulator.servers.backend import Backend, ClusterBackend
from simulator.servers.cluster import NatsCluster
from simulator.servers.security import Security
from simulator.signals import StopSignals
from simulator.swarm.metrics import Metrics
from simulator.swarm.report import LiveView, build_report, progress_line, summary
from simulator.swarm.scenario import Scenario

if TYPE_CHECKING:
    from simulator.agents import AgentOptions
    from simulator.bridge.replay_swarm import ReplayPlan

__all__ = ["RunOptions", "apply_missing", "run"]

#: Seconds the swarm gets to drain after the run (or the first Ctrl-C).
DRAIN_TIMEOUT = 45.0
_TICK = 0.25
_PLAIN_EVERY = 5.0
_CLUSTER_SIZE = 3


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


@dataclass
class _Target:
    """A server to run on: its URL, what to say about it, and how to stop it."""

    client_url: str
    info: dict[str, Any]
    stop: Callable[[], None] = lambda: None
    apply_missing: bool = False
    notes: list[str] = field(default_factory=list)
    where: str = ""
    #: How the swarm connects (a secured server's credentials; the admin's when we started it).
    options: dict[str, object] = field(default_factory=dict)
    #: Per-agent connections: each agent's credentials (a server we started and secured).
    agent_options: AgentOptions | None = None
    #: Where workers connect, round-robin (a cluster's nodes, or every --url).
    urls: list[str] = field(default_factory=list)
    #: The cluster's handle (faults go through it), the topology in force.
    cluster: NatsCluster | None = None
    topology: topo.Topology | None = None
    #: A secured server we started: its credentials, for the workers of a spread run.
    credentials_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.where:
            self.where = self.client_url


async def apply_missing(js: Any, topology: topo.Topology) -> tuple[list[str], list[str]]:
    """Create the streams and consumers of ``topology`` that ``js`` lacks; never touch others.

    Returns what was created and one note per existing stream or consumer that differs.
    """
    from nats.js.errors import APIError, NotFoundError

    created: list[str] = []
    differs: list[str] = []
    try:
        for stream in topology.streams:
            try:
                info = await js.stream_info(str(stream.name))
            except NotFoundError:
                await js.add_stream(stream)
                created.append(f"stream {stream.name}")
                continue
            if fields := topo.drift(stream, info.config):
                differs.append(f"stream {stream.name} differs ({', '.join(fields)}): left as is")
        for consumer in topology.consumers:
            label = f"consumer {consumer.stream}/{consumer.name}"
            try:
                cinfo = await js.consumer_info(consumer.stream, consumer.name)
            except NotFoundError:
                await js.add_consumer(consumer.stream, consumer.config)
                created.append(label)
                continue
            if fields := topo.drift(consumer.config, cinfo.config):
                differs.append(f"{label} differs ({', '.join(fields)}): left as is")
    except APIError as exc:
        raise TopologyError(
            f"the server refused part of the topology: {exc.err_code} {exc.description}"
        ) from exc
    return created, differs


def _start_target(options: RunOptions) -> _Target:
    """Start the server of ``options.backend`` with our topology applied, or reach ``--url``.

    A ServerError (no engine, no image, not ready) is the CLI's one line; nothing stays running.
    Every backend prints the same notes on what was clamped to its nodes (ERRATA 2).
    """
    from simulator.errors import ConfigError, ImageNotFoundError
    from simulator.servers import BinaryLookup, NatsCluster, start

    backend: Backend = "external" if options.url is not None else options.backend
    try:
        started = start(
            backend,
            options.topology,
            binary=BinaryLookup.read(options.server_bin),
            image=options.image,
            url=options.url,
            nodes=_CLUSTER_SIZE,
            nodes_on=options.nodes_on,
            overrides=durability_overrides(options.sync_interval),
            apply=True,  # never on an external server (see below)
            security=options.security,
        )
    except ImageNotFoundError as exc:
        if options.image is None:
            raise
        raise ConfigError(f"--image {exc.image}: {exc}") from exc
    server = started.server
    where = server.client_url
    if isinstance(server, NatsCluster):
        where = f"a {server.size}-node cluster ({', '.join(server.client_urls)})"
    missing = started.applied is None  # an external server: create only what it lacks
    connect = dict(options.connect_options) if missing else server.connect_options()
    urls = list(options.urls) if options.urls else [server.client_url]
    if isinstance(server, NatsCluster):
        urls = list(server.client_urls)
    target = _Target(
        server.client_url,
        started.info,
        server.stop,
        missing,
        list(started.notes),
        where,
        connect,
        urls=urls,
    )
    target.cluster = server if isinstance(server, NatsCluster) else None
    target.topology = started.topology
    if not missing:  # what we applied is what is in force (not so on someone else's server)
        target.info["durability"] = durability(started.topology, options.sync_interval)
    if options.faults.checking:  # keep reconnecting to the nodes that are up
        target.options.setdefault("max_reconnect_attempts", -1)
    if options.security is not None and not options.security.open and not missing:
        target.agent_options = server.agent_options  # every agent as itself (spec-notes 28)
        target.info["agent_connections"] = "one per agent"
        target.credentials_dir = server.credentials_dir
    return target


async def _prepare_external(target: _Target) -> None:
    import nats

    client = await nats.connect(
        target.client_url, allow_reconnect=False, name="mistersmith-run", **target.options
    )
    try:
        clamped, _ = topo.for_cluster(topo.default_topology(), 1)
        created, differs = await apply_missing(client.jsm(), clamped)
    finally:
        await client.close()
    target.notes.append(
        f"topology: {len(created)} created" + (f" ({', '.join(created)})" if created else "")
    )
    target.notes.extend(differs)


async def _swarm_run(
    options: RunOptions,
    target: _Target,
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
        await _prepare_external(target)
    for note in target.notes:
        console.print(f"[cyan]note[/] {escape(note)}")
    if options.spread is not None:

        async def watch(swarm: Any, counts: Callable[[], dict[str, int]]) -> str:
            return await _watch(swarm, metrics, scenario, console, stop, target.where, counts)

        spread = await _secured_spread(options.spread, target, scenario, console)
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
    metrics.begin()
    if session is not None and swarm.bus is not None:
        session.begin(
            swarm.bus, started=metrics.started, duration=scenario.duration, seed=scenario.seed
        )
    console.print(
        f"running {scenario.agent_count} agents ({escape(scenario.source)}, seed "
        f"{scenario.seed}) on {escape(target.where)} for {scenario.duration:g} s"
    )
    failure = ""
    try:
        failure = await _watch(swarm, metrics, scenario, console, stop, target.where, swarm.counts)
    finally:
        if session is not None:
            await session.heal()
        if signals.count:
            console.print("interrupted: draining the swarm (Ctrl-C again to cancel the drain)")
        try:
            await asyncio.wait_for(swarm.stop(), DRAIN_TIMEOUT)
        except asyncio.TimeoutError:
            metrics.error("run", f"the swarm did not drain within {DRAIN_TIMEOUT:g} s")
        metrics.end()
    if session is not None and not signals.count:
        await run_checker(session, swarm, console)
    return failure


async def _secured_spread(
    spread: Spread, target: _Target, scenario: Scenario, console: Console
) -> Spread:
    """On a secured server we started, every agent of the run gets its identity now (one
    reload), and the workers read the credentials directory (spec-notes 29)."""
    if target.agent_options is None or target.credentials_dir is None:
        return spread
    from simulator.swarm.swarm import agent_ids

    await asyncio.to_thread(target.agent_options, [aid for aid, _ in agent_ids(scenario)])
    where = str(target.credentials_dir)
    if spread.expect_workers:
        import shlex

        join = ["mistersmith", "worker", "--url", target.client_url, "--run", spread.run_name]
        line = shlex.join([*join, "--credentials-dir", where])
        console.print(f"[cyan]note[/] workers join with: {escape(line)}", soft_wrap=True)
    return replace(spread, worker_args=(*spread.worker_args, "--credentials-dir", where))


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
        while not (running.done() or stop.is_set()):
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
    target: _Target | None = None
    session: FaultSession | None = None
    failure: str | None = ""
    workers: dict[str, Any] = {}
    with StopSignals() as signals:
        try:
            target = _start_target(options)
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
