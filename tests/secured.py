"""A secured embedded server with the topology, for the tests of profiles and the bridge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from simulator.servers import BinaryServer, start
from simulator.servers.security import Auth, Security, TlsMode


@contextmanager
def secured_server(
    auth: Auth, tls: TlsMode, agents: tuple[str, ...] = ("a1", "a2")
) -> Iterator[BinaryServer]:
    """A server secured by ``auth`` and ``tls`` with the topology applied, stopped after."""
    started = start("binary", security=Security(auth, tls, agents=agents), apply=True)
    server = started.server
    assert isinstance(server, BinaryServer)
    with server:
        yield server
