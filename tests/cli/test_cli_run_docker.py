"""`mistersmith run --backend docker` as a user runs it: a container, a report, nothing left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator.servers import find_nats_server
from simulator.servers._docker_cli import LABEL, docker
from simulator.servers.image import default_image
from tests.cli_runs import RUN_TIMEOUT, run_env, running

_OWNER_PID = "io.mistersmith.owner-pid"  # see _docker_cli.labels()


def _ids(*filters: str, kind: str = "container") -> list[str]:
    """Ids of the containers (or volumes) carrying every ``label=`` filter given."""
    args = [arg for f in filters for arg in ("--filter", f"label={f}")]
    listing = ("ps", "-aq") if kind == "container" else ("volume", "ls", "-q")
    result = docker(*listing, *args, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.docker
def test_a_short_docker_run_reports_and_leaves_no_container(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    image = default_image(find_nats_server().version)
    args = [
        "--backend",
        "docker",
        "--image",
        image,
        "--agents",
        "3",
        "--duration",
        "3",
        "--seed",
        "1",
    ]
    with running([*args, "--report", str(report)], tmp_path) as (process, out):
        # the run's own container, found by the labels its process put on it
        listed = _ids(LABEL, f"{_OWNER_PID}={process.pid}")
        assert len(listed) == 1, listed
        inspect = docker("inspect", "--format", "{{json .Config.Labels}}", listed[0])
        session = json.loads(inspect.stdout)[LABEL]
        used = docker("inspect", "--format", "{{.Config.Image}}", listed[0]).stdout.strip()
        assert used == image
        code = process.wait(RUN_TIMEOUT)
    text = out.read_text()
    assert code == 0, text
    assert "running 3 agents" in text
    assert "Summary:" in text
    # the same clamp notes as the binary backend's (ERRATA 2)
    assert "note stream agent_events: num_replicas 3 clamped to 1 on a cluster of 1 node" in text
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    assert data["server"]["backend"] == "docker"
    assert data["server"]["client_url"].startswith("nats://127.0.0.1:")
    assert data["interrupted"] is False
    assert data["agents"]["total"] == 3
    assert data["messages"]["by_family"]["agent_heartbeat"] > 0
    assert data["tasks"]["finished"] > 0
    assert data["errors"]["total"] == 0, data["errors"]
    # the container and its store volume are gone
    assert _ids(f"{LABEL}={session}") == []
    assert _ids(f"{LABEL}={session}", kind="volume") == []


def test_without_the_docker_cli_it_is_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--backend", "docker", "--duration", "1"],
        capture_output=True,
        text=True,
        env=run_env(tmp_path, PATH=str(empty)),
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mistersmith: the docker CLI is not on PATH")
    assert done.stdout == ""


@pytest.mark.docker
def test_a_missing_image_is_named_with_the_run_flag_and_the_real_cause(tmp_path: Path) -> None:
    """The engine runs and the image is missing: say so, with `run`'s own --image flag."""
    missing = "mistersmith/nats-server-missing:0"
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--backend", "docker", "--image", missing],
        capture_output=True,
        text=True,
        env=run_env(tmp_path),
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"mistersmith: --image {missing}: the Docker engine has no image {missing}"
    )
    assert "--nats-image" not in lines[0]  # the plugin's flag, not this command's
    assert "start the Docker engine" not in lines[0]  # it runs
    assert "docker image ls" in lines[0]
    assert done.stdout == ""
