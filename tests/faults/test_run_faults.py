"""``mistersmith run --faults``: bad specs refused before anything starts, and the checker on
two configurations: one that loses acknowledged data by design, one that must not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import simulator.protocol.topology as topo
from tests.cli_runs import run_cli

_OURS = Path(topo.__file__).parent / "topology.yaml"


def _r1_memory_tasks(tmp: Path) -> Path:
    """Our topology with task_lifecycle as an R1 memory stream (a restart empties it)."""
    text = _OURS.read_text(encoding="utf-8")
    head, rest = text.split("  task_lifecycle:\n", 1)
    block, tail = rest.split("  system_monitoring:\n", 1)
    block = block.replace("storage: file", "storage: memory").replace(
        "num_replicas: 3", "num_replicas: 1"
    )
    block = block.replace("max_bytes: 5GiB", "max_bytes: 256MiB")  # within max_memory_store
    path = tmp / "r1-memory.yaml"
    path.write_text(
        f"{head}  task_lifecycle:\n{block}  system_monitoring:\n{tail}", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            ["--backend", "cluster", "--faults", "kil:random"],
            "--faults 'kil:random': unknown fault 'kil'",
        ),
        (
            ["--backend", "cluster", "--faults", "partition:random@2s for 1s"],
            "partition needs docker nodes",
        ),
        (
            ["--backend", "cluster", "--duration", "5", "--faults", "kill:random@9s"],
            "past the run's duration",
        ),
        (["--faults", "kill:random"], "--faults: needs a cluster we start"),
        (["--backend", "cluster", "--sync-interval", "sometimes"], "--sync-interval: 'sometimes'"),
    ],
)
def test_bad_faults_are_one_line_and_exit_2_before_anything_starts(
    tmp_path: Path, args: list[str], named: str
) -> None:
    done = run_cli(args, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert named in done.stderr and done.stderr.count("\n") == 1
    assert "running" not in done.stdout


def test_a_scenario_holds_the_faults(tmp_path: Path) -> None:
    scenario = tmp_path / "faulty.yaml"
    scenario.write_text("duration: 5\nfaults:\n  - kill:random@2s for 1s\n  - bad:all\n")
    done = run_cli(["--scenario", str(scenario), "--backend", "cluster"], tmp_path)
    assert done.returncode == 2
    assert f"{scenario}:4: faults[1]: 'bad:all': unknown fault 'bad'" in done.stderr


@pytest.mark.slow
def test_an_r1_memory_stream_restarted_mid_run_loses_what_it_acknowledged(tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    args = ["--backend", "cluster", "--topology", str(_r1_memory_tasks(tmp_path))]
    args += ["--faults", "restart:stream-leader@3s", "--duration", "6", "--report", str(report)]
    done = run_cli(args, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    data = json.loads(report.read_text())
    stream = data["checker"]["streams"]["task_lifecycle"]
    assert stream["lost"] > 0 and len(stream["lost_seqs"]) == stream["lost"]
    assert stream["found"] + stream["lost"] == stream["acknowledged"]
    assert data["lost_messages"] == stream["lost"]
    assert f"{stream['lost']} lost (seq {stream['lost_seqs'][0]}" in done.stdout
    assert "acknowledged publish(es) lost" in done.stdout
    assert data["server"]["durability"]["streams"]["task_lifecycle"] == {
        "storage": "memory",
        "replicas": 1,
    }
    (fault,) = data["faults"]
    assert (fault["kind"], fault["verdict"]) == ("restart", "fail")
    # the same run with --loss-warning: a warning, exit 0
    done = run_cli([*args, "--loss-warning"], tmp_path)
    assert done.returncode == 0 and "warning:" in done.stdout


@pytest.mark.slow
def test_the_spec_r3_file_streams_lose_nothing_when_the_stream_leader_is_killed(
    tmp_path: Path,
) -> None:
    report = tmp_path / "run.json"
    args = ["--backend", "cluster", "--faults", "kill:stream-leader@2s for 2s"]
    args += ["--sync-interval", "always", "--duration", "7", "--report", str(report)]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    checker = data["checker"]
    assert "error" not in checker, checker["error"]
    assert checker["lost"] == 0 and data["lost_messages"] == 0
    stream = checker["streams"]["task_lifecycle"]
    assert stream["acknowledged"] > 0 and stream["found"] == stream["acknowledged"]
    tasks = checker["tasks"]
    # a task's result goes out by core publish: one sent while the swarm's node was down can
    # be gone (at most once), and the checker says so; acknowledged assignments are not lost
    assert tasks["exactly_one"] + tasks["none"] + tasks["more_than_one"] == tasks["assigned"] > 0
    (fault,) = data["faults"]
    assert fault["kind"] == "kill" and fault["node"] in (0, 1, 2) and fault["verdict"] == "ok"
    assert 2 <= fault["start_s"] < fault["end_s"]
    assert data["server"]["durability"]["sync_interval"] == "always"
    assert data["messages"]["by_family"]["system_alerts"] >= 2
    assert data["messages"]["by_family"]["system_audit"] >= 2
    assert f"fault kill:stream-leader on node {fault['node']}: injected" in done.stdout


@pytest.mark.docker
@pytest.mark.slow
def test_a_partition_in_a_docker_cluster_run(tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    args = ["--backend", "cluster", "--nodes-on", "docker", "--duration", "6"]
    args += ["--faults", "partition:node=2@2s for 2s", "--report", str(report)]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    (fault,) = data["faults"]
    assert (fault["kind"], fault["node"], fault["verdict"]) == ("partition", 2, "ok")
    assert data["checker"]["lost"] == 0
    assert "fault partition:node=2 on node 2: healed" in done.stdout


@pytest.mark.slow
def test_faults_in_a_run_spread_over_workers_are_injected_and_the_history_checked(
    tmp_path: Path,
) -> None:
    report = tmp_path / "run.json"
    args = ["--backend", "cluster", "--workers", "2", "--faults", "kill:stream-leader@2s for 2s"]
    args += ["--run", f"faults-{tmp_path.name[-8:]}", "--duration", "7", "--report", str(report)]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    (fault,) = data["faults"]
    assert fault["kind"] == "kill" and fault["verdict"] == "ok"
    checker = data["checker"]
    assert checker.get("lost") == 0, checker
    stream = checker["streams"]["task_lifecycle"]
    assert stream["acknowledged"] > 0 and stream["found"] == stream["acknowledged"]
    assert checker["tasks"]["assigned"] > 0
    assert len(data["workers"]) == 2
