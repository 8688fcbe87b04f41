"""The binary backend's cluster nodes (processes on loopback) and helpers of ``cluster``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import shutil
import socket
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from simulator.errors import ServerError, ServerStartError
from simulator.servers._locate import BinaryArg, resolve_binary
from simulator.servers.binary import BinaryServer
from simulator.servers.conf import ClusterConfig, ServerConfig

if TYPE_CHECKING:
    from simulator.servers.cluster import NatsCluster

__all__ = ["BinaryNodes", "free_ports", "parallel", "remove_dir", "run_sync"]

_T = TypeVar("_T")
_PORT_ATTEMPTS = 3


class BinaryNodes:
    """Nodes as BinaryServer processes on loopback, each with its store in the cluster dir."""

    def __init__(self, cluster: NatsCluster, config: ServerConfig, binary: BinaryArg) -> None:
        self._cluster = cluster
        self._config = config
        self._binary = resolve_binary(binary)  # once for every node
        self._ports: list[tuple[int, int, int]] = []

    def _node(self, index: int, config: ServerConfig, deadline: float) -> BinaryServer:
        cluster = self._cluster
        node_dir = cluster.directory / f"n{index}"
        node_dir.mkdir(exist_ok=True)
        config = replace(
            config, server_name=cluster.server_names[index], store_dir=node_dir / "store"
        )
        server = BinaryServer(
            config,
            binary=self._binary,
            start_timeout=max(0.1, deadline - time.monotonic()),
            stop_timeout=cluster.stop_timeout,
            base_dir=node_dir,
        )
        return server.start()

    def _routes(self, ports: Sequence[int]) -> tuple[str, ...]:
        host = self._config.cluster.host if self._config.cluster else "127.0.0.1"
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
        attempt = 0
        while True:
            attempt += 1
            ports = free_ports(self._cluster.size)
            base = self._config.cluster or ClusterConfig(name=self._cluster.name)
            # routes to the others only (as on docker): no route-to-self churn at the start
            configs = [
                replace(
                    self._config,
                    cluster=replace(
                        base,
                        name=self._cluster.name,
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
        old.stop()  # a killed node: remove its temp dir (the store lives beside it)
        port, http_port, cluster_port = self._ports[index]
        others = [p[2] for i, p in enumerate(self._ports) if i != index]
        base = self._config.cluster or ClusterConfig(name=self._cluster.name)
        cluster = replace(base, name=self._cluster.name, routes=self._routes(others))
        config = replace(self._config, cluster=cluster).with_ports(port, http_port, cluster_port)
        return self._node(index, config, deadline)

    def stop_node(self, index: int) -> None:
        self._cluster.nodes[index].stop()  # the store lives beside its temp dir: it stays

    def partition(self, index: int) -> None:
        raise ServerError(
            "partition() needs the docker backend (a private network to cut); on the binary "
            "backend use pause(i) or stop(i)"
        )

    heal = partition

    def close(self) -> None:
        """Nothing beyond the nodes to release."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held together, then released).

    Only route listeners use them: routes must name their peers' ports before those start.
    Another process may take one before nats-server binds it; the start then retries.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def parallel(calls: Sequence[Callable[[], object]]) -> None:
    """Run ``calls`` on threads; re-raise the first error after all finished."""
    if not calls:
        return
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` to completion from sync code, on a fresh loop (in a thread if one runs)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def remove_dir(directory: Path, keep: bool) -> None:
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
