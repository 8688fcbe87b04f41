"""A janitor of a test module's own server, on our topology clamped to one node."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pytest_mistersmith.janitor import TopologyJanitor
from simulator.protocol.topology import Topology, default_topology, for_cluster
from simulator.servers import BinaryServer


def single_node_topology() -> Topology:
    """Our topology at one replica."""
    single, _ = for_cluster(default_topology(), 1)
    return single


@contextmanager
def janitor_of(
    server: BinaryServer, topology: Topology, *, reset: bool
) -> Iterator[TopologyJanitor]:
    """A janitor of ``server``, its first reset (or only the apply) done; closed after."""
    janitor = TopologyJanitor(server.client_url, topology, owned=True)
    try:
        janitor.reset() if reset else janitor.apply()
        yield janitor
    finally:
        janitor.close()
