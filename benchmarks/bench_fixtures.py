"""Benchmark of the fixtures: a server with the topology to a connected client, the per-test reset.

Run as a script: ``python benchmarks/bench_fixtures.py [--runs N]``.

Each row is measured over ``--runs`` runs (default 20) after one warm-up run that is not
counted, reported as median, p95 (nearest rank) and min, and as a ratio of medians beside its
anchor, measured in the same run:

- **bare ``nats-server -js``** (anchor of the start rows): spawn ``nats-server -js -a
  127.0.0.1 -p -1 --ports_file_dir DIR -sd DIR/store``, poll for its ports file, connect
  (retried under a deadline): the floor any embedded server pays.
- **one JetStream API round trip** (anchor of the reset rows): ``$JS.API.INFO`` from a
  connected client to the server the resets run on.
- **start to connected client, topology applied**: ``default_topology()`` clamped to one node,
  ``BinaryServer(for_topology(t)).start()``, ``nats.connect()`` and ``topology.apply()``, timed
  as one (what a session's ``nats_server`` and ``mistersmith_topology`` pay once); the parts
  are shown below it. The topology is parsed in every run, as a session's first
  ``default_topology()`` does (later calls return a copy of the parsed file).
  Goal: at most 1.3 times the bare start (ratio of the medians). The two run by turns (which
  goes first alternates), so that a shared machine's changing load falls on both alike.
- **per-test reset**: ``TopologyJanitor.reset()`` (the sync API the ``mistersmith_topology``
  fixture calls) on a running server, in four states a test leaves behind (making the state is
  not timed): nothing to undo; one stream published to (3 messages) and one consumer pulled
  (2 delivered, one acked, one nak'ed); 100 messages, 25 for each consumer, each of which
  delivered 10 and had 5 acknowledged; one consumer whose configuration the test changed.
  Each state is checked on the first run: stored and delivered before, gone after. Beside the
  times, the JetStream API requests each reset made, counted by a second connection
  subscribed to ``$JS.API.>`` (its copies cost the server a little in every run).
  Goals: nothing to undo at most 3 requests, one stream and one consumer at most 8.
- **per test, in pytest**: two pytest runs in a subprocess, ``--per-test-runs`` times (default
  3, the order alternating): 300 tests that take ``mistersmith_topology`` and touch nothing,
  and 300 that take only ``nats_server``, each test's setup timed by a conftest hook; the
  difference of the two runs' medians is what the fixture costs each test (the reset, its
  thread hop, pytest's fixture machinery).
- **testcontainers NatsContainer** (for comparison): ``NatsContainer(jetstream=True).start()``
  and a connect, only where ``docker info`` answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pytest_mistersmith.janitor import TopologyJanitor, TopologyState
from simulator.protocol import subjects
from simulator.protocol import topology as topo
from simulator.protocol.models import TaskAssignment, TaskType
from simulator.servers import BinaryServer, NatsServerBinary, find_nats_server, for_topology

__all__ = [
    "GOAL_ONE_USED_REQUESTS",
    "GOAL_START_RATIO",
    "GOAL_UNTOUCHED_REQUESTS",
    "Row",
    "main",
    "p95",
    "verdict",
]

GOAL_START_RATIO = 1.3
"""Start to a connected client with the topology applied, over a bare start (medians)."""
GOAL_UNTOUCHED_REQUESTS = 3
"""JetStream API requests of a reset with nothing to undo."""
GOAL_ONE_USED_REQUESTS = 8
"""JetStream API requests of a reset after one stream was published to, one consumer pulled."""
BARE = "bare `nats-server -js` to connected client (no topology)"
ROUND_TRIP = "one JetStream API round trip ($JS.API.INFO)"
MESSAGES = 100
"""Messages published before each reset of the second reset row, spread over the consumers."""
DELIVERED, ACKED = 10, 5
"""Messages each consumer delivers before that reset, and how many of them are acknowledged."""
_DEADLINE = 10.0
_POLL = 0.001


@dataclass
class Row:
    """One line of the table: its samples (seconds), its goal, or why it has none."""

    name: str
    samples: list[float] = field(default_factory=list)
    #: The row whose median this row's median is shown against, and the goal for that ratio.
    anchor: str | None = None
    goal_ratio: float | None = None
    #: JetStream API requests per run (resets), and the goal for them.
    requests: list[int] = field(default_factory=list)
    goal_requests: int | None = None
    note: str = ""
    part: bool = False
    error: str = ""
    #: False for a row the command line left out (--no-docker): no samples is then no failure.
    asked: bool = True


def p95(samples: list[float]) -> float:
    """The 95th percentile, nearest-rank method (the 19th of 20 sorted samples)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# -- start to a connected client with the topology ----------------------------------------------
