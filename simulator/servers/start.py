"""One way to start a server of any backend, for the plugin's fixtures, the CLI and clusters.

An entry point (the plugin's session, a ``mistersmith`` command) reads its settings once and
calls :func:`start` with them as frozen values: the backend, the topology (ours, a file, or
one), where to find the binary (a :class:`~simulator.servers.BinaryLookup`), the image or the
URL. :func:`start` does the rest once: resolve the topology, size the server for it, find the
binary when the backend needs one, start and wait for readiness, and with ``apply`` apply the
topology clamped to the nodes (ERRATA 2). A start or an apply that fails leaves nothing
running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.errors import ConfigError, ServerError
from simulator.servers._locate import BinaryArg, resolve_binary
from simulator.servers.backend import BACKENDS, Backend, ClusterBackend, check_backend
from simulator.servers.base import NatsServer
from simulator.servers.binary import BinaryServer
from simulator.servers.cluster import NatsCluster
from simulator.servers.conf import LogLevel, ServerConfig, for_topology, resolve_topology
from simulator.servers.docker import DockerServer
from simulator.servers.external import ExternalServer

if TYPE_CHECKING:
    from pydantic import JsonValue

    from simulator.protocol.topology import ApplyReport, Topology
    from simulator.servers.security import Security

__all__ = ["Started", "describe_backend", "start"]

_DEFAULT_IMAGE = "nats:VERSION if cached, else mistersmith/nats-server:VERSION (built on demand)"


@dataclass(frozen=True)
class Started:
    """A started server (or cluster), the topology it is sized for, and what was applied.

    ``topology`` is clamped to the nodes when it was applied; ``notes`` say what was clamped.
    """

    backend: Backend
    server: NatsServer
    topology: Topology
    applied: ApplyReport | None = None
    notes: tuple[str, ...] = ()

    @property
    def info(self) -> dict[str, JsonValue]:
        """What a report says of the server: backend, client URL, version; a cluster's nodes too."""
        info: dict[str, Any] = {"backend": self.backend, "client_url": self.server.client_url}
        if isinstance(self.server, NatsCluster):
            info["nodes"] = self.server.size
            info["client_urls"] = self.server.client_urls
        info["version"] = self.server.version
        return info


def start(
    backend: Backend = "binary",
    topology: Topology | str | Path | None = None,
    *,
    binary: BinaryArg = None,
    image: str | None = None,
    url: str | None = None,
    nodes: int = 3,
    nodes_on: ClusterBackend = "binary",
    log_level: LogLevel = "info",
    overrides: Mapping[str, object] | None = None,
    keep_data: bool = False,
    apply: bool = False,
    start_timeout: float | None = None,
    security: Security | None = None,
) -> Started:
    """Start a server of ``backend`` sized for ``topology`` (ours by default), ready to use.

    ``binary`` is looked up only when the backend needs it (binary, binary nodes, docker
    without ``image``); ``url`` is the external server's; ``nodes`` and ``nodes_on`` shape a
    cluster; ``overrides`` set any other :class:`ServerConfig` field; ``start_timeout``
    (default: the backend's own) bounds the start. With ``apply`` the topology is applied,
    clamped to the nodes, except on an external server, which start() never changes.
    ``security`` secures the server (any backend but external: every cluster node alike);
    the handle's ``connect_options()`` then
    say how to connect.
    """
    check_backend(backend, BACKENDS)
    resolved = resolve_topology(topology)
    if backend == "external":
        if security is not None and not security.open:
            raise ConfigError(
                f"security {security}: an external server is secured by whoever runs it; "
                "connect with its credentials (connect_options) and leave the profile open"
            )
        if not url:
            raise ConfigError(
                "the external backend needs the server's URL: give url= (the plugin's "
                "--nats-url / ini nats_url, or `mistersmith run --url`)"
            )
        external = ExternalServer(url)
        if start_timeout is not None:
            external.start_timeout = start_timeout
        return Started(backend, external.start(), resolved)
    config = for_topology(resolved, log_level=log_level, **(overrides or {}))
    server = _create(backend, config, binary, image, nodes, nodes_on, keep_data, security)
    if start_timeout is not None:
        server.start_timeout = start_timeout
    try:
        server.start()
        return _apply(backend, server, resolved) if apply else Started(backend, server, resolved)
    except BaseException:
        with contextlib.suppress(ServerError):  # the first error is the one to report
            server.stop()
        raise


def _create(
    backend: Backend,
    config: ServerConfig,
    binary: BinaryArg,
    image: str | None,
    nodes: int,
    nodes_on: ClusterBackend,
    keep_data: bool,
    security: Security | None = None,
) -> NatsServer:
    """The handle of ``backend`` (binary, docker or cluster), not started yet."""
    if backend == "cluster":
        return NatsCluster(
            nodes,
            config,
            backend=nodes_on,
            binary=binary,
            image=image,
            keep_data=keep_data,
            security=security,
        )
    if backend == "docker":
        return DockerServer(config, image=image, binary=binary, security=security)
    return BinaryServer(config, binary=binary, keep_data=keep_data, security=security)


def _apply(backend: Backend, server: NatsServer, topology: Topology) -> Started:
    """Apply ``topology``, clamped to the server's nodes; the started server with the report."""
    from simulator.protocol.topology import for_cluster
    from simulator.servers._apply import apply_over, run_sync  # nats-py: loaded when applying

    if isinstance(server, NatsCluster):
        clamped, notes = for_cluster(topology, server.size)
        report, _ = server.apply_topology(clamped)
    else:
        clamped, notes = for_cluster(topology, 1)
        report = run_sync(
            apply_over(
                server.client_url,
                clamped,
                server.start_timeout,
                options=server.connect_options(),
            )
        )
    return Started(backend, server, clamped, report, tuple(notes))


def describe_backend(
    backend: Backend, *, binary: BinaryArg = None, image: str | None = None, url: str | None = None
) -> str:
    """What :func:`start` runs ``backend`` with, in a few words: the URL, the image, the binary.

    A binary that cannot be found raises its ``ServerBinaryError`` (every place looked).
    """
    if backend == "external":
        return f"url {url}"
    if backend == "docker":
        return f"image {image or _DEFAULT_IMAGE}"
    found = resolve_binary(binary)
    return f"{found.path} (v{found.version})"
