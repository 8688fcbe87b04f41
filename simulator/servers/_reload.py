"""What a reload may change: everything but the listen ports and the store."""

from __future__ import annotations

from dataclasses import replace

from simulator.errors import ConfigError
from simulator.servers.conf import ServerConfig

__all__ = ["carry_over", "resolved"]


def carry_over(config: ServerConfig, current: ServerConfig, in_force: ServerConfig) -> ServerConfig:
    """``config`` with the ports and store of the running process, ready to render for SIGHUP.

    ``current`` has the actual ports; ``in_force`` is what the process was started with (a
    server started with ``port: -1`` refuses a reload that names its actual port).
    """
    for name in ("port", "http_port"):
        if getattr(config, name) not in (-1, getattr(current, name), getattr(in_force, name)):
            raise ConfigError(f"{name}: cannot change on reload; start another server")
    if config.store_dir not in (None, current.store_dir):
        raise ConfigError("store_dir: cannot change on reload; start another server")
    cluster_port = None if in_force.cluster is None else in_force.cluster.port
    new = replace(config, store_dir=current.store_dir)
    return new.with_ports(in_force.port, in_force.http_port, cluster_port)


def resolved(config: ServerConfig, current: ServerConfig) -> ServerConfig:
    """``config`` with the ports the running process actually listens on."""
    cluster_port = None if current.cluster is None else current.cluster.port
    return config.with_ports(current.port, current.http_port, cluster_port)
