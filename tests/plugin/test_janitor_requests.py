"""What the per-test reset costs in JetStream API requests, counted on the server.

A second connection subscribes to ``$JS.API.>`` (the API's requests are ordinary subjects of
the account) and counts what arrives while the janitor resets. A count of requests, not a
time: the goals of issue 17 (an untouched topology at most 3, a test that published to one
stream and pulled from one consumer at most 8) hold on any machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg

from pytest_mistersmith import factories
from pytest_mistersmith.janitor import TopologyJanitor, TopologyState
from simulator.protocol import subjects
from simulator.protocol.topology import Topology
from simulator.servers import BinaryServer
from tests.plugin.janitors import janitor_of

requests_server = factories.nats_server_factory(scope="module")
requests_client = factories.nats_client_factory("requests_server")


class Counter:
    """The JetStream API requests the server receives, by subject."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.subjects: list[str] = []

    async def start(self) -> None:
        async def count(msg: Msg) -> None:
            self.subjects.append(msg.subject)

        await self.client.subscribe("$JS.API.>", cb=count)
        await self.client.flush()

    async def during_reset(self, janitor: TopologyJanitor) -> tuple[TopologyState, list[str]]:
        """The reset's answer and the requests it made (every one is seen before a flush's
        PONG: the server handled them all before the reset returned)."""
        await self.client.flush()
        self.subjects.clear()
        state = await asyncio.to_thread(janitor.reset)
        await self.client.flush()
        return state, list(self.subjects)


@pytest.fixture
def janitor(requests_server: BinaryServer, topology: Topology) -> Iterator[TopologyJanitor]:
    with janitor_of(requests_server, topology, reset=False) as janitor:
        yield janitor


@pytest_asyncio.fixture
async def counter(requests_client: Client) -> AsyncIterator[Counter]:
    counter = Counter(requests_client)
    await counter.start()
    yield counter


@pytest.mark.asyncio
async def test_an_untouched_topology_costs_at_most_three_requests(
    janitor: TopologyJanitor, counter: Counter
) -> None:
    _, first = await counter.during_reset(janitor)  # nothing remembered yet: looks at all
    assert len(first) > 3, first  # the counter sees the janitor's requests
    for _ in range(3):
        _, made = await counter.during_reset(janitor)
        assert len(made) <= 3, made
        assert made == ["$JS.API.INFO", "$JS.API.STREAM.LIST"]


@pytest.mark.asyncio
async def test_one_stream_and_one_consumer_used_cost_at_most_eight_requests(
    janitor: TopologyJanitor, counter: Counter, requests_client: Client
) -> None:
    await counter.during_reset(janitor)
    js = requests_client.jetstream()
    for i in range(3):
        await js.publish(subjects.task_assignment("analysis"), f'{{"n":{i}}}'.encode())
    psub = await js.pull_subscribe_bind("task_processor", "task_lifecycle")
    try:
        msgs = await psub.fetch(2, timeout=2)
        await msgs[0].ack_sync()
        await msgs[1].nak()
    finally:
        await psub.unsubscribe()
    state, made = await counter.during_reset(janitor)
    assert len(made) <= 8, made
    assert not any(".agent_events" in s or ".system_monitoring" in s for s in made), made
    info = await js.consumer_info("task_lifecycle", "task_processor")
    assert info.delivered is not None and info.delivered.consumer_seq == 0
    assert (info.num_ack_pending, info.num_redelivered, info.num_pending) == (0, 0, 0)
    assert state.streams["task_lifecycle"].state.messages == 0
    assert (await js.stream_info("task_lifecycle")).state.messages == 0


@pytest.mark.asyncio
async def test_an_api_request_by_the_test_makes_the_reset_look_at_every_consumer(
    janitor: TopologyJanitor, counter: Counter, requests_client: Client
) -> None:
    await counter.during_reset(janitor)
    js = requests_client.jetstream()
    # Nothing stored, no stream moved: only the account's API count tells.
    await js.delete_consumer("system_monitoring", "system_alerting")
    _, made = await counter.during_reset(janitor)
    assert "$JS.API.CONSUMER.LIST.system_monitoring" in made, made
    created = "$JS.API.CONSUMER.CREATE.system_monitoring.system_alerting"
    assert any(s.startswith(created) for s in made), made
    info = await js.consumer_info("system_monitoring", "system_alerting")
    assert info.config.filter_subject == "system.alerts.>"


@pytest.mark.asyncio
async def test_a_clustered_janitor_does_not_rely_on_the_api_count(
    requests_server: BinaryServer, topology: Topology, counter: Counter
) -> None:
    janitor = TopologyJanitor(requests_server.client_url, topology, owned=True, clustered=True)
    try:
        await counter.during_reset(janitor)
        _, made = await counter.during_reset(janitor)
    finally:
        janitor.close()
    assert "$JS.API.INFO" not in made
    listed = {s.rsplit(".", 1)[1] for s in made if s.startswith("$JS.API.CONSUMER.LIST.")}
    assert listed == {c.stream for c in topology.consumers}
