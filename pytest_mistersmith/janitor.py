"""Per-test isolation of JetStream state, apart from the server process.

A :class:`TopologyJanitor` owns one connection to one server on a background event loop
(so it serves sync fixtures under any pytest-asyncio loop scope): it applies the topology
once and, before each test, purges the streams and deletes and recreates the consumers,
all concurrently. On a server that someone else runs the reset is refused unless allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from simulator.protocol.topology import ApplyReport, Consumer, Topology, apply

__all__ = ["TopologyJanitor", "TopologyState"]

T = TypeVar("T")


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

    async def _manager(self) -> JetStreamManager:
        if self._js is None:
            # No reconnects: the server may stop before the session's cleanup closes us.
            self._nc = await nats.connect(
                self.client_url, name="mistersmith-janitor", allow_reconnect=False
            )
            self._js = self._nc.jsm()
        return self._js

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
        js = await self._manager()

        async def renew_stream(config_name: str) -> tuple[StreamInfo, list[ConsumerInfo]]:
            config = self.topology.stream(config_name)
            try:
                await js.purge_stream(config_name)
            except NotFoundError:  # the test deleted it: bring it back
                await js.add_stream(config)
            consumers = self.topology.consumers_of(config_name)
            info, recreated = await asyncio.gather(
                js.stream_info(config_name), asyncio.gather(*(recreate(c) for c in consumers))
            )
            return info, list(recreated)

        async def recreate(consumer: Consumer) -> ConsumerInfo:
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(consumer.stream, consumer.name)
            return await js.add_consumer(consumer.stream, consumer.config)

        tasks = [renew_stream(str(s.name)) for s in self.topology.streams]
        renewed = await asyncio.gather(*tasks)
        await self._drop_foreign(js)  # after the renewal: it counts the streams
        streams = [info for info, _ in renewed]
        consumers = [c for _, infos in renewed for c in infos]
        return self._make_state(streams, consumers)

    async def _drop_foreign(self, js: JetStreamManager) -> None:
        """On our own server, delete streams a test created beyond the topology."""
        if not self.owned:
            return
        account = await js.account_info()
        if account.streams <= len(self.topology.streams):
            return
        ours = {str(s.name) for s in self.topology.streams}
        infos = await js.streams_info()
        await asyncio.gather(
            *(js.delete_stream(str(i.config.name)) for i in infos if i.config.name not in ours)
        )

    def close(self) -> None:
        """Close the connection and stop the background loop."""

        async def run() -> None:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

        try:
            self._runner.run(run(), self.timeout)
        finally:
            self._runner.close()
