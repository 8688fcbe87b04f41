"""N nats-server nodes of either backend, routed together into one JetStream cluster.

Binary backend: processes on loopback, all started at once (see ``_binary``). Every node
solicits routes to every other and retries them forever, so any node can stop and come back
and the mesh heals. A node started again keeps its ports and its store. Docker backend:
containers on a private docker network, routed by host name (see ``_docker``); there
``partition(i)``/``heal(i)`` cut a node off that network.

Readiness, polled every few milliseconds under one generous deadline, is what a client's first
publish needs on whichever node it connects to, in three steps: the full ``/healthz`` on every
node (``js-enabled-only`` answers before the meta leader is elected); with every node up, the
meta leader seeing each peer current; then, through every node's client URL, a probe stream's
info answering and a publish to it stored and acknowledged (the probe is deleted afterwards; see
``_ready``). :meth:`NatsCluster.apply_topology` applies through the meta leader, retrying what a
cluster still settling answers (see ``simulator.servers._apply``), and returns once every
stream has a leader with all replicas current and, through every node, answers its info and a
publish (refused unstored: see ``_ready``). So after ``start()`` and ``apply_topology()`` (what
the ``nats_cluster`` fixture does) a first publish to a stored subject through any node is
acknowledged; a node not there by the deadline is named in a ServerNotReadyError.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.errors import ConfigError, ServerError, ServerNotReadyError
from simulator.servers._locate import BinaryArg
from simulator.servers.backend import CLUSTER_BACKENDS, ClusterBackend, check_backend
from simulator.servers.base import NatsServer, require_started
from simulator.servers.cluster._health import agreed_leader, wait_peers, wait_streams
from simulator.servers.cluster._parallel import parallel, remove_dir
from simulator.servers.cluster._plan import Nodes, Plan
from simulator.servers.cluster._views import meta_view, stream_replicas, stream_view
from simulator.servers.conf import ClusterConfig, ServerConfig, resolve_topology
from simulator.servers.health import HEALTHZ, wait_healthy

if TYPE_CHECKING:
    from simulator.servers.security import Security

__all__ = ["NatsCluster"]

_CLUSTER_PREFIX = "mistersmith-cluster-"


class NatsCluster(NatsServer):
    """N routed nats-server nodes with JetStream; a context manager.

    Methods that take a node take its index in :attr:`nodes`; :meth:`meta_leader` and
    :meth:`stream_leader` return one. ``security`` secures every node alike: the same
    accounts and users, and with TLS the routes too (the server certificate names every
    node); :meth:`connect_options` says how to connect.
    """

    def __init__(
        self,
        size: int = 3,
        config: ServerConfig | None = None,
        *,
        backend: ClusterBackend = "binary",
        name: str = "mistersmith",
        binary: BinaryArg = None,
        image: str | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        keep_data: bool = False,
        base_dir: Path | None = None,
        security: Security | None = None,
    ) -> None:
        if size < 1:
            raise ConfigError(f"size: {size} must be at least 1 node (3 for the spec's R3)")
        self.backend: ClusterBackend = check_backend(backend, CLUSTER_BACKENDS)
        ClusterConfig(name=name)  # validates the name
        self.size = size
        self.name = name
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.keep_data = keep_data
        self._config = ServerConfig() if config is None else config
        self.security = security
        self._binary_arg = binary
        self._image = image
        self._base_dir = base_dir
        self._dir: Path | None = None
        self._nodes: list[Any] = []
        self._leader_hint: int | None = None
        self._down: dict[int, str] = {}
        self._impl: Nodes | None = None
        self._reaper: weakref.finalize[..., NatsCluster] | None = None

    # -- surface ------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Any]:
        """The node handles (BinaryServer or DockerServer), by index."""
        return list(self._nodes)

    @property
    def client_urls(self) -> list[str]:
        """Every node's client URL, by index (connect with the list to fail over)."""
        return [node.client_url for node in self._nodes]

    @property
    def client_url(self) -> str:
        """Node 0's client URL (clients discover the other nodes from it)."""
        return self.client_urls[0]

    @property
    def monitor_urls(self) -> list[str]:
        """Every node's HTTP monitoring URL, by index."""
        return [node.monitor_url for node in self._nodes]

    @property
    def server_names(self) -> list[str]:
        """The ``server_name`` of each node, by index."""
        return [f"{self.name}-n{i}" for i in range(self.size)]

    @property
    def version(self) -> str:
        """The server version, e.g. "2.15.1"."""
        return str(self._nodes[0].version)

    @property
    def directory(self) -> Path:
        """The directory holding each node's files and store."""
        return require_started(self._dir, "directory")

    @property
    def started(self) -> bool:
        """Whether the cluster's nodes exist (some may be down: see :attr:`down`)."""
        return bool(self._nodes)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every node's log, each under a header."""
        return "\n".join(
            f"--- node {i} ({self.server_names[i]}) ---\n{node.log_tail(lines)}"
            for i, node in enumerate(self._nodes)
        )

    def log_since(self, since: float) -> list[str]:
        """Every node's lines logged at or after ``since``, each node's under a header."""
        lines: list[str] = []
        for i, node in enumerate(self._nodes):
            lines += [f"--- node {i} ({self.server_names[i]}) ---", *node.log_since(since)]
        return lines

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, index: int | None = None) -> NatsCluster:
        """Start every node (or node ``index`` again, on its ports and store); wait for health.

        Every node started must answer the full ``/healthz`` before the deadline; a whole
        cluster also stores a publish to a probe stream through every node (see the module).
        """
        if index is not None:
            self._start_node(index)
            return self
        if self._nodes:
            raise ServerError("the cluster is already started; stop() it first")
        deadline = self.deadline()
        self._dir = Path(tempfile.mkdtemp(prefix=_CLUSTER_PREFIX, dir=self._base_dir))
        self._reaper = weakref.finalize(self, remove_dir, self._dir, self.keep_data)
        try:
            plan = Plan(
                self.name, self.size, self._secured(self._dir), self._dir, self.stop_timeout
            )
            self._impl = self._driver(plan)
            self._nodes = self._impl.start_all(deadline)
            self.wait_healthy(deadline=deadline)
            if self._config.jetstream:
                self._wait_jetstream(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _secured(self, directory: Path) -> ServerConfig:
        """The nodes' configuration, with the credentials of ``security`` made once for all."""
        self.material = None
        if self.security is None or self.security.open:
            return self._config
        from dataclasses import replace

        from simulator.servers.security import make_material

        hosts = tuple(self.server_names)  # the docker nodes' route host names
        limits = self._config.account_limits
        self.material = make_material(self.security, directory / "credentials", limits, hosts)
        return replace(self._config, security=self.material)

    def reload_credentials(self) -> None:
        """Make every node that is up read the credentials added since the start."""
        parallel(
            [node.reload_credentials for i, node in enumerate(self._nodes) if i not in self._down]
        )

    def _driver(self, plan: Plan) -> Nodes:
        if self.backend == "docker":
            from simulator.servers.cluster._docker import DockerNodes

            return DockerNodes(plan, self._image, self._binary_arg)
        from simulator.servers.cluster._binary import BinaryNodes

        return BinaryNodes(plan, self._binary_arg)

    def stop(self, index: int | None = None) -> None:
        """Stop node ``index`` gracefully (its store is kept), or with no index the cluster."""
        if index is not None:
            self._impl_of(index).stop_node(index, self._nodes[index])
            self._down[index] = "stopped"
            return
        nodes, self._nodes = self._nodes, []
        parallel([node.stop for node in nodes])
        if self._impl is not None:
            self._impl.close()
            self._impl = None
        self._down.clear()
        if self._dir is not None and not self.keep_data:
            shutil.rmtree(self._dir, ignore_errors=True)
        if self._reaper is not None:
            self._reaper.detach()
            self._reaper = None

    def _start_node(self, index: int, timeout: float | None = None) -> None:
        self._check(index)
        if self._nodes[index].running:
            raise ServerError(f"node {index} is running; stop(i) or kill(i) it first")
        deadline = self.deadline(timeout)
        self._nodes[index] = self._impl_of(index).start_node(index, self._nodes[index], deadline)
        self._down.pop(index, None)
        self._wait_node(index, deadline)

    def kill(self, index: int | None = None) -> None:
        """Kill node ``index`` (or every node) at once: SIGKILL, ``docker kill``; stores stay.

        A crash: :meth:`start` with the index, or :meth:`recover`, brings a node back.
        """
        if index is None:
            for each in range(self.size):
                self.kill(each)
            return
        self._check(index)
        self._nodes[index].kill()
        self._down[index] = "killed"

    def restart(self, index: int, *, graceful: bool = True) -> None:
        """Stop (or kill) node ``index`` and start it again on its store."""
        if graceful:
            self.stop(index)
        else:
            self.kill(index)
        self._start_node(index)

    def pause(self, index: int) -> None:
        """Freeze node ``index`` (SIGSTOP, ``docker pause``): connections stay, nothing answers."""
        self._check(index)
        self._nodes[index].pause()
        self._down[index] = "paused"

    def resume(self, index: int) -> None:
        """Thaw a paused node."""
        self._check(index)
        self._nodes[index].resume()
        self._down.pop(index, None)

    def partition(self, index: int) -> None:
        """Cut node ``index`` off the cluster network (docker only); clients still reach it."""
        self._impl_of(index).partition(index, self._nodes[index])
        self._down[index] = "partitioned"

    def heal(self, index: int) -> None:
        """Bring a partitioned node back onto the cluster network (docker only)."""
        self._impl_of(index).heal(index, self._nodes[index])
        self._down.pop(index, None)

    @property
    def down(self) -> dict[int, str]:
        """The nodes not serving, by index: "stopped", "killed", "paused" or "partitioned"."""
        return dict(self._down)

    def recover(self, timeout: float | None = None) -> None:
        """Bring every node back (resume, heal, start) and wait for the whole cluster's health.

        Healthy includes every stream led again, with all its replicas current.
        """
        deadline = self.deadline(timeout)
        for index, state in sorted(self._down.items()):
            if state == "paused":
                self.resume(index)
            elif state == "partitioned":
                self.heal(index)
            else:
                self._start_node(index, max(0.1, deadline - time.monotonic()))
        self.wait_healthy(deadline=deadline)
        wait_streams(self._up_urls(), self.server_names, None, deadline, self.start_timeout)

    def wait_healthy(self, timeout: float | None = None, *, deadline: float | None = None) -> None:
        """Wait until every node that is up answers the full ``/healthz``.

        With every node up, also until the meta leader sees every peer current.
        """
        if deadline is None:
            deadline = self.deadline(timeout)
        for index in range(self.size):
            if index not in self._down:
                self._wait_node(index, deadline)
        if not self._down and self.size > 1:
            urls = self._up_urls()
            self._leader_hint = wait_peers(urls, self.server_names, deadline, self.start_timeout)

    # -- leaders ------------------------------------------------------------------------
    def meta_leader(self, timeout: float = 30.0) -> int:
        """The index of the JetStream meta leader (waits for one the majority agrees on)."""
        return self._leader("meta leader", meta_view, timeout)

    def stream_leader(self, stream: str, timeout: float = 30.0) -> int:
        """The index of the leader of ``stream`` (waits for one the majority agrees on)."""
        size = self.size

        def voters() -> int:  # an R1 stream's leader is named by its one node
            return stream_replicas(stream, self._up_urls()) or size

        view = stream_view(stream)
        return self._leader(f"leader of stream {stream}", view, timeout, voters)

    def _leader(
        self,
        what: str,
        view: Callable[[str], str | None],
        timeout: float,
        voters: Callable[[], int] | None = None,
    ) -> int:
        return agreed_leader(what, view, self._up_urls(), self.server_names, timeout, voters)

    # -- topology -----------------------------------------------------------------------
    def apply_topology(self, topology: Any = None, timeout: float = 60.0) -> tuple[Any, list[str]]:
        """Apply ``topology`` (ours by default, or a file) at the cluster's replicas.

        Returns once, through every node that is up, each stream answers its info and a publish
        (refused, nothing stored: see the module). Returns the apply report and the notes on
        what was clamped to the cluster's size.
        """
        from simulator.protocol import topology as topo
        from simulator.servers._apply import apply_over, run_sync
        from simulator.servers.cluster._ready import wait_answers

        clamped, notes = topo.for_cluster(resolve_topology(topology), self.size)
        urls = self.client_urls
        if self._leader_hint is not None and self._leader_hint not in self._down:
            # ask the meta leader itself: no hop over a route that may still be settling
            urls = [urls[self._leader_hint]] + [u for u in urls if u != urls[self._leader_hint]]
        deadline = time.monotonic() + timeout
        options = self.connect_options()
        report = run_sync(apply_over(urls, clamped, timeout, settling=True, options=options))
        streams = {str(s.name) for s in clamped.streams}
        wait_streams(self._up_urls(), self.server_names, streams, deadline, self.start_timeout)
        clients = self._up_client_urls()
        names, ordered = self.server_names, sorted(streams)
        run_sync(wait_answers(clients, names, ordered, deadline, timeout, options=options))
        return report, notes

    # -- helpers ------------------------------------------------------------------------
    def _describe(self) -> str:
        return f"{self.backend} x{self.size} {self.client_urls if self._nodes else ''}"

    def _up_urls(self) -> list[str | None]:
        """Each node's monitoring URL by index; None for a node that is down."""
        return [
            None if index in self._down else node.monitor_url
            for index, node in enumerate(self._nodes)
        ]

    def _up_client_urls(self) -> list[str | None]:
        """Each node's client URL by index; None for a node that is down."""
        return [
            None if index in self._down else node.client_url
            for index, node in enumerate(self._nodes)
        ]

    def _wait_jetstream(self, deadline: float) -> None:
        """Until a probe stream stores a publish through every node (see the module)."""
        from simulator.servers._apply import run_sync
        from simulator.servers.cluster._ready import probe_cluster  # nats-py: loaded now

        urls = self._up_client_urls()
        options = self.connect_options()
        run_sync(probe_cluster(urls, self.server_names, deadline, self.start_timeout, options))

    def _check(self, index: int) -> None:
        if not self._nodes:
            raise ServerError("the cluster is not started; call start() first")
        if not 0 <= index < self.size:
            raise ServerError(f"node index {index} is not in 0..{self.size - 1}")

    def _impl_of(self, index: int) -> Nodes:
        """The backend's driver, once node ``index`` is checked."""
        self._check(index)
        assert self._impl is not None
        return self._impl

    def _wait_node(self, index: int, deadline: float) -> None:
        node = self._nodes[index]
        try:
            wait_healthy(node.monitor_url, deadline, path=HEALTHZ)
        except ServerNotReadyError as exc:
            raise ServerNotReadyError(
                f"cluster node {index} ({self.server_names[index]}) was not fully healthy: {exc}. "
                "Fix: raise start_timeout on a slow machine.\n"
                f"--- last lines of its log ---\n{node.log_tail()}",
                timeout=exc.timeout,
                log_tail=node.log_tail(),
            ) from None
