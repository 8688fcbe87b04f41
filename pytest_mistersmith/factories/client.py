"""Client-side fixture factories: a connected nats-py client, its JetStream, a capture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from pytest_mistersmith.factories.server import mark_used

# Imported by the plugin at start-up: nats-py and the simulator load when a fixture runs.
if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from pydantic import BaseModel

    from pytest_mistersmith.capture import Capture

__all__ = ["capture_factory", "jetstream_factory", "nats_client_factory"]

Scope = Any  # pytest's private _ScopeName literal

CaptureFn = Callable[..., "Capture[Any]"]


def nats_client_factory(
    server_fixture_name: str = "nats_server",
    *,
    scope: Scope = "function",
    loop_scope: Scope | None = None,
    **connect_options: Any,
) -> Any:
    """A fixture of a nats-py client connected to the server fixture ``server_fixture_name``.

    The client is drained and closed after the test. ``loop_scope`` is pytest-asyncio's
    (default: the fixture's scope); a client wider than the test needs a loop at least as
    wide (see the README's session-scoped client recipe).
    """

    @pytest_asyncio.fixture(scope=scope, loop_scope=loop_scope or scope)
    async def nats_client_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Client]:
        import nats

        server = request.getfixturevalue(server_fixture_name)
        mark_used(request, server)
        options = {"name": f"pytest {request.node.nodeid}", **connect_options}
        client = await nats.connect(server.client_url, **options)
        try:
            yield client
        finally:
            if client.is_connected:
                await client.drain()
            else:
                await client.close()

    return nats_client_fixture


def jetstream_factory(
    client_fixture_name: str = "nats_client",
    *,
    scope: Scope = "function",
    **jetstream_options: Any,
) -> Any:
    """A fixture of the JetStream context of the client fixture ``client_fixture_name``."""

    # Sync on purpose: it only wraps the client, and a sync fixture may resolve an async one.
    @pytest.fixture(scope=scope)
    def jetstream_fixture(request: pytest.FixtureRequest) -> JetStreamContext:
        client: Client = request.getfixturevalue(client_fixture_name)
        return client.jetstream(**jetstream_options)

    return jetstream_fixture


def capture_factory(
    client_fixture_name: str = "nats_client",
    *,
    scope: Scope = "function",
) -> Any:
    """A fixture returning ``capture(*patterns, model=None)``, an async context manager."""

    @pytest.fixture(scope=scope)
    def capture_fixture(request: pytest.FixtureRequest) -> CaptureFn:
        from pytest_mistersmith.capture import Capture

        client: Client = request.getfixturevalue(client_fixture_name)

        def capture(*patterns: str, model: type[BaseModel] | None = None) -> Capture[Any]:
            return Capture(client, patterns, model)

        return capture

    return capture_fixture
