"""Client-side fixture factories: a connected nats-py client, its JetStream, a capture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TypeVar, overload

import pytest
import pytest_asyncio

from pytest_mistersmith.config import Scope
from pytest_mistersmith.factories.server import mark_used

# Imported by the plugin at start-up: nats-py and the simulator load when a fixture runs.
if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from pydantic import BaseModel

    from pytest_mistersmith.capture import Capture

__all__ = ["Capturer", "capture_factory", "jetstream_factory", "nats_client_factory"]

M = TypeVar("M", bound="BaseModel")


def nats_client_factory(
    server_fixture_name: str = "nats_server",
    *,
    scope: Scope = "function",
    loop_scope: Scope | None = None,
    drain_timeout: float | None = None,
    identity: str = "admin",
    **connect_options: object,
) -> Callable[..., AsyncIterator[Client]]:
    """A fixture of a nats-py client connected to the server fixture ``server_fixture_name``.

    The client is drained and closed after the test. The drain waits at most
    ``drain_timeout`` s (default 2); past it the client is closed and an
    :class:`~pytest_mistersmith.exceptions.OpenSubscriptionWarning` names the subscriptions the
    test left open (a pull subscription whose ``fetch()`` timed out keeps nats-py's drain
    waiting its full 30 s). ``loop_scope`` is pytest-asyncio's
    (default: the fixture's scope); a client wider than the test needs a loop at least as
    wide (see the README's session-scoped client recipe). On a secured server
    (``--nats-auth``, ``--nats-tls``) the client connects as ``identity`` (``admin``: no
    restriction; a role or ``agent:<id>``: that identity's permissions). ``connect_options``
    go to ``nats.connect`` (and win). A client the server refuses fails the test with one
    line naming the server, the identity and the reason.
    """

    @pytest_asyncio.fixture(scope=scope, loop_scope=loop_scope or scope)
    async def nats_client_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Client]:

        from pytest_mistersmith.factories._drain import DRAIN_TIMEOUT, drain_or_warn

        server = request.getfixturevalue(server_fixture_name)
        mark_used(request, server)
        options = {
            "name": f"pytest {request.node.nodeid}",
            **server.connect_options(identity),
            **connect_options,
        }
        client = await connect_or_fail(server.client_url, identity, options)
        try:
            yield client
        finally:
            bound = DRAIN_TIMEOUT if drain_timeout is None else drain_timeout
            await drain_or_warn(client, bound, request.fixturename or "the client fixture")

    return nats_client_fixture


async def connect_or_fail(url: str, identity: str, options: dict[str, object]) -> Client:
    """``nats.connect``; a refusal (credentials, TLS) fails the test in one line."""
    import ssl

    import nats
    from nats.errors import Error as NatsError

    # nats-py retries a refused first connection for minutes unless reconnecting is off;
    # once connected, reconnecting is what the options say (nats-py reads them then)
    first = {**options, "allow_reconnect": False}
    try:
        client = await nats.connect(url, **first)
    except (NatsError, ssl.SSLError, OSError, ValueError, TypeError) as exc:
        # TypeError/ValueError: nats-py's reading of credentials that are not credentials
        reason = " ".join(str(exc).split()) or type(exc).__name__
        pytest.fail(f"cannot connect to {url} as {identity}: {reason}", pytrace=False)
    client.options["allow_reconnect"] = options.get("allow_reconnect", True)
    return client


def jetstream_factory(
    client_fixture_name: str = "nats_client",
    *,
    scope: Scope = "function",
    **jetstream_options: object,
) -> Callable[..., JetStreamContext]:
    """A fixture of the JetStream context of the client fixture ``client_fixture_name``.

    ``jetstream_options`` go to ``Client.jetstream`` (``prefix``, ``domain``, ``timeout``).
    """

    # Sync on purpose: it only wraps the client, and a sync fixture may resolve an async one.
    @pytest.fixture(scope=scope)
    def jetstream_fixture(request: pytest.FixtureRequest) -> JetStreamContext:
        client: Client = request.getfixturevalue(client_fixture_name)
        return client.jetstream(**jetstream_options)

    return jetstream_fixture


class Capturer:
    """What a capture fixture gives: ``capture(*patterns, model=None)`` makes a :class:`Capture`,
    an async context manager recording the messages on ``patterns`` (validated when ``model``)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @overload
    def __call__(self, *patterns: str, model: None = None) -> Capture[BaseModel]: ...

    @overload
    def __call__(self, *patterns: str, model: type[M]) -> Capture[M]: ...

    def __call__(
        self, *patterns: str, model: type[M] | None = None
    ) -> Capture[M] | Capture[BaseModel]:
        from pytest_mistersmith.capture import Capture

        if model is None:
            return Capture(self.client, patterns)
        return Capture(self.client, patterns, model)


def capture_factory(
    client_fixture_name: str = "nats_client",
    *,
    scope: Scope = "function",
) -> Callable[..., Capturer]:
    """A fixture returning ``capture(*patterns, model=None)``, an async context manager."""

    @pytest.fixture(scope=scope)
    def capture_fixture(request: pytest.FixtureRequest) -> Capturer:
        return Capturer(request.getfixturevalue(client_fixture_name))

    return capture_fixture
