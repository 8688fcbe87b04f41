"""The NATS servers the testbed runs on: the embedded binary, Docker, an external URL, clusters.

Every handle is a :class:`NatsServer` (``base``); :func:`start` starts one of any
:data:`Backend` for the plugin and the CLI. Importing this package imports neither docker nor
testcontainers (the docker backend loads them when a container starts), nor nats-py or the
protocol (loaded when a topology is applied). Each name is imported from its module on first
use (PEP 562), so that a submodule such as ``credentials`` comes without the rest (the command
hook imports only what it needs).
"""

from __future__ import annotations

import importlib
import sys
import types
import typing

if typing.TYPE_CHECKING:
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

#: Every public name -> the module that defines it.
_WHERE: dict[str, str] = {
    "Backend": "simulator.servers.backend",
    "BinaryLookup": "simulator.servers._locate",
    "BinaryServer": "simulator.servers.binary",
    "ClusterBackend": "simulator.servers.backend",
    "ClusterConfig": "simulator.servers.conf",
    "DEFAULT_MAX_PAYLOAD": "simulator.servers.conf",
    "DockerServer": "simulator.servers.docker",
    "ENV_VAR": "simulator.servers._locate",
    "ExternalServer": "simulator.servers.external",
    "HEALTHZ": "simulator.servers.health",
    "HEALTHZ_JS": "simulator.servers.health",
    "LogLevel": "simulator.servers.conf",
    "MIN_VERSION": "simulator.servers._locate",
    "NatsCluster": "simulator.servers.cluster",
    "NatsServer": "simulator.servers.base",
    "NatsServerBinary": "simulator.servers._locate",
    "ServerBackend": "simulator.servers.backend",
    "ServerConfig": "simulator.servers.conf",
    "Started": "simulator.servers.start",
    "binary_version": "simulator.servers._locate",
    "build_image": "simulator.servers.image",
    "default_image": "simulator.servers.image",
    "docker_available": "simulator.servers._docker_cli",
    "find_nats_server": "simulator.servers._locate",
    "for_topology": "simulator.servers.conf",
    "get_json": "simulator.servers.health",
    "render": "simulator.servers.conf",
    "start": "simulator.servers.start",
    "wait_healthy": "simulator.servers.health",
    "wait_info": "simulator.servers.health",
}


def __getattr__(name: str) -> object:
    """Import ``name`` from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (imported or not)."""
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """This package, whose public names are not hidden by submodules of the same name:
    importing ``simulator.servers.start`` (the module) leaves ``start`` (the function)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
