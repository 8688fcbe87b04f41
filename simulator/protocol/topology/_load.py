"""Reading a topology file: YAML nodes with line numbers, durations, sizes, unknown keys.

Private: use :func:`simulator.protocol.topology.load`. Every error is one line,
``FILE:LINE: KEY.PATH: problem``, raised as :class:`~simulator.errors.TopologyError`.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import yaml
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    ReplayPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from simulator.errors import TopologyError
from simulator.protocol import subjects
from simulator.protocol.topology._types import (
    DEFAULT_MAX_PAYLOAD,
    Consumer,
    ResourceLimits,
    Topology,
    seconds_from_ns,
)

__all__ = ["NodeReader", "load", "loads"]

_UNIT_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}
_DURATION_RE = re.compile(r"\A\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s|m|h|d)?\s*\Z")
_DURATION_HINT = "use seconds or 7d, 120s, 300ms"
_SIZE_FACTORS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
_SIZE_RE = re.compile(r"\A\s*(\d+)\s*(B|KiB|MiB|GiB|TiB)\s*\Z")
_SIZE_HINT = "use bytes or 512KiB, 10MiB, 1GiB; -1 is unlimited"
_TEMPLATE_NAMES = frozenset(t.name for t in subjects.TEMPLATES)
_NAME_RE = re.compile(r"\A[A-Za-z0-9_-]+\Z")

_Parse = Callable[["NodeReader", yaml.Node, str], Any]

#: libyaml's parser where PyYAML was built with it (about 15 times faster), else PyYAML's own.
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


def _flat(text: object) -> str:
    return " ".join(str(text).split())


class NodeReader:
    """Walks composed YAML nodes, converting values and failing with file, line and key.

    Public through :mod:`simulator.protocol.topology`: scenario files are read with it too.
    """

    def __init__(self, source: str, loader: yaml.SafeLoader | yaml.CSafeLoader) -> None:
        self.source = source
        self.loader = loader
        self.unit_ns = 10**9

    def fail(self, node: yaml.Node, path: str, problem: str) -> NoReturn:
        line = node.start_mark.line + 1
        raise TopologyError(f"{self.source}:{line}: {path}: {_flat(problem)}")

    def show(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        return repr(self.loader.construct_object(node, deep=True))

    def scalar(self, node: yaml.Node, path: str, expected: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, path, f"{self.show(node)} is not {expected}")
        return self.loader.construct_object(node, deep=True)

    def name(self, node: yaml.Node, path: str, name: str, kind: str) -> None:
        if not _NAME_RE.match(name):
            self.fail(node, path, f"is not a valid {kind} name (use letters, digits, _ and -)")

    def mapping(
        self, node: yaml.Node, path: str, known: Collection[str] | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, path, f"{self.show(node)} is not a mapping")
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            where = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                self.fail(key_node, where, "keys must be strings")
            if key in items:
                self.fail(key_node, where, "duplicate key")
            if known is not None and key not in known:
                self.fail(key_node, where, f"unknown key (known: {', '.join(sorted(known))})")
            items[key] = (key_node, value_node)
        return items

    # --- value parsers, one per kind of field ------------------------------------------------

    def integer(self, node: yaml.Node, path: str) -> int:
        value = self.scalar(node, path, "an integer")
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, path, f"{value!r} is not an integer")
        return value

    def replicas(self, node: yaml.Node, path: str) -> int:
        value = self.integer(node, path)
        if not 1 <= value <= 5:
            self.fail(node, path, f"{value!r} is not a replica count (1 to 5)")
        return value

    def size(self, node: yaml.Node, path: str) -> int:
        value = self.scalar(node, path, "a size")
        if isinstance(value, int) and not isinstance(value, bool) and value >= -1:
            return value
        match = _SIZE_RE.match(value) if isinstance(value, str) else None
        if match is None:
            self.fail(node, path, f"{value!r} is not a size in bytes ({_SIZE_HINT})")
        return int(match.group(1)) * _SIZE_FACTORS[match.group(2)]

    def duration(self, node: yaml.Node, path: str) -> float:
        value = self.scalar(node, path, "a duration")
        ns: int | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            ns = round(Decimal(str(value)) * self.unit_ns)
        elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
            number, unit = match.groups()
            ns = round(Decimal(number) * (_UNIT_NS[unit] if unit else self.unit_ns))
        if ns is None:
            self.fail(node, path, f"{value!r} is not a duration ({_DURATION_HINT})")
        return seconds_from_ns(ns)

    def durations(self, node: yaml.Node, path: str) -> list[float]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, path, f"{self.show(node)} is not a list of durations")
        return [self.duration(item, f"{path}[{i}]") for i, item in enumerate(node.value)]

    def boolean(self, node: yaml.Node, path: str) -> bool:
        value = self.scalar(node, path, "true or false")
        if not isinstance(value, bool):
            self.fail(node, path, f"{value!r} is not true or false")
        return value

    def text(self, node: yaml.Node, path: str) -> str:
        value = self.scalar(node, path, "a string")
        if not isinstance(value, str) or not value:
            self.fail(node, path, f"{value!r} is not a non-empty string")
        return value

    def texts(self, node: yaml.Node, path: str) -> list[str]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, path, f"{self.show(node)} is not a non-empty list of strings")
        return [self.text(item, f"{path}[{i}]") for i, item in enumerate(node.value)]

    def templates(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, path, f"{self.show(node)} is not a list of template names")
        names = []
        for i, item in enumerate(node.value):
            name = self.text(item, f"{path}[{i}]")
            if name not in _TEMPLATE_NAMES:
                self.fail(item, f"{path}[{i}]", f"{name!r} is not a template of subjects.TEMPLATES")
            names.append(name)
        return tuple(names)


def _enum(cls: type[Enum], allowed: Collection[str] | None = None) -> _Parse:
    values = [m.value for m in cls] if allowed is None else list(allowed)

    def parse(reader: NodeReader, node: yaml.Node, path: str) -> Enum:
        value = reader.scalar(node, path, f"one of {', '.join(values)}")
        if value not in values:
            reader.fail(node, path, f"{value!r} is not one of {', '.join(values)}")
        return cls(value)

    return parse


_STREAM_FIELDS: Mapping[str, _Parse] = {
    "description": NodeReader.text,
    "subjects": NodeReader.texts,
    "storage": _enum(StorageType),
    "retention": _enum(RetentionPolicy),
    "max_age": NodeReader.duration,
    "max_bytes": NodeReader.size,
    "max_msgs": NodeReader.integer,
    "max_msgs_per_subject": NodeReader.integer,
    "max_msg_size": NodeReader.size,
    "max_consumers": NodeReader.integer,
    "discard": _enum(DiscardPolicy),
    "num_replicas": NodeReader.replicas,
    "duplicate_window": NodeReader.duration,
    "allow_direct": NodeReader.boolean,
    "deny_delete": NodeReader.boolean,
    "deny_purge": NodeReader.boolean,
    "allow_rollup_hdrs": NodeReader.boolean,
}
_CONSUMER_FIELDS: Mapping[str, _Parse] = {
    "description": NodeReader.text,
    "filter_subject": NodeReader.text,
    "filter_subjects": NodeReader.texts,
    "deliver_policy": _enum(DeliverPolicy, ("all", "last", "new", "last_per_subject")),
    "ack_policy": _enum(AckPolicy),
    "ack_wait": NodeReader.duration,
    "max_deliver": NodeReader.integer,
    "backoff": NodeReader.durations,
    "replay_policy": _enum(ReplayPolicy),
    "max_ack_pending": NodeReader.integer,
    "max_waiting": NodeReader.integer,
    "headers_only": NodeReader.boolean,
    "num_replicas": NodeReader.replicas,
    "mem_storage": NodeReader.boolean,
}
_LIMIT_FIELDS = (
    "max_memory",
    "max_storage",
    "max_streams",
    "max_consumers",
    "max_connections",
    "max_subscriptions",
)
_TOP_KEYS = (
    "description",
    "duration_unit",
    "clamp_replicas",
    "server",
    "limits",
    "request_reply",
    "streams",
    "consumers",
)
_DURATION_UNITS = ("s", "ms", "us", "ns")


def _fields(
    reader: NodeReader,
    items: dict[str, tuple[yaml.Node, yaml.Node]],
    path: str,
    table: Mapping[str, _Parse],
) -> dict[str, Any]:
    return {key: table[key](reader, value, f"{path}.{key}") for key, (_, value) in items.items()}


def _streams(
    reader: NodeReader, node: yaml.Node
) -> tuple[list[StreamConfig], dict[str, tuple[str, ...]]]:
    streams: list[StreamConfig] = []
    stores: dict[str, tuple[str, ...]] = {}
    for name, (key_node, value) in reader.mapping(node, "streams", None).items():
        path = f"streams.{name}"
        reader.name(key_node, path, name, "stream")
        items = reader.mapping(value, path, {*_STREAM_FIELDS, "stores"})
        if "subjects" not in items:
            reader.fail(key_node, path, "has no subjects")
        store_item = items.pop("stores", None)
        if store_item is not None:
            stores[name] = reader.templates(store_item[1], f"{path}.stores")
        streams.append(StreamConfig(name=name, **_fields(reader, items, path, _STREAM_FIELDS)))
    return streams, stores


def _consumers(reader: NodeReader, node: yaml.Node, stream_names: list[str]) -> list[Consumer]:
    consumers: list[Consumer] = []
    for name, (key_node, value) in reader.mapping(node, "consumers", None).items():
        path = f"consumers.{name}"
        reader.name(key_node, path, name, "consumer")
        items = reader.mapping(value, path, {*_CONSUMER_FIELDS, "stream"})
        if "stream" not in items:
            reader.fail(key_node, path, "names no stream (stream: NAME)")
        stream_node = items.pop("stream")[1]
        stream = reader.text(stream_node, f"{path}.stream")
        if stream not in stream_names:
            reader.fail(
                stream_node,
                f"{path}.stream",
                f"{stream!r} is not a stream of this file {stream_names}",
            )
        if "filter_subject" in items and "filter_subjects" in items:
            reader.fail(items["filter_subjects"][0], path, "give filter_subject or filter_subjects")
        fields = _fields(reader, items, path, _CONSUMER_FIELDS)
        config = ConsumerConfig(name=name, durable_name=name, **fields)
        consumers.append(Consumer(stream=stream, config=config))
    return consumers


def _build(reader: NodeReader, root: yaml.Node) -> Topology:
    top = reader.mapping(root, "", _TOP_KEYS)
    if "duration_unit" in top:
        unit_node = top["duration_unit"][1]
        unit = reader.scalar(unit_node, "duration_unit", "a unit")
        if unit not in _DURATION_UNITS:
            reader.fail(unit_node, "duration_unit", f"{unit!r} is not one of {_DURATION_UNITS}")
        reader.unit_ns = _UNIT_NS[unit]
    if "description" in top:
        reader.text(top["description"][1], "description")
    if "streams" not in top:
        reader.fail(root, "streams", "missing: a topology needs streams")
    streams, stores = _streams(reader, top["streams"][1])
    consumers: list[Consumer] = []
    if "consumers" in top:
        consumers = _consumers(reader, top["consumers"][1], [str(s.name) for s in streams])
    limits = ResourceLimits()
    if "limits" in top:
        items = reader.mapping(top["limits"][1], "limits", _LIMIT_FIELDS)
        limits = ResourceLimits(**{k: reader.size(v, f"limits.{k}") for k, (_, v) in items.items()})
    max_payload = DEFAULT_MAX_PAYLOAD
    if "server" in top:
        server = reader.mapping(top["server"][1], "server", ("max_payload",))
        if "max_payload" in server:
            max_payload = reader.size(server["max_payload"][1], "server.max_payload")
    request_reply = tuple(t.name for t in subjects.TEMPLATES if t.request_reply)
    if "request_reply" in top:
        request_reply = reader.templates(top["request_reply"][1], "request_reply")
    clamp = False
    if "clamp_replicas" in top:
        clamp = reader.boolean(top["clamp_replicas"][1], "clamp_replicas")
    return Topology(
        streams=tuple(streams),
        consumers=tuple(consumers),
        limits=limits,
        max_payload=max_payload,
        request_reply=request_reply,
        stores=stores,
        clamp_replicas=clamp,
        source=reader.source,
    )


def loads(text: str, source: str = "<topology>") -> Topology:
    """Parse topology YAML ``text``; ``source`` names it in error messages."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise TopologyError(f"{source}:1: the file is empty; a topology needs streams")
        return _build(NodeReader(source, loader), root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = _flat(" ".join(p for p in (exc.context, exc.problem) if p))
        raise TopologyError(f"{source}{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise TopologyError(f"{source}: YAML error: {_flat(exc)}") from None
    finally:
        loader.dispose()


_CACHE: dict[tuple[str, str], Topology] = {}
_CACHE_LOCK = threading.Lock()


def load(path: str | Path) -> Topology:
    """Read the topology file at ``path``.

    Parsed once per file and text (reading it again costs microseconds, parsing it
    milliseconds): each call returns a copy of its own (nats-py's configurations are mutable).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(f"{path}: cannot read the topology file: {_flat(exc)}") from None
    key = (str(path), text)
    with _CACHE_LOCK:
        topology = _CACHE.get(key)
    if topology is None:
        topology = loads(text, str(path))
        with _CACHE_LOCK:
            if len(_CACHE) >= 64:  # files a long session wrote and rewrote: start again
                _CACHE.clear()
            _CACHE[key] = topology
    return copy.deepcopy(topology)
