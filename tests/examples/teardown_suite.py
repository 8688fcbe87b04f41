"""A pull subscription whose fetch() timed out, left open by one test and closed by the other.

The fetch is abandoned while the server still holds its pull request, so the task assignment
published next is delivered to the subscription and never read: nats-py's drain waits for it
(the same happens when the server's 408 comes after the client-side timeout, a race).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


async def _timed_out_fetch(nats_client: Any, jetstream: Any) -> Any:
    sub = await jetstream.pull_subscribe(
        "tasks.*.assignment", durable="task_processor", stream="task_lifecycle"
    )
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(sub.fetch(1, timeout=30), 0.2)
    await jetstream.publish("tasks.analysis.assignment", b"{}")  # any bytes: nobody reads it
    for _ in range(1000):  # until the server has delivered it to the abandoned pull request
        if (await jetstream.consumer_info("task_lifecycle", "task_processor")).num_ack_pending:
            break
        await asyncio.sleep(0.005)
    return sub


@pytest.mark.asyncio
async def test_leaves_it_open(mistersmith_topology: Any, nats_client: Any, jetstream: Any) -> None:
    await _timed_out_fetch(nats_client, jetstream)


@pytest.mark.asyncio
async def test_closes_it(mistersmith_topology: Any, nats_client: Any, jetstream: Any) -> None:
    sub = await _timed_out_fetch(nats_client, jetstream)
    await sub.unsubscribe()
