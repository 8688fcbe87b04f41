"""What a cluster's nodes say about their JetStream leaders, read from ``/jsz``.

Each function asks one node's monitoring port and returns its view; ``_health`` polls them
over the nodes until a majority (or every node) agrees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from simulator.servers.health import get_json

__all__ = [
    "PROBE_TIMEOUT",
    "current",
    "meta_peers",
    "meta_view",
    "settled_streams",
    "stream_names",
    "stream_replicas",
    "stream_view",
]

#: Seconds one ``/jsz`` probe may take.
PROBE_TIMEOUT = 0.5


def _jsz(url: str) -> dict[str, Any]:
    """A node's ``/jsz`` answer (monitoring JSON, read as the loose data it is)."""
    return get_json(url, timeout=PROBE_TIMEOUT)


def meta_view(monitor_url: str) -> str | None:
    """The meta leader this node names, if any."""
    meta = _jsz(f"{monitor_url}/jsz").get("meta_cluster") or {}
    leader = meta.get("leader")
    return str(leader) if leader else None


def meta_peers(monitor_url: str, server_name: str) -> list[dict[str, Any]] | None:
    """The meta group's other peers as this node sees them, if it is the meta leader."""
    meta = _jsz(f"{monitor_url}/jsz").get("meta_cluster") or {}
    if meta.get("leader") != server_name:
        return None
    return list(meta.get("replicas") or [])


def current(replicas: Iterable[dict[str, Any]]) -> bool:
    """Whether every replica is current and none offline."""
    return all(r.get("current") and not r.get("offline") for r in replicas)


def _stream_details(monitor_url: str) -> Iterable[dict[str, Any]]:
    data = _jsz(f"{monitor_url}/jsz?streams=true")
    for account in data.get("account_details") or ():
        yield from account.get("stream_detail") or ()


def stream_view(stream: str) -> Callable[[str], str | None]:
    """A view of the leader of ``stream`` this node names, if any."""

    def view(monitor_url: str) -> str | None:
        for detail in _stream_details(monitor_url):
            if detail.get("name") == stream:
                leader = (detail.get("cluster") or {}).get("leader")
                return str(leader) if leader else None
        return None

    return view


def stream_replicas(stream: str, monitor_urls: Iterable[str | None]) -> int:
    """How many replicas ``stream`` has, as the first node holding it says (0: none says)."""
    for url in monitor_urls:
        if url is None:
            continue
        try:
            details = list(_stream_details(url))
        except (OSError, ValueError):
            continue
        for detail in details:
            if detail.get("name") == stream:
                return 1 + len((detail.get("cluster") or {}).get("replicas") or [])
    return 0


def settled_streams(monitor_url: str, server_name: str) -> set[str]:
    """The streams this node leads with every replica current (its own view)."""
    settled = set()
    for detail in _stream_details(monitor_url):
        cluster = detail.get("cluster") or {}
        replicas = cluster.get("replicas") or []
        if cluster.get("leader") == server_name and current(replicas):
            settled.add(str(detail.get("name")))
    return settled


def stream_names(monitor_url: str) -> set[str]:
    """The streams this node holds a replica of."""
    return {str(detail.get("name")) for detail in _stream_details(monitor_url)}
