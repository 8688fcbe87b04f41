"""The second test forgets ``mistersmith_topology``: it passes after the first, fails alone."""

from __future__ import annotations

import pytest
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState


@pytest.mark.asyncio
async def test_1_applies_it(
    mistersmith_topology: TopologyState, jetstream: JetStreamContext
) -> None:
    await jetstream.publish("tasks.analysis.assignment", b"{}")


@pytest.mark.asyncio
async def test_2_forgets_it(jetstream: JetStreamContext) -> None:
    ack = await jetstream.publish("tasks.analysis.assignment", b"{}")
    assert ack.stream == "task_lifecycle"
