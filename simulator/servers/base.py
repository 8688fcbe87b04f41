"""The shape every server backend and the cluster share: an executor, as mirakuru's ``Executor``.

:class:`NatsServer` is the base class of :class:`~simulator.servers.BinaryServer`,
:class:`~simulator.servers.DockerServer`, :class:`~simulator.servers.ExternalServer` and
:class:`~simulator.servers.NatsCluster`. A subclass says where clients connect, which version
runs, whether it is started, and how to start (ready under one deadline of ``start_timeout``),
stop and kill; the base gives the context manager, the ``repr``, the default log tail and the
deadline.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from simulator.errors import ServerError

if TYPE_CHECKING:
    from simulator.servers.security import Material

__all__ = ["NatsServer", "ProcessServer", "require_started"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="NatsServer")


def require_started(value: _T | None, what: str) -> _T:
    """``value``, or the ServerError saying ``what`` is not known before ``start()``."""
    if value is None:
        raise ServerError(f"{what} is not known before start(); call start() first")
    return value


class NatsServer(abc.ABC):
    """A NATS server a test or a swarm can use: where to connect, start/stop/kill, ``with``.

    ``with server:`` starts it unless it is started already and stops it at the end.
    """

    #: Seconds a start may take, readiness included (one deadline for the whole start).
    start_timeout: float
    #: The credentials and certificates of a secured server, once started (None: open).
    material: Material | None = None

    def connect_options(self, identity: str = "admin") -> dict[str, object]:
        """Keyword arguments of ``nats.connect`` for ``identity`` (``admin``, a role,
        ``agent:<id>``): credentials, TLS context, inbox prefix; ``{}`` on an open server.

        An identity the server does not know yet gets credentials now (and the server reloads
        its configuration when it must, see :meth:`reload_credentials`).
        """
        if self.material is None:
            return {}
        if self.material.add(identity):
            self.reload_credentials()
        return self.material.connect_options(identity)

    def agent_options(self, agent_ids: Sequence[str]) -> list[dict[str, object]]:
        """:meth:`connect_options` of ``agent:<id>`` for each of ``agent_ids``, in order; the
        identities the server does not know yet are added together (one reload at most).

        A swarm's per-agent connections take it: ``Swarm(..., agent_options=server.agent_options)``.
        """
        names = [f"agent:{agent_id}" for agent_id in agent_ids]
        if self.material is None:
            return [{} for _ in names]
        added = [self.material.add(name) for name in names]  # every one, then one reload
        if any(added):
            self.reload_credentials()
        return [self.material.connect_options(name) for name in names]

    def reload_credentials(self) -> None:
        """Make the running server read credentials added since it started."""
        raise ServerError(f"{type(self).__name__} cannot add credentials while it runs")

    @property
    def credentials_dir(self) -> Path | None:
        """Where a secured server's ``.nk``/``.password``/``.pem`` files and ``ca.pem`` are."""
        return None if self.material is None else self.material.directory

    @property
    @abc.abstractmethod
    def client_url(self) -> str:
        """The URL clients connect to."""

    @property
    @abc.abstractmethod
    def version(self) -> str:
        """The server version, e.g. "2.15.1"."""

    @property
    @abc.abstractmethod
    def started(self) -> bool:
        """Whether it is up: ``with`` starts it only when this is false."""

    @abc.abstractmethod
    def start(self: _S) -> _S:
        """Start (or wait for) the server until it is ready, within ``start_timeout``."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the server gracefully and release what it holds."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Kill the server at once (a crash); what it stored stays for the next start()."""

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log ("" when there is none)."""
        return ""

    def log_since(self, since: float) -> list[str]:
        """The lines the server logged at or after ``since`` (a ``time.time()``; [] if none)."""
        return []

    def deadline(self, timeout: float | None = None) -> float:
        """The monotonic deadline of a start now: ``timeout`` or ``start_timeout`` from now."""
        return time.monotonic() + (self.start_timeout if timeout is None else timeout)

    def _describe(self) -> str:
        """What ``repr`` says after the class name."""
        return self.client_url if self.started else "not started"

    def __enter__(self: _S) -> _S:
        if not self.started:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        public = next(c for c in type(self).__mro__ if not c.__name__.startswith("_"))
        return f"<{public.__name__} {self._describe()}>"


class ProcessServer(NatsServer):
    """A server we run ourselves (a process or a container): its URLs are known once started."""

    _client_url: str | None = None
    _monitor_url: str | None = None

    @property
    def client_url(self) -> str:
        """The URL clients connect to (``nats://127.0.0.1:PORT``)."""
        return require_started(self._client_url, "client_url")

    @property
    def monitor_url(self) -> str:
        """The HTTP monitoring URL (``http://127.0.0.1:PORT``)."""
        return require_started(self._monitor_url, "monitor_url")
