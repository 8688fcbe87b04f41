"""The topology linter: every ERRATA defect marked **lint**, and the taxonomy coverage table.

Private: use :func:`simulator.protocol.topology.lint`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from nats.js.api import StorageType, StreamConfig

from simulator.errors import SubjectError, TopologyError
from simulator.protocol import subjects
from simulator.protocol.topology._types import (
    HEADER_ROOM,
    MIN_DURATION,
    Consumer,
    Coverage,
    Finding,
    LintReport,
    Stored,
    Topology,
    format_duration,
    format_size,
    seconds_from_ns,
    wire_ns,
)

__all__ = ["coverage", "lint"]

_DURATION_FIX = "write durations in seconds or with a unit (7d, 120s, 300ms)"


def _valid(patterns: Sequence[str] | None) -> list[str]:
    valid = []
    for pattern in patterns or ():
        try:
            subjects.validate_pattern(pattern)
        except SubjectError:
            continue
        valid.append(pattern)
    return valid


def _stored(template: subjects.Template, patterns: Sequence[str]) -> Stored:
    wildcard = template.wildcard
    if any(subjects.is_subset(wildcard, p) for p in patterns):
        return "fully"
    if any(subjects.overlaps(wildcard, p) for p in patterns):
        return "partly"
    return "none"


def _sees(consumer: Consumer, template: subjects.Template) -> bool:
    if not consumer.filters:
        return True
    return any(subjects.overlaps(template.wildcard, f) for f in _valid(consumer.filters))


def coverage(topology: Topology) -> tuple[Coverage, ...]:
    """For each taxonomy template, the streams that store it and the consumers that see it."""
    rows = []
    valid = {str(s.name): _valid(s.subjects) for s in topology.streams}
    for template in subjects.TEMPLATES:
        fully = [name for name, pats in valid.items() if _stored(template, pats) == "fully"]
        partly = [name for name, pats in valid.items() if _stored(template, pats) == "partly"]
        streams = (*fully, *partly)
        stored: Stored = "fully" if fully else "partly" if partly else "none"
        seen = tuple(
            c.name for c in topology.consumers if c.stream in streams and _sees(c, template)
        )
        rows.append(Coverage(template, stored, streams, seen))
    return tuple(rows)


def _suggest(pattern: str) -> str:
    """The pattern with every ``>`` that is not last moved to the end."""
    tokens = [t for t in pattern.split(".") if t not in (">", "")]
    return ".".join([*tokens, ">"])


def _meant_as_seconds(seconds: float) -> str:
    """What a duration that is tiny on the wire was probably meant to be."""
    return format_duration(seconds_from_ns(wire_ns(seconds) * 10**9))


def _durations(topology: Topology) -> Iterator[Finding]:
    checks: list[tuple[str, str, float | None, str]] = []
    for s in topology.streams:
        checks.append((str(s.name), "max_age", s.max_age, "the server refuses the stream (10052)"))
        checks.append(
            (
                str(s.name),
                "duplicate_window",
                s.duplicate_window,
                "deduplication is practically off",
            )
        )
    for c in topology.consumers:
        checks.append(
            (c.name, "ack_wait", c.config.ack_wait, "stored silently: redelivery is immediate")
        )
    for target, key, seconds, effect in checks:
        if seconds and seconds < MIN_DURATION:
            yield Finding(
                "error",
                target,
                "duration-too-short",
                f"{key} is {wire_ns(seconds)} ns on the wire ({wire_ns(seconds) / 1e6:g} ms), "
                f"below 100ms: {effect}",
                f"{_DURATION_FIX}; probably meant: {key}: {_meant_as_seconds(seconds)}",
                1,
            )
    for s in topology.streams:
        if s.max_age and s.duplicate_window and s.duplicate_window > s.max_age:
            yield Finding(
                "error",
                str(s.name),
                "duplicate-window-over-max-age",
                f"duplicate_window {format_duration(s.duplicate_window)} is longer than max_age "
                f"{format_duration(s.max_age)}: the server refuses the stream (10052)",
                "make duplicate_window at most max_age",
            )


def _replicas(topology: Topology, nodes: int) -> Iterator[Finding]:
    items = [(str(s.name), s.num_replicas) for s in topology.streams]
    items += [(c.name, c.config.num_replicas) for c in topology.consumers]
    refusal = "10074 replicas > 1 not supported in non-clustered mode"
    if nodes > 1:
        refusal = "10005 no suitable peers for placement"
    for target, replicas in items:
        if replicas and replicas > nodes:
            where = f"on a cluster of {nodes} node{'s' if nodes > 1 else ''}"
            if topology.clamp_replicas:
                yield Finding(
                    "info",
                    target,
                    "replicas-exceed-cluster",
                    f"num_replicas {replicas} is clamped to {nodes} {where}",
                    "run a cluster of at least that many nodes for the replicas as written",
                    2,
                )
            else:
                yield Finding(
                    "error",
                    target,
                    "replicas-exceed-cluster",
                    f"num_replicas {replicas} {where}: the server refuses it ({refusal})",
                    f"run {replicas}+ nodes, or clamp with topology.for_cluster(topology, {nodes})",
                    2,
                )


def _subjects(topology: Topology) -> Iterator[Finding]:
    items = [(str(s.name), "subject", p) for s in topology.streams for p in s.subjects or ()]
    items += [(c.name, "filter", f) for c in topology.consumers for f in c.filters]
    for target, what, pattern in items:
        try:
            subjects.validate_pattern(pattern)
        except SubjectError as exc:
            effect = "the server refuses the stream (10052 invalid subject)"
            if what == "filter":
                effect = "the server refuses the consumer"
            yield Finding(
                "error",
                target,
                "invalid-subject",
                f"{what} {exc}: {effect}",
                f"use {_suggest(pattern)!r}: '*' is one token, '>' only the last",
                3,
            )


def _overlaps(topology: Topology) -> Iterator[Finding]:
    seen: list[tuple[str, str]] = []
    for s in topology.streams:
        name = str(s.name)
        for pattern in _valid(s.subjects):
            for other_stream, other in seen:
                if not subjects.overlaps(pattern, other):
                    continue
                if other_stream == name:
                    effect = "the server refuses the stream (10052)"
                else:
                    effect = f"it overlaps {other!r} of {other_stream} (10065)"
                yield Finding(
                    "error",
                    name,
                    "subjects-overlap",
                    f"subject {pattern!r} overlaps {other!r}: {effect}",
                    "give every subject to exactly one stream, as disjoint patterns",
                    9,
                )
            seen.append((name, pattern))


def _closest(filter_: str, candidates: Sequence[str]) -> str | None:
    literal = set(filter_.split(".")) - {"*", ">"}
    scored = [(len(literal & set(c.split("."))), c) for c in candidates]
    scored = [item for item in scored if item[0]]
    return max(scored, key=lambda item: item[0])[1] if scored else None


def _filters(topology: Topology) -> Iterator[Finding]:
    by_name = {str(s.name): s for s in topology.streams}
    for c in topology.consumers:
        stream = by_name.get(c.stream)
        if stream is None:
            yield Finding(
                "error",
                c.name,
                "unknown-stream",
                f"reads stream {c.stream!r}, which the topology does not have",
                f"name one of {sorted(by_name)}",
            )
            continue
        stored = _valid(stream.subjects)
        intended = [_suggest(p) for p in stream.subjects or () if p not in stored]
        for f in _valid(c.filters):
            if not any(subjects.overlaps(f, p) for p in stored):
                hint = _closest(f, [*stored, *intended])
                yield Finding(
                    "error",
                    c.name,
                    "filter-matches-nothing",
                    f"filter {f!r} matches no subject of stream {c.stream} "
                    f"({', '.join(stored) or 'no valid subject'}): the consumer never delivers",
                    f"filter on {hint!r}" if hint else "filter on a subject the stream stores",
                    4,
                )
        kept = [t for t in subjects.TEMPLATES if _stored(t, stored) != "none"]
        filters = _valid(c.filters)
        fed = any(subjects.overlaps(f, p) for f in filters for p in stored)
        if fed and not any(subjects.overlaps(t.wildcard, f) for t in kept for f in filters):
            yield Finding(
                "warning",
                c.name,
                "filter-outside-taxonomy",
                f"filters {filters} match no taxonomy subject that {c.stream} stores",
                "filter on the templates of 12.1 that the stream stores",
                4,
            )


def _widen(template: subjects.Template) -> str:
    tokens = template.wildcard.split(".")
    return (
        ".".join([*tokens[:-1], ">"]) if template.tokens[-1].startswith("{") else ".".join(tokens)
    )


def _stores(topology: Topology) -> Iterator[Finding]:
    for s in topology.streams:
        name = str(s.name)
        stored = _valid(s.subjects)
        for template_name in topology.stores.get(name, ()):
            t = subjects.template(template_name)
            how = _stored(t, stored)
            if how == "fully":
                continue
            amount = "no subject of the stream matches it" if how == "none" else "only partly"
            yield Finding(
                "error" if how == "none" else "warning",
                name,
                "template-not-stored",
                f"meant to store {t.name} {t.pattern} (e.g. {t.example()}), but {amount}",
                f"add the subject {_widen(t)!r}",
                5,
            )


def _payload(topology: Topology, max_payload: int) -> Iterator[Finding]:
    for s in topology.streams:
        size = s.max_msg_size
        if size is None or size <= 0:
            continue
        fix = (
            f"raise the server's max_payload to at least {format_size(size + HEADER_ROOM)} "
            "(the payload plus header room), or lower max_msg_size"
        )
        if size > max_payload:
            yield Finding(
                "error",
                str(s.name),
                "max-msg-size-over-payload",
                f"max_msg_size {format_size(size)} is above the server's max_payload "
                f"{format_size(max_payload)}: such messages cannot be published",
                fix,
                7,
            )
        elif size + HEADER_ROOM > max_payload:
            yield Finding(
                "warning",
                str(s.name),
                "max-msg-size-over-payload",
                f"max_msg_size {format_size(size)} leaves {max_payload - size} bytes of the "
                f"server's max_payload {format_size(max_payload)} for headers: a full payload "
                "with a Nats-Msg-Id header closes the connection",
                fix,
                7,
            )


def _request_reply(topology: Topology) -> Iterator[Finding]:
    for template_name in topology.request_reply:
        t = subjects.template(template_name)
        for s in topology.streams:
            if _stored(t, _valid(s.subjects)) != "none":
                yield Finding(
                    "error",
                    str(s.name),
                    "request-reply-on-stored",
                    f"{t.pattern} (e.g. {t.example()}) is used with core request-reply but the "
                    "stream stores it: the requester gets the JetStream PubAck as its reply",
                    "publish on it and answer on another subject correlated by a header, or keep "
                    "it out of every stream",
                    10,
                )


def _reserved(streams: Sequence[StreamConfig], storage: StorageType) -> int:
    return sum(max(s.max_bytes or 0, 0) for s in streams if s.storage == storage)


def _resources(topology: Topology) -> Iterator[Finding]:
    limits = topology.limits
    checks = [
        ("max_storage", limits.max_storage, _reserved(topology.streams, StorageType.FILE), True),
        ("max_memory", limits.max_memory, _reserved(topology.streams, StorageType.MEMORY), True),
        ("max_streams", limits.max_streams, len(topology.streams), False),
        ("max_consumers", limits.max_consumers, len(topology.consumers), False),
    ]
    for key, limit, used, is_size in checks:
        if limit is not None and limit >= 0 and used > limit:
            shown = (format_size(used), format_size(limit)) if is_size else (used, limit)
            yield Finding(
                "error",
                "limits",
                "resources-exceeded",
                f"the streams need {shown[0]} but limits.{key} is {shown[1]}: the server refuses "
                "the streams past it (10047 insufficient storage resources)",
                f"raise limits.{key} or lower the streams' max_bytes",
                6,
            )


def lint(
    topology: Topology, *, cluster_size: int = 1, max_payload: int | None = None
) -> LintReport:
    """Check ``topology`` for every ERRATA defect marked lint, on a cluster of ``cluster_size``."""
    if cluster_size < 1:
        raise TopologyError(f"cluster_size must be at least 1, got {cluster_size}")
    payload = topology.max_payload if max_payload is None else max_payload
    findings = [
        *_durations(topology),
        *_replicas(topology, cluster_size),
        *_subjects(topology),
        *_overlaps(topology),
        *_filters(topology),
        *_stores(topology),
        *_resources(topology),
        *_payload(topology, payload),
        *_request_reply(topology),
    ]
    return LintReport(tuple(findings), coverage(topology))
