"""Free loopback ports picked before a server starts, where the server cannot pick its own."""

from __future__ import annotations

import socket

__all__ = ["free_ports"]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held together, then released).

    Only for listeners whose port must be known before the server starts: a cluster's routes
    name their peers' ports, and a container publishes its ports at creation. Another process
    may take one before it is bound; the callers then pick again.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
