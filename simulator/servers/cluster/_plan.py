"""What a cluster's node drivers are told, and what they do: the seam of the cluster package.

:class:`NatsCluster` builds a :class:`Plan` and hands it to the driver of its backend
(:class:`BinaryNodes` or :class:`DockerNodes`); a driver never sees the cluster itself, so the
modules import in one direction only: ``_cluster`` -> drivers -> ``_plan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from simulator.servers.conf import ClusterConfig, ServerConfig

__all__ = ["Nodes", "Plan"]


@dataclass(frozen=True)
class Plan:
    """A cluster's name, size, node configuration, directory and stop timeout."""

    name: str
    size: int
    config: ServerConfig
    directory: Path
    stop_timeout: float

    @property
    def server_names(self) -> list[str]:
        """The ``server_name`` of each node, by index."""
        return [f"{self.name}-n{i}" for i in range(self.size)]

    @property
    def cluster_block(self) -> ClusterConfig:
        """The configured ``cluster {}`` block, or one of the cluster's name."""
        return self.config.cluster or ClusterConfig(name=self.name)


class Nodes(Protocol):
    """A backend's nodes: start all at once, start one again, stop, cut off, release."""

    def start_all(self, deadline: float) -> list[Any]:
        """Start every node at once, each ready before ``deadline``; the handles by index."""
        ...

    def start_node(self, index: int, old: Any, deadline: float) -> Any:
        """Start node ``index`` (handle ``old``) again on its ports and store; its handle."""
        ...

    def stop_node(self, index: int, node: Any) -> None:
        """Stop node ``index`` gracefully, keeping its store."""
        ...

    def partition(self, index: int, node: Any) -> None:
        """Cut node ``index`` off the cluster's network."""
        ...

    def heal(self, index: int, node: Any) -> None:
        """Bring node ``index`` back onto the cluster's network."""
        ...

    def close(self) -> None:
        """Release what the driver holds beyond the nodes (a docker network)."""
        ...
