"""Read back what every stream holds at the end of a run, for the checker.

Through a :class:`~simulator.bus.Bus` (the one place that holds connections): for each stream,
an ephemeral pull consumer (no acks, in memory, one replica, deleted afterwards) fetches every
message from the first sequence; each becomes a :class:`~simulator.faults.checker.Stored`
(stream, sequence, subject, ``Nats-Msg-Id``, payload). The consumers' redelivery counts come
from their infos.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError

from simulator.bus import MSG_ID_HEADER, Bus
from simulator.errors import ServerError
from simulator.faults.checker import Stored
from simulator.swarm.metrics import Metrics

__all__ = ["read_streams"]

_BATCH = 1000
_PAUSE = 0.25
_T = TypeVar("_T")
#: What a cluster that has just healed may answer for a while (no meta or stream leader yet).
_UNSETTLED = (ServiceUnavailableError, NoRespondersError, NatsTimeoutError, asyncio.TimeoutError)


async def _settled(call: Callable[[], Awaitable[_T]], what: str, deadline: float) -> _T:
    """``call()``, asked again while the cluster has not settled, until ``deadline``."""
    while True:
        try:
            return await call()
        except _UNSETTLED as exc:
            if time.monotonic() + _PAUSE > deadline:
                raise ServerError(
                    f"{what}: no answer before the deadline ({type(exc).__name__}); the cluster "
                    "may not have settled"
                ) from exc
            await asyncio.sleep(_PAUSE)


async def _read_stream(bus: Bus, name: str, deadline: float) -> list[Stored]:
    try:
        info = await _settled(lambda: bus.js.stream_info(name), f"stream {name}", deadline)
    except NotFoundError:
        return []
    total = info.state.messages
    if total == 0:
        return []
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        mem_storage=True,
        num_replicas=1,
        inactive_threshold=60.0,
    )
    psub = await _settled(
        lambda: bus.js.pull_subscribe("", stream=name, config=config),
        f"stream {name}: a reading consumer",
        deadline,
    )
    out: list[Stored] = []
    try:
        while len(out) < total:
            if time.monotonic() > deadline:
                raise ServerError(
                    f"stream {name}: read back {len(out)} of {total} messages before the "
                    "deadline; the cluster may not have settled"
                )
            try:
                batch = await psub.fetch(_BATCH, timeout=2.0)
            except (NatsTimeoutError, asyncio.TimeoutError):
                break  # nothing more came: what the stream holds now
            except (ServiceUnavailableError, NoRespondersError):
                await asyncio.sleep(_PAUSE)  # the reading consumer has no leader yet (503)
                continue
            for msg in batch:
                meta = msg.metadata
                msg_id = (msg.headers or {}).get(MSG_ID_HEADER)
                out.append(Stored(name, meta.sequence.stream, msg.subject, msg_id, msg.data))
                if meta.num_pending == 0:
                    total = len(out)
    finally:
        with contextlib.suppress(NatsError, asyncio.TimeoutError):
            await psub.unsubscribe()
    return out


async def read_streams(
    urls: str | Sequence[str],
    streams: Sequence[str],
    consumers: Sequence[tuple[str, str]] = (),
    *,
    connect_options: Mapping[str, object] | None = None,
    timeout: float = 120.0,
) -> tuple[dict[str, list[Stored]], dict[str, int]]:
    """Every message of ``streams``, and each of ``consumers``' (stream, durable) redeliveries."""
    servers = urls if isinstance(urls, str) else list(urls)
    bus = await Bus.connect(servers, Metrics(), name="mistersmith-checker", options=connect_options)
    deadline = time.monotonic() + timeout
    try:
        stored = {name: await _read_stream(bus, name, deadline) for name in streams}
        redelivered: dict[str, int] = {}
        for stream, durable in consumers:
            with contextlib.suppress(NotFoundError):
                info = await _settled(
                    functools.partial(bus.js.consumer_info, stream, durable),
                    f"consumer {stream}/{durable}",
                    deadline,
                )
                redelivered[f"{stream}/{durable}"] = int(info.num_redelivered or 0)
    finally:
        await bus.close()
    return stored, redelivered
