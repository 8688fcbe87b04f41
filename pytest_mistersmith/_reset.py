"""The per-test reset: learn what a test changed in a few JetStream API requests, undo only that.

Private to :mod:`pytest_mistersmith`: the :class:`~pytest_mistersmith.janitor.TopologyJanitor`
calls :func:`reset`. After each reset a :class:`Snapshot` remembers the state the topology is
in; before the next test the reset asks

1. ``$JS.API.INFO``: the account's count of JetStream API requests. Subtracting the janitor's
   own requests since the snapshot gives the requests anybody else made. Only where that count
   is exact at once (one server the plugin runs, not a cluster, whose nodes share their counts
   late): elsewhere the reset looks at every consumer, as if someone had made a request.
2. ``$JS.API.STREAM.LIST``: every stream's configuration and state in one reply.

A consumer changes only through an API request (create, update, delete, pause, reset) or by
delivering a message, which needs a message stored after the last reset, which moves its
stream's last sequence. So when nobody else made an API request, the consumers of a stream
whose state and configuration are as remembered are as remembered too, and an untouched
topology costs those two requests. Otherwise the reset purges the streams that hold messages,
lists the consumers of every stream that could have moved, and rewinds, recreates or deletes
only the consumers that differ from a fresh one, each stream's work concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nats.aio.client import Client
from nats.js.api import Base, ConsumerInfo, StreamInfo
from nats.js.errors import APIError, NotFoundError
from nats.js.manager import JetStreamManager

from simulator.protocol.topology import Consumer, Topology, drift

__all__ = ["Snapshot", "reset"]

_INFO = "$JS.API.INFO"
_STREAM_LIST = "$JS.API.STREAM.LIST"
_CONSUMER_LIST = "$JS.API.CONSUMER.LIST"
_CONSUMER_RESET = "$JS.API.CONSUMER.RESET"

_POLL = 0.002
_SETTLE = 2.0  # seconds a kept consumer may take to show a purge

_Plan = Literal["keep", "rewind", "recreate", "create"]


@dataclass(frozen=True)
class Snapshot:
    """The topology as the last reset left it, and the API count when the next one began."""

    streams: Mapping[str, StreamInfo]
    consumers: Mapping[str, ConsumerInfo]
    #: The account's API request count reported by the last ``$JS.API.INFO``, and how many
    #: messages the janitor's connection had sent by then; None when the count is not used.
    api_total: int | None = None
    out_msgs: int = 0
    #: Configurations as the server reports them, keyed as :func:`config_key` makes them.
    stream_configs: Mapping[str, str] = field(default_factory=dict)
    consumer_configs: Mapping[str, str] = field(default_factory=dict)


def config_key(config: Base) -> str:
    """A configuration as comparable text, without the server's own ``_nats.`` metadata."""
    values: dict[str, Any] = config.as_dict()
    metadata: dict[str, str] = values.pop("metadata", None) or {}
    values["metadata"] = {k: v for k, v in metadata.items() if not k.startswith("_nats.")}
    return json.dumps(values, sort_keys=True, default=str)


def _state_key(info: StreamInfo) -> tuple[int, int, int, int, int]:
    s = info.state
    return (s.messages, s.bytes, s.first_seq, s.last_seq, s.consumer_count)


def fresh(info: ConsumerInfo) -> bool:
    """Whether a consumer is as a new one would be: nothing delivered, pending or paused."""
    delivered, acked = info.delivered, info.ack_floor
    return (
        (delivered is None or delivered.consumer_seq == 0)
        and (acked is None or acked.consumer_seq == 0)
        and not info.num_ack_pending
        and not info.num_redelivered
        and not info.paused
    )


async def _api(nc: Client, subject: str, payload: dict[str, Any] | None, timeout: float) -> Any:
    reply = await nc.request(subject, json.dumps(payload).encode() if payload else b"", timeout)
    data = json.loads(reply.data)
    if isinstance(data, dict) and "error" in data:
        APIError.from_error(data["error"])  # raises the matching subclass
    return data


async def _listing(nc: Client, subject: str, key: str, timeout: float) -> list[dict[str, Any]]:
    """Every page of a stream or consumer listing."""
    items: list[dict[str, Any]] = []
    while True:
        page = await _api(nc, subject, {"offset": len(items)} if items else None, timeout)
        got = page.get(key) or []
        items += got
        if not got or len(items) >= page.get("total", 0):
            return items


