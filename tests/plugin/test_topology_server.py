"""`topology.apply` against a real nats-server, and the ERRATA evidence for the spec as written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import nats
import pytest
import pytest_asyncio
from nats.js.api import ConsumerConfig
from nats.js.client import JetStreamContext
from nats.js.errors import APIError

from simulator.errors import TopologyError
from simulator.protocol import subjects
from simulator.protocol.topology import (
    Topology,
    apply,
    default_topology,
    drift,
    for_cluster,
    spec_topology,
)
from simulator.servers import BinaryServer


def _ours() -> Topology:
    """Our topology clamped to the one-node test server."""
    topology, notes = for_cluster(default_topology(), 1)
    assert notes  # the clamp is reported, never silent (ERRATA 2)
    return topology


@pytest_asyncio.fixture
async def js(topology_server: BinaryServer) -> AsyncIterator[JetStreamContext]:
    """A JetStream context on a server without streams (the server is shared)."""
    nc = await nats.connect(topology_server.client_url)
    context = nc.jetstream()
    for info in await context.streams_info():
        await context.delete_stream(str(info.config.name))
    try:
        yield context
    finally:
        await nc.close()


@pytest.mark.asyncio
async def test_apply_creates_every_stream_and_consumer(js: JetStreamContext) -> None:
    """The server's infos show the configured subjects, filters and durations in seconds."""
    topology = _ours()
    report = await apply(js, topology)
    assert {c.action for c in report.changes} == {"created"}
    assert len(report.changes) == len(topology.streams) + len(topology.consumers)

    for stream in topology.streams:
        info = await js.stream_info(str(stream.name))
        assert info.config.subjects == stream.subjects
        assert info.config.max_age == stream.max_age
        assert info.config.duplicate_window == stream.duplicate_window
        assert info.config.max_msg_size == stream.max_msg_size
        assert info.config.num_replicas == 1
    events = await js.stream_info("agent_events")
    assert events.config.max_age == 7 * 86400  # 7d, not 604800 ns
    assert events.config.duplicate_window == 120

    for consumer in topology.consumers:
        info = await js.consumer_info(consumer.stream, consumer.name)
        assert info.config.durable_name == consumer.name
        found = info.config.filter_subjects or [info.config.filter_subject]
        assert tuple(found) == consumer.filters
        if consumer.config.ack_wait:
            assert info.config.ack_wait == consumer.config.ack_wait
    monitor = await js.consumer_info("agent_events", "agent_status_monitor")
    assert monitor.config.ack_wait == 30
    assert monitor.config.filter_subjects == ["agents.*.status", "agents.*.status.>"]
    processor = await js.consumer_info("agent_events", "event_processor")
    assert (processor.config.deliver_policy, processor.config.ack_policy) == ("all", "explicit")


@pytest.mark.asyncio
async def test_apply_twice_changes_nothing(js: JetStreamContext) -> None:
    """apply is idempotent; a changed field is updated and named."""
    topology = _ours()
    await apply(js, topology)
    again = await apply(js, topology)
    assert not again.changed
    assert {c.action for c in again.changes} == {"unchanged"}

    stream = replace(topology.stream("task_lifecycle"), max_msgs=42)
    edited = replace(topology, streams=(stream,), consumers=())
    (change,) = (await apply(js, edited)).changes
    assert (change.action, change.fields) == ("updated", ("max_msgs",))
    assert (await js.stream_info("task_lifecycle")).config.max_msgs == 42


@pytest.mark.asyncio
async def test_alert_is_stored_and_delivered(js: JetStreamContext) -> None:
    """system.alerts.critical is stored in system_monitoring and delivered to system_alerting."""
    await apply(js, _ours())
    subject = subjects.system_alerts("critical")
    ack = await js.publish(subject, b'{"severity": "critical"}')
    assert ack.stream == "system_monitoring"

    sub = await js.pull_subscribe_bind("system_alerting", stream="system_monitoring")
    (msg,) = await sub.fetch(1, timeout=5)
    assert msg.subject == subject
    await msg.ack()
    await sub.unsubscribe()


@pytest.mark.asyncio
async def test_spec_system_monitoring_is_refused(js: JetStreamContext) -> None:
    """ERRATA 1 and 3: the spec's stream is refused as written, and for its subjects alone."""
    as_written = spec_topology().stream("system_monitoring")
    with pytest.raises(APIError) as raw:
        await js.add_stream(as_written)  # replicas 3 too: durations are refused first
    assert raw.value.err_code == 10052  # max age needs to be >= 100ms (7776000 ns)

    subjects_only = replace(_ours().stream("system_monitoring"), subjects=as_written.subjects)
    with pytest.raises(APIError) as bad:
        await js.add_stream(subjects_only)
    assert bad.value.err_code == 10052
    assert "subject" in str(bad.value.description)

    with pytest.raises(TopologyError, match=r"stream system_monitoring refused .*10052"):
        await apply(js, Topology(streams=(subjects_only,)))


@pytest.mark.asyncio
async def test_spec_consumers_misbehave_silently(js: JetStreamContext) -> None:
    """ERRATA 1 and 4: ack_wait 30 is stored as 30 ns; system.*.alerts.> is accepted, never fed."""
    await apply(js, _ours())
    spec = {c.name: c for c in spec_topology().consumers}

    raw_monitor = replace(spec["agent_status_monitor"].config, name="raw_monitor")
    raw_monitor = replace(raw_monitor, durable_name="raw_monitor")
    info = await js.add_consumer("agent_events", raw_monitor)
    assert info.config.ack_wait is not None
    assert round(info.config.ack_wait * 10**9) == 30  # nats-py reads it back as 3e-08 s
    assert drift(raw_monitor, info.config) == ()  # and drift() still sees no difference

    dead = ConsumerConfig(
        name="spec_alerting",
        durable_name="spec_alerting",
        filter_subject=spec["system_alerting"].config.filter_subject,
    )
    await js.add_consumer("system_monitoring", dead)
    await js.publish(subjects.system_alerts("critical"), b"{}")
    alerting = await js.consumer_info("system_monitoring", "system_alerting")
    spec_alerting = await js.consumer_info("system_monitoring", "spec_alerting")
    assert (alerting.num_pending, spec_alerting.num_pending) == (1, 0)
