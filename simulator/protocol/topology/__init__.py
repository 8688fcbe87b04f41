"""The JetStream topology of spec 12.3 as typed data: load, lint, clamp to a cluster, apply.

Streams are :class:`nats.js.api.StreamConfig`, consumers :class:`nats.js.api.ConsumerConfig`
with their stream alongside (:class:`Consumer`), durations in seconds as nats-py takes them.
``topology.yaml`` (ours) is 12.3 corrected as docs/spec-notes.md says; ``spec_topology.yaml``
is 12.3 exactly as written, read with ``duration_unit: ns`` so that its bare durations land on
the wire as nanoseconds, as they would sent raw (ERRATA 1), and :func:`lint` reports every
defect.

A topology file::

    duration_unit: s          # unit of bare numbers; a unit may be given: 300ms, 120s, 5m, 7d
    clamp_replicas: true      # replicas above the cluster size are clamped (ERRATA 2)
    server: {max_payload: 11MiB}
    limits: {max_memory: 2GiB, max_storage: 100GiB, max_streams: 50, ...}
    request_reply: [agent_commands, system_discovery]   # template names (ERRATA 10)
    streams:
      NAME:
        stores: [agent_status, ...]    # taxonomy templates it is meant to store (ERRATA 5)
        subjects: [...]                # and any StreamConfig field: max_age, num_replicas, ...
    consumers:
      NAME: {stream: NAME, filter_subjects: [...], ack_wait: 30s, ...}   # durable consumers
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from nats.js.api import Base, ConsumerInfo, StreamConfig, StreamInfo
from nats.js.errors import APIError, NotFoundError
from nats.js.manager import JetStreamManager

from simulator.errors import TopologyError
from simulator.protocol.topology._lint import coverage, lint
from simulator.protocol.topology._load import NodeReader, load, loads
from simulator.protocol.topology._types import (
    DEFAULT_MAX_PAYLOAD,
    HEADER_ROOM,
    MIN_DURATION,
    Consumer,
    Coverage,
    Finding,
    LintReport,
    ResourceLimits,
    Severity,
    Stored,
    Topology,
    format_duration,
    format_size,
    wire_ns,
)

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "DEFAULT_TOPOLOGY_PATH",
    "HEADER_ROOM",
    "MIN_DURATION",
    "SPEC_TOPOLOGY_PATH",
    "ApplyReport",
    "Change",
    "Consumer",
    "Coverage",
    "Finding",
    "LintReport",
    "NodeReader",
    "ResourceLimits",
    "Severity",
    "Stored",
    "Topology",
    "apply",
    "coverage",
    "default_topology",
    "drift",
    "for_cluster",
    "format_duration",
    "format_size",
    "lint",
    "load",
    "loads",
    "spec_topology",
    "wire_ns",
]

#: Our topology: 12.3 corrected as docs/spec-notes.md says (package data).
DEFAULT_TOPOLOGY_PATH = Path(__file__).with_name("topology.yaml")
#: The spec's 12.3 exactly as written, as it behaves sent raw (package data).
SPEC_TOPOLOGY_PATH = Path(__file__).with_name("spec_topology.yaml")


def default_topology() -> Topology:
    """Our topology (``topology.yaml``): 12.3 corrected as ERRATA 1-9 decide."""
    return load(DEFAULT_TOPOLOGY_PATH)


def spec_topology() -> Topology:
    """The spec's 12.3 exactly as written (``spec_topology.yaml``), durations as raw nanoseconds."""
    return load(SPEC_TOPOLOGY_PATH)


def for_cluster(topology: Topology, cluster_size: int) -> tuple[Topology, list[str]]:
    """The topology with replicas clamped to ``cluster_size``, and one note per clamp (ERRATA 2)."""
    if cluster_size < 1:
        raise TopologyError(f"cluster_size must be at least 1, got {cluster_size}")
    where = f"a cluster of {cluster_size} node{'s' if cluster_size > 1 else ''}"
    notes: list[str] = []
    streams = []
    for stream in topology.streams:
        if stream.num_replicas and stream.num_replicas > cluster_size:
            notes.append(
                f"stream {stream.name}: num_replicas {stream.num_replicas} clamped to "
                f"{cluster_size} on {where} (ERRATA 2)"
            )
            stream = replace(stream, num_replicas=cluster_size)
        streams.append(stream)
    consumers = []
    for consumer in topology.consumers:
        replicas = consumer.config.num_replicas
        if replicas and replicas > cluster_size:
            notes.append(
                f"consumer {consumer.name}: num_replicas {replicas} clamped to {cluster_size} "
                f"on {where} (ERRATA 2)"
            )
            consumer = replace(consumer, config=replace(consumer.config, num_replicas=cluster_size))
        consumers.append(consumer)
    clamped = replace(topology, streams=tuple(streams), consumers=tuple(consumers))
    return clamped, notes


@dataclass(frozen=True)
class Change:
    """What :func:`apply` did to one stream or consumer, and the fields that differed."""

    kind: Literal["stream", "consumer"]
    name: str
    action: Literal["created", "updated", "unchanged"]
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyReport:
    """Every stream and consumer :func:`apply` visited, in order."""

    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        """Whether anything was created or updated."""
        return any(c.action != "unchanged" for c in self.changes)


