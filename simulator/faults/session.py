"""Faults and the history checker around one swarm run (what ``mistersmith run`` calls).

:class:`FaultSession` records the swarm's JetStream publishes (it sets ``bus.history``), runs
the :class:`~simulator.faults.injector.FaultInjector` on a cluster, heals it when the swarm has
run, then reads every stream back and checks the history. :meth:`FaultSession.report` is what
goes into the JSON report (``faults``, ``checker``, ``lost_messages``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import JsonValue

from simulator.errors import MisterSmithError
from simulator.faults.checker import CheckerReport, FaultWindow, check
from simulator.faults.history import History
from simulator.faults.injector import ClusterHandle, FaultInjector
from simulator.faults.readback import read_streams
from simulator.faults.schedule import FaultSpec

if TYPE_CHECKING:
    from simulator.bus import Bus
    from simulator.protocol.topology import Topology

__all__ = ["FaultOptions", "FaultSession"]


@dataclass(frozen=True)
class FaultOptions:
    """What a run was asked for: faults, the checker, and what a loss means."""

    faults: tuple[FaultSpec, ...] = ()
    #: Run the history checker (always on with faults).
    check: bool = False
    #: A lost acknowledged publish is a warning, not a failed run.
    loss_warning: bool = False

    @property
    def checking(self) -> bool:
        """Whether the history is recorded and checked."""
        return self.check or bool(self.faults)


class FaultSession:
    """The history, the injector and the checker of one run."""

    def __init__(
        self,
        options: FaultOptions,
        *,
        urls: Sequence[str],
        topology: Topology,
        cluster: ClusterHandle | None = None,
        connect_options: Mapping[str, object] | None = None,
        notify: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.options = options
        self.urls = list(urls)
        self.topology = topology
        self.cluster = cluster
        self.connect_options = dict(connect_options or {})
        self.notify = notify
        self.history = History()
        self.injector: FaultInjector | None = None
        self.result: CheckerReport | None = None
        self.started = time.monotonic()
        self.error = ""

    def begin(self, bus: Bus, *, started: float, duration: float, seed: int) -> None:
        """Record ``bus``'s JetStream publishes; start the faults (times from ``started``)."""
        self.started = started
        bus.history = self.history
        if self.options.faults and self.cluster is not None:
            self.injector = FaultInjector(
                self.cluster,
                list(self.options.faults),
                duration=duration,
                seed=seed,
                bus=bus,
                notify=self.notify,
                started=started,
            )
            self.injector.start()

    async def heal(self) -> None:
        """Stop injecting and bring every node back (waits for the streams' leaders)."""
        if self.injector is not None:
            try:
                await self.injector.close()
            except MisterSmithError as exc:  # said, and the run drains and reports anyway
                self.error = f"the cluster did not recover: {' '.join(str(exc).split())}"
                self.notify(self.error)

    async def check(self, assigned: Sequence[str]) -> CheckerReport:
        """Read every stream back and check the history (tasks ``assigned`` by the swarm)."""
        end = time.monotonic()
        streams = [str(s.name) for s in self.topology.streams]
        consumers = [(c.stream, c.name) for c in self.topology.consumers]
        stored, redelivered = await read_streams(
            self.urls, streams, consumers, connect_options=self.connect_options
        )
        windows = [
            FaultWindow(r.name, r.start_s, r.end_s)
            for r in (self.injector.records if self.injector else [])
        ]
        self.result = check(
            self.history.ops,
            stored,
            assigned=assigned,
            redeliveries=redelivered,
            faults=windows,
            started=self.started,
            end=end,
        )
        return self.result

    @property
    def failed(self) -> bool:
        """Whether the run fails on the checker's word (an acknowledged publish lost)."""
        lost = self.result is not None and self.result.lost > 0
        return lost and not self.options.loss_warning

    def report(self) -> dict[str, JsonValue]:
        """The JSON report's ``faults``, ``checker`` and ``lost_messages`` keys."""
        out: dict[str, JsonValue] = {}
        lost = self.result.lost if self.result is not None else 0
        if self.injector is not None:
            faults: list[JsonValue] = []
            for record in self.injector.records:
                item = record.to_dict()
                if lost and item["verdict"] == "ok":
                    item["verdict"] = "fail"
                    item["detail"] = f"{item['detail']}; {lost} acknowledged lost in the run"
                faults.append(item)
            out["faults"] = faults
        checker: dict[str, JsonValue] = {} if self.result is None else self.result.to_dict()
        if self.error:
            checker["error"] = self.error
        if checker:
            out["checker"] = checker
        if self.result is not None:
            out["lost_messages"] = lost
        return out

    def summary(self) -> list[str]:
        """One line per stream with acknowledged publishes or losses, and the tasks' line."""
        lines = [f"checker: {self.error}"] if self.error else []
        if self.result is None:
            return lines
        r = self.result
        for name, s in sorted(r.streams.items()):
            if not (s.acknowledged or s.lost or s.duplicated or s.unacked_found):
                continue
            lost = f"{len(s.lost)} lost" + (f" (seq {_seqs(s.lost)})" if s.lost else "")
            lines.append(
                f"checker {name}: {s.acknowledged} acknowledged, {s.found} found, {lost}, "
                f"{len(s.duplicated)} duplicated, {s.unacked_found} unacked but found"
            )
        t = r.tasks
        lines.append(
            f"checker tasks: {t.assigned} assigned, {t.exactly_one} with one final result, "
            f"{len(t.none)} with none, {len(t.more_than_one)} with more than one; "
            f"{sum(r.redeliveries.values())} redeliveries"
        )
        for w in r.windows:
            lines.append(
                f"checker unavailable {w['start_s']}-{w['end_s']} s ({w['duration_s']} s)"
                + (f" during {w['fault']}" if w["fault"] else "")
            )
        return lines


def _seqs(seqs: Sequence[int], shown: int = 20) -> str:
    text = ", ".join(str(s) for s in seqs[:shown])
    return text + (f" and {len(seqs) - shown} more" if len(seqs) > shown else "")
