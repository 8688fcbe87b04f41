"""One base error for the testbed; every message says what was checked and how to fix it."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ImageNotFoundError",
    "MisterSmithError",
    "ServerBinaryError",
    "ServerError",
    "ServerNotReadyError",
    "ServerStartError",
    "SubjectError",
    "TopologyError",
]


class MisterSmithError(Exception):
    """Base class of every error raised by pytest-mistersmith and its simulator."""


class SubjectError(MisterSmithError, ValueError):
    """A subject or subject token is not valid for the taxonomy or for NATS."""


class TopologyError(MisterSmithError):
    """A topology file or object cannot be loaded or applied."""


class ConfigError(MisterSmithError):
    """A configuration value (option, ini key, scenario key, file) is not valid."""


class ServerError(MisterSmithError):
    """A NATS server could not be found, started, reached, controlled or stopped."""


class ServerBinaryError(ServerError):
    """The nats-server binary is missing, cannot run, or is older than the minimum version."""


class ServerStartError(ServerError):
    """A NATS server exited early or did not become ready; carries exit code, timeout, log tail."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        timeout: float | None = None,
        log_tail: str = "",
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.timeout = timeout
        self.log_tail = log_tail


class ServerNotReadyError(ServerStartError):
    """A NATS server did not pass its readiness check before the deadline."""


class ImageNotFoundError(ServerStartError):
    """The Docker engine has not the image asked for and could not pull it (``image``).

    Entry points name their own option for the image (``mistersmith run --image``, the
    plugin's ``--nats-image``), so the message names none.
    """

    def __init__(self, message: str, image: str) -> None:
        super().__init__(message)
        self.image = image
