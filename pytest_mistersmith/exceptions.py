"""Errors of the pytest integration; all derive from :class:`MisterSmithError`.

Each message says what was checked and how to fix it (the CLI flag, the ini key, the factory
argument, the other backend).
"""

from __future__ import annotations

from simulator.errors import ConfigError, MisterSmithError

__all__ = [
    "ConfigError",
    "ContractViolation",
    "MisterSmithError",
    "MisterSmithWarning",
    "OpenSubscriptionWarning",
    "ResetRefusedError",
]


class ResetRefusedError(MisterSmithError):
    """The per-test reset would wipe a server that someone else runs."""


class ContractViolation(MisterSmithError, AssertionError):
    """A system under test broke a contract: the report names subject, payload and rule."""


class MisterSmithWarning(UserWarning):
    """Base of the plugin's warnings: something worked, but not the way a test should rely on."""


class OpenSubscriptionWarning(MisterSmithWarning):
    """A client fixture's drain ran out of time: the test left subscriptions that never drain.

    The message names their subjects and how to close them; the client was closed anyway.
    """
