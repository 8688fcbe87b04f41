"""The per-test reset against random tests: after it, the server is as a fresh apply left it.

A hypothesis state machine does what a test could do to the topology (publish to stored
subjects; pull and ack, nak or leave pending; create and delete streams and consumers; change
a configuration; purge) and, whenever it resets, compares what the server says (every stream's
configuration and state, every consumer's configuration and state, listed through the
JetStream API, not taken from the reset's answer) with what it said right after a fresh apply
of the topology. Sequence numbers are compared relative to the stream's last sequence: a purge
keeps counting, so a reset stream is a fresh one that has stored and lost some messages.
The reset's own answer (the :class:`TopologyState` the fixture yields) must agree too: the
next reset trusts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from nats.aio.client import Client
from nats.js.api import AckPolicy, Base, ConsumerConfig, ConsumerInfo, StreamConfig, StreamInfo

from pytest_mistersmith import factories
from pytest_mistersmith.janitor import TopologyJanitor, TopologyState
from simulator.protocol import subjects
from simulator.protocol.topology import Topology, default_topology, for_cluster
from simulator.servers import NatsCluster, NatsServer

states_server = factories.nats_server_factory(scope="module")
states_cluster = factories.nats_cluster_factory(
    backend="binary", scope="module", apply_topology=False
)

#: Two subjects stored by each stream of the topology (two agents, two alert levels, ...).
STORED = {
    "task_lifecycle": [subjects.task_assignment("analysis"), subjects.task_assignment("synthesis")],
    "agent_events": [subjects.agent_status("a-1"), subjects.agent_heartbeat("a-2")],
    "system_monitoring": [subjects.system_alerts("critical"), subjects.system_health("node")],
    "claude_cli_integration": [subjects.cli_hook("pre_task", "a-1")],
}
EXTRA_STREAM = "scratch"
EXTRA_CONSUMER = "scratch_reader"

View = dict[str, Any]


def _config(config: Base) -> str:
    values: dict[str, Any] = config.as_dict()
    metadata: dict[str, str] = values.pop("metadata", None) or {}
    values["metadata"] = {k: v for k, v in metadata.items() if not k.startswith("_nats.")}
    return json.dumps(values, sort_keys=True, default=str)


def stream_view(info: StreamInfo) -> View:
    s = info.state
    return {
        "config": _config(info.config),
        "messages": s.messages,
        "bytes": s.bytes,
        "consumers": s.consumer_count,
        "sequence": s.last_seq - s.first_seq + 1 if s.messages else 0,
    }


def consumer_view(info: ConsumerInfo, last_seq: int) -> View:
    delivered, acked = info.delivered, info.ack_floor
    return {
        "config": _config(info.config),
        "delivered": (delivered.consumer_seq, delivered.stream_seq - last_seq) if delivered else 0,
        # Nothing acknowledged: no stream sequence to speak of (a consumer created on a
        # cluster's purged stream reports one a little behind the stream's last).
        "ack_floor": (acked.consumer_seq, acked.stream_seq - last_seq)
        if acked and acked.consumer_seq
        else 0,
        "ack_pending": info.num_ack_pending,
        "redelivered": info.num_redelivered,
        "pending": info.num_pending,
        "paused": bool(info.paused),
    }


async def _listing(nc: Client, subject: str, key: str) -> list[dict[str, Any]]:
    reply = await nc.request(subject, b"", timeout=5)
    data = json.loads(reply.data)
    items: list[dict[str, Any]] = data.get(key) or []
    assert len(items) == data["total"], "more than one page"
    return items


async def server_view(nc: Client) -> View:
    """Every stream and every consumer on the server, as the JetStream API lists them."""
    view: View = {}
    for raw in await _listing(nc, "$JS.API.STREAM.LIST", "streams"):
        info = StreamInfo.from_response(raw)
        name = str(info.config.name)
        consumers = await _listing(nc, f"$JS.API.CONSUMER.LIST.{name}", "consumers")
        view[name] = {
            **stream_view(info),
            "consumer_views": {
                c["name"]: consumer_view(ConsumerInfo.from_response(c), info.state.last_seq)
                for c in consumers
            },
        }
    return view


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two views differ, one line per leaf."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return [
            line
            for key in sorted(ours.keys() | theirs.keys())
            for line in differences(ours.get(key), theirs.get(key), f"{path}/{key}")
        ]
    return [] if ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]


def state_view(state: TopologyState) -> View:
    """The reset's answer, in the shape of :func:`server_view`."""
    view: View = {}
    for name, info in state.streams.items():
        view[name] = {
            **stream_view(info),
            "consumer_views": {
                c.name: consumer_view(state.consumers[c.name], info.state.last_seq)
                for c in state.topology.consumers_of(name)
            },
        }
    return view


async def settled_view(nc: Client, reference: View) -> View:
    """The server's view, asked again for a moment while it differs (a cluster's replicas
    apply a purge one after another; one node answers at once)."""
    view = await server_view(nc)
    for _ in range(20):
        if view == reference:
            break
        await asyncio.sleep(0.05)
        view = await server_view(nc)
    return view