def _topology_once(
    loop: asyncio.AbstractEventLoop, binary: NatsServerBinary, base_dir: Path | None
) -> tuple[float, float, float, float, float]:
    """One load + start + connect + apply: the total and the four parts (seconds)."""
    t_load = time.perf_counter()
    # What a session's first default_topology() does (later calls hit its cache).
    text = topo.DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8")
    topology, _ = topo.for_cluster(topo.loads(text, str(topo.DEFAULT_TOPOLOGY_PATH)), 1)
    t0 = time.perf_counter()
    server = BinaryServer(for_topology(topology), binary=binary, base_dir=base_dir).start()
    try:
        t1 = time.perf_counter()
        client = loop.run_until_complete(nats.connect(server.client_url))
        t2 = time.perf_counter()
        loop.run_until_complete(topo.apply(client.jsm(), topology))
        t3 = time.perf_counter()
        loop.run_until_complete(client.close())
    finally:
        server.stop()
    return t3 - t_load, t0 - t_load, t1 - t0, t2 - t1, t3 - t2


def bench_starts(
    loop: asyncio.AbstractEventLoop,
    runs: int,
    binary: NatsServerBinary,
    base_dir: Path | None = None,
) -> list[Row]:
    """The bare start and load + start + connect + apply (timed as one; its four parts as rows
    of their own), run by turns (which goes first alternates) so that both see the same load."""
    bare = Row(BARE)
    total, load, start, connect, apply = (
        Row(
            "start to connected client, topology applied",
            anchor=BARE,
            goal_ratio=GOAL_START_RATIO,
        ),
        Row("  topology.yaml parsed (a session's first load), clamped", part=True, anchor=BARE),
        Row("  BinaryServer.start()", part=True, anchor=BARE),
        Row("  nats.connect()", part=True, anchor=BARE),
        Row("  topology.apply() (4 streams, 4 consumers)", part=True, anchor=BARE),
    )
    for run in range(runs + 1):
        for which in ("bare", "topology")[:: 1 if run % 2 else -1]:
            if which == "bare":
                elapsed = _bare_once(loop, binary, base_dir)
                if run:  # the first run warms up (imports, caches, page cache): not counted
                    bare.samples.append(elapsed)
                continue
            times = _topology_once(loop, binary, base_dir)
            if run:
                for row, seconds in zip((total, load, start, connect, apply), times, strict=True):
                    row.samples.append(seconds)
    return [bare, total, load, start, connect, apply]


# -- the per-test reset -------------------------------------------------------------------------
def _assignment_payload() -> bytes:
    assignment = TaskAssignment(
        task_id=str(uuid.uuid4()),
        task_type=TaskType.ANALYSIS,
        assigned_agent="bench-agent",
        timestamp=datetime.now(timezone.utc),
    )
    return assignment.model_dump_json(by_alias=True, exclude_none=True).encode()


#: A subject each consumer of our topology delivers, by consumer.
_CONSUMED = {
    "task_processor": subjects.task_assignment(TaskType.ANALYSIS),
    "agent_status_monitor": subjects.agent_status("bench-agent"),
    "event_processor": subjects.agent_events("bench-agent", "started"),
    "system_alerting": subjects.system_alerts("warning"),
}


async def _use_every_consumer(client: Client, topology: topo.Topology, payload: bytes) -> None:
    """Publish MESSAGES messages over the consumers; each delivers DELIVERED, ACKED acked."""
    js = client.jetstream()
    each = MESSAGES // len(_CONSUMED)
    await asyncio.gather(
        *(js.publish(subject, payload) for subject in _CONSUMED.values() for _ in range(each))
    )
    for consumer in topology.consumers:
        psub = await js.pull_subscribe_bind(consumer.name, consumer.stream)
        try:
            msgs = await psub.fetch(DELIVERED, timeout=5)
            for msg in msgs[:ACKED]:
                await msg.ack_sync()
        finally:
            await psub.unsubscribe()


