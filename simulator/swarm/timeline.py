"""When things happened during a run: counts and latency histograms per time bucket.

:class:`~simulator.swarm.metrics.Metrics` feeds a :class:`Timeline` as it counts; the JSON report
carries :meth:`Timeline.to_dict` under ``timeline`` and the HTML report draws it.

Buckets are 1 s wide until a run has :data:`MAX_BUCKETS` of them; then adjacent pairs merge and
the width doubles (2 s, 4 s, ...), so a 60 s run has 60 one-second buckets and an hour has at
most 360 (16 s each). Merging is exact: counts add, and each bucket's latencies are an HDR
histogram (the same parameters as the run's totals) kept as ``hdrhistogram``'s compressed
encoding, which decodes and adds without loss. The same holds across timelines
(:meth:`Timeline.merge`): a run spread over workers can keep one timeline per worker (the
report's ``workers``, each the same layout) and their exact merge as the run's own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["LATENCIES", "MAX_BUCKETS", "TIMELINE_VERSION", "Timeline", "new_histogram"]

#: Bumped when the layout of :meth:`Timeline.to_dict` changes incompatibly.
TIMELINE_VERSION = 1
#: The most buckets a timeline keeps (then adjacent ones merge and the width doubles).
MAX_BUCKETS = 360
#: The latencies a timeline keeps per bucket, by their name in the report.
LATENCIES = ("task", "hook_rtt", "heartbeat_lag")
_HIGHEST_US = 3_600_000_000  # one hour, as the run's totals (metrics.Latency)
_PERCENTILES = (50.0, 90.0, 99.0)


def new_histogram() -> HdrHistogram:
    """An HDR histogram of microseconds, 1 µs to 1 h, 3 significant figures (all latencies)."""
    return HdrHistogram(1, _HIGHEST_US, 3)


class _Bucket:
    """What happened in one bucket; latencies as encoded HDR histograms."""

    __slots__ = ("denied", "errors", "finished", "hdr", "hooks", "published", "started", "states")

    def __init__(self) -> None:
        self.published: Counter[str] = Counter()
        self.started = 0
        self.finished: Counter[str] = Counter()
        self.hooks: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.denied = 0
        #: Agents per state at the last change inside this bucket (None: no change).
        self.states: dict[str, int] | None = None
        self.hdr: dict[str, bytes] = {}

    def absorb(self, later: _Bucket) -> None:
        """Add ``later`` (the bucket after this one, or the same span of another timeline)."""
        self.published.update(later.published)
        self.started += later.started
        self.finished.update(later.finished)
        self.hooks.update(later.hooks)
        self.errors.update(later.errors)
        self.denied += later.denied
        if later.states is not None:
            self.states = dict(later.states)
        for name, encoded in later.hdr.items():
            self.hdr[name] = _add_encoded(self.hdr.get(name), encoded)


def _add_encoded(first: bytes | None, second: bytes) -> bytes:
    if first is None:
        return second
    total = new_histogram()
    total.add(HdrHistogram.decode(first))
    total.add(HdrHistogram.decode(second))
    return bytes(total.encode())


class Timeline:
    """Counts and latencies per bucket since :meth:`restart` (or creation)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.origin = clock()
        #: Seconds per bucket (1, 2, 4, ... as the run grows).
        self.width = 1.0
        self._buckets: list[_Bucket] = []
        self._states: Counter[str] = Counter()
        self._live: dict[str, Any] = {}
        self._live_index = -1
        self._until = float("-inf")

    # --- recording (called by Metrics) ---------------------------------------------------------

    def _bucket(self) -> _Bucket:
        now = self._clock()
        if now < self._until:  # still the live bucket (the clock never goes back)
            return self._buckets[self._live_index]
        index = max(int((now - self.origin) // self.width), 0)
        while index >= MAX_BUCKETS:
            self._coarsen()
            index //= 2
        self._flush()
        self._live_index = index
        self._until = self.origin + (index + 1) * self.width
        while len(self._buckets) <= index:
            self._buckets.append(_Bucket())
        return self._buckets[index]

    def _flush(self) -> None:
        """Encode the live histograms into their bucket."""
        if self._live_index < 0:
            return
        bucket = self._buckets[self._live_index]
        for name, histogram in self._live.items():
            if histogram.get_total_count():
                bucket.hdr[name] = _add_encoded(bucket.hdr.get(name), bytes(histogram.encode()))
        self._live.clear()  # a new histogram is cheaper than reset(), a Python loop

    def _coarsen(self) -> None:
        self._flush()
        self._live_index = -1
        self._until = float("-inf")
        merged: list[_Bucket] = []
        for i in range(0, len(self._buckets), 2):
            bucket = self._buckets[i]
            if i + 1 < len(self._buckets):
                bucket.absorb(self._buckets[i + 1])
            merged.append(bucket)
        self._buckets = merged
        self.width *= 2

    def message(self, family: str, count: int = 1) -> None:
        """``count`` messages published on subjects of ``family``."""
        self._bucket().published[family] += count

    def state(self, before: str | None, after: str) -> None:
        """An agent went from ``before`` (None: first seen) to ``after``."""
        if before is not None:
            self._states[before] -= 1
            if not self._states[before]:
                del self._states[before]
        self._states[after] += 1
        self._bucket().states = dict(self._states)

    def task_started(self) -> None:
        """An agent started a task."""
        self._bucket().started += 1

    def task_finished(self, status: str) -> None:
        """A task ended with ``status``."""
        self._bucket().finished[status] += 1

    def hook(self, decision: str) -> None:
        """A hook event got ``decision``."""
        self._bucket().hooks[decision] += 1

    def error(self, where: str) -> None:
        """An error at ``where``."""
        self._bucket().errors[where] += 1

    def permission_denied(self) -> None:
        """The server refused a publish or subscribe (a permissions violation)."""
        self._bucket().denied += 1

    def latency(self, name: str, us: int) -> None:
        """A latency of ``us`` microseconds (already clamped to 0 .. 1 h) of :data:`LATENCIES`."""
        self._bucket()
        histogram = self._live.get(name)
        if histogram is None:
            histogram = self._live[name] = new_histogram()
        histogram.record_value(us)

    def restart(self) -> None:
        """Count from now: what came before (a swarm's start-up) folds into the first bucket."""
        self._flush()
        self._live_index = -1
        self._until = float("-inf")
        first = _Bucket()
        for bucket in self._buckets:
            first.absorb(bucket)
        self._buckets = [first] if self._buckets else []
        self.origin = self._clock()

    # --- reading -------------------------------------------------------------------------------

    def merge(self, other: Timeline) -> None:
        """Add ``other`` (a finished timeline with the same origin, e.g. a worker's) into this
        one, exactly: counts add, histograms add, agents per state add as last known."""
        self._flush()
        other._flush()
        self._live_index = -1
        self._until = float("-inf")
        theirs = [_copy(b) for b in other._buckets]
        width = other.width
        while width < self.width:
            theirs = [_pair(theirs, i) for i in range(0, len(theirs), 2)]
            width *= 2
        while self.width < width:
            self._coarsen()
        while len(self._buckets) < len(theirs):
            self._buckets.append(_Bucket())
        ours_filled, theirs_filled = _filled(self._buckets), _filled(theirs)
        for i, mine in enumerate(self._buckets):
            if i < len(theirs):
                mine.absorb(theirs[i])
            # gauges of two places add, each as last known
            a = ours_filled[i] if ours_filled else {}
            b = theirs_filled[min(i, len(theirs_filled) - 1)] if theirs_filled else {}
            mine.states = dict(Counter(a) + Counter(b)) if (a or b) else None
        while len(self._buckets) > MAX_BUCKETS:
            self._coarsen()

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], clock: Callable[[], float] = time.monotonic
    ) -> Timeline:
        """A finished timeline back from its :meth:`to_dict` (a worker's, sent to be merged):
        counts and encoded histograms are exact, agents per state as each bucket shows them."""
        timeline = cls(clock)
        timeline.width = float(data["bucket_s"])
        buckets = [_Bucket() for _ in range(int(data["buckets"]))]

        def fill(series: Mapping[str, list[int]], pick: Callable[[_Bucket], Counter[str]]) -> None:
            for name, values in series.items():
                for bucket, value in zip(buckets, values, strict=True):
                    if value:
                        pick(bucket)[name] += int(value)

        tasks = dict(data["tasks"])
        for bucket, value in zip(buckets, tasks.pop("started"), strict=True):
            bucket.started = int(value)
        fill(data["messages"], lambda b: b.published)
        fill(tasks, lambda b: b.finished)
        fill(data["hooks"], lambda b: b.hooks)
        fill(data["errors"], lambda b: b.errors)
        for bucket, value in zip(buckets, data["permission_denied"], strict=True):
            bucket.denied = int(value)
        agents: Mapping[str, list[int]] = data["agents"]
        for i, bucket in enumerate(buckets):
            if agents:
                bucket.states = {name: int(v[i]) for name, v in agents.items() if v[i]}
        for name, series in data["latency_ms"].items():
            for bucket, encoded in zip(buckets, series["hdr"], strict=True):
                if encoded is not None:
                    bucket.hdr[name] = str(encoded).encode("ascii")
        timeline._buckets = buckets
        return timeline

    def histogram(self, name: str) -> HdrHistogram:
        """All of latency ``name`` over the run, merged from the buckets (an HDR histogram)."""
        self._flush()
        total = new_histogram()
        for bucket in self._buckets:
            if name in bucket.hdr:
                total.add(HdrHistogram.decode(bucket.hdr[name]))
        return total

    def to_dict(self) -> dict[str, JsonValue]:
        """The series as plain data, one list per series, one entry per bucket."""
        self._flush()
        buckets = self._buckets
        n = len(buckets)

        def series(pick: Callable[[_Bucket], Mapping[str, int]]) -> dict[str, list[int]]:
            names = sorted({name for b in buckets for name in pick(b)})
            return {name: [pick(b).get(name, 0) for b in buckets] for name in names}

        states = _filled(buckets)
        tasks = {"started": [b.started for b in buckets], **series(lambda b: b.finished)}
        data: dict[str, Any] = {
            "version": TIMELINE_VERSION,
            "bucket_s": self.width,
            "buckets": n,
            "messages": series(lambda b: b.published),
            "agents": {
                name: [s.get(name, 0) for s in states]
                for name in sorted({name for s in states for name in s})
            },
            "tasks": tasks,
            "hooks": series(lambda b: b.hooks),
            "errors": series(lambda b: b.errors),
            "permission_denied": [b.denied for b in buckets],
            "latency_ms": {name: _latency_series(buckets, name) for name in LATENCIES},
        }
        return data


