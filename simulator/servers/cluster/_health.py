"""Waiting on a cluster: the meta leader seeing every peer, streams settled, agreed leaders.

Each function polls the ``/jsz`` views of ``_views`` over the nodes that are up (monitoring URL
by index; None for a node that is down) every few milliseconds, under one deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from simulator.errors import ServerNotReadyError
from simulator.servers.cluster._views import (
    current,
    meta_peers,
    settled_streams,
    stream_names,
)
from simulator.servers.health import POLL_INTERVAL

__all__ = ["agreed_leader", "poll", "wait_peers", "wait_streams"]

Urls = Sequence[str | None]


def poll(
    ready: Callable[[], bool],
    deadline: float,
    failure: Callable[[], str],
    timeout: float,
    interval: float = POLL_INTERVAL,
) -> None:
    """Call ``ready`` until it is true; ServerNotReadyError(``failure()``) at the deadline."""
    while not ready():
        if time.monotonic() >= deadline:
            raise ServerNotReadyError(failure(), timeout=timeout)
        time.sleep(interval)


def wait_peers(urls: Urls, names: Sequence[str], deadline: float, timeout: float) -> int:
    """Until the meta leader sees every other node current; the leader's index."""
    seen: list[Any] = []
    leader: list[int] = []

    def ready() -> bool:
        for index, name in enumerate(names):
            url = urls[index]
            if url is None:
                continue
            try:
                peers = meta_peers(url, name)
            except (OSError, ValueError):
                continue
            if peers is not None:  # only the leader's own view counts
                seen[:] = peers
                if len(peers) == len(names) - 1 and current(peers):
                    leader[:] = [index]
                    return True
        return False

    poll(
        ready,
        deadline,
        lambda: (
            f"the meta leader does not see all {len(names)} nodes current within the "
            f"deadline (its peers: {seen}). Fix: raise start_timeout on a slow machine"
        ),
        timeout,
    )
    return leader[0]


def wait_streams(
    urls: Urls, names: Sequence[str], streams: set[str] | None, deadline: float, timeout: float
) -> None:
    """Until every stream of ``streams`` (None: all) has a leader with all replicas current.

    A stream just created, or whose leader was just lost, may still be electing one: a purge
    or a publish sent then goes unanswered for seconds.
    """
    if streams is None:
        streams = set()
        for url in urls:
            if url is not None:
                with contextlib.suppress(OSError, ValueError):
                    streams |= stream_names(url)
    waiting = set(streams)

    def ready() -> bool:
        for url, name in zip(urls, names, strict=True):
            if url is None or not waiting:
                continue
            with contextlib.suppress(OSError, ValueError):
                waiting.difference_update(settled_streams(url, name))
        return not waiting

    poll(
        ready,
        deadline,
        lambda: (
            "streams without a settled leader after the topology was applied: "
            f"{sorted(waiting)}. Fix: raise the timeout on a slow machine"
        ),
        timeout,
        interval=POLL_INTERVAL * 5,
    )


def agreed_leader(
    what: str,
    view: Callable[[str], str | None],
    urls: Urls,
    names: Sequence[str],
    timeout: float,
    voters: Callable[[], int] | None = None,
) -> int:
    """The index of the node a majority of all nodes names by ``view``, the node agreeing.

    ``voters`` (default: every node) says how many nodes can name one: a stream's replicas.
    Waits up to ``timeout`` for one; ServerNotReadyError with every node's view otherwise.
    """
    deadline = time.monotonic() + timeout
    size = len(names)
    while True:
        views: dict[int, str | None] = {}
        for index, url in enumerate(urls):
            if url is None:
                continue
            try:
                views[index] = view(url)
            except (OSError, ValueError, KeyError, TypeError):
                continue
        votes = Counter(name for name in views.values() if name)
        if votes:
            name, count = votes.most_common(1)[0]
            if name in names and count > (size if voters is None else voters()) // 2:
                leader = list(names).index(name)
                if views.get(leader) == name:  # the leader itself agrees
                    return leader
        if time.monotonic() >= deadline:
            down = [index for index, url in enumerate(urls) if url is None]
            raise ServerNotReadyError(
                f"no {what} agreed by a majority of {size} nodes within {timeout} s "
                f"(views: {views}, down: {down})",
                timeout=timeout,
            )
        time.sleep(POLL_INTERVAL * 3)
