"""A one-node embedded server with a topology applied, run until a signal (``mistersmith server``).

:func:`start_with_topology` starts a :class:`BinaryServer` sized for the topology (replicas
clamped to one node, ERRATA 2) and applies it, through :func:`simulator.servers.start`;
:func:`serve` does that, calls back once the server is ready, blocks until SIGINT or SIGTERM
(or until the server exits on its own), then stops the server and removes its temp dir unless
it is kept.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.servers._locate import BinaryArg
from simulator.servers.binary import BinaryServer
from simulator.servers.conf import LogLevel
from simulator.servers.start import start
from simulator.signals import STOP_SIGNALS, StopSignals

if TYPE_CHECKING:
    from simulator.protocol.topology import ApplyReport, Topology

__all__ = [
    "STOP_SIGNALS",
    "ServeOutcome",
    "Served",
    "apply_topology",
    "serve",
    "start_with_topology",
]

#: Seconds between two checks that the server is still alive while waiting for a signal.
_WATCH_INTERVAL = 0.25


@dataclass(frozen=True)
class Served:
    """A started server with the topology applied: the server, what was applied, the clamps."""

    server: BinaryServer
    topology: Topology
    applied: ApplyReport
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ServeOutcome:
    """How :func:`serve` ended: the signal, or the server's own exit (with its log tail)."""

    signal: signal.Signals | None
    server_pid: int | None
    server_returncode: int | None
    temp_dir: Path
    kept: bool
    log_tail: str = ""

    @property
    def exit_code(self) -> int:
        """0 when a signal stopped us, 1 when the server exited on its own."""
        return 0 if self.signal is not None else 1


async def apply_topology(client_url: str, topology: Topology, timeout: float = 10.0) -> ApplyReport:
    """Connect to ``client_url`` once, apply ``topology``, and close the connection."""
    from simulator.servers._apply import apply_over

    return await apply_over(client_url, topology, timeout)


def start_with_topology(
    topology: Topology | str | Path | None = None,
    *,
    binary: BinaryArg = None,
    keep_data: bool = False,
    log_level: LogLevel = "info",
    timeout: float = 10.0,
) -> Served:
    """Start a one-node server sized for ``topology`` (ours by default, or a file) and apply it.

    Its replicas are clamped to the one node; the notes say which.
    """
    started = start(
        "binary",
        topology,
        binary=binary,
        keep_data=keep_data,
        log_level=log_level,
        apply=True,
        start_timeout=timeout,
    )
    server = started.server
    assert isinstance(server, BinaryServer) and started.applied is not None
    return Served(server, started.topology, started.applied, started.notes)


def serve(
    topology: Topology | str | Path | None,
    *,
    on_ready: Callable[[Served], None],
    binary: BinaryArg = None,
    keep_data: bool = False,
    log_level: LogLevel = "info",
    timeout: float = 10.0,
    signals: Sequence[signal.Signals] = STOP_SIGNALS,
) -> ServeOutcome:
    """Start with ``topology`` applied, call ``on_ready``, run until a signal, then clean up.

    The signals are caught from before the start, so one that arrives during the start stops
    the server right after it. Call from the main thread (Python delivers signals there).
    """
    with StopSignals(signals) as catcher:
        served = start_with_topology(
            topology, binary=binary, keep_data=keep_data, log_level=log_level, timeout=timeout
        )
        server = served.server
        try:
            on_ready(served)
            while not catcher.wait(_WATCH_INTERVAL) and server.running:
                pass
            stopped_by = catcher.received
            tail = "" if stopped_by is not None else server.log_tail(20)
            code = server.returncode
        finally:
            server.stop()
        return ServeOutcome(
            signal=stopped_by,
            server_pid=server.pid,
            server_returncode=code,
            temp_dir=server.temp_dir,
            kept=keep_data,
            log_tail=tail,
        )