def check_machine(server: NatsServer, topology: Topology, clustered: bool, steps: int) -> None:
    janitor = TopologyJanitor(server.client_url, topology, owned=True, clustered=clustered)
    loop = asyncio.new_event_loop()
    try:
        janitor.apply()
        nc = loop.run_until_complete(nats.connect(server.client_url))
        reference = loop.run_until_complete(server_view(nc))
        loop.run_until_complete(nc.close())
        assert set(reference) == set(STORED)
        janitor.reset()

        class Machine(ResetMachine):
            pass

        Machine.janitor, Machine.loop, Machine.reference = janitor, loop, reference
        Machine.url, Machine.topology = server.client_url, topology
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=steps,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
            ),
        )
    finally:
        janitor.close()
        loop.close()


class ResetMachine(RuleBasedStateMachine):
    """What a test may do to the topology, and the reset that must undo it."""

    janitor: TopologyJanitor
    loop: asyncio.AbstractEventLoop
    reference: View
    url: str
    topology: Topology

    def __init__(self) -> None:
        super().__init__()
        self.nc = self.run(nats.connect(self.url))
        self.js = self.nc.jetstream()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.reset_and_compare()
        finally:
            self.run(self.nc.close())

    @rule()
    def reset_and_compare(self) -> None:
        state = self.janitor.reset()
        view = self.run(settled_view(self.nc, self.reference))
        assert view == self.reference, differences(view, self.reference)
        ours = {k: v for k, v in view.items() if k in STORED}
        assert state_view(state) == ours, differences(state_view(state), ours)

    @rule(stream=st.sampled_from(sorted(STORED)), index=st.integers(0, 1), n=st.integers(1, 4))
    def publish(self, stream: str, index: int, n: int) -> None:
        subject = STORED[stream][index % len(STORED[stream])]

        async def go() -> None:
            for i in range(n):
                with contextlib.suppress(nats.errors.Error):  # the stream was deleted
                    await self.js.publish(subject, json.dumps({"n": i}).encode(), timeout=1)

        self.run(go())

    @rule(
        consumer=st.sampled_from(
            ["task_processor", "agent_status_monitor", "event_processor", "system_alerting"]
        ),
        batch=st.integers(1, 3),
        how=st.sampled_from(["ack", "nak", "leave", "term"]),
    )
    def pull(self, consumer: str, batch: int, how: str) -> None:
        stream = next(c.stream for c in self.topology.consumers if c.name == consumer)

        async def go() -> None:
            try:
                psub = await self.js.pull_subscribe_bind(consumer, stream)
                msgs = await psub.fetch(batch, timeout=0.1)
            except (nats.errors.Error, asyncio.TimeoutError):
                return  # nothing to deliver, or the consumer was deleted
            for msg in msgs:
                if how == "ack":
                    await msg.ack_sync()
                elif how == "nak":
                    await msg.nak()
                elif how == "term":
                    await msg.term()
            await psub.unsubscribe()
            await self.nc.flush()

        self.run(go())

    @rule(stream=st.sampled_from(sorted(STORED)))
    def purge(self, stream: str) -> None:
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.purge_stream(stream))

    @rule(stream=st.sampled_from(sorted(STORED)))
    def delete_stream(self, stream: str) -> None:
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.delete_stream(stream))

    @rule(stream=st.sampled_from(sorted(STORED)), max_msgs=st.integers(5, 50))
    def change_stream(self, stream: str, max_msgs: int) -> None:
        changed = dataclasses.replace(
            self.topology.stream(stream), max_msgs=max_msgs, description="changed"
        )
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.update_stream(changed))

    @rule()
    def add_foreign_stream(self) -> None:
        config = StreamConfig(name=EXTRA_STREAM, subjects=["scratch.>"])
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.add_stream(config))
            self.run(self.js.publish("scratch.one", b"{}", timeout=1))

    @rule(consumer=st.sampled_from(["task_processor", "event_processor", "system_alerting"]))
    def delete_consumer(self, consumer: str) -> None:
        stream = next(c.stream for c in self.topology.consumers if c.name == consumer)
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.delete_consumer(stream, consumer))

    @rule(
        consumer=st.sampled_from(["task_processor", "agent_status_monitor", "system_alerting"]),
        max_deliver=st.integers(6, 9),
    )
    def change_consumer(self, consumer: str, max_deliver: int) -> None:
        ours = next(c for c in self.topology.consumers if c.name == consumer)
        changed = dataclasses.replace(ours.config, max_deliver=max_deliver, description="changed")
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.add_consumer(ours.stream, changed))

    @rule(stream=st.sampled_from(sorted(STORED)))
    def add_foreign_consumer(self, stream: str) -> None:
        config = ConsumerConfig(durable_name=EXTRA_CONSUMER, ack_policy=AckPolicy.EXPLICIT)
        with contextlib.suppress(nats.errors.Error):
            self.run(self.js.add_consumer(stream, config))


@pytest.fixture
def single(states_server: NatsServer) -> Iterator[Topology]:
    topology, _ = for_cluster(default_topology(), 1)
    yield topology


def test_the_reset_leaves_one_node_as_a_fresh_apply(
    states_server: NatsServer, single: Topology
) -> None:
    check_machine(states_server, single, clustered=False, steps=25)


@pytest.mark.slow
def test_the_reset_leaves_a_cluster_as_a_fresh_apply(states_cluster: NatsCluster) -> None:
    topology, _ = for_cluster(default_topology(), len(states_cluster.nodes))
    check_machine(states_cluster, topology, clustered=True, steps=10)
