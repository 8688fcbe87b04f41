"""The read-back's patience with a cluster that has just healed: asked again while it answers
"unavailable", given up on at the deadline with one line naming what was asked."""

from __future__ import annotations

import time

import pytest
from nats.js.errors import ServiceUnavailableError

from simulator.errors import ServerError
from simulator.faults.readback import _settled


@pytest.mark.asyncio
async def test_an_unsettled_cluster_is_asked_again_until_it_answers() -> None:
    answers: list[str] = []

    async def call() -> str:
        answers.append("asked")
        if len(answers) < 3:
            raise ServiceUnavailableError()
        return "info"

    assert await _settled(call, "stream s", time.monotonic() + 5) == "info"
    assert len(answers) == 3


@pytest.mark.asyncio
async def test_a_cluster_that_never_settles_is_one_line_at_the_deadline() -> None:
    async def call() -> str:
        raise ServiceUnavailableError()

    with pytest.raises(ServerError, match=r"^stream task_lifecycle: no answer before the deadl"):
        await _settled(call, "stream task_lifecycle", time.monotonic() + 0.3)