async def _change_a_consumer(client: Client, consumer: topo.Consumer) -> None:
    changed = dataclasses.replace(consumer.config, max_deliver=9, ack_wait=7.0)
    await client.jetstream().add_consumer(consumer.stream, changed)  # create or update


async def _use_one_stream(client: Client, payload: bytes) -> None:
    """Three messages to task_lifecycle; task_processor delivers two, acks one, naks one."""
    js = client.jetstream()
    for _ in range(3):
        await js.publish(_CONSUMED["task_processor"], payload)
    psub = await js.pull_subscribe_bind("task_processor", "task_lifecycle")
    try:
        first, second = await psub.fetch(2, timeout=5)
        await first.ack_sync()
        await second.nak()
    finally:
        await psub.unsubscribe()


class _Counter:
    """JetStream API requests the server receives, seen by a subscriber to ``$JS.API.>``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Client) -> None:
        self.loop, self.client, self.seen = loop, client, 0

        async def count(_msg: Any) -> None:
            self.seen += 1

        loop.run_until_complete(client.subscribe("$JS.API.>", cb=count))
        loop.run_until_complete(client.flush())

    def timed(self, row: Row, reset: Callable[[], TopologyState]) -> TopologyState:
        """Run ``reset`` timed; its time and its requests go to ``row``."""
        self.loop.run_until_complete(self.client.flush())
        before = self.seen
        t0 = time.perf_counter()
        state = reset()
        row.samples.append(time.perf_counter() - t0)
        self.loop.run_until_complete(self.client.flush())  # every copy arrives before the PONG
        row.requests.append(self.seen - before)
        return state


def _round_trip(loop: asyncio.AbstractEventLoop, client: Client, row: Row) -> None:
    t0 = time.perf_counter()
    loop.run_until_complete(client.request("$JS.API.INFO", b"", timeout=5))
    row.samples.append(time.perf_counter() - t0)


def bench_reset(
    loop: asyncio.AbstractEventLoop,
    runs: int,
    binary: NatsServerBinary,
    topology: topo.Topology,
    base_dir: Path | None = None,
) -> list[Row]:
    """One JetStream round trip, and ``TopologyJanitor.reset()`` with nothing to undo, after
    one stream and one consumer were used, after every consumer delivered, and after a
    consumer's configuration was changed."""
    assert set(_CONSUMED) == {c.name for c in topology.consumers}
    trip = Row(ROUND_TRIP)
    empty = Row(
        "per-test reset, nothing to undo",
        anchor=ROUND_TRIP,
        goal_requests=GOAL_UNTOUCHED_REQUESTS,
    )
    one = Row(
        "per-test reset, one stream published to, one consumer pulled (purge it, rewind it)",
        anchor=ROUND_TRIP,
        goal_requests=GOAL_ONE_USED_REQUESTS,
    )
    used = Row(
        f"per-test reset after {MESSAGES} messages (purge streams, rewind the 4 consumers)",
        anchor=ROUND_TRIP,
    )
    changed = Row("per-test reset, a consumer's config changed (recreate it)", anchor=ROUND_TRIP)
    payload = _assignment_payload()
    processor = next(c for c in topology.consumers if c.name == "task_processor")
    with BinaryServer(for_topology(topology), binary=binary, base_dir=base_dir) as server:
        janitor = TopologyJanitor(server.client_url, topology, owned=True)
        client = loop.run_until_complete(nats.connect(server.client_url))
        watcher = loop.run_until_complete(nats.connect(server.client_url))
        try:
            janitor.apply()
            janitor.reset()  # warm-up
            _round_trip(loop, client, Row("warm-up"))
            counter = _Counter(loop, watcher)
            for _ in range(runs):  # before the resets: a request of another client is foreign
                _round_trip(loop, client, trip)
            janitor.reset()  # which then looks at every consumer: not counted
            for run in range(runs):
                counter.timed(empty, janitor.reset)

                loop.run_until_complete(_use_one_stream(client, payload))
                state = counter.timed(one, janitor.reset)
                if run == 0:
                    _check_reset(state, topology)

                loop.run_until_complete(_use_every_consumer(client, topology, payload))
                if run == 0:
                    _check_used(janitor.state())
                state = counter.timed(used, janitor.reset)
                if run == 0:
                    _check_reset(state, topology)

                loop.run_until_complete(_change_a_consumer(client, processor))
                if run == 0:
                    info = janitor.state().consumers[processor.name]
                    assert topo.drift(processor.config, info.config), "the change did not take"
                state = counter.timed(changed, janitor.reset)
                if run == 0:
                    _check_reset(state, topology)
        finally:
            loop.run_until_complete(watcher.close())
            loop.run_until_complete(client.close())
            janitor.close()
    return [trip, empty, one, used, changed]


