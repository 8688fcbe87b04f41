"""Apply a topology over a connection of its own: one try on a server, retries on a cluster.

One server answers at once or not at all: one try under ``timeout``. A cluster that has just
become healthy may still be settling: a request can go unanswered (routes settling, the meta
leader elected a moment ago) and placement may say "no suitable peers for placement, peer
offline" (10005) while the leader has not yet heard from a peer it already counts. apply() is
idempotent, so with ``settling`` it asks again, each try short, until ``timeout``. From sync
code (``start()``, a cluster), :func:`run_sync` runs it on a loop of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import nats
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from simulator.errors import ServerError, TopologyError
from simulator.protocol.topology import ApplyReport, Topology, apply

__all__ = ["apply_over", "run_sync"]

_T = TypeVar("_T")
_NO_SUITABLE_PEERS = 10005
_TRY_TIMEOUT = 2.0
_RETRY_PAUSE = 0.005


async def _no_log(exc: Exception) -> None:
    """nats-py's error callback: errors surface as the calls' exceptions, not logged tracebacks."""


async def apply_over(
    urls: str | list[str],
    topology: Topology,
    timeout: float = 10.0,
    *,
    settling: bool = False,
    options: Mapping[str, object] | None = None,
) -> ApplyReport:
    """Connect to ``urls`` (the first first), apply ``topology``, close; ServerError if it can't."""
    shown = urls if isinstance(urls, str) else ", ".join(urls)
    try:
        client = await nats.connect(
            urls,
            name="mistersmith-topology",
            connect_timeout=timeout,
            dont_randomize=True,
            allow_reconnect=settling,
            max_reconnect_attempts=2 if settling else 0,
            error_cb=_no_log,
            **(options or {}),
        )
    except (OSError, NatsError) as exc:
        raise ServerError(f"cannot connect to {shown} to apply the topology: {exc!r}") from exc
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # settling: many short tries under the deadline; else one try as long as the deadline
    js = client.jsm(timeout=_TRY_TIMEOUT) if settling else client.jsm()
    per_try = 5 * _TRY_TIMEOUT if settling else timeout
    try:
        while True:
            try:
                return await asyncio.wait_for(apply(js, topology), per_try)
            except (NatsTimeoutError, NoRespondersError, asyncio.TimeoutError):
                if not settling or loop.time() >= deadline:
                    raise ServerError(
                        f"applying the topology to {shown} took longer than {timeout} s"
                    ) from None
            except TopologyError as exc:
                if not settling or not _unplaced(exc) or loop.time() >= deadline:
                    raise
                await asyncio.sleep(_RETRY_PAUSE)
    finally:
        await client.close()


def _unplaced(exc: BaseException) -> bool:
    """Whether ``exc`` is JetStream's "no suitable peers for placement" (err_code 10005)."""
    return getattr(exc.__cause__, "err_code", None) == _NO_SUITABLE_PEERS


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` to completion from sync code, on a fresh loop (in a thread if one runs)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
