"""The surface every server backend offers (binary, external, and later docker, cluster)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from simulator.errors import ServerError

__all__ = ["NatsServer", "require_started"]

_T = TypeVar("_T")


def require_started(value: _T | None, what: str) -> _T:
    """``value``, or the ServerError saying ``what`` is not known before ``start()``."""
    if value is None:
        raise ServerError(f"{what} is not known before start(); call start() first")
    return value


class NatsServer(Protocol):
    """A NATS server a test or a swarm can use: where to connect, and start/stop (static)."""

    @property
    def client_url(self) -> str:
        """The URL clients connect to."""
        ...

    @property
    def version(self) -> str:
        """The server version, e.g. "2.15.1"."""
        ...

    def start(self) -> object:
        """Start (or wait for) the server until it is ready."""
        ...

    def stop(self) -> None:
        """Stop the server (a no-op for servers someone else runs)."""
        ...
