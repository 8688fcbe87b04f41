"""Counters and latency histograms of a swarm run; ``report.py`` renders them.

The agents, the dispatcher and the hook responder call these methods; they are cheap and
synchronous (one event loop, no locks). Latencies go to HDR histograms (``hdrhistogram``):
recorded in microseconds with 3 significant figures, read back in milliseconds.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from simulator.swarm.timeline import Timeline, new_histogram

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["ERRORS_KEPT", "PERCENTILES", "Latency", "Metrics", "denied_subject"]

#: The percentiles every latency summary reports.
PERCENTILES = (50.0, 90.0, 99.0)
#: Error messages kept verbatim (the rest are only counted, per place).
ERRORS_KEPT = 100
_HIGHEST_US = 3_600_000_000  # one hour


class Latency:
    """An HDR histogram of latencies in milliseconds (1 µs to 1 h, 3 significant figures)."""

    def __init__(self) -> None:
        self._histogram = new_histogram()
        self._clamped = 0

    def record(self, ms: float) -> int:
        """Record one latency of ``ms`` milliseconds (negative: 0; above one hour: one hour).

        Returns the value recorded, in microseconds.
        """
        us = int(ms * 1000.0)
        if us < 0 or us > _HIGHEST_US:
            self._clamped += 1
            us = min(max(us, 0), _HIGHEST_US)
        self._histogram.record_value(us)
        return us

    @property
    def count(self) -> int:
        """How many latencies were recorded."""
        return int(self._histogram.get_total_count())

    def percentile(self, percentile: float) -> float:
        """The latency at ``percentile`` (0 to 100) in ms; 0.0 with nothing recorded."""
        if not self.count:
            return 0.0
        return float(self._histogram.get_value_at_percentile(percentile)) / 1000.0

    @property
    def max(self) -> float:
        """The highest latency recorded, in ms (to the histogram's precision)."""
        return float(self._histogram.get_max_value()) / 1000.0 if self.count else 0.0

    @property
    def mean(self) -> float:
        """The mean latency in ms."""
        return float(self._histogram.get_mean_value()) / 1000.0 if self.count else 0.0

    @property
    def clamped(self) -> int:
        """How many latencies were out of range (recorded as 0 or one hour)."""
        return self._clamped

    def encode(self) -> str:
        """The histogram in ``hdrhistogram``'s compressed encoding (for :meth:`add_encoded`)."""
        return bytes(self._histogram.encode()).decode("ascii")

    def add_encoded(self, encoded: str, clamped: int = 0) -> None:
        """Add another histogram (:meth:`encode`'s output) to this one, exactly."""
        other = HdrHistogram.decode(encoded.encode("ascii"))
        if other.get_total_count():
            self._histogram.add(other)
        self._clamped += clamped

    def to_dict(self) -> dict[str, float | int]:
        """Count, p50, p90, p99, max and mean in ms (3 decimals)."""
        summary: dict[str, float | int] = {"count": self.count}
        for p in PERCENTILES:
            summary[f"p{p:g}"] = round(self.percentile(p), 3)
        summary["max"] = round(self.max, 3)
        summary["mean"] = round(self.mean, 3)
        if self._clamped:
            summary["clamped"] = self._clamped
        return summary


@dataclass
class Metrics:
    """What happened during a run."""

    #: Messages published, per subject family (the taxonomy template's name).
    published: Counter[str] = field(default_factory=Counter)
    #: Agents per lifecycle state, as last published.
    states: dict[str, str] = field(default_factory=dict)
    #: Finished tasks per final status (completed, failed, cancelled, timeout).
    tasks: Counter[str] = field(default_factory=Counter)
    #: Hook answers per decision (approve, block, continue, timeout-default).
    hook_decisions: Counter[str] = field(default_factory=Counter)
    #: The first :data:`ERRORS_KEPT` error messages, ``where: message``.
    errors: list[str] = field(default_factory=list)
    #: Errors per place (every error, also those past :data:`ERRORS_KEPT`).
    error_counts: Counter[str] = field(default_factory=Counter)
    task_latency: Latency = field(default_factory=Latency)
    hook_rtt: Latency = field(default_factory=Latency)
    #: How late heartbeats went out against their schedule.
    heartbeat_lag: Latency = field(default_factory=Latency)
    #: ``time.monotonic()`` and wall-clock time of the start of the run (see :meth:`begin`).
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    stopped: float | None = None
    #: Tasks agents started working on.
    tasks_started: int = 0
    #: Permissions violations the server reported (publishes or subscribes it refused).
    permission_denied: int = 0
    #: The same per operation and subject (``publish agents.a2.heartbeat``).
    denied_subjects: Counter[str] = field(default_factory=Counter)
    #: Agents per last state of other processes (workers), added by :meth:`absorb`.
    absorbed_states: Counter[str] = field(default_factory=Counter)
    #: The same events per time bucket (see :mod:`simulator.swarm.timeline`).
    timeline: Timeline = field(default_factory=Timeline, repr=False)
    _window: deque[tuple[float, dict[str, int]]] = field(default_factory=deque, repr=False)

    # --- called by the agents, the dispatcher, the hook responder (keep these signatures) ----

    def message(self, family: str, count: int = 1) -> None:
        """``count`` messages published on subjects of ``family`` (e.g. ``agent_heartbeat``)."""
        self.published[family] += count
        self.timeline.message(family, count)

    def agent_state(self, agent_id: str, state: str) -> None:
        """An agent published a new lifecycle state."""
        self.timeline.state(self.states.get(agent_id), state)
        self.states[agent_id] = state

    def task_started(self) -> None:
        """An agent started working on a task."""
        self.tasks_started += 1
        self.timeline.task_started()

    def task_finished(self, status: str, latency_ms: float) -> None:
        """A task ended with ``status``, ``latency_ms`` after its assignment."""
        self.tasks[status] += 1
        self.timeline.task_finished(status)
        self.timeline.latency("task", self.task_latency.record(latency_ms))

    def hook_answered(self, decision: str, rtt_ms: float) -> None:
        """A hook event got ``decision`` after ``rtt_ms`` (``timeout`` when none came)."""
        self.hook_decisions[decision] += 1
        self.timeline.hook(decision)
        self.timeline.latency("hook_rtt", self.hook_rtt.record(rtt_ms))

    def heartbeat_late(self, lag_ms: float) -> None:
        """A heartbeat went out ``lag_ms`` after its scheduled time."""
        self.timeline.latency("heartbeat_lag", self.heartbeat_lag.record(lag_ms))

    def denied(self, message: str) -> None:
        """The server refused a publish or a subscribe (``Permissions Violation ...``)."""
        self.permission_denied += 1
        self.denied_subjects[denied_subject(message)] += 1
        self.timeline.permission_denied()
        self.error("permissions", message)

    def error(self, where: str, message: str) -> None:
        """Something went wrong that the run survived."""
        self.error_counts[where] += 1
        self.timeline.error(where)
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(f"{where}: {message}")

    # --- read by the live view and the report ------------------------------------------------

    def begin(self) -> None:
        """Mark the start of the run (elapsed time and rates count from here)."""
        self.started = time.monotonic()
        self.started_at = datetime.now(timezone.utc)
        self.stopped = None
        self._window.clear()
        self.timeline.restart()

    def end(self) -> None:
        """Mark the end of the run (elapsed time stops here)."""
        self.stopped = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds from :meth:`begin` to :meth:`end` (or to now while running)."""
        end = time.monotonic() if self.stopped is None else self.stopped
        return max(end - self.started, 0.0)

    @property
    def total_messages(self) -> int:
        """Messages published in all families."""
        return sum(self.published.values())

    def state_counts(self) -> dict[str, int]:
        """Agents per state, from the last state each agent published."""
        return dict(sorted((Counter(self.states.values()) + self.absorbed_states).items()))

    def rates(self, window: float = 5.0, now: float | None = None) -> dict[str, float]:
        """Messages per second per family over the last ``window`` seconds (call it regularly).

        Each call keeps a snapshot of the counts; the rate is the difference to the oldest
        snapshot still inside the window (or the start of the run) over the time between.
        """
        now = time.monotonic() if now is None else now
        if not self._window:
            self._window.append((self.started, {}))
        self._window.append((now, dict(self.published)))
        while len(self._window) > 2 and now - self._window[1][0] >= window:
            self._window.popleft()
        since, before = self._window[0]
        span = now - since
        if span <= 0:
            return {family: 0.0 for family in sorted(self.published)}
        return {
            family: (count - before.get(family, 0)) / span
            for family, count in sorted(self.published.items())
        }

    def snapshot(self) -> dict[str, JsonValue]:
        """What :meth:`absorb` needs to add this run into another's, exactly: counts, encoded
        histograms and the timeline (agents only counted per state)."""
        latencies = {
            name: {"hdr": latency.encode(), "clamped": latency.clamped}
            for name, latency in self._latencies().items()
        }
        data: dict[str, Any] = {
            "published": dict(self.published),
            "states": self.state_counts(),
            "tasks": dict(self.tasks),
            "tasks_started": self.tasks_started,
            "hook_decisions": dict(self.hook_decisions),
            "errors": list(self.errors),
            "error_counts": dict(self.error_counts),
            "permission_denied": self.permission_denied,
            "denied_subjects": dict(self.denied_subjects),
            "latencies": latencies,
            "timeline": self.timeline.to_dict(),
        }
        return data

    def absorb(self, snapshot: Mapping[str, Any], label: str = "") -> None:
        """Add another process's :meth:`snapshot` (a worker's) into these metrics, exactly;
        its kept errors are prefixed with ``label``."""
        self.published.update(snapshot["published"])
        self.absorbed_states.update(snapshot["states"])
        self.tasks.update(snapshot["tasks"])
        self.tasks_started += int(snapshot["tasks_started"])
        self.hook_decisions.update(snapshot["hook_decisions"])
        self.error_counts.update(snapshot["error_counts"])
        for message in snapshot["errors"]:
            if len(self.errors) < ERRORS_KEPT:
                self.errors.append(f"{label}: {message}" if label else str(message))
        self.permission_denied += int(snapshot["permission_denied"])
        self.denied_subjects.update(snapshot.get("denied_subjects", {}))
        for name, latency in self._latencies().items():
            given = snapshot["latencies"][name]
            latency.add_encoded(str(given["hdr"]), int(given["clamped"]))
        self.timeline.merge(Timeline.from_dict(snapshot["timeline"]))

    def _latencies(self) -> dict[str, Latency]:
        return {
            "task": self.task_latency,
            "hook_rtt": self.hook_rtt,
            "heartbeat_lag": self.heartbeat_lag,
        }

    def to_dict(self) -> dict[str, JsonValue]:
        """Everything as plain data, for the JSON report."""
        elapsed = self.elapsed
        total = self.total_messages
        result: dict[str, Any] = {
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "elapsed_s": round(elapsed, 3),
            "messages": {
                "total": total,
                "per_second": round(total / elapsed, 1) if elapsed > 0 else 0.0,
                "by_family": dict(sorted(self.published.items())),
            },
            "agents": {
                "total": len(self.states) + sum(self.absorbed_states.values()),
                "by_state": self.state_counts(),
            },
            "tasks": {
                "started": self.tasks_started,
                "finished": sum(self.tasks.values()),
                "by_status": dict(sorted(self.tasks.items())),
                "latency_ms": self.task_latency.to_dict(),
            },
            "hooks": {
                "answered": sum(self.hook_decisions.values()),
                "by_decision": dict(sorted(self.hook_decisions.items())),
                "rtt_ms": self.hook_rtt.to_dict(),
            },
            "heartbeat_lag_ms": self.heartbeat_lag.to_dict(),
            "errors": {
                "total": sum(self.error_counts.values()),
                "by_place": dict(sorted(self.error_counts.items())),
                "first": list(self.errors),
            },
            "permission_denied": self.permission_denied,
            "permission_denied_by_subject": dict(sorted(self.denied_subjects.items())),
            "timeline": self.timeline.to_dict(),
        }
        return result


_DENIED = re.compile(r"for (publish|subscription) to \"?([^\"\s]+)", re.IGNORECASE)


def denied_subject(message: str) -> str:
    """``publish SUBJECT`` or ``subscription SUBJECT`` of a server's permissions violation
    (``nats: permissions violation for publish to "agents.a2.heartbeat"``); the message
    itself when it names neither."""
    found = _DENIED.search(message)
    return message if found is None else f"{found[1].lower()} {found[2]}"