# Durations nats-py sends as 0 when unset, which the server replaces by its default.
_DEFAULTED_WHEN_ZERO = frozenset(
    {"duplicate_window", "ack_wait", "idle_heartbeat", "inactive_threshold"}
)

_DURATIONS = _DEFAULTED_WHEN_ZERO | {"max_age"}

_HINTS = {
    10052: "run `mistersmith topology lint` (ERRATA 1, 3)",
    10074: "clamp the replicas with for_cluster() (ERRATA 2)",
    10005: "clamp the replicas with for_cluster() (ERRATA 2)",
    10065: "no subject may be in two streams (ERRATA 9)",
    10047: "raise the server's JetStream max_file_store/max_memory_store (ERRATA 6, 8)",
}


def _comparable(config: Base) -> dict[str, object]:
    # nats-py reads 30 ns back as 3e-08 s and would send int(3e-08 * 1e9) = 29: round instead.
    values = config.as_dict()
    for key in _DURATIONS & values.keys():
        seconds = getattr(config, key)
        values[key] = round(seconds * 10**9) if seconds is not None else 0
    return values


def drift(ours: Base, theirs: Base) -> tuple[str, ...]:
    """The fields that ``ours`` sets and the server's configuration ``theirs`` does not match."""
    wanted = _comparable(ours)
    found = _comparable(theirs)
    return tuple(
        sorted(
            key
            for key, value in wanted.items()
            if not (key in _DEFAULTED_WHEN_ZERO and value == 0) and found.get(key) != value
        )
    )


def _refused(what: str, exc: APIError) -> TopologyError:
    hint = _HINTS.get(exc.err_code or 0)
    message = f"{what} refused by the server: {exc.err_code} {exc.description}"
    return TopologyError(f"{message}; {hint}" if hint else message)


async def _apply_stream(js: JetStreamManager, config: StreamConfig) -> Change:
    name = str(config.name)
    try:
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)
            return Change("stream", name, "created")
        fields = drift(config, info.config)
        if not fields:
            return Change("stream", name, "unchanged")
        await js.update_stream(config)
        return Change("stream", name, "updated", fields)
    except APIError as exc:
        raise _refused(f"stream {name}", exc) from exc


async def _apply_consumer(js: JetStreamManager, consumer: Consumer) -> Change:
    label = f"{consumer.stream}/{consumer.name}"
    try:
        try:
            info = await js.consumer_info(consumer.stream, consumer.name)
        except NotFoundError:
            await js.add_consumer(consumer.stream, consumer.config)
            return Change("consumer", label, "created")
        fields = drift(consumer.config, info.config)
        if not fields:
            return Change("consumer", label, "unchanged")
        await js.add_consumer(consumer.stream, consumer.config)  # create-or-update
        return Change("consumer", label, "updated", fields)
    except APIError as exc:
        raise _refused(f"consumer {label}", exc) from exc


async def _apply_stream_and_consumers(
    js: JetStreamManager, topology: Topology, config: StreamConfig, info: StreamInfo | None
) -> list[Change]:
    """One stream, then its consumers: each probe answered by a listing, not a 404."""
    name = str(config.name)
    consumers = topology.consumers_of(name)
    try:
        if info is None:
            await js.add_stream(config)
            change = Change("stream", name, "created")
            found: dict[str, ConsumerInfo] = {}  # a new stream has no consumers
        else:
            fields = drift(config, info.config)
            if fields:
                await js.update_stream(config)
            change = Change("stream", name, "updated" if fields else "unchanged", fields)
            listed = await js.consumers_info(name) if consumers else []
            found = {str(c.name): c for c in listed}
    except APIError as exc:
        raise _refused(f"stream {name}", exc) from exc

    async def one(consumer: Consumer) -> Change:
        label = f"{consumer.stream}/{consumer.name}"
        current = found.get(consumer.name)
        fields = () if current is None else drift(consumer.config, current.config)
        if current is not None and not fields:
            return Change("consumer", label, "unchanged")
        try:
            await js.add_consumer(consumer.stream, consumer.config)  # create-or-update
        except APIError as exc:
            raise _refused(f"consumer {label}", exc) from exc
        return Change("consumer", label, "created" if current is None else "updated", fields)

    return [change, *await asyncio.gather(*(one(c) for c in consumers))]


async def apply(js: JetStreamManager, topology: Topology) -> ApplyReport:
    """Create or update every stream and consumer of ``topology``; a second call changes nothing.

    One listing of the streams, then each stream and its consumers in a chain of their own, all
    chains at once: on a fresh server, three round trips whatever the topology's size.
    """
    try:
        listed = {str(i.config.name): i for i in await js.streams_info()}
    except APIError as exc:
        raise _refused("listing the streams", exc) from exc
    chains = await asyncio.gather(
        *(
            _apply_stream_and_consumers(js, topology, s, listed.get(str(s.name)))
            for s in topology.streams
        )
    )
    streams = [chain[0] for chain in chains]
    consumers = {c.name: c for chain in chains for c in chain[1:]}
    ordered = [consumers[f"{c.stream}/{c.name}"] for c in topology.consumers]
    return ApplyReport((*streams, *ordered))
