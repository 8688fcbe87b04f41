"""Failing tests whose reports show the servers' logs (run with --nats-log-level debug)."""

from __future__ import annotations

import socket
from typing import Any

import nats


def _garbage(url: str) -> None:
    """A client that speaks no NATS: the server logs a parser error (an [ERR] line)."""
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.recv(4096)  # INFO
        sock.sendall(b"NOT NATS\r\n")
        sock.recv(4096)  # -ERR, then the server closes


def test_1_starts_the_server(nats_server: Any) -> None:
    assert nats_server.client_url


def test_2_fails_after_an_error(nats_server: Any) -> None:
    _garbage(nats_server.client_url)
    raise AssertionError("the report shows the parser error first")


async def _connections(url: str, count: int) -> None:
    for _ in range(count):
        client = await nats.connect(url)
        await client.close()


def test_3_fails_after_many_lines(nats_server: Any) -> None:
    import asyncio

    asyncio.run(_connections(nats_server.client_url, 30))
    _garbage(nats_server.client_url)
    raise AssertionError("the report shows 40 lines and where the others are")


def test_4_fails_after_a_restart(nats_server: Any) -> None:
    nats_server.restart()
    raise AssertionError("the banner of the restart is one line")


def test_5_fails_on_a_cluster(nats_cluster: Any) -> None:
    nats_cluster.restart(1)
    raise AssertionError("each node's log, the restart's health checks folded")