def _copy(bucket: _Bucket) -> _Bucket:
    copy = _Bucket()
    copy.absorb(bucket)
    copy.states = None if bucket.states is None else dict(bucket.states)
    return copy


def _filled(buckets: list[_Bucket]) -> list[dict[str, int]]:
    """Agents per state in each bucket, as last known (the gauge carried forward)."""
    last: dict[str, int] = {}
    filled = []
    for bucket in buckets:
        last = bucket.states if bucket.states is not None else last
        filled.append(last)
    return filled


def _pair(buckets: list[_Bucket], i: int) -> _Bucket:
    if i + 1 < len(buckets):
        buckets[i].absorb(buckets[i + 1])
    return buckets[i]


def _latency_series(buckets: list[_Bucket], name: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"count": [], "hdr": []}
    for p in _PERCENTILES:
        out[f"p{p:g}"] = []
    out["max"] = []
    for bucket in buckets:
        encoded = bucket.hdr.get(name)
        out["hdr"].append(encoded.decode("ascii") if encoded is not None else None)
        if encoded is None:
            out["count"].append(0)
            for p in _PERCENTILES:
                out[f"p{p:g}"].append(None)
            out["max"].append(None)
            continue
        histogram = HdrHistogram.decode(encoded)
        out["count"].append(int(histogram.get_total_count()))
        for p in _PERCENTILES:
            out[f"p{p:g}"].append(round(histogram.get_value_at_percentile(p) / 1000.0, 3))
        out["max"].append(round(histogram.get_max_value() / 1000.0, 3))
    return out
