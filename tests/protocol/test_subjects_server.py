"""`subjects.matches` agrees with a real nats-server on wildcard semantics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.aio.client import Client

from simulator.bus import settle
from simulator.protocol import subjects
from simulator.servers import BinaryServer

# A tiny alphabet makes matches frequent; "é" checks that tokens are not ASCII-only.
_literal = st.sampled_from(["a", "b", "c", "é", "a-b_1"])
_subject = st.lists(_literal, min_size=1, max_size=5).map(".".join)


@st.composite
def _pattern(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.one_of(_literal, st.just("*")), min_size=0, max_size=5))
    if not tokens or draw(st.booleans()):
        tokens.append(">")
    return ".".join(tokens)


_SENTINEL = "zz-sentinel"


@pytest_asyncio.fixture
async def clients(raw_server: BinaryServer) -> AsyncIterator[tuple[Client, Client]]:
    """A subscriber and a publisher connection."""
    sub_nc = await nats.connect(raw_server.client_url)
    pub_nc = await nats.connect(raw_server.client_url)
    try:
        yield sub_nc, pub_nc
    finally:
        await pub_nc.close()
        await sub_nc.close()


async def delivered(clients: tuple[Client, Client], pattern: str, subject: str) -> bool:
    """Whether the server delivers a message on ``subject`` to a subscription on ``pattern``."""
    sub_nc, pub_nc = clients
    sub = await sub_nc.subscribe(pattern)
    sentinel = await sub_nc.subscribe(_SENTINEL)
    await settle(sub_nc)  # both subscriptions exist before anything is published
    try:
        await pub_nc.publish(subject, b"probe")
        await pub_nc.publish(_SENTINEL, b"sentinel")
        await settle(pub_nc)
        # One publisher to one subscriber is delivered in order: once the sentinel is here,
        # the probe, if it was delivered at all, is already queued.
        await sentinel.next_msg(timeout=5)
        got = []
        while sub.pending_msgs:
            got.append((await sub.next_msg(timeout=1)).data)
        return b"probe" in got
    finally:
        await sub.unsubscribe()
        await sentinel.unsubscribe()


@pytest.mark.asyncio
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=_pattern(), subject=_subject)
async def test_matches_agrees_with_nats_server(
    clients: tuple[Client, Client], pattern: str, subject: str
) -> None:
    assert subjects.matches(pattern, subject) is await delivered(clients, pattern, subject)


@pytest.mark.asyncio
async def test_a_built_subject_reaches_its_template_wildcard(
    clients: tuple[Client, Client],
) -> None:
    """Every template's wildcard pattern receives the subject its builder makes."""
    for tmpl in subjects.TEMPLATES:
        assert await delivered(clients, tmpl.wildcard, tmpl.example()), tmpl.name
