"""The history checker: a run's publishes (:mod:`simulator.faults.history`) against what the
streams hold at the end, Jepsen's way.

Per stream: ``acknowledged`` publishes, ``found`` (an acknowledged publish whose sequence holds
a message with its ``Nats-Msg-Id``), **lost** (acknowledged, not found: its sequences listed),
``duplicated`` (one ``Nats-Msg-Id`` stored more than once), ``unacked_found`` (a publish that
failed or timed out and is stored all the same: not a loss, not a duplicate). Per task: assigned,
exactly one final result (``tasks.{id}.result`` or ``.error``), none, more than one. The
consumers' redeliveries. And the windows in which publishes could not be acknowledged at once
(a publish retried or given up, from its invocation to its completion; overlapping ones merged),
each named after the fault it overlaps.

:func:`check` is pure: it takes the stored messages as :class:`Stored` values (read by
:func:`simulator.faults.readback.read_streams`) and returns a :class:`CheckerReport`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import JsonValue, ValidationError

from simulator.errors import SubjectError
from simulator.faults.history import PublishOp
from simulator.protocol import channels

__all__ = ["CheckerReport", "FaultWindow", "Stored", "StreamCheck", "TaskCheck", "check"]

#: The channels whose messages are a task's final word.
FINAL_CHANNELS = frozenset({"task_result", "task_error"})
_LISTED = 50  # task ids listed per verdict at most (the counts are complete)


@dataclass(frozen=True)
class Stored:
    """One message a stream holds at the end of the run."""

    stream: str
    seq: int
    subject: str
    msg_id: str | None
    data: bytes = b""


@dataclass(frozen=True)
class FaultWindow:
    """A fault's span, seconds from the run's start (``end_s`` None: never healed)."""

    name: str
    start_s: float
    end_s: float | None


@dataclass
class StreamCheck:
    """What one stream kept of what it acknowledged."""

    acknowledged: int = 0
    found: int = 0
    lost: list[int] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unacked_found: int = 0
    stored: int = 0

    def to_dict(self) -> dict[str, JsonValue]:
        """Plain data for the JSON report."""
        return {
            "acknowledged": self.acknowledged,
            "found": self.found,
            "lost": len(self.lost),
            "lost_seqs": list(self.lost),
            "duplicated": len(self.duplicated),
            "duplicated_msg_ids": list(self.duplicated[:_LISTED]),
            "unacked_found": self.unacked_found,
            "stored": self.stored,
        }


@dataclass
class TaskCheck:
    """Each assigned task's final results, counted in the stored stream."""

    assigned: int = 0
    exactly_one: int = 0
    none: list[str] = field(default_factory=list)
    more_than_one: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, JsonValue]:
        """Plain data for the JSON report (at most 50 task ids listed per verdict)."""
        return {
            "assigned": self.assigned,
            "exactly_one": self.exactly_one,
            "none": len(self.none),
            "more_than_one": len(self.more_than_one),
            "none_ids": list(self.none[:_LISTED]),
            "more_than_one_ids": list(self.more_than_one[:_LISTED]),
        }


@dataclass
class CheckerReport:
    """The checker's verdict on a run."""

    streams: dict[str, StreamCheck]
    tasks: TaskCheck
    redeliveries: dict[str, int]
    #: Publishes: ok, fail, info (indeterminate), pending.
    outcomes: dict[str, int]
    windows: list[dict[str, JsonValue]]

    @property
    def lost(self) -> int:
        """Acknowledged publishes not found, over every stream."""
        return sum(len(s.lost) for s in self.streams.values())

    def to_dict(self) -> dict[str, JsonValue]:
        """Plain data for the JSON report's ``checker`` key."""
        return {
            "lost": self.lost,
            "publishes": dict(self.outcomes),
            "streams": {name: s.to_dict() for name, s in sorted(self.streams.items())},
            "tasks": self.tasks.to_dict(),
            "redeliveries": dict(self.redeliveries),
            "unavailable": list(self.windows),
        }


def _final_patterns() -> list[tuple[str, ...]]:
    """The token patterns of the final-result channels (``tasks.*.result``, ...)."""
    return [tuple(channels.channel(name).template.wildcard.split(".")) for name in FINAL_CHANNELS]


