"""The typed values of a JetStream topology: limits, consumers, the topology, lint findings.

Private: import them from :mod:`simulator.protocol.topology`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from nats.js.api import ConsumerConfig, StreamConfig

from simulator.errors import TopologyError
from simulator.protocol.subjects import Template

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "HEADER_ROOM",
    "MIN_DURATION",
    "Consumer",
    "Coverage",
    "Finding",
    "LintReport",
    "ResourceLimits",
    "Severity",
    "Stored",
    "Topology",
    "format_duration",
    "format_size",
    "seconds_from_ns",
    "wire_ns",
]

#: nats-server's own ``max_payload`` when its configuration does not set one (1 MiB).
DEFAULT_MAX_PAYLOAD = 1024 * 1024

#: Bytes of headers we expect next to a payload of a stream's full ``max_msg_size`` (ERRATA 7).
HEADER_ROOM = 64 * 1024

#: The shortest ``max_age`` the server accepts, in seconds (``10052 max age needs to be >= 100ms``).
MIN_DURATION = 0.1

Severity = Literal["error", "warning", "info"]
Stored = Literal["fully", "partly", "none"]

_NS = 10**9


def seconds_from_ns(ns: int) -> float:
    """Seconds as a float that nats-py turns back into exactly ``ns`` nanoseconds."""
    seconds = ns / _NS
    # nats-py sends int(seconds * 1e9); 30 / 1e9 would become 29 ns without this nudge.
    while int(seconds * _NS) < ns:
        seconds = math.nextafter(seconds, math.inf)
    while int(seconds * _NS) > ns:
        seconds = math.nextafter(seconds, -math.inf)
    return seconds


def wire_ns(seconds: float | None) -> int:
    """The nanoseconds nats-py puts on the wire for ``seconds`` (None is sent as 0)."""
    return 0 if seconds is None else int(seconds * _NS)


_DURATION_UNITS = (("d", 86400 * _NS), ("h", 3600 * _NS), ("m", 60 * _NS), ("s", _NS))
_SUBSECOND_UNITS = (("ms", 10**6), ("us", 10**3), ("ns", 1))


def format_duration(seconds: float | None) -> str:
    """A duration in the largest unit that states it exactly: ``7d``, ``120s``, ``300ms``."""
    ns = wire_ns(seconds)
    if ns == 0:
        return "0"
    for unit, size in (*_DURATION_UNITS, *_SUBSECOND_UNITS):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"  # pragma: no cover - ns always divides


_SIZE_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def format_size(size: int | None) -> str:
    """A byte count in the largest binary unit that states it exactly (``-1`` is unlimited)."""
    if size is None or size < 0:
        return "unlimited"
    for unit, factor in _SIZE_UNITS:
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


@dataclass(frozen=True)
class ResourceLimits:
    """The spec's RESOURCE_LIMITS; each one lives in a different place (ERRATA 8).

    - ``max_memory`` and ``max_storage``: the server's JetStream ``max_memory_store`` and
      ``max_file_store`` (bytes every stream of the server may reserve).
    - ``max_streams`` and ``max_consumers``: exist only as an account's JetStream limits
      (``accounts { A { jetstream { max_streams, max_consumers } } }``).
    - ``max_connections``: the server's ``max_connections`` (per server, or per account).
    - ``max_subscriptions``: the server's ``max_subscriptions``, enforced PER CONNECTION, not
      across the server: 100000 lets every client hold 100000 subscriptions.
    """

    max_memory: int | None = None
    max_storage: int | None = None
    max_streams: int | None = None
    max_consumers: int | None = None
    max_connections: int | None = None
    max_subscriptions: int | None = None

    def server_options(self) -> dict[str, int]:
        """Top-level nats-server options (``max_subscriptions`` counts per connection)."""
        options = {
            "max_connections": self.max_connections,
            "max_subscriptions": self.max_subscriptions,
        }
        return {k: v for k, v in options.items() if v is not None}

    def jetstream_options(self) -> dict[str, int]:
        """Options of the server's ``jetstream { }`` block."""
        options = {"max_memory_store": self.max_memory, "max_file_store": self.max_storage}
        return {k: v for k, v in options.items() if v is not None}

    def account_jetstream_options(self) -> dict[str, int]:
        """Options of an account's ``jetstream { }`` block (the only home of these two)."""
        options = {"max_streams": self.max_streams, "max_consumers": self.max_consumers}
        return {k: v for k, v in options.items() if v is not None}


