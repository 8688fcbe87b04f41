"""The bridge tests' hook service: the simulator's responder, deciding by tool name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from nats.aio.client import Client

from pytest_mistersmith.janitor import TopologyState
from simulator.agents.hooks import HookResponder
from simulator.swarm.scenario import HookPolicy
from tests.bridge.hooks import policy


@pytest_asyncio.fixture
async def responder(
    mistersmith_topology: TopologyState, nats_client: Client
) -> AsyncIterator[HookResponder]:
    """A hook service on the test's server, answering as :func:`tests.bridge.hooks.policy`."""
    service = HookResponder(nats_client, HookPolicy(), seed=0, decide=policy)
    await service.start()
    yield service
    await service.stop()