class _Reset:
    """One reset: the facts it learned and the requests it makes."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamManager,
        topology: Topology,
        before: Snapshot | None,
        *,
        owned: bool,
        timeout: float,
    ) -> None:
        self.nc, self.js, self.topology, self.before = nc, js, topology, before
        self.owned, self.timeout = owned, timeout
        self.streams: dict[str, StreamInfo] = {}
        self.consumers: dict[str, ConsumerInfo] = {}

    def _rewind_supported(self) -> bool:
        version = self.nc.connected_server_version
        return version.major > 2 or version.minor >= 14  # ADR-60, nats-server 2.14

    async def stream(self, name: str, info: StreamInfo | None, look: bool) -> None:
        """Bring one stream back, then (if ``look``) its consumers."""
        js, config = self.js, self.topology.stream(name)
        before = self.before
        known: dict[str, ConsumerInfo] | None = None  # None: list them
        changed = purged = False
        if info is None:
            made = await js.add_stream(config)
            if made.did_create is False:  # listed as missing (a cluster's leader was late)
                info = made
            else:
                known, changed = {}, True
        if info is not None:
            remembered = before.stream_configs.get(name) if before else None
            if drift(config, info.config) or (
                remembered is not None and config_key(info.config) != remembered
            ):
                try:
                    await js.update_stream(config)
                except APIError:  # a field the server will not update: start again
                    await js.delete_stream(name)
                    await js.add_stream(config)
                    known = {}
                changed = True
            purged = bool(info.state.messages) and known is None  # (one made again is empty)
            changed = changed or purged
            if not changed and before is not None and name in before.streams:
                changed = _state_key(info) != _state_key(before.streams[name])
            look = look or changed
            if not look:  # nobody else made an API request and nothing was stored: as it was
                self.streams[name] = info
                for c in self.topology.consumers_of(name):
                    self.consumers[c.name] = before.consumers[c.name]  # type: ignore[union-attr]
                return
            listing = known is None and bool(
                self.topology.consumers_of(name) or info.state.consumer_count
            )
            # Listed while the purge runs: a purge changes no consumer's plan (one that
            # delivered is rewound either way), only the infos of those kept (asked again).
            _, known = await asyncio.gather(
                js.purge_stream(name) if purged else _nothing(),
                self._consumers(name) if listing else _known(known),
            )
        found = known or {}
        ours = self.topology.consumers_of(name)
        wanted = {c.name for c in ours}
        extra = [n for n in found if n not in wanted] if self.owned else []
        plans = [self.plan(c, found.get(c.name)) for c in ours]

        async def work() -> list[ConsumerInfo]:
            renewed, _ = await asyncio.gather(
                asyncio.gather(
                    *(
                        self.consumer(c, p, found.get(c.name))
                        for c, p in zip(ours, plans, strict=True)
                    )
                ),
                asyncio.gather(*(js.delete_consumer(name, n) for n in extra)),
            )
            return list(renewed)

        async def final_info() -> StreamInfo:
            return await js.stream_info(name) if changed or info is None else info

        kept = purged and "keep" in plans
        final, renewed, again = await asyncio.gather(
            final_info(), work(), self._consumers(name) if kept else _no_consumers()
        )
        if kept:
            keep = [c.name for c, p in zip(ours, plans, strict=True) if p == "keep"]
            assert info is not None
            again = await self._settled(name, keep, info.state.last_seq, again)
            renewed = [
                again.get(c.name, i) if p == "keep" else i
                for c, p, i in zip(ours, plans, renewed, strict=True)
            ]
        # Asked at the same time as the consumers' creations and deletions (and a cluster's
        # stream leader learns of those late): the count they leave, as the server will say.
        count = len(ours) + (0 if self.owned else len([n for n in found if n not in wanted]))
        self.streams[name] = dataclasses.replace(
            final, state=dataclasses.replace(final.state, consumer_count=count)
        )
        self.consumers.update({c.name: i for c, i in zip(ours, renewed, strict=True)})

    async def _settled(
        self, stream: str, names: list[str], last_seq: int, infos: dict[str, ConsumerInfo]
    ) -> dict[str, ConsumerInfo]:
        """The infos of consumers kept through a purge, once they show it: a cluster's
        consumer leader applies a purge after the stream leader answered (one node at once)."""

        def behind(info: ConsumerInfo | None) -> bool:
            if info is None:
                return False
            delivered = info.delivered.stream_seq if info.delivered else last_seq
            return bool(info.num_pending) or (delivered or 0) < last_seq

        deadline = asyncio.get_running_loop().time() + min(self.timeout, _SETTLE)
        while any(behind(infos.get(n)) for n in names):
            if asyncio.get_running_loop().time() >= deadline:
                break  # the infos as they are; the next reset looks again
            await asyncio.sleep(_POLL)
            infos = await self._consumers(stream)
        return infos

    async def _consumers(self, stream: str) -> dict[str, ConsumerInfo]:
        listed = await _listing(self.nc, f"{_CONSUMER_LIST}.{stream}", "consumers", self.timeout)
        return {str(c["name"]): ConsumerInfo.from_response(c) for c in listed}

    def plan(self, consumer: Consumer, info: ConsumerInfo | None) -> _Plan:
        """What one consumer needs to be as a fresh one."""
        if info is None:
            return "create"
        remembered = (self.before.consumer_configs if self.before else {}).get(consumer.name)
        if drift(consumer.config, info.config) or (
            remembered is not None and config_key(info.config) != remembered
        ):
            return "recreate"
        if fresh(info):
            return "keep"
        return "rewind" if self._rewind_supported() else "recreate"

    async def consumer(
        self, consumer: Consumer, plan: _Plan, info: ConsumerInfo | None
    ) -> ConsumerInfo:
        """Carry out ``plan`` for one consumer; its info afterwards."""
        js = self.js
        if plan == "keep":
            assert info is not None
            return info
        if plan == "rewind":  # ADR-60: back to the start, same consumer
            subject = f"{_CONSUMER_RESET}.{consumer.stream}.{consumer.name}"
            rewound: ConsumerInfo = ConsumerInfo.from_response(
                await _api(self.nc, subject, None, self.timeout)
            )
            return rewound
        if plan == "recreate":
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(consumer.stream, consumer.name)
        created: ConsumerInfo = await js.add_consumer(consumer.stream, consumer.config)
        return created

    async def run(self, trust_counter: bool) -> Snapshot:
        nc, before = self.nc, self.before
        look_all = True
        api_total: int | None = None
        sent = 0
        if trust_counter:
            sent_before = nc.stats["out_msgs"]
            api_total = int((await _api(nc, _INFO, None, self.timeout))["api"]["total"])
            sent = nc.stats["out_msgs"]
            if before is not None and before.api_total is not None:
                ours = sent_before - before.out_msgs  # our requests after the last INFO
                look_all = api_total - before.api_total - 1 - ours != 0
        listed = {
            str(s["config"]["name"]): StreamInfo.from_response(s)
            for s in await _listing(nc, _STREAM_LIST, "streams", self.timeout)
        }
        names = [str(s.name) for s in self.topology.streams]
        extra = [n for n in listed if n not in names] if self.owned else []
        look_all = look_all or before is None
        await asyncio.gather(
            *(self.stream(n, listed.get(n), look_all) for n in names),
            *(self.js.delete_stream(n) for n in extra),
        )
        return Snapshot(
            streams={n: self.streams[n] for n in names},
            consumers={c.name: self.consumers[c.name] for c in self.topology.consumers},
            api_total=api_total,
            out_msgs=sent,
            stream_configs={n: config_key(self.streams[n].config) for n in names},
            consumer_configs={
                c.name: config_key(self.consumers[c.name].config) for c in self.topology.consumers
            },
        )


async def _nothing() -> None:
    return None


async def _no_consumers() -> dict[str, ConsumerInfo]:
    return {}


async def _known(known: dict[str, ConsumerInfo] | None) -> dict[str, ConsumerInfo] | None:
    return known


async def reset(
    nc: Client,
    js: JetStreamManager,
    topology: Topology,
    before: Snapshot | None,
    *,
    owned: bool,
    trust_counter: bool,
    timeout: float,
) -> Snapshot:
    """Bring ``topology`` back to a fresh apply's state; the snapshot of what it left."""
    return await _Reset(nc, js, topology, before, owned=owned, timeout=timeout).run(trust_counter)