def _could_be_final(tokens: list[str], patterns: list[tuple[str, ...]]) -> bool:
    """A cheap pre-check (a stream holds mostly other messages): the tokens fit a pattern."""
    return any(
        len(p) == len(tokens) and all(a in ("*", b) for a, b in zip(p, tokens, strict=True))
        for p in patterns
    )


def _final_task_id(message: Stored) -> str | None:
    """The task id of a stored final result, else None."""
    try:
        chan = channels.for_subject(message.subject)
    except SubjectError:
        return None
    if chan.name not in FINAL_CHANNELS:
        return None
    try:
        task_id = chan.payload.model_validate_json(message.data).model_dump().get("task_id")
    except ValidationError:
        return None
    return str(task_id) if task_id is not None else None


def _tasks(assigned: Iterable[str], stored: Iterable[Stored]) -> TaskCheck:
    patterns = _final_patterns()
    finals = Counter(
        t
        for m in stored
        if _could_be_final(m.subject.split("."), patterns) and (t := _final_task_id(m)) is not None
    )
    check = TaskCheck()
    for task_id in dict.fromkeys(assigned):
        check.assigned += 1
        n = finals.get(task_id, 0)
        if n == 1:
            check.exactly_one += 1
        elif n == 0:
            check.none.append(task_id)
        else:
            check.more_than_one.append(task_id)
    return check


def _windows(
    ops: Sequence[PublishOp], faults: Sequence[FaultWindow], started: float, end: float
) -> list[dict[str, JsonValue]]:
    """Spans in which publishes were not acknowledged at once, merged, named by fault."""
    spans = sorted(
        (op.invoked - started, (op.completed if op.completed is not None else end) - started)
        for op in ops
        if op.attempts > 1 or op.outcome != "ok"
    )
    merged: list[list[float]] = []
    for start, stop in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    out: list[dict[str, JsonValue]] = []
    for start, stop in merged:
        names = [
            f.name
            for f in faults
            if f.start_s <= stop and (f.end_s is None or start <= f.end_s + 1.0)
        ]
        out.append(
            {
                "fault": names[0] if names else None,
                "start_s": round(start, 3),
                "end_s": round(stop, 3),
                "duration_s": round(stop - start, 3),
            }
        )
    return out


def check(
    ops: Sequence[PublishOp],
    stored: Mapping[str, Sequence[Stored]],
    *,
    assigned: Iterable[str] = (),
    redeliveries: Mapping[str, int] | None = None,
    faults: Sequence[FaultWindow] = (),
    started: float = 0.0,
    end: float | None = None,
) -> CheckerReport:
    """Check the publishes ``ops`` against the streams' ``stored`` messages (see the module).

    ``started`` is the run's start on the ops' clock; window times are seconds from it.
    """
    by_seq: dict[str, dict[int, Stored]] = {n: {m.seq: m for m in ms} for n, ms in stored.items()}
    ids_in: dict[str, Counter[str]] = {
        name: Counter(m.msg_id for m in ms if m.msg_id is not None) for name, ms in stored.items()
    }
    streams: dict[str, StreamCheck] = defaultdict(StreamCheck)
    for name, messages in stored.items():
        streams[name].stored = len(messages)
        streams[name].duplicated = sorted(i for i, n in ids_in[name].items() if n > 1)
    for op in ops:
        if op.acked and op.stream is not None and op.seq is not None:
            sc = streams[op.stream]
            sc.acknowledged += 1
            there = by_seq.get(op.stream, {}).get(op.seq)
            if there is not None and (op.msg_id is None or there.msg_id == op.msg_id):
                sc.found += 1
            else:
                sc.lost.append(op.seq)
        elif not op.acked and op.msg_id is not None:
            for name, ids in ids_in.items():
                if op.msg_id in ids:
                    streams[name].unacked_found += 1
                    break
    for sc in streams.values():
        sc.lost.sort()
    last = max((op.completed or op.invoked for op in ops), default=started)
    return CheckerReport(
        streams=dict(streams),
        tasks=_tasks(assigned, (m for ms in stored.values() for m in ms)),
        redeliveries=dict(redeliveries or {}),
        outcomes=dict(Counter(op.outcome for op in ops)),
        windows=_windows(ops, faults, started, last if end is None else end),
    )
