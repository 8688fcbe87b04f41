"""One passing and one failing test on the session's server: only the failure shows its log."""

from __future__ import annotations

from typing import Any


def test_passes(nats_server: Any) -> None:
    assert nats_server.client_url


def test_fails(nats_server: Any) -> None:
    assert nats_server.client_url == "somewhere else"
