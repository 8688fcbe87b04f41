"""Fixture factories: each returns a fixture; ``plugin.py`` makes the default ones.

Make a second server or client in your own conftest with the same factories::

    from pytest_mistersmith import factories

    big_server = factories.nats_server_factory(overrides={"max_payload": 32 * 2**20})
    big_client = factories.nats_client_factory("big_server")
"""

from pytest_mistersmith.factories.client import (
    capture_factory,
    jetstream_factory,
    nats_client_factory,
)
from pytest_mistersmith.factories.cluster import nats_cluster_factory
from pytest_mistersmith.factories.contracts import contracts_factory
from pytest_mistersmith.factories.server import nats_server_factory
from pytest_mistersmith.factories.swarm import swarm_factory
from pytest_mistersmith.factories.topology import topology_factory

__all__ = [
    "capture_factory",
    "contracts_factory",
    "jetstream_factory",
    "nats_client_factory",
    "nats_cluster_factory",
    "nats_server_factory",
    "swarm_factory",
    "topology_factory",
]
