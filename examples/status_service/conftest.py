"""Fixtures of the status service's tests: the service, on a connection of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from status_service import StatusService

from pytest_mistersmith import factories
from pytest_mistersmith.janitor import TopologyState

# A second client, made with the plugin's factories like its own nats_client: the service
# talks over a connection of its own, as it does in production, not over the test's.
service_client = factories.nats_client_factory("nats_server", name="status-service")


@pytest.fixture
async def status_service(
    mistersmith_topology: TopologyState, service_client: Client
) -> AsyncIterator[StatusService]:
    """The service, started after the per-test reset (which recreates its consumer)."""
    async with StatusService(service_client) as service:
        yield service
