"""The words of a run spread over workers, on ``system.control.{operation}``.

Every coordination message is the catalogue's model of ``system.control.{operation}`` (a
:class:`~simulator.protocol.models.ControlMessage`): ``component`` says who speaks
(:data:`COORDINATOR` or :data:`WORKER`), ``run_id`` names the run, ``data`` carries the rest
(the worker's name first). The operations, in the order of a run:

* ``join`` (worker, repeated until answered; ``data``: name, version),
* ``refuse`` (coordinator; ``data``: name, reason: another version, a full or started run),
* ``assign`` (coordinator; ``data``: name, first, stop, total, the scenario, the interval),
* ``ready`` (worker: its agents are up; ``data``: name, cpu_s, the CPU seconds their start
  took), ``start`` (coordinator: the run's clock starts),
* ``stats`` (worker, every interval: its liveness, agents per state, tasks held),
* ``beat`` (coordinator, every interval: workers stop when it goes silent),
* ``lost`` (coordinator: a worker went silent; ``data``: name, agents, tasks held),
* ``drain`` (coordinator), ``final`` (worker: its figures, :meth:`Metrics.snapshot`),
* ``end`` (coordinator: the run is over; late joiners are refused by silence).

:func:`split` is the deterministic share of agents: like k6's execution segments, worker ``i``
of ``n`` takes agents ``[i*total//n, (i+1)*total//n)`` of the scenario's one ordered list, so
the agents (ids, seeds, decisions) are the same whatever ``n`` is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from nats.aio.msg import Msg
from pydantic import JsonValue, ValidationError

from simulator.bus import now
from simulator.protocol import channels, subjects
from simulator.protocol.models import ControlMessage, make

__all__ = [
    "ASSIGN",
    "BEAT",
    "COORDINATOR",
    "DRAIN",
    "END",
    "FINAL",
    "INTERVAL",
    "JOIN",
    "LOST",
    "READY",
    "REFUSE",
    "START",
    "STATS",
    "WORKER",
    "control",
    "parse",
    "split",
    "wildcard",
]

COORDINATOR = "coordinator"
WORKER = "worker"
JOIN, REFUSE, ASSIGN, READY, START = "join", "refuse", "assign", "ready", "start"
STATS, BEAT, LOST, DRAIN, FINAL, END = "stats", "beat", "lost", "drain", "final", "end"
#: Seconds between a worker's ``stats`` and a coordinator's ``beat`` (and health reports).
INTERVAL = 1.0
_CHANNEL = "system_control"


def split(total: int, parts: int) -> list[range]:
    """``parts`` contiguous shares of ``total`` agents, in order, sizes differing by at most 1."""
    if parts < 1:
        raise ValueError(f"parts: at least 1, not {parts}")
    return [range(i * total // parts, (i + 1) * total // parts) for i in range(parts)]


def wildcard() -> str:
    """The subscription that hears every control operation."""
    return subjects.template(_CHANNEL).wildcard


def control(
    operation: str,
    component: str,
    run_id: str,
    data: Mapping[str, JsonValue],
    *,
    agents: int | None = None,
) -> tuple[str, ControlMessage]:
    """The subject and the message of ``operation``."""
    message = make(
        ControlMessage,
        control_id=str(uuid.uuid4()),
        operation=operation,
        component=component,
        run_id=run_id,
        agents=agents,
        data=dict(data),
        timestamp=now(),
    )
    return subjects.system_control(operation), message


def parse(msg: Msg) -> ControlMessage | None:
    """The control message in ``msg`` (None: not one, e.g. another tool's bad payload)."""
    model = channels.for_subject(msg.subject).payload
    try:
        message = model.model_validate_json(msg.data)
    except ValidationError:
        return None
    return message if isinstance(message, ControlMessage) else None
