"""A server someone else runs (the "noproc" case): we only wait until it is ready."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from simulator.errors import ConfigError, ServerNotReadyError
from simulator.servers.base import NatsServer, require_started
from simulator.servers.health import HEALTHZ_JS, wait_healthy, wait_info

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["ExternalServer"]

_DEFAULT_PORT = 4222


class ExternalServer(NatsServer):
    """A NATS server at a URL; ``start()`` waits for readiness, ``stop()`` never stops it."""

    def __init__(
        self,
        url: str,
        monitor_url: str | None = None,
        *,
        timeout: float = 10.0,
        health_path: str = HEALTHZ_JS,
    ) -> None:
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise ConfigError(f"url: {url!r} is not a NATS URL; write nats://HOST:PORT")
        try:
            port = parts.port or _DEFAULT_PORT
        except ValueError as exc:
            raise ConfigError(f"url: {url!r} has an invalid port: {exc}") from None
        if monitor_url is not None and not monitor_url.startswith(("http://", "https://")):
            raise ConfigError(f"monitor_url: {monitor_url!r} is not an http(s):// URL")
        self._url = url
        self._host = parts.hostname
        self._port = port
        self._monitor_url = None if monitor_url is None else monitor_url.rstrip("/")
        self.start_timeout = timeout
        self.health_path = health_path
        self._info: dict[str, Any] | None = None

    @property
    def client_url(self) -> str:
        """The URL clients connect to, as given."""
        return self._url

    @property
    def monitor_url(self) -> str | None:
        """The HTTP monitoring URL, when one was given."""
        return self._monitor_url

    @property
    def timeout(self) -> float:
        """Seconds ``start()`` waits for readiness (the ``start_timeout`` of the other backends)."""
        return self.start_timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.start_timeout = value

    @property
    def started(self) -> bool:
        """Whether ``start()`` found it ready (``with`` waits again otherwise)."""
        return self._info is not None

    @property
    def info(self) -> dict[str, JsonValue]:
        """The INFO banner the server sent during ``start()``."""
        return require_started(self._info, "info")

    @property
    def version(self) -> str:
        """The server version from its INFO banner, e.g. "2.15.1"."""
        return str(self.info.get("version", "unknown"))

    @property
    def max_payload(self) -> int:
        """The ``max_payload`` the server announces."""
        payload = self.info.get("max_payload", 0)
        return payload if isinstance(payload, int) else 0

    @property
    def jetstream(self) -> bool:
        """Whether the server announces JetStream."""
        return bool(self.info.get("jetstream", False))

    def start(self) -> ExternalServer:
        """Wait (one deadline) for the INFO banner and, with a monitor URL, for /healthz."""
        deadline = self.deadline()
        try:
            self._info = wait_info(self._host, self._port, deadline)
            if self._monitor_url is not None:
                wait_healthy(self._monitor_url, deadline, path=self.health_path)
        except ServerNotReadyError as exc:
            raise ServerNotReadyError(
                f"the external NATS server at {self._url} was not ready within {self.timeout} s: "
                f"{exc}. Fix: start that server (e.g. `nats-server -js`), check the URL and "
                "port you configured, or use the embedded binary backend",
                timeout=self.timeout,
            ) from None
        return self

    def stop(self) -> None:
        """Do nothing: an external server is never stopped by us."""

    def kill(self) -> None:
        """Do nothing: an external server is never killed by us."""

    def _describe(self) -> str:
        return self._url
