"""Readiness through JetStream: a stream info and a publish through every node (spec-notes 25).

``/healthz`` and ``/jsz`` say what each node believes of itself. A client's first publish needs
more, on the node it happens to connect to: the JetStream API answering there, and the stream's
subject interest propagated over the routes to that node from the stream's leader. Until then a
publish there fails with ``NoRespondersError``, ``nats: no response from stream`` or a 503.
So readiness asks the same questions a client asks, through each node's own client URL, every
few milliseconds under one deadline:

- :func:`probe_cluster`, when the cluster starts: a probe stream (file storage, the cluster's
  replicas up to 3) is created, then through every node its info must answer and a publish to
  it must be stored and acknowledged; then the probe stream is deleted. This is the meta layer,
  the routes and a replicated store working from every node.
- :func:`wait_answers`, once a topology is applied: through every node, each applied stream's
  info must answer, and a publish to its first subject must be answered by the stream itself.
  That publish carries an expected last sequence no stream can have, so the stream refuses it
  (err_code 10071) and nothing is stored; a core subscriber to that subject would receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import ClusterInfo, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError

from simulator.errors import ServerNotReadyError
from simulator.servers.health import POLL_INTERVAL

__all__ = ["PROBE_PREFIX", "probe_cluster", "wait_answers"]

#: The name every readiness probe stream starts with (deleted once the cluster is ready).
PROBE_PREFIX = "mistersmith_ready_"
_TRY_TIMEOUT = 1.0
_CONNECT_TIMEOUT = 1  # nats-py types it int
_WRONG_LAST_SEQUENCE = 10071
_NEVER = str(2**63)  # an expected last sequence no stream reaches
_TOKEN = "mistersmith-ready"
_GRACE = 5.0  # seconds to delete the probe, whatever the deadline left

Urls = Sequence[str | None]
#: Keyword arguments of ``nats.connect`` on a secured cluster (the admin's; {} when open).
Options = Mapping[str, object]


async def _no_log(exc: Exception) -> None:
    """nats-py's error callback: errors surface as the calls' exceptions."""


async def _connect(url: str, options: Options) -> Any:
    """A connection to ``url`` alone (with ``options``: credentials, TLS); one that fails is
    closed (its socket with it)."""
    client = NATS()
    try:
        await client.connect(
            url,
            name="mistersmith-ready",
            connect_timeout=_CONNECT_TIMEOUT,
            allow_reconnect=False,
            error_cb=_no_log,
            **options,  # type: ignore[arg-type]  # nats.connect's keyword arguments
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await client.close()
        raise
    return client


def _concrete(subjects: Sequence[str] | None) -> str | None:
    """A subject of the first filter in ``subjects``, its wildcards filled in (None: none)."""
    if not subjects:
        return None
    return ".".join(_TOKEN if token in ("*", ">") else token for token in subjects[0].split("."))


class _NotYet(Exception):
    """A node answered, but not yet what readiness needs."""


_Failures = (OSError, NatsError, APIError, asyncio.TimeoutError, _NotYet)


def _led(cluster: ClusterInfo) -> bool:
    """Whether a stream's cluster info names a leader and every replica is current."""
    return bool(cluster.leader) and all(peer.current for peer in cluster.replicas or [])


async def _answered(client: Any, stream: str, store: bool) -> None:
    """Raise unless ``stream``'s info answers and a publish to it is answered by the stream."""
    js = client.jetstream(timeout=_TRY_TIMEOUT)
    info = await js.stream_info(stream)
    if info.cluster is not None and not _led(info.cluster):
        # a publish now would wait out its timeout unanswered: ask again instead
        raise _NotYet(f"stream {stream} has no leader with all replicas current yet")
    subject = _concrete(info.config.subjects)
    if subject is None or info.config.no_ack or info.config.sealed:
        return  # a mirror, a stream that never answers a publish, or one that takes none
    if store:
        await js.publish(subject, b"")
        return
    try:
        await js.publish(subject, b"", headers={"Nats-Expected-Last-Sequence": _NEVER})
    except APIError as exc:
        if exc.err_code == _WRONG_LAST_SEQUENCE:
            return  # the stream's leader answered, and stored nothing
        raise


