"""The topology fixture factory: the full JetStream topology on a server, reset per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_mistersmith.config import CONFIG_KEY, NOT_GIVEN, NotGiven, pick
from pytest_mistersmith.factories.server import before_stop, mark_used

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from pytest_mistersmith.janitor import TopologyJanitor, TopologyState
    from simulator.protocol.topology import Topology
    from simulator.servers import NatsServer

__all__ = ["TOPOLOGY_USED_KEY", "janitor_for", "janitors", "topology_factory"]

#: On a test item's stash when a topology fixture ran for it (any made by the factory).
TOPOLOGY_USED_KEY = pytest.StashKey[bool]()

_JANITORS = pytest.StashKey[dict[tuple[str, str], "TopologyJanitor"]]()


def _resolve(topology: Topology | str | Path | None) -> Topology:
    from simulator.protocol import topology as topo

    if topology is None:
        return topo.default_topology()
    if isinstance(topology, topo.Topology):
        return topology
    return topo.load(topology)


def janitor_for(
    config: pytest.Config,
    server: NatsServer,
    topology: Topology | str | Path | None = None,
    *,
    allow_reset: bool | NotGiven = NOT_GIVEN,
) -> TopologyJanitor:
    """The session's janitor of ``server`` (made on first use; closed before the server stops)."""
    janitors = config.stash.setdefault(_JANITORS, {})
    key = (server.client_url, str(topology))
    if key not in janitors:
        from pytest_mistersmith.janitor import TopologyJanitor
        from simulator.protocol import topology as topo
        from simulator.servers import ExternalServer, NatsCluster

        cluster_size = len(server.nodes) if isinstance(server, NatsCluster) else 1
        clamped, notes = topo.for_cluster(_resolve(topology), cluster_size)
        janitor = TopologyJanitor(
            server.client_url,
            clamped,
            owned=not isinstance(server, ExternalServer),
            allow_reset=pick(allow_reset, config.stash[CONFIG_KEY].allow_reset),
            notes=tuple(notes),
            clustered=cluster_size > 1,
            connect_options=server.connect_options(),
        )
        config.add_cleanup(janitor.close)  # idempotent: before_stop's call comes first
        before_stop(config, server, janitor.close)  # it holds a connection to the server
        janitors[key] = janitor  # applied on first reset, after its refusal check
    return janitors[key]


def janitors(config: pytest.Config) -> list[TopologyJanitor]:
    """The janitors this session made, in order."""
    return list(config.stash.get(_JANITORS, {}).values())


def topology_factory(
    server_fixture_name: str = "nats_server",
    *,
    topology: Topology | str | Path | None = None,
    allow_reset: bool | NotGiven = NOT_GIVEN,
) -> Callable[..., Iterator[TopologyState]]:
    """A fixture of the topology applied on ``server_fixture_name``, reset before each test.

    ``topology`` is ours by default (``topology.yaml``), or a :class:`Topology` or a path to
    a topology file. The fixture yields a :class:`TopologyState` with the streams' and the
    consumers' infos after the reset.
    """

    @pytest.fixture
    def topology_fixture(request: pytest.FixtureRequest) -> Iterator[TopologyState]:
        server = request.getfixturevalue(server_fixture_name)
        mark_used(request, server)
        request.node.stash[TOPOLOGY_USED_KEY] = True
        janitor = janitor_for(request.config, server, topology, allow_reset=allow_reset)
        yield janitor.reset()

    return topology_fixture
