"""The span of a run, the same for one process and a spread run: begin, watch, heal, drain, check.

Private to :mod:`simulator.cli`. :func:`run_span` starts the figures' clock and the fault
session, says what runs where, waits for ``watch``; then, whatever happened, heals the faults,
says so when a signal cut the run short, drains (``drain``) and stops the clock; and checks the
history (faults) unless a signal came.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from simulator.bus import Bus
from simulator.cli._faults import run_checker
from simulator.faults.session import FaultSession
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import Scenario

__all__ = ["connection_lost", "run_span", "server_gone"]

#: Seconds a run waits, once over, for a reconnect under way to succeed or give up.
_RECONNECT_WAIT = 30.0
_POLL = 0.25


async def run_span(
    *,
    scenario: Scenario,
    metrics: Metrics,
    console: Console,
    bus: Bus | None,
    session: FaultSession | None,
    where: str,
    what: str,
    interrupted: Callable[[], bool],
    watch: Callable[[], Awaitable[str]],
    drain: Callable[[], Awaitable[None]],
    checked: object,
) -> str:
    """Run the span (see the module); ``watch``'s failure ("" if none). ``what`` names what
    drains (``swarm``, ``workers``); ``checked`` is the swarm whose history the checker reads."""
    metrics.begin()
    if session is not None and bus is not None:
        session.begin(bus, started=metrics.started, duration=scenario.duration, seed=scenario.seed)
    console.print(
        f"running {scenario.agent_count} agents ({escape(scenario.source)}, seed "
        f"{scenario.seed}) on {escape(where)} for {scenario.duration:g} s"
    )
    failure = ""
    try:
        failure = await watch()
    finally:
        if session is not None:
            await session.heal()
        if interrupted():
            console.print(f"interrupted: draining the {what} (Ctrl-C again to cancel the drain)")
        try:
            await drain()
        finally:
            metrics.end()
    if session is not None and not interrupted():
        await run_checker(session, checked, console)
    return failure


def connection_lost(swarm: Any) -> bool:
    """Whether the swarm's connection is closed for good (its reconnect attempts spent)."""
    bus = getattr(swarm, "bus", None)
    return bus is not None and bool(bus.client.is_closed)


async def server_gone(swarm: Any) -> bool:
    """:func:`connection_lost`, once a reconnect under way has succeeded or given up (bounded)."""
    bus = getattr(swarm, "bus", None)
    if bus is None:
        return False
    deadline = time.monotonic() + _RECONNECT_WAIT
    while bus.client.is_reconnecting and time.monotonic() < deadline:
        await asyncio.sleep(_POLL)
    return bool(bus.client.is_closed or bus.client.is_reconnecting)
