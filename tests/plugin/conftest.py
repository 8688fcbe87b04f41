"""Fixtures the plugin's tests share."""

from __future__ import annotations

import pytest

from simulator.protocol.topology import Topology
from tests.plugin.janitors import single_node_topology


@pytest.fixture
def topology() -> Topology:
    """Our topology at one replica (for a janitor of a module's own one-node server)."""
    return single_node_topology()
