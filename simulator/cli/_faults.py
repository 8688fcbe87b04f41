"""``mistersmith run``'s faults, history checker and durability settings (private to the CLI).

Kept apart from ``_runner`` so the run loop only calls in: what durability was in force, the
fault session of a run (:class:`simulator.faults.session.FaultSession`), and the checker's
read-back at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nats.errors import Error as NatsError
from pydantic import JsonValue
from rich.console import Console
from rich.markup import escape

from simulator.errors import MisterSmithError
from simulator.faults.session import FaultOptions, FaultSession
from simulator.protocol import topology as topo

if TYPE_CHECKING:
    from simulator.cli._target import Target

__all__ = ["durability", "durability_overrides", "make_session", "run_checker"]

#: What nats-server does when no ``sync_interval`` is set.
DEFAULT_SYNC = "2m (the server's default)"


def durability_overrides(sync_interval: str | None) -> dict[str, object]:
    """The :class:`ServerConfig` overrides of ``--sync-interval`` (none when not given)."""
    return {} if sync_interval is None else {"sync_interval": sync_interval}


def durability(topology: topo.Topology, sync_interval: str | None) -> dict[str, JsonValue]:
    """What the report says was in force: ``sync_interval`` and each stream's storage and
    replicas (as applied, clamped to the nodes)."""
    streams: dict[str, JsonValue] = {}
    for stream in topology.streams:
        storage = getattr(stream.storage, "value", stream.storage)
        streams[str(stream.name)] = {
            "storage": str(storage),
            "replicas": int(stream.num_replicas or 1),
        }
    return {
        "sync_interval": sync_interval if sync_interval is not None else DEFAULT_SYNC,
        "streams": streams,
    }


def make_session(
    options: FaultOptions, urls: Sequence[str], target: Target, console: Console
) -> FaultSession | None:
    """The run's fault session, or None when neither faults nor the checker were asked for."""
    if not options.checking or target.topology is None:
        return None
    return FaultSession(
        options,
        urls=urls,
        topology=target.topology,
        cluster=target.cluster,
        connect_options=target.options,
        notify=lambda line: console.print(f"[bold yellow]{escape(line)}[/]"),
    )


async def run_checker(session: FaultSession, swarm: Any, console: Console) -> None:
    """Read every stream back and check the history; a failure to read is said, not raised."""
    dispatcher = swarm.dispatcher
    assigned = [a.task_id for a in dispatcher.assigned] if dispatcher is not None else []
    console.print("checking the history: reading every stream back")
    try:
        await session.check(assigned)
    except (MisterSmithError, NatsError, OSError, TimeoutError) as exc:
        session.error = f"could not read the streams back: {' '.join(str(exc).split())}"
