"""The one signal catcher of the long-running commands: count, first signal, wake-ups."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from simulator.signals import StopSignals


def test_a_signal_wakes_a_waiting_thread_and_is_kept() -> None:
    with StopSignals() as stop:
        assert not stop.wait(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5.0)
    assert (stop.count, stop.received) == (1, signal.SIGTERM)


def test_the_previous_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with StopSignals():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_first_signal_sets_the_event_and_a_second_cancels_the_task() -> None:
    async def body(stop: StopSignals) -> str:
        event = stop.bind()
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(event.wait(), 5.0)
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(5.0)  # the second signal cancels this
        return "not cancelled"

    with StopSignals() as stop, pytest.raises(asyncio.CancelledError):
        asyncio.run(body(stop))
    assert stop.count == 2


def test_a_signal_before_binding_leaves_the_event_set() -> None:
    async def body(stop: StopSignals) -> bool:
        return stop.bind().is_set()

    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5.0)
        assert asyncio.run(body(stop))
