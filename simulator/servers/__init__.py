"""The NATS servers the testbed runs on: the embedded binary and an external URL."""

from __future__ import annotations

from simulator.servers._handle import NatsServer
from simulator.servers._locate import (
    ENV_VAR,
    MIN_VERSION,
    NatsServerBinary,
    binary_version,
    find_nats_server,
)
from simulator.servers.binary import BinaryServer
from simulator.servers.conf import (
    DEFAULT_MAX_PAYLOAD,
    ClusterConfig,
    LogLevel,
    ServerConfig,
    for_topology,
    render,
)
from simulator.servers.external import ExternalServer
from simulator.servers.health import HEALTHZ, HEALTHZ_JS, get_json, wait_healthy, wait_info

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "ENV_VAR",
    "HEALTHZ",
    "HEALTHZ_JS",
    "MIN_VERSION",
    "BinaryServer",
    "ClusterConfig",
    "ExternalServer",
    "LogLevel",
    "NatsServer",
    "NatsServerBinary",
    "ServerConfig",
    "binary_version",
    "find_nats_server",
    "for_topology",
    "get_json",
    "render",
    "wait_healthy",
    "wait_info",
]
