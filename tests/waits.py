"""Waiting on a condition that captured messages make true, with a deadline for the whole wait."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from pytest_mistersmith.capture import Capture

__all__ = ["linux_only", "polled", "until"]

#: For tests of process clean-up that use Linux's PR_SET_PDEATHSIG and /proc.
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux only"
)


def polled(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` every few ms until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


async def until(
    cap: Capture[Any], holds: Callable[[], bool], what: str, timeout: float = 10.0
) -> None:
    """Wait, message by message on ``cap``, until ``holds()``; fail naming ``what`` if it times out.

    The deadline covers the whole wait: messages that keep coming (heartbeats) without making
    ``holds()`` true do not extend it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not holds():
        remaining = deadline - loop.time()
        if remaining <= 0:
            pytest.fail(
                f"{what}: not within {timeout:g} s ({len(cap.messages)} message(s) on "
                f"{', '.join(cap.patterns)})",
                pytrace=False,
            )
        try:
            await cap.wait_for(len(cap.messages) + 1, timeout=remaining)
        except pytest.fail.Exception:
            if cap.invalid:
                raise  # a message that does not fit the model: that failure says more
