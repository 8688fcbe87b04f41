"""Where ``mistersmith run`` goes: the server it starts (with the topology applied) or reaches.

Private to :mod:`simulator.cli`. :func:`start_target` starts the backend's server, or reaches
``--url`` (where only what is missing is created, :func:`prepare_external`); a secured server we
started gives every agent its own identity, across worker processes too (:func:`secured_spread`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from simulator.cli._faults import durability, durability_overrides
from simulator.cli._spread import Spread
from simulator.errors import TopologyError
from simulator.protocol import topology as topo
from simulator.servers.backend import Backend
from simulator.servers.cluster import NatsCluster
from simulator.swarm.scenario import Scenario

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.agents import AgentOptions
    from simulator.cli._runner import RunOptions

__all__ = ["Target", "apply_missing", "prepare_external", "secured_spread", "start_target"]

_CLUSTER_SIZE = 3


@dataclass
class Target:
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


def start_target(options: RunOptions) -> Target:
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
    target = Target(
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


async def prepare_external(target: Target) -> None:
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


async def secured_spread(
    spread: Spread, target: Target, scenario: Scenario, console: Console
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
