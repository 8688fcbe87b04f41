"""The docker backend's cluster nodes: containers on a private network, routed by name.

Every container starts at once; they come up apart by up to half a second on a loaded engine. A
node that dials a route before its peer listens waits a second (nats-server's fixed retry), and
two nodes dialling each other at the same moment drop both connections as duplicates and wait a
second more: about half the starts lost 1-5 s so, some the first meta-leader election with it.
So a node starts with a route to itself only (JetStream's cluster mode wants one configured; the
server drops it as a route to itself), and once every node listens, each is given the routes to
the nodes before it (``nats-route://NAME:6222``) and reloads (SIGHUP): every pair is dialled
once, by one side, to a listener. The file each container mounts then names the routes to every
other node, which a node started again (restart, kill, recovery) reads, as a binary node does.

A cluster's network is taken from this process's free ones when there is one: creating a bridge
network and attaching the first containers to it cost 0.2-0.4 s of every start; a stopped
cluster's network, left empty, is kept for the next one (the session's exit hook, or the next
session's sweep, removes it).

Each route listener advertises its network alias (``cluster.advertise``) and no
client URLs are gossiped (``no_advertise``): clients keep the loopback URLs of the mapped ports
and never learn container addresses. ``partition(i)`` disconnects a node from the network (its
published ports go with it: the node is cut off from clients too); ``heal(i)`` reconnects it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

from simulator.errors import ServerError
from simulator.servers._docker_cli import SESSION, docker_ok, engine, labels, sweep_stale
from simulator.servers._locate import BinaryArg, resolve_binary
from simulator.servers.cluster._parallel import parallel
from simulator.servers.cluster._plan import Plan
from simulator.servers.conf import ServerConfig
from simulator.servers.docker import CLUSTER_PORT, DockerServer

__all__ = ["DockerNodes"]


def _route(alias: str) -> str:
    return f"nats-route://{alias}:{CLUSTER_PORT}"


#: This process's cluster networks no cluster uses now (empty, reused before creating one).
_FREE: list[str] = []
_FREE_LOCK = threading.Lock()


def _take_network() -> str:
    """A free network of this session, or a new one."""
    with _FREE_LOCK:
        if _FREE:
            return _FREE.pop()
    name = f"mistersmith-{SESSION}-{uuid.uuid4().hex[:6]}"
    try:
        engine().networks.create(name, driver="bridge", labels=labels())
    except Exception as exc:
        raise ServerError(f"cannot create docker network {name}: {exc}") from None
    return name


def _give_back(network: str) -> None:
    """Keep an empty network for the next cluster; remove one that still holds containers."""
    client = engine()
    try:
        attached = client.api.inspect_network(network).get("Containers") or {}
    except Exception:
        return  # gone already
    if attached:
        with contextlib.suppress(Exception):
            client.api.remove_network(network)
        return
    with _FREE_LOCK:
        _FREE.append(network)


class _ClusterNode(DockerServer):
    """A DockerServer whose cluster block advertises its alias and gossips no client URLs,
    and whose routes can be held back at its first start (see the module)."""

    def __init__(self, alias: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._alias = alias
        #: the routes its file names now, when not the configured ones
        self.routes_now: tuple[str, ...] | None = (_route(alias),)

    @property
    def container_config(self) -> ServerConfig:
        """The configuration rendered, with :attr:`routes_now` when set."""
        config = super().container_config
        if self.routes_now is not None and config.cluster is not None:
            config = replace(config, cluster=replace(config.cluster, routes=self.routes_now))
        return config

    def solicit(self, routes: tuple[str, ...]) -> None:
        """Make the running server solicit ``routes`` (its file rewritten, then SIGHUP)."""
        self.routes_now = routes
        self._write_conf()
        engine().api.kill(self.container_id, signal="HUP")

    def settle(self) -> None:
        """Name the configured routes in its file again, for its next start (no reload)."""
        self.routes_now = None
        self._write_conf()

    def rendered(self) -> str:
        """The config text with ``advertise``/``no_advertise`` inside the cluster block."""
        text = super().rendered()
        extra = f'cluster {{\n  advertise: "{self._alias}:{CLUSTER_PORT}"\n  no_advertise: true\n'
        return text.replace("cluster {\n", extra, 1)


class DockerNodes:
    """Cluster nodes as containers of one image on a private docker network."""

    def __init__(
        self,
        plan: Plan,
        image: str | None = None,
        binary: BinaryArg = None,
    ) -> None:
        from simulator.servers.image import default_image

        self._plan = plan
        # once for every node: the image, or the default one of the binary's version
        found = resolve_binary(binary)
        self._image = image or default_image(found.version, binary=found)
        self._aliases = plan.server_names
        sweep_stale()
        self.network = _take_network()

    def _make(self, index: int, deadline: float) -> _ClusterNode:
        plan = self._plan
        # routes to the others only: a route to itself is dialled, detected and dropped, and
        # that churn delayed the first meta-leader election by seconds in many starts
        routes = tuple(_route(alias) for i, alias in enumerate(self._aliases) if i != index)
        config = replace(
            plan.config,
            server_name=plan.server_names[index],
            cluster=replace(plan.cluster_block, name=plan.name, routes=routes),
        )
        return _ClusterNode(
            self._aliases[index],
            config,
            image=self._image,
            name=f"{self.network}-n{index}",
            network=self.network,
            aliases=(self._aliases[index],),
            start_timeout=max(0.1, deadline - time.monotonic()),
            stop_timeout=plan.stop_timeout,
        )

    def start_all(self, deadline: float) -> list[DockerServer]:
        """Start every container at once, then route them (see the module)."""
        nodes = [self._make(i, deadline) for i in range(self._plan.size)]
        try:
            parallel([node.start for node in nodes])  # each listening once started
            routes = [_route(alias) for alias in self._aliases]
            parallel(
                [
                    functools.partial(node.solicit, tuple(routes[:index]) or (routes[0],))
                    for index, node in enumerate(nodes)
                ]
            )
            for node in nodes:
                node.settle()
        except BaseException:
            parallel([node.stop for node in nodes])
            raise
        return list(nodes)

    def start_node(self, index: int, old: DockerServer, deadline: float) -> DockerServer:
        """Start the same container again: its store volume and its network alias."""
        old.start_timeout = max(0.1, deadline - time.monotonic())
        old.start()  # the same container: its store volume and its network alias
        return old

    def stop_node(self, index: int, node: DockerServer) -> None:
        """``docker stop``: the container and its store stay."""
        node.halt()

    def partition(self, index: int, node: DockerServer) -> None:
        """Disconnect the node's container from the cluster network."""
        docker_ok("network", "disconnect", self.network, node.container_id)

    def heal(self, index: int, node: DockerServer) -> None:
        """Connect the node's container to the cluster network again, under its alias."""
        alias = self._aliases[index]
        docker_ok("network", "connect", "--alias", alias, self.network, node.container_id)
        node.refresh_urls()

    def close(self) -> None:
        """Give the cluster network back for the next cluster (removed when not empty)."""
        _give_back(self.network)
