"""`mistersmith run --workers N` and `mistersmith worker` as a user runs them: child processes,
exit codes, reports, captures of every message, SIGKILLs and a Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from simulator.protocol import channels
from simulator.protocol import topology as topo
from simulator.servers import BinaryServer, for_topology
from simulator.servers._proc import pid_alive
from simulator.servers.security import Security
from tests.cli_runs import RUN_TIMEOUT, run_cli, run_env, running
from tests.swarm.test_timeline import assert_adds_up

#: Seconds a process gets to be gone (a bound for the test, not a speed goal).
GONE_WITHIN = 20.0


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _run_name() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _pids_of(run: str) -> list[int]:
    """The worker processes of run ``run`` (found by their command line)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in argv and run.encode() in argv and b"simulator" in argv:
            pids.append(int(entry.name))
    return pids


def _gone(pids: list[int], within: float = GONE_WITHIN) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(pid_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


async def _run_captured(
    args: list[str], tmp: Path, capture: Any, count_of: str = ">"
) -> tuple[str, list[Any]]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "run", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=run_env(tmp),
    )  # fmt: skip
    out, _ = await asyncio.wait_for(child.communicate(), RUN_TIMEOUT)
    assert child.returncode == 0, out.decode()
    return out.decode(), capture.messages


def _published(messages: list[Any]) -> Counter[str]:
    """Captured messages per catalogue channel (inboxes, JetStream API and acks left out)."""
    seen: Counter[str] = Counter()
    for m in messages:
        if m.subject.startswith(("_INBOX.", "$")) or m.reply.startswith("$JS.ACK."):
            continue
        seen[channels.for_subject(m.subject).name] += 1
    return seen


@pytest.mark.asyncio
async def test_the_merged_report_adds_up_to_a_capture_of_every_message(
    tmp_path: Path, nats_server: BinaryServer, mistersmith_topology: Any, nats_capture: Any
) -> None:
    """Two workers and the coordinator: every count of the merged report per channel equals
    what a capture of ``>`` saw, the histograms hold every task, the timelines add up."""
    report = tmp_path / "report.json"
    args = ["--url", nats_server.client_url, "--workers", "2", "--agents", "6"]
    args += ["--duration", "3", "--seed", "3", "--task-rate", "10", "--report", str(report)]
    args += ["--run", _run_name()]
    async with nats_capture(">") as cap:
        out, _ = await _run_captured(args, tmp_path, cap)
        data = _report(report)
        names = {c.name for c in channels.CHANNELS}
        counted = {f: n for f, n in data["messages"]["by_family"].items() if f in names}
        deadline = time.monotonic() + 10
        while _published(cap.messages) != counted and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    assert _published(cap.messages) == counted
    assert "on 2 worker(s)" in out
    assert data["errors"]["total"] == 0, data["errors"]
    assert data["agents"]["total"] == 6
    assert data["tasks"]["finished"] > 0
    assert data["tasks"]["latency_ms"]["count"] == data["tasks"]["finished"]
    assert data["hooks"]["rtt_ms"]["count"] == data["hooks"]["answered"] > 0
    assert_adds_up(data)  # the merged timeline adds up to the merged totals
    workers = data["workers"]
    assert sorted(workers) == ["local-1", "local-2"]
    assert [w["agents"] for w in workers.values()] == [[0, 3], [3, 6]]
    assert not any(w["lost"] for w in workers.values())
    # the workers' and the coordinator's health reports went out (the system_monitoring stream)
    health = [m for m in cap.messages if m.subject.startswith("system.health.")]
    assert {"system.health.worker", "system.health.coordinator"} <= {m.subject for m in health}


