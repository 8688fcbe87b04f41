"""`mistersmith run` as a user runs it: a subprocess, its exit code, its report, a Ctrl-C."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import StreamConfig

from simulator.protocol import channels
from simulator.protocol import topology as topo
from simulator.servers import BinaryServer, for_topology
from tests.cli_runs import RUN_TIMEOUT, run_cli, run_env, running
from tests.swarm.test_html import external_references
from tests.swarm.test_timeline import assert_adds_up

SIGNAL_TIMEOUT = 60.0


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_a_short_run_writes_a_report_with_counts(tmp_path: Path) -> None:
    report, html = tmp_path / "report.json", tmp_path / "report.html"
    args = ["--agents", "3", "--duration", "3", "--seed", "1", "--report", str(report)]
    done = run_cli([*args, "--html", str(html)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "running 3 agents" in done.stdout
    assert "Summary:" in done.stdout
    # one node: the clamps are said, as on every backend (ERRATA 2)
    clamped = "note stream agent_events: num_replicas 3 clamped to 1 on a cluster of 1 node"
    assert clamped in done.stdout
    data = _report(report)
    assert data["interrupted"] is False
    assert data["seed"] == 1
    assert data["scenario"]["groups"][0]["count"] == 3
    assert data["server"]["backend"] == "binary"
    assert data["messages"]["total"] > 0
    assert data["messages"]["by_family"]["agent_heartbeat"] > 0
    assert data["agents"]["total"] == 3
    assert data["tasks"]["finished"] > 0
    assert data["tasks"]["latency_ms"]["count"] == data["tasks"]["finished"]
    assert data["hooks"]["answered"] > 0
    assert data["errors"]["total"] == 0, data["errors"]
    assert_adds_up(data)  # the time series of a real run add up to its totals
    assert data["timeline"]["bucket_s"] == 1.0 and data["timeline"]["buckets"] >= 3
    page = html.read_text(encoding="utf-8")
    assert f"HTML report written to {html}" in done.stdout
    assert external_references(page) == []
    assert f'data-key="messages.total">{data["messages"]["total"]:,}<' in page


def test_a_cluster_run_says_it_runs_on_every_node(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = run_cli(
        ["--backend", "cluster", "--agents", "2", "--duration", "2", "--report", str(report)],
        tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = _report(report)
    urls = data["server"]["client_urls"]
    assert data["server"]["nodes"] == 3
    assert len(set(urls)) == 3
    assert f"on a 3-node cluster ({', '.join(urls)}) for 2 s" in done.stdout
    assert "clamped" not in done.stdout  # R3 fits three nodes: nothing to say


def test_sigint_drains_and_still_reports(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    with running(["--duration", "120", "--report", str(report)], tmp_path) as (process, out):
        time.sleep(1.5)  # heartbeats, tasks and hooks under way
        process.send_signal(signal.SIGINT)
        code = process.wait(SIGNAL_TIMEOUT)
    text = out.read_text()
    assert code == 0, text
    assert "interrupted: draining" in text
    data = _report(report)
    assert data["interrupted"] is True
    assert data["messages"]["total"] > 0
    assert data["agents"]["by_state"] == {"offline": 5}  # drained: every agent went offline
    assert data["elapsed_s"] < 30


def test_a_server_that_goes_away_ends_the_run_in_one_line_and_still_reports(
    tmp_path: Path,
) -> None:
    """The server killed mid-run: once the reconnects are spent the run ends with one line
    naming the server, exit 1, the report written; no traceback, no task error printed."""
    server = BinaryServer(for_topology(topo.default_topology())).start()
    report = tmp_path / "report.json"
    args = ["--url", server.client_url, "--duration", "120", "--report", str(report)]
    try:
        with running(args, tmp_path) as (process, out):
            time.sleep(1.0)  # heartbeats, tasks and hooks under way
            server.kill()
            code = process.wait(SIGNAL_TIMEOUT)
    finally:
        server.stop()
    text = out.read_text()
    assert code == 1, text
    assert f"lost the server at {server.client_url}: the connection closed" in text
    assert "Traceback" not in text and "Task exception" not in text, text
    data = _report(report)
    assert any("lost the server" in e for e in data["errors"]["first"]), data["errors"]
    assert data["messages"]["total"] > 0


def test_a_bad_scenario_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("groups:\n  - count: 2\n    failure_rate: 2\n", encoding="utf-8")
    done = run_cli(["--scenario", str(scenario)], tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"mistersmith: {scenario}:3: groups[0].failure_rate: 2 is out of range "
        "(must be from 0 to 1)"
    ]
    assert done.stdout == ""


def test_bad_option_values_are_usage_errors(tmp_path: Path) -> None:
    done = run_cli(["--agents", "0"], tmp_path)
    assert done.returncode == 2
    assert "--agents: '0' is not a positive integer" in done.stderr
    done = run_cli(["--image", "nats:2", "--duration", "1"], tmp_path)
    assert (done.returncode, done.stderr) == (
        2,
        "mistersmith: --image: only used with --backend docker\n",
    )


@pytest.fixture
def own_server() -> Iterator[BinaryServer]:
    server = BinaryServer(for_topology(topo.default_topology())).start()
    try:
        yield server
    finally:
        server.stop()


async def _streams(url: str, changed: StreamConfig | None = None) -> dict[str, StreamConfig]:
    client = await nats.connect(url)
    try:
        jsm = client.jsm()
        if changed is not None:
            await jsm.add_stream(changed)
        return {str(info.config.name): info.config for info in await jsm.streams_info()}
    finally:
        await client.close()


def test_with_url_only_what_is_missing_is_created(tmp_path: Path, own_server: BinaryServer) -> None:
    ours, _ = topo.for_cluster(topo.default_topology(), 1)
    lifecycle = next(s for s in ours.streams if s.name == "task_lifecycle")
    theirs = dataclasses.replace(lifecycle, max_age=3600.0)
    assert asyncio.run(_streams(own_server.client_url, theirs)).keys() == {"task_lifecycle"}
    report = tmp_path / "report.json"
    done = run_cli(
        [
            "--url",
            own_server.client_url,
            "--agents",
            "2",
            "--duration",
            "2",
            "--report",
            str(report),
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stream task_lifecycle differs (max_age): left as is" in done.stdout
    streams = asyncio.run(_streams(own_server.client_url))
    assert streams.keys() == {str(s.name) for s in ours.streams}
    assert streams["task_lifecycle"].max_age == pytest.approx(3600.0)
    assert _report(report)["server"]["backend"] == "external"


@pytest.mark.asyncio
async def test_everything_a_run_publishes_is_a_channel_of_the_catalogue(
    tmp_path: Path, nats_server: BinaryServer, mistersmith_topology: Any, nats_capture: Any
) -> None:
    """A capture of ``>`` during ``mistersmith run --url``: every subject resolves through
    ``channels.for_subject``, every payload validates against that channel's model, and the run
    publishes only on channels whose publisher role the simulator plays."""
    report = tmp_path / "report.json"
    args = ["--url", nats_server.client_url, "--agents", "4", "--duration", "2"]
    args += ["--seed", "1", "--task-rate", "20", "--report", str(report)]
    async with nats_capture(">") as cap:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator", "run", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=run_env(tmp_path),
        )  # fmt: skip
        out, _ = await asyncio.wait_for(child.communicate(), RUN_TIMEOUT)
        assert child.returncode == 0, out.decode()
        counted = _report(report)["messages"]["by_family"]
        names = {c.name for c in channels.CHANNELS}
        want = sum(n for family, n in counted.items() if family in names)
        published = [m for m in cap.messages if not m.reply.startswith("$JS.ACK.")]
        while len([m for m in published if not m.subject.startswith(("_INBOX.", "$"))]) < want:
            await cap.wait_for(len(cap.messages) + 1, timeout=5)
            published = [m for m in cap.messages if not m.reply.startswith("$JS.ACK.")]
    seen: set[str] = set()
    for m in published:
        if m.subject.startswith(("_INBOX.", "$")):
            continue
        chan = channels.for_subject(m.subject)
        chan.payload.model_validate_json(m.data)
        assert chan.publishers & channels.SIMULATED, m.subject
        seen.add(chan.name)
    assert {
        "system_control", "system_config", "system_health", "system_metrics", "task_event",
        "agent_state_event", "hook_triggered", "agent_heartbeat", "cli_startup", "cli_hook",
        "cli_response", "task_assignment", "task_progress", "task_result",
    } <= seen  # fmt: skip
