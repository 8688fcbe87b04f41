"""Per-test isolation of JetStream state, apart from the server process.

A :class:`TopologyJanitor` owns one connection to one server on a background event loop
(so it serves sync fixtures under any pytest-asyncio loop scope): it applies the topology
once and, before each test, purges the streams and deletes and recreates the consumers,
all concurrently. On a server that someone else runs the reset is refused unless allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js.api import ConsumerInfo, StreamInfo
from nats.js.errors import NotFoundError
from nats.js.manager import JetStreamManager

from pytest_mistersmith.exceptions import ResetRefusedError
from simulator.protocol.topology import ApplyReport, Consumer, Topology, apply, drift

__all__ = ["TopologyJanitor", "TopologyState"]

T = TypeVar("T")

_STREAM_NAMES = "$JS.API.STREAM.NAMES"
_CONSUMER_RESET = "$JS.API.CONSUMER.RESET"


@dataclass(frozen=True)
class TopologyState:
    """The topology in force on a server after a reset: its streams' and consumers' infos."""

    topology: Topology
    streams: Mapping[str, StreamInfo]
    consumers: Mapping[str, ConsumerInfo]
    applied: ApplyReport
    notes: tuple[str, ...] = field(default=())


class _LoopThread:
    """An event loop on a daemon thread, for async work behind a sync API."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def _untouched(info: ConsumerInfo) -> bool:
    """Whether a consumer never delivered anything (nothing to reset)."""
    delivered, acked = info.delivered, info.ack_floor
    return (delivered is None or delivered.consumer_seq == 0) and (
        acked is None or acked.consumer_seq == 0
    )


class TopologyJanitor:
    """Applies a topology to one server once, and resets its JetStream state per test."""

    def __init__(
        self,
        client_url: str,
        topology: Topology,
        *,
        owned: bool,
        allow_reset: bool = False,
        notes: tuple[str, ...] = (),
        timeout: float = 10.0,
    ) -> None:
        self.client_url = client_url
        self.topology = topology
        self.owned = owned
        self.allow_reset = allow_reset
        self.notes = notes
        self.timeout = timeout
        self.applied: ApplyReport | None = None
        self._runner = _LoopThread(f"mistersmith-janitor {client_url}")
        self._nc: Client | None = None
        self._js: JetStreamManager | None = None
        self._closed = False
        self.last_error: Exception | None = None

    async def _manager(self) -> JetStreamManager:
        if self._nc is None or self._nc.is_closed or self._js is None:
            # No reconnect (a restarted server gets a new connection on next use), and errors
            # kept, not logged: a traceback logged from this thread races the main thread's
            # ast.parse on CPython 3.11 ("AST constructor recursion depth mismatch").
            self._nc = await nats.connect(
                self.client_url,
                name="mistersmith-janitor",
                allow_reconnect=False,
                error_cb=self._on_error,
            )
            self._js = self._nc.jsm()
        return self._js

    async def _on_error(self, exc: Exception) -> None:
        self.last_error = exc

    def apply(self) -> ApplyReport:
        """Create or update every stream and consumer (idempotent); the report lists drift."""

        async def run() -> ApplyReport:
            return await apply(await self._manager(), self.topology)

        self.applied = self._runner.run(run(), self.timeout)
        return self.applied

    def reset(self) -> TopologyState:
        """Purge every stream and recreate every consumer (on someone else's server: if allowed)."""
        if not self.owned and not self.allow_reset:
            raise ResetRefusedError(
                f"refusing to purge the streams of {self.client_url}: it is a server someone else "
                "runs. Pass --nats-allow-reset (ini nats_allow_reset = true) to allow the per-test "
                "reset there, or use the embedded server (drop --nats-url)"
            )
        if self.applied is None:
            self.apply()
        return self._runner.run(self._reset(), self.timeout)

    def state(self) -> TopologyState:
        """The current infos, without resetting anything."""
        if self.applied is None:
            self.apply()
        return self._runner.run(self._state(), self.timeout)

    async def _state(self) -> TopologyState:
        js = await self._manager()
        streams = await asyncio.gather(
            *(js.stream_info(str(s.name)) for s in self.topology.streams)
        )
        consumers = await asyncio.gather(
            *(js.consumer_info(c.stream, c.name) for c in self.topology.consumers)
        )
        return self._make_state(streams, consumers)

    def _make_state(
        self, streams: list[StreamInfo], consumers: list[ConsumerInfo]
    ) -> TopologyState:
        assert self.applied is not None
        return TopologyState(
            topology=self.topology,
            streams={str(info.config.name): info for info in streams},
            consumers={str(info.name): info for info in consumers},
            applied=self.applied,
            notes=self.notes,
        )

    async def _reset(self) -> TopologyState:
        """Two concurrent rounds: purge, look and list; then infos, consumer resets, deletions."""
        js = await self._manager()
        assert self._nc is not None
        nc = self._nc
        ours = [str(s.name) for s in self.topology.streams]

        async def purge(name: str) -> None:
            try:
                await js.purge_stream(name)
            except NotFoundError:  # the test deleted it: bring it back
                await js.add_stream(self.topology.stream(name))

        async def look(consumer: Consumer) -> ConsumerInfo | None:
            try:
                info: ConsumerInfo = await js.consumer_info(consumer.stream, consumer.name)
            except NotFoundError:
                return None
            return info

        async def foreign() -> set[str]:
            if not self.owned:
                return set()
            reply = await nc.request(_STREAM_NAMES, b"{}", timeout=self.timeout)
            return set(json.loads(reply.data).get("streams") or ()) - set(ours)

        async def renew(consumer: Consumer, info: ConsumerInfo | None) -> ConsumerInfo:
            if info is not None and not drift(consumer.config, info.config):
                if _untouched(info):
                    fresh: ConsumerInfo = await js.consumer_info(consumer.stream, consumer.name)
                    return fresh  # its num_pending after the purge
                if nc.connected_server_version.minor >= 14 or nc.connected_server_version.major > 2:
                    # ADR-60 (nats-server 2.14): back to the start, same consumer. The server
                    # does not answer for a missing consumer: hence the look first.
                    subject = f"{_CONSUMER_RESET}.{consumer.stream}.{consumer.name}"
                    reply = await nc.request(subject, b"", timeout=self.timeout)
                    reset: ConsumerInfo = ConsumerInfo.from_response(json.loads(reply.data))
                    return reset
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(consumer.stream, consumer.name)
            created: ConsumerInfo = await js.add_consumer(consumer.stream, consumer.config)
            return created

        consumers = self.topology.consumers
        _, infos, extra = await asyncio.gather(
            asyncio.gather(*(purge(name) for name in ours)),
            asyncio.gather(*(look(c) for c in consumers)),
            foreign(),
        )
        streams, renewed, _ = await asyncio.gather(
            asyncio.gather(*(js.stream_info(name) for name in ours)),
            asyncio.gather(*(renew(c, i) for c, i in zip(consumers, infos, strict=True))),
            asyncio.gather(*(js.delete_stream(name) for name in extra)),
        )
        return self._make_state(list(streams), list(renewed))

    def close(self) -> None:
        """Close the connection and stop the background loop (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True

        async def run() -> None:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

        try:
            self._runner.run(run(), self.timeout)
        finally:
            self._runner.close()