def _assignments(messages: list[Any]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        chan = channels.for_subject(m.subject).name if not m.subject.startswith("_") else ""
        if chan in ("task_assignment", "task_queue") and not m.reply.startswith("$JS.ACK."):
            payload = json.loads(m.data)
            payload.pop("timestamp", None)
            payload.pop("deadline", None)
            out.append(payload)
    return out


def _outcomes(messages: list[Any]) -> dict[str, str]:
    """Each task's final status and its hook decisions, as the wire says (by task id)."""
    out = {}
    for m in messages:
        if m.subject.startswith(("_", "$")):
            continue
        chan = channels.for_subject(m.subject).name
        if chan in ("task_result", "task_error"):
            payload = json.loads(m.data)
            out[payload["task_id"]] = payload["status"]
    return out


@pytest.mark.asyncio
async def test_the_same_seed_gives_the_same_swarm_on_one_or_three_workers(
    tmp_path: Path, nats_server: BinaryServer, mistersmith_topology: Any, nats_capture: Any
) -> None:
    """Agent ids, task payloads, the task mix and the outcomes are the seed's, whatever N."""
    seen = []
    for n in (1, 3):
        args = ["--url", nats_server.client_url, "--workers", str(n), "--agents", "6"]
        args += ["--duration", "2", "--seed", "11", "--task-rate", "8", "--run", _run_name()]
        async with nats_capture("agents.*.heartbeat", "tasks.>") as cap:
            await _run_captured(args, tmp_path, cap)
            await asyncio.sleep(0.5)  # the capture catches up with the last results
            beats = {m.subject.split(".")[1] for m in cap.messages if "heartbeat" in m.subject}
            seen.append((beats, _assignments(cap.messages), _outcomes(cap.messages)))
    (beats1, tasks1, done1), (beats3, tasks3, done3) = seen
    assert beats1 == beats3 and len(beats1) == 6
    # the first tasks in the same order (later, workflow steps follow completions' timing);
    # every task both runs dispatched with the same type, payload, agent and priority
    assert tasks1[:5] == tasks3[:5]
    by_id1 = {t["task_id"]: t for t in tasks1}
    by_id3 = {t["task_id"]: t for t in tasks3}
    common = by_id1.keys() & by_id3.keys()
    assert len(common) >= min(len(by_id1), len(by_id3)) // 2
    assert {t: by_id1[t] for t in common} == {t: by_id3[t] for t in common}
    both = done1.keys() & done3.keys()
    assert both
    assert {t: done1[t] for t in both} == {t: done3[t] for t in both}


def test_a_sigkilled_worker_is_reported_lost_and_the_run_goes_on(tmp_path: Path) -> None:
    run = _run_name()
    report = tmp_path / "report.json"
    args = ["--workers", "2", "--agents", "6", "--duration", "6", "--seed", "5"]
    args += ["--task-rate", "4", "--run", run, "--report", str(report)]
    with running(args, tmp_path) as (process, out):
        pids = _pids_of(run)
        assert len(pids) == 2
        victim = min(pids)  # local-1 starts first
        os.kill(victim, signal.SIGKILL)
        assert process.wait(RUN_TIMEOUT) == 0, out.read_text()
    data = _report(report)
    lost = [name for name, w in data["workers"].items() if w["lost"]]
    assert len(lost) == 1
    assert data["workers"][lost[0]]["agents"] in ([0, 3], [3, 6])
    assert "held" in data["workers"][lost[0]] and "held_finished" in data["workers"][lost[0]]
    assert any(f"worker {lost[0]} lost" in e for e in data["errors"]["first"])
    # the monitor raised the missed heartbeats of the lost worker's agents
    assert data["messages"]["by_family"].get("system_alerts", 0) >= 3
    assert data["interrupted"] is False
    assert _gone(pids)


def test_sigint_drains_every_worker_and_still_reports(tmp_path: Path) -> None:
    run = _run_name()
    report = tmp_path / "report.json"
    args = ["--workers", "2", "--agents", "4", "--duration", "60", "--run", run]
    args += ["--report", str(report)]
    with running(args, tmp_path) as (process, out):
        pids = _pids_of(run)
        process.send_signal(signal.SIGINT)
        assert process.wait(RUN_TIMEOUT) == 0, out.read_text()
    data = _report(report)
    assert data["interrupted"] is True
    assert data["errors"]["total"] == 0, data["errors"]
    assert data["agents"]["by_state"] == {"offline": 4}
    for worker in data["workers"].values():
        assert not worker["lost"] and worker["messages"] > 0
    assert _gone(pids)


def test_a_sigkilled_coordinator_leaves_no_worker_behind(tmp_path: Path) -> None:
    """Local workers die with it; a worker started from another shell stops when the
    coordinator's beat goes silent."""
    own = BinaryServer(for_topology(topo.default_topology())).start()
    run = _run_name()
    try:
        args = ["--url", own.client_url, "--workers", "1", "--expect-workers", "1"]
        args += ["--agents", "4", "--duration", "60", "--run", run]
        log = (tmp_path / "worker.txt").open("w")
        remote = subprocess.Popen(
            [sys.executable, "-m", "simulator", "worker", "--url", own.client_url, "--run", run,
             "--name", "remote", "--join-timeout", "60"],
            stdout=log, stderr=subprocess.STDOUT, env=run_env(tmp_path),
        )  # fmt: skip
        try:
            with running(args, tmp_path) as (process, _):
                pids = _pids_of(run)
                assert remote.pid in pids and len(pids) == 2
                process.kill()
                process.wait()
            assert _gone(pids)
            assert remote.wait(5) == 1
        finally:
            if remote.poll() is None:
                remote.kill()
                remote.wait()
            log.close()
        assert "coordinator gone" in (tmp_path / "worker.txt").read_text()
    finally:
        own.stop()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    worker = subprocess.run(
        [sys.executable, "-m", "simulator", "worker", "--url", "nats://127.0.0.1:1",
         "--name", "w"],
        capture_output=True, text=True, env=run_env(tmp_path), timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert worker.returncode == 2
    assert worker.stderr.startswith("mistersmith: worker w: cannot reach nats://127.0.0.1:1: ")
    assert worker.stderr.count("\n") == 1
    done = run_cli(["--workers", "0"], tmp_path)
    assert done.returncode == 2 and "--workers" in done.stderr
    done = run_cli(["--run", "x"], tmp_path)
    assert done.returncode == 2
    assert "--run/--join-timeout: only with --workers or --expect-workers" in done.stderr


def test_a_worker_of_no_run_and_a_second_coordinator_are_refused(tmp_path: Path) -> None:
    own = BinaryServer(for_topology(topo.default_topology())).start()
    run = _run_name()
    try:
        worker = subprocess.run(
            [sys.executable, "-m", "simulator", "worker", "--url", own.client_url, "--run", run,
             "--join-timeout", "1"],
            capture_output=True, text=True, env=run_env(tmp_path), timeout=RUN_TIMEOUT,
        )  # fmt: skip
        assert worker.returncode == 2
        assert worker.stderr.count("\n") == 1
        assert f"no run {run!r} answered on {own.client_url} within 1 s" in worker.stderr
        args = ["--url", own.client_url, "--expect-workers", "1", "--run", run]
        args += ["--join-timeout", "60"]
        said = tmp_path / "first.txt"
        with said.open("w") as sink:
            first = subprocess.Popen(
                [sys.executable, "-m", "simulator", "run", *args],
                stdout=sink, stderr=subprocess.STDOUT, env=run_env(tmp_path),
            )  # fmt: skip
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while "waiting for 1 worker(s)" not in said.read_text():
                assert first.poll() is None and time.monotonic() < deadline, said.read_text()
                time.sleep(0.05)
            second = run_cli([*args[:-2], "--join-timeout", "10"], tmp_path)
            assert second.returncode == 2, second.stdout + second.stderr
            assert "another coordinator on this server uses that name" in second.stderr
            assert first.poll() is None  # the first run is not disturbed
        finally:
            first.send_signal(signal.SIGINT)
            first.wait(RUN_TIMEOUT)
    finally:
        own.stop()


def test_workers_run_under_the_runs_credentials(tmp_path: Path) -> None:
    """A secured server reached by --url: the local workers get the run's credential options
    (paths made absolute: they run elsewhere) and run clean."""
    with BinaryServer(security=Security("nkey", "tls")) as server:
        creds = server.credentials_dir
        assert creds is not None
        report = tmp_path / "r.json"
        files = ["--nkey-seed", str(creds / "admin.nk"), "--tls-ca", str(creds / "ca.pem")]
        args = ["--agents", "4", "--duration", "2", "--seed", "1", "--workers", "2"]
        args += ["--url", server.client_url, *files, "--report", str(report), "--run", _run_name()]
        done = run_cli(args, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        data = _report(report)
        assert data["errors"]["total"] == 0, data["errors"]
        assert sorted(data["workers"]) == ["local-1", "local-2"]
        assert all(w["messages"] > 0 for w in data["workers"].values())
        assert {w["connections"] for w in data["workers"].values()} == {"shared"}


def test_workers_on_the_embedded_secured_server_run_every_agent_as_itself(
    tmp_path: Path,
) -> None:
    """--workers with --auth/--tls: the coordinator gives every agent its identity before the
    workers start; they read the server's credentials directory and connect each agent as
    ``agent:<id>`` (a denial would show as permission_denied)."""
    report = tmp_path / "r.json"
    args = ["--agents", "6", "--duration", "2", "--seed", "1", "--workers", "2"]
    args += ["--auth", "nkey", "--tls", "tls", "--report", str(report), "--run", _run_name()]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = _report(report)
    assert data["errors"]["total"] == 0, data["errors"]
    assert data["permission_denied"] == 0 and data["permission_denied_by_subject"] == {}
    assert data["server"]["agent_connections"] == "one per agent"
    assert sorted(data["workers"]) == ["local-1", "local-2"]
    assert {w["connections"] for w in data["workers"].values()} == {"one per agent"}
    assert sum(w["agents"][1] - w["agents"][0] for w in data["workers"].values()) == 6
    assert data["tasks"]["finished"] > 0


def test_a_worker_joins_a_secured_run_with_the_line_the_coordinator_prints(
    tmp_path: Path,
) -> None:
    report = tmp_path / "r.json"
    args = ["run", "--agents", "2", "--duration", "1", "--expect-workers", "1", "--auth"]
    args += ["password", "--report", str(report), "--run", _run_name(), "--join-timeout", "60"]
    said = tmp_path / "coordinator.txt"
    with said.open("w") as sink:
        coordinator = subprocess.Popen(
            [sys.executable, "-m", "simulator", *args],
            stdout=sink, stderr=subprocess.STDOUT, env=run_env(tmp_path),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while "workers join with: " not in said.read_text():
            assert coordinator.poll() is None and time.monotonic() < deadline, said.read_text()
            time.sleep(0.05)
        line = said.read_text().split("workers join with: ", 1)[1].split("\n", 1)[0]
        assert line.startswith("mistersmith worker ") and "--credentials-dir " in line
        worker = subprocess.run(
            [sys.executable, "-m", "simulator", *line.split()[1:]],
            capture_output=True, text=True, env=run_env(tmp_path), timeout=RUN_TIMEOUT,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stdout + worker.stderr
        assert coordinator.wait(RUN_TIMEOUT) == 0, said.read_text()
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.wait()
    data = _report(report)
    assert data["errors"]["total"] == 0 and data["permission_denied"] == 0
    (entry,) = data["workers"].values()
    assert entry["connections"] == "one per agent" and entry["messages"] > 0


def test_a_sigkilled_workers_stream_tasks_are_redelivered_to_the_other(tmp_path: Path) -> None:
    # the spec's task_processor waits 300 s before it redelivers; a run's --topology says 4 s
    ours = (Path(topo.__file__).parent / "topology.yaml").read_text(encoding="utf-8")
    assert ours.count("ack_wait: 300s") == 1
    (tmp_path / "topology.yaml").write_text(ours.replace("ack_wait: 300s", "ack_wait: 4s"))
    (tmp_path / "scenario.yaml").write_text(
        "duration: 8\nseed: 3\ntopology: topology.yaml\n"
        "groups:\n  - name: slow\n    count: 6\n    max_tasks: 2\n"
        "    capabilities: [analysis]\n    task_duration: [1.0, 2.0]\n    failure_rate: 0\n"
        "tasks:\n  rate: 6\n  weights: {analysis: 1}\n  queue_share: 0\n  deadline: null\n"
    )
    run = _run_name()
    report = tmp_path / "report.json"
    args = ["--scenario", str(tmp_path / "scenario.yaml"), "--workers", "2", "--run", run]
    args += ["--report", str(report)]
    with running(args, tmp_path) as (process, out):
        pids = _pids_of(run)
        time.sleep(3)  # not a readiness wait: the victim has to be holding tasks when it dies
        os.kill(min(pids), signal.SIGKILL)
        assert process.wait(RUN_TIMEOUT) == 0, out.read_text()
    data = _report(report)
    (lost,) = [w for w in data["workers"].values() if w["lost"]]
    assert lost["held"], lost  # it died holding stream tasks...
    assert lost["held_finished"] == len(lost["held"]), lost  # ...and every one finished elsewhere
    assert data["server"]["durability"]["streams"]["task_lifecycle"]


def test_workers_connect_round_robin_to_a_clusters_nodes(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = ["--backend", "cluster", "--workers", "3", "--agents", "6", "--duration", "2"]
    args += ["--run", _run_name(), "--report", str(report)]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = _report(report)
    servers = [w["server"] for w in data["workers"].values()]
    assert len(servers) == 3 and all(servers)
    assert len(set(servers)) == 3, servers  # one worker on each node
    assert data["errors"]["total"] == 0, data["errors"]
