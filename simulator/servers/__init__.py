"""The NATS servers the testbed runs on: the embedded binary, Docker, an external URL, clusters.

Every handle is a :class:`NatsServer` (``base``); :func:`start` starts one of any
:data:`Backend` for the plugin and the CLI. Importing this package imports neither docker nor
testcontainers (the docker backend loads them when a container starts), nor nats-py or the
protocol (loaded when a topology is applied).
"""

from __future__ import annotations

from simulator.servers._docker_cli import docker_available
from simulator.servers._locate import (
    ENV_VAR,
    MIN_VERSION,
    BinaryLookup,
    NatsServerBinary,
    binary_version,
    find_nats_server,
)
from simulator.servers.backend import Backend, ClusterBackend, ServerBackend
from simulator.servers.base import NatsServer
from simulator.servers.binary import BinaryServer
from simulator.servers.cluster import NatsCluster
from simulator.servers.conf import (
    DEFAULT_MAX_PAYLOAD,
    ClusterConfig,
    LogLevel,
    ServerConfig,
    for_topology,
    render,
)
from simulator.servers.docker import DockerServer
from simulator.servers.external import ExternalServer
from simulator.servers.health import HEALTHZ, HEALTHZ_JS, get_json, wait_healthy, wait_info
from simulator.servers.image import build_image, default_image
from simulator.servers.start import Started, start

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "ENV_VAR",
    "HEALTHZ",
    "HEALTHZ_JS",
    "MIN_VERSION",
    "Backend",
    "BinaryLookup",
    "BinaryServer",
    "ClusterBackend",
    "ClusterConfig",
    "DockerServer",
    "ExternalServer",
    "LogLevel",
    "NatsCluster",
    "NatsServer",
    "NatsServerBinary",
    "ServerBackend",
    "ServerConfig",
    "Started",
    "binary_version",
    "build_image",
    "default_image",
    "docker_available",
    "find_nats_server",
    "for_topology",
    "get_json",
    "render",
    "start",
    "wait_healthy",
    "wait_info",
]