async def _node(
    index: int,
    url: str,
    streams: Sequence[str],
    store: bool,
    deadline: float,
    last: dict[int, str],
    options: Options,
) -> None:
    """Poll node ``index`` until each of ``streams`` answers there (``last``: why not yet)."""
    loop = asyncio.get_running_loop()
    waiting = list(streams)
    client: Any = None
    last[index] = "no answer yet"
    try:
        while waiting:
            try:
                if client is None or not client.is_connected:
                    client = await _connect(url, options)
                await _answered(client, waiting[0], store)
                waiting.pop(0)
                continue
            except _Failures as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                last[index] = f"stream {waiting[0]}: {why}"
            if loop.time() >= deadline:
                return
            await asyncio.sleep(POLL_INTERVAL)
        del last[index]
    finally:
        if client is not None:
            with contextlib.suppress(*_Failures):
                await client.close()


async def wait_answers(
    urls: Urls,
    names: Sequence[str],
    streams: Sequence[str],
    deadline: float,
    timeout: float,
    *,
    store: bool = False,
    options: Options | None = None,
) -> None:
    """Until, through every node that is up (client URL; None: down), each stream answers.

    Answers means: its info, and a publish to its first subject answered by the stream (refused
    unstored by an expected last sequence; with ``store``, stored and acknowledged).
    ``options``: how to connect to a secured cluster.
    ``deadline`` is of ``time.monotonic()``; ServerNotReadyError names the nodes not ready.
    """
    loop = asyncio.get_running_loop()
    at = loop.time() + max(0.0, deadline - time.monotonic())
    last: dict[int, str] = {}
    await asyncio.gather(
        *(
            _node(index, url, streams, store, at, last, options or {})
            for index, url in enumerate(urls)
            if url is not None
        )
    )
    if last:
        which = "; ".join(
            f"node {index} ({names[index]}, {urls[index]}): {why}"
            for index, why in sorted(last.items())
        )
        raise ServerNotReadyError(
            f"JetStream did not answer through every node within {timeout} s: {which}. "
            "Fix: raise start_timeout on a slow machine, check the node's log",
            timeout=timeout,
        )


async def _on_any(
    urls: Urls,
    action: Callable[[Any], Awaitable[Any]],
    deadline: float,
    timeout: float,
    options: Options,
) -> None:
    """Run ``action(jsm)`` through a node that answers, each in turn, until ``deadline``."""
    loop = asyncio.get_running_loop()
    up = [url for url in urls if url is not None]
    last = "no answer yet"
    attempt = 0
    while True:
        url = up[attempt % len(up)]
        attempt += 1
        client: Any = None
        try:
            client = await _connect(url, options)
            await action(client.jsm(timeout=_TRY_TIMEOUT * 2))
            return
        except _Failures as exc:
            last = f"{url}: {type(exc).__name__}: {exc}" if str(exc) else f"{url}: {exc!r}"
        finally:
            if client is not None:
                with contextlib.suppress(*_Failures):
                    await client.close()
        if loop.time() >= deadline:
            raise ServerNotReadyError(
                f"the JetStream API did not answer through any node within {timeout} s "
                f"(last: {last}). Fix: raise start_timeout on a slow machine",
                timeout=timeout,
            )
        await asyncio.sleep(POLL_INTERVAL)


async def probe_cluster(
    urls: Urls,
    names: Sequence[str],
    deadline: float,
    timeout: float,
    options: Options | None = None,
) -> None:
    """Create a probe stream, wait until it stores a publish through every node, delete it.

    ``options``: how to connect to a secured cluster.
    """
    options = options or {}
    loop = asyncio.get_running_loop()
    at = loop.time() + max(0.0, deadline - time.monotonic())
    name = f"{PROBE_PREFIX}{uuid.uuid4().hex[:10]}"
    config = StreamConfig(
        name=name,
        subjects=[f"_mistersmith.ready.{name}"],
        storage=StorageType.FILE,
        num_replicas=min(3, len(names)),
        max_msgs=len(names),
    )

    async def create(js: Any) -> None:
        try:
            await js.add_stream(config)
        except APIError as exc:
            if exc.err_code != 10058:  # "stream name already in use": an earlier try made it
                raise

    async def delete(js: Any) -> None:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)

    try:
        await _on_any(urls, create, at, timeout, options)
        await wait_answers(urls, names, [name], deadline, timeout, store=True, options=options)
    except BaseException:
        with contextlib.suppress(*_Failures, ServerNotReadyError):  # the first error counts
            await _on_any(urls, delete, loop.time() + _GRACE, timeout, options)
        raise
    await _on_any(urls, delete, max(at, loop.time() + _GRACE), timeout, options)
