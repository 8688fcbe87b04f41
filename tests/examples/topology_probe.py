"""Uses ``mistersmith_topology``: the reset leaves every stream empty, test after test."""

from __future__ import annotations

import pytest
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState


@pytest.mark.asyncio
@pytest.mark.parametrize("round_", [1, 2])
async def test_streams_start_empty(
    mistersmith_topology: TopologyState, jetstream: JetStreamContext, round_: int
) -> None:
    assert "task_lifecycle" in mistersmith_topology.streams
    info = await jetstream.stream_info("task_lifecycle")
    assert info.state.messages == 0
    await jetstream.publish("tasks.analysis.assignment", b"{}")