def _check_used(state: TopologyState) -> None:
    stored = sum(info.state.messages for info in state.streams.values())
    assert stored == MESSAGES, f"expected {MESSAGES} stored, found {stored}"
    for name, info in state.consumers.items():
        delivered = info.delivered.consumer_seq if info.delivered else 0
        acked = info.ack_floor.consumer_seq if info.ack_floor else 0
        assert (delivered, acked) == (DELIVERED, ACKED), f"{name}: {delivered}, {acked} acked"


def _check_reset(state: TopologyState, topology: topo.Topology) -> None:
    assert all(info.state.messages == 0 for info in state.streams.values())
    for consumer in topology.consumers:
        info = state.consumers[consumer.name]
        assert not topo.drift(consumer.config, info.config), f"{consumer.name} drifted"
        assert info.delivered is None or info.delivered.consumer_seq == 0, consumer.name


# -- the fixture, per test, in a pytest run ----------------------------------------------------
PER_TEST = 300
"""Tests in each of the two pytest runs of the per-test row."""
_PER_TEST_INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""
_PER_TEST_FILE = """\
import pytest


@pytest.mark.parametrize("i", range({count}))
def test_one(i, {fixture}):
    pass
"""
#: Times each test's setup (where the fixtures run) and writes them to $BENCH_SETUP_TIMES.
_PER_TEST_CONFTEST = """\
import json
import os
import time

import pytest

_times = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        _times.append(time.perf_counter() - started)


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_SETUP_TIMES"], "w") as out:
        json.dump(_times, out)
"""


def _setup_times(directory: Path, name: str) -> list[float]:
    """Each test's setup time in a pytest run of ``name``, the first (the server's start) left
    out."""
    out = directory / f"{name}.times.json"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name]
    env = {**os.environ, "BENCH_SETUP_TIMES": str(out)}
    result = subprocess.run(argv, cwd=directory, capture_output=True, check=False, env=env)
    if result.returncode != 0:
        tail = result.stdout.decode(errors="replace")[-2000:]
        raise RuntimeError(f"pytest {name} exited with {result.returncode}: {tail}")
    times: list[float] = json.loads(out.read_text())
    return times[1:]


def bench_per_test(runs: int) -> Row:
    """Per test, the setup of one taking ``mistersmith_topology`` and touching nothing minus
    the setup of one taking only ``nats_server`` (medians of each pytest run's tests)."""
    row = Row(
        f"per test: `mistersmith_topology` touching nothing, minus `nats_server` only "
        f"(setup, medians of {PER_TEST} tests)",
        anchor=ROUND_TRIP,
    )
    with tempfile.TemporaryDirectory(prefix="bench-per-test-") as temp:
        directory = Path(temp)
        (directory / "pytest.ini").write_text(_PER_TEST_INI)
        (directory / "conftest.py").write_text(_PER_TEST_CONFTEST)
        files = {"test_bare.py": "nats_server", "test_topo.py": "mistersmith_topology"}
        for name, fixture in files.items():
            (directory / name).write_text(_PER_TEST_FILE.format(count=PER_TEST, fixture=fixture))
        for run in range(runs):
            order = list(files)[:: 1 if run % 2 else -1]
            took = {name: statistics.median(_setup_times(directory, name)) for name in order}
            row.samples.append(took["test_topo.py"] - took["test_bare.py"])
    return row


# -- a bare nats-server -js, for comparison -----------------------------------------------------
def _wait_ports(process: subprocess.Popen[bytes], ports_dir: Path, deadline: float) -> str:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with code {process.returncode}")
        for candidate in ports_dir.glob(f"*_{process.pid}.ports"):
            with contextlib.suppress(OSError, ValueError):
                urls: list[str] = json.loads(candidate.read_text()).get("nats") or []
                if urls:
                    return urls[0]
        time.sleep(_POLL)
    raise RuntimeError("nats-server wrote no ports file in time")


async def _connect_retrying(url: str, deadline: float) -> Client:
    while True:
        try:
            return await nats.connect(url, allow_reconnect=False, connect_timeout=1)
        except (OSError, nats.errors.Error):
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(_POLL)


