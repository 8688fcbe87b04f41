"""One swarm over several processes: a coordinator and workers, coordinated over NATS.

The coordinator (:class:`Coordinator`) keeps the dispatcher, the monitor, the hook responder,
the live view and the report; each worker (:class:`Worker`) runs a share of the agents
(:func:`split`). Every word between them is a ``system.control.{operation}`` message of the
catalogue (:mod:`simulator.swarm.workers.control`).
"""

from __future__ import annotations

from simulator.swarm.workers.control import INTERVAL, split
from simulator.swarm.workers.coordinator import Coordinator, WorkersError, WorkerState
from simulator.swarm.workers.worker import DEFAULT_RUN, GONE_AFTER, Worker, WorkerOptions

__all__ = [
    "DEFAULT_RUN",
    "GONE_AFTER",
    "INTERVAL",
    "Coordinator",
    "Worker",
    "WorkerOptions",
    "WorkerState",
    "WorkersError",
    "split",
]
