"""Per-test isolation of JetStream state, apart from the server process.

A :class:`TopologyJanitor` owns one connection to one server on a background event loop
(so it serves sync fixtures under any pytest-asyncio loop scope): it applies the topology
once and, before each test, learns what the last test changed and undoes only that (purges
the streams that hold messages; rewinds, recreates or deletes the consumers that moved; see
``_reset``), concurrently. On a server that someone else runs the reset is refused unless
allowed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js.api import ConsumerInfo, StreamInfo
from nats.js.manager import JetStreamManager

from pytest_mistersmith._reset import Snapshot, reset
from pytest_mistersmith.exceptions import ResetRefusedError
from simulator.errors import TopologyError
from simulator.protocol.topology import ApplyReport, Topology, apply

__all__ = ["TopologyJanitor", "TopologyState"]

T = TypeVar("T")
_NO_SUITABLE_PEERS = 10005
"""JetStream's "no suitable peers for placement" (a peer its meta leader thinks offline)."""
_RETRY_PAUSE = 0.005


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
        clustered: bool = False,
        connect_options: Mapping[str, object] | None = None,
    ) -> None:
        self.client_url = client_url
        #: Credentials and TLS of a secured server (its admin's), for ``nats.connect``.
        self.connect_options = dict(connect_options or {})
        self.topology = topology
        self.owned = owned
        self.allow_reset = allow_reset
        self.notes = notes
        self.timeout = timeout
        #: A cluster's nodes share their API request counts late: the reset cannot rely on them.
        self.clustered = clustered
        self._snapshot: Snapshot | None = None
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
                **self.connect_options,
            )
            self._js = self._nc.jsm()
            self._snapshot = None  # a new connection (or server): learn everything again
        return self._js

    async def _on_error(self, exc: Exception) -> None:
        self.last_error = exc

    def apply(self) -> ApplyReport:
        """Create or update every stream and consumer (idempotent); the report lists drift."""

        async def run() -> ApplyReport:
            js = await self._manager()
            self._snapshot = None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 0.8 * self.timeout  # before the runner gives up
            while True:
                try:
                    return await apply(js, self.topology)
                except TopologyError as exc:
                    # A cluster healthy a moment ago may still place no replica on a peer its
                    # meta leader has not heard from yet (10005): apply() is idempotent, again.
                    unplaced = getattr(exc.__cause__, "err_code", None) == _NO_SUITABLE_PEERS
                    if not (self.clustered and unplaced) or loop.time() >= deadline:
                        raise
                await asyncio.sleep(_RETRY_PAUSE)

        self.applied = self._runner.run(run(), self.timeout)
        return self.applied

    def reset(self) -> TopologyState:
        """Undo what the last test changed (on someone else's server: only if allowed)."""
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
        """Undo what the last test changed, learned in as few API requests as the server allows."""
        js = await self._manager()
        assert self._nc is not None
        before, self._snapshot = self._snapshot, None  # a reset that fails forgets
        snapshot = await reset(
            self._nc,
            js,
            self.topology,
            before,
            owned=self.owned,
            trust_counter=self.owned and not self.clustered,
            timeout=self.timeout,
        )
        self._snapshot = snapshot
        return self._make_state(list(snapshot.streams.values()), list(snapshot.consumers.values()))

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