_NAME_RE = re.compile(r"\A[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True)
class Consumer:
    """A durable consumer: its nats-py configuration and the stream it reads."""

    stream: str
    config: ConsumerConfig

    @property
    def name(self) -> str:
        """The consumer's (durable) name."""
        return str(self.config.durable_name or self.config.name)

    @property
    def filters(self) -> tuple[str, ...]:
        """Its filter subjects (``filter_subject`` or ``filter_subjects``); empty means all."""
        if self.config.filter_subjects:
            return tuple(self.config.filter_subjects)
        if self.config.filter_subject:
            return (self.config.filter_subject,)
        return ()


@dataclass(frozen=True)
class Topology:
    """Streams, consumers, limits and server settings that JetStream must have."""

    streams: tuple[StreamConfig, ...]
    consumers: tuple[Consumer, ...] = ()
    limits: ResourceLimits = ResourceLimits()
    #: The ``max_payload`` the server must have (ERRATA 7).
    max_payload: int = DEFAULT_MAX_PAYLOAD
    #: Names of the subject templates used with core request-reply (ERRATA 10).
    request_reply: tuple[str, ...] = ()
    #: Per stream, the names of the taxonomy templates it is meant to store (ERRATA 5).
    stores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Whether replicas above the cluster size are clamped (ours) or refused (ERRATA 2).
    clamp_replicas: bool = False
    #: Where it was loaded from, for messages.
    source: str = "<topology>"

    def __post_init__(self) -> None:
        for kind, names in (
            ("stream", [s.name for s in self.streams]),
            ("consumer", [c.name for c in self.consumers]),
        ):
            for name in names:
                if not isinstance(name, str) or not _NAME_RE.match(name):
                    raise TopologyError(
                        f"{self.source}: {kind} name {name!r} is not valid "
                        "(use letters, digits, _ and -)"
                    )
            if len(set(names)) != len(names):
                raise TopologyError(f"{self.source}: duplicate {kind} names in {names}")

    def stream(self, name: str) -> StreamConfig:
        """The stream called ``name``; TopologyError when there is none."""
        for config in self.streams:
            if config.name == name:
                return config
        known = [s.name for s in self.streams]
        raise TopologyError(f"{self.source}: no stream named {name!r}; streams: {known}")

    def consumers_of(self, stream: str) -> tuple[Consumer, ...]:
        """The consumers that read ``stream``."""
        return tuple(c for c in self.consumers if c.stream == stream)


@dataclass(frozen=True)
class Finding:
    """One lint finding: what is wrong with which stream or consumer, and how to fix it."""

    severity: Severity
    target: str
    rule: str
    message: str
    fix: str
    #: The docs/spec-notes.md item this rule comes from, if any.
    errata: int | None = None

    @property
    def rule_label(self) -> str:
        """The rule id with its ERRATA number, e.g. ``duration-too-short (ERRATA 1)``."""
        return self.rule if self.errata is None else f"{self.rule} (ERRATA {self.errata})"


@dataclass(frozen=True)
class Coverage:
    """Which stream stores a taxonomy template, and which consumers see it."""

    template: Template
    stored: Stored
    streams: tuple[str, ...]
    consumers: tuple[str, ...]


@dataclass(frozen=True)
class LintReport:
    """The findings of :func:`lint` and the coverage of the taxonomy."""

    findings: tuple[Finding, ...]
    coverage: tuple[Coverage, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings of severity ``error``."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def ok(self) -> bool:
        """Whether there is no error (warnings and infos allowed)."""
        return not self.errors

    def rules(self) -> set[str]:
        """The rule ids that fired."""
        return {f.rule for f in self.findings}

    def by_rule(self, rule: str) -> tuple[Finding, ...]:
        """The findings of one rule."""
        return tuple(f for f in self.findings if f.rule == rule)

    def coverage_of(self, template_name: str) -> Coverage:
        """The coverage row of the template called ``template_name``."""
        for row in self.coverage:
            if row.template.name == template_name:
                return row
        raise KeyError(template_name)