def _bare_once(
    loop: asyncio.AbstractEventLoop, binary: NatsServerBinary, base_dir: Path | None
) -> float:
    """Spawn ``nats-server -js`` (server-picked port) until a nats-py client is connected."""
    temp = Path(tempfile.mkdtemp(prefix="bench-nats-", dir=base_dir))
    ports_dir = temp / "ports"
    ports_dir.mkdir()
    argv = [str(binary.path), "-js", "-a", "127.0.0.1", "-p", "-1"]
    argv += ["--ports_file_dir", str(ports_dir), "-sd", str(temp / "store")]
    t0 = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + _DEADLINE
        url = _wait_ports(process, ports_dir, deadline)
        client = loop.run_until_complete(_connect_retrying(url, deadline))
        elapsed = time.perf_counter() - t0
        loop.run_until_complete(client.close())
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(temp, ignore_errors=True)
    return elapsed


# -- testcontainers, for comparison -------------------------------------------------------------
def _docker_answers() -> str | None:
    """None when ``docker info`` answers, else why not."""
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker info failed: {exc}"
    return None if result.returncode == 0 else "no Docker engine"


def bench_container(loop: asyncio.AbstractEventLoop, runs: int) -> Row:
    """``NatsContainer(jetstream=True).start()`` until a nats-py client is connected."""
    row = Row("testcontainers NatsContainer to connected client")
    why = _docker_answers()
    if why is not None:
        row.note = f"{why} (leave the row out: --no-docker)"
        return row
    try:
        from testcontainers.community.nats import NatsContainer
    except ImportError:
        from testcontainers.nats import NatsContainer
    try:
        for run in range(runs + 1):
            t0 = time.perf_counter()
            container: Any = NatsContainer(jetstream=True).start()
            try:
                deadline = time.monotonic() + _DEADLINE
                client = loop.run_until_complete(_connect_retrying(container.nats_uri(), deadline))
                elapsed = time.perf_counter() - t0
                loop.run_until_complete(client.close())
            finally:
                container.stop()
            if run:
                row.samples.append(elapsed)
    except Exception as exc:  # an engine that cannot pull the image, for instance
        row.samples.clear()
        row.note = "failed (see below)"
        row.error = " ".join(str(exc).split())
    return row


# -- the report ---------------------------------------------------------------------------------
def machine_facts(binary: NatsServerBinary, base_dir: Path | None = None) -> list[tuple[str, str]]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = str(os.cpu_count())
    if hasattr(os, "sched_getaffinity"):
        cores += f" ({len(os.sched_getaffinity(0))} usable)"
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    load = "unknown"
    if hasattr(os, "getloadavg"):
        load = " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min, at the start)"
    return [
        ("CPU", cpu),
        ("cores", cores),
        ("memory", memory),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("nats-server", f"v{binary.version} ({binary.path})"),
        ("nats-py", importlib.metadata.version("nats-py")),
        ("server dirs in", _filesystem(base_dir or Path(tempfile.gettempdir()))),
        ("load average", load),
    ]


def _filesystem(path: Path) -> str:
    """``path`` and the type of the file system it is on (from /proc/mounts, where there is one)."""
    best, kind = "", "unknown file system"
    with contextlib.suppress(OSError):
        resolved = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            mount = fields[1]
            inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
            if len(fields) > 2 and inside and len(mount) >= len(best):
                best, kind = mount, fields[2]
    return f"{path} ({kind})"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ratio(row: Row, rows: list[Row]) -> float | None:
    """This row's median over its anchor's (None without an anchor or samples)."""
    anchor = next((r for r in rows if r.name == row.anchor), None)
    if anchor is None or not anchor.samples or not row.samples:
        return None
    return statistics.median(row.samples) / statistics.median(anchor.samples)


def verdict(row: Row, rows: list[Row]) -> str:
    """ "met", "missed", or "" (no goal, no samples). A ratio goal holds for the ratio of
    medians, a request goal for every run's count."""
    if not row.samples:
        return ""
    met: list[bool] = []
    if row.goal_ratio is not None:
        value = ratio(row, rows)
        met.append(value is not None and value <= row.goal_ratio)
    if row.goal_requests is not None:
        met.append(bool(row.requests) and max(row.requests) <= row.goal_requests)
    if not met:
        return ""
    return "met" if all(met) else "missed"


