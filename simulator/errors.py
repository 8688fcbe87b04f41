"""One base error for the testbed; every message says what was checked and how to fix it."""

from __future__ import annotations

__all__ = ["ConfigError", "MisterSmithError", "SubjectError", "TopologyError"]


class MisterSmithError(Exception):
    """Base class of every error raised by pytest-mistersmith and its simulator."""


class SubjectError(MisterSmithError, ValueError):
    """A subject or subject token is not valid for the taxonomy or for NATS."""


class TopologyError(MisterSmithError):
    """A topology file or object cannot be loaded or applied."""


class ConfigError(MisterSmithError):
    """A configuration value (option, ini key, scenario key, file) is not valid."""
