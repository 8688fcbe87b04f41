"""The binary backend's cluster nodes: BinaryServer processes on loopback.

Client and monitoring ports are picked by the servers (``-1``); the route ports alone are
picked beforehand, because every node's routes must name them, and a start that loses that race
(``address already in use``) picks again. A node started again keeps its ports and its store.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import replace

from simulator.errors import ServerError, ServerStartError
from simulator.servers._locate import BinaryArg, resolve_binary
from simulator.servers._ports import free_ports
from simulator.servers.binary import BinaryServer
from simulator.servers.cluster._parallel import parallel
from simulator.servers.cluster._plan import Plan
from simulator.servers.conf import ServerConfig

__all__ = ["BinaryNodes"]

_PORT_ATTEMPTS = 3


class BinaryNodes:
    """Nodes as BinaryServer processes on loopback, each with its store in the cluster dir."""

    def __init__(self, plan: Plan, binary: BinaryArg = None) -> None:
        self._plan = plan
        self._binary = resolve_binary(binary)  # once for every node
        self._ports: list[tuple[int, int, int]] = []

    def _node(self, index: int, config: ServerConfig, deadline: float) -> BinaryServer:
        plan = self._plan
        node_dir = plan.directory / f"n{index}"
        node_dir.mkdir(exist_ok=True)
        config = replace(config, server_name=plan.server_names[index], store_dir=node_dir / "store")
        server = BinaryServer(
            config,
            binary=self._binary,
            start_timeout=max(0.1, deadline - time.monotonic()),
            stop_timeout=plan.stop_timeout,
            base_dir=node_dir,
        )
        return server.start()

    def _routes(self, ports: Sequence[int]) -> tuple[str, ...]:
        host = self._plan.cluster_block.host
        return tuple(f"nats-route://{host}:{port}" for port in ports)

    def _start_into(
        self,
        nodes: list[BinaryServer | None],
        configs: list[ServerConfig],
        index: int,
        deadline: float,
    ) -> None:
        nodes[index] = self._node(index, configs[index], deadline)

    def start_all(self, deadline: float) -> list[BinaryServer]:
        """Start every node at once; pick the route ports again when one was taken meanwhile."""
        plan = self._plan
        attempt = 0
        while True:
            attempt += 1
            ports = free_ports(plan.size)
            base = plan.cluster_block
            # routes to the others only (as on docker): no route-to-self churn at the start
            configs = [
                replace(
                    plan.config,
                    cluster=replace(
                        base,
                        name=plan.name,
                        port=port,
                        routes=self._routes([p for p in ports if p != port]),
                    ),
                )
                for port in ports
            ]
            nodes: list[BinaryServer | None] = [None] * len(configs)
            try:
                parallel(
                    [
                        functools.partial(self._start_into, nodes, configs, i, deadline)
                        for i in range(len(configs))
                    ]
                )
            except ServerStartError as exc:
                parallel([n.stop for n in nodes if n is not None])
                if attempt < _PORT_ATTEMPTS and "address already in use" in exc.log_tail:
                    continue  # a picked route port was taken meanwhile: pick again
                raise
            except BaseException:
                parallel([n.stop for n in nodes if n is not None])
                raise
            started = [n for n in nodes if n is not None]
            for node in started:
                config = node.config
                assert config.cluster is not None
                self._ports.append((config.port, config.http_port, config.cluster.port))
            return started

    def start_node(self, index: int, old: BinaryServer, deadline: float) -> BinaryServer:
        """A fresh process for node ``index`` on its ports, routes and store."""
        old.stop()  # a killed node: remove its temp dir (the store lives beside it)
        port, http_port, cluster_port = self._ports[index]
        others = [p[2] for i, p in enumerate(self._ports) if i != index]
        plan = self._plan
        cluster = replace(plan.cluster_block, name=plan.name, routes=self._routes(others))
        config = replace(plan.config, cluster=cluster).with_ports(port, http_port, cluster_port)
        return self._node(index, config, deadline)

    def stop_node(self, index: int, node: BinaryServer) -> None:
        """Stop the process; the store lives beside its temp dir: it stays."""
        node.stop()

    def partition(self, index: int, node: BinaryServer) -> None:
        """Refused: there is no network of our own to cut on loopback."""
        raise ServerError(
            "partition() needs the docker backend (a private network to cut); on the binary "
            "backend use pause(i) or stop(i)"
        )

    heal = partition

    def close(self) -> None:
        """Nothing beyond the nodes to release."""