_VERDICT_STYLES = {"met": "green", "missed": "red"}


def _goal(row: Row) -> str:
    goals = []
    if row.goal_ratio is not None:
        goals.append(f"≤ {row.goal_ratio:g}x")
    if row.goal_requests is not None:
        goals.append(f"≤ {row.goal_requests} requests")
    return ", ".join(goals)


def render(rows: list[Row], runs: int) -> Table:
    """The table of every row."""
    table = Table(title=f"Fixture costs (median, p95 and min of {runs} runs after a warm-up)")
    table.add_column("measurement")
    columns = ("runs", "median", "p95", "min", "x anchor", "JS API requests", "goal", "met?")
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        style = "dim" if row.part else None
        if not row.samples:
            table.add_row(escape(row.name), "0", escape(row.note), "", "", "", "", _goal(row), "")
            continue
        times = statistics.median(row.samples)
        value = ratio(row, rows)
        counts = sorted(set(row.requests))
        table.add_row(
            escape(row.name),
            str(len(row.samples)),
            _ms(times),
            _ms(p95(row.samples)),
            _ms(min(row.samples)),
            f"{value:.2f}x" if value is not None else "",
            "-".join(str(c) for c in (counts[0], counts[-1]))
            if len(counts) > 1
            else (str(counts[0]) if counts else ""),
            _goal(row),
            f"[{_VERDICT_STYLES[v]}]{v}[/]" if (v := verdict(row, rows)) else "",
            style=style,
        )
    return table


def main(argv: list[str] | None = None) -> int:
    """Print the machine facts and the table; exit 1 when a goal is missed (p95 over it) or a
    row asked for was not measured (the testcontainers row without Docker: --no-docker)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="counted runs per row (default 20)")
    parser.add_argument(
        "--base-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the servers' temp dirs (and JetStream stores) go (default: the system temp "
        "dir); /dev/shm shows what the disk's fsyncs cost",
    )
    parser.add_argument(
        "--no-docker", action="store_true", help="skip the testcontainers row even with Docker"
    )
    parser.add_argument(
        "--per-test-runs",
        type=int,
        default=3,
        help=f"pairs of pytest runs ({PER_TEST} tests each) for the per-test row (default 3)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 160))
    binary = find_nats_server(env=os.environ)
    topology, _notes = topo.for_cluster(topo.default_topology(), 1)

    facts = Table.grid(padding=(0, 2))
    for name, value in machine_facts(binary, args.base_dir):
        facts.add_row(f"[bold]{name}[/]", escape(value))
    console.print(facts)

    loop = asyncio.new_event_loop()
    runs, base = args.runs, args.base_dir
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("bare start and topology start", lambda: bench_starts(loop, runs, binary, base)),
        ("reset", lambda: bench_reset(loop, runs, binary, topology, base)),
        ("per test in pytest", lambda: [bench_per_test(args.per_test_runs)]),
    ]
    if args.no_docker:
        skipped = Row(
            "testcontainers NatsContainer to connected client",
            note="skipped: --no-docker",
            asked=False,
        )
        steps.append(("testcontainers", lambda: [skipped]))
    else:
        steps.append(("testcontainers", lambda: [bench_container(loop, runs)]))
    rows: list[Row] = []
    try:
        with console.status("measuring") as status:
            for label, step in steps:
                status.update(f"measuring: {label}")
                rows += step()
    finally:
        loop.close()
    console.print(render(rows, args.runs))
    for row in rows:
        if row.error:
            console.print(f"{escape(row.name)} failed: {escape(row.error)}")
    console.print(
        f"goals: start to connected client with the topology ≤ {GOAL_START_RATIO:g}x a bare "
        f"start (medians); a reset with nothing to undo ≤ {GOAL_UNTOUCHED_REQUESTS} JetStream "
        f"API requests, after one stream and one consumer were used ≤ {GOAL_ONE_USED_REQUESTS}; "
        "x anchor: the row's median over the bare start's (start rows) or over one JetStream "
        "API round trip's (reset rows)"
    )
    unmeasured = [row for row in rows if row.asked and not row.samples]
    for row in unmeasured:
        console.print(f"not measured (exit 1): {escape(row.name)}: {escape(row.note)}")
    missed = any(verdict(row, rows) == "missed" for row in rows)
    return 1 if missed or unmeasured else 0


if __name__ == "__main__":
    sys.exit(main())
