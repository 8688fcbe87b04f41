"""The docker backend against a real engine: DockerServer, labels and sweep, plugin options."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from simulator.errors import ServerError
from simulator.servers import DockerServer, get_json
from simulator.servers._docker_cli import (
    LABEL,
    SESSION,
    _sweep,
    _sweep_scratch,
    docker,
    docker_available,
    scratch_dir,
)

pytest_plugins = ["pytester"]
docker_only = pytest.mark.docker
_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture
def server() -> Iterator[DockerServer]:
    """A started container, removed after the test."""
    with DockerServer() as started:
        yield started


def _containers(name: str) -> list[str]:
    return docker("ps", "-aq", "--filter", f"name=^{name}$").stdout.split()


@docker_only
@pytest.mark.asyncio
async def test_container_serves_jetstream_and_keeps_its_store_across_restarts(
    server: DockerServer,
) -> None:
    assert server.client_url.startswith("nats://127.0.0.1:")
    assert get_json(f"{server.monitor_url}/varz")["max_payload"] == server.config.max_payload
    nc = await nats.connect(server.client_url)
    js = nc.jetstream()
    await js.add_stream(name="kept", subjects=["kept.>"])
    await js.publish("kept.1", b"one")
    await nc.close()
    url = server.client_url
    server.restart()
    assert server.client_url == url  # published ports are kept
    server.kill()
    assert not server.running
    server.start()
    nc = await nats.connect(server.client_url)
    info = await nc.jetstream().stream_info("kept")
    assert info.state.messages == 1
    await nc.close()


@docker_only
@pytest.mark.asyncio
async def test_paused_container_times_out_then_recovers(server: DockerServer) -> None:
    nc = await nats.connect(server.client_url)
    js = nc.jetstream()
    await js.add_stream(name="frozen", subjects=["frozen.>"])
    server.pause()
    started = time.monotonic()
    with pytest.raises(nats.errors.TimeoutError):
        await js.publish("frozen.1", b"x", timeout=1.0)
    assert time.monotonic() - started < 2.0
    server.resume()
    assert (await js.publish("frozen.2", b"y", timeout=5)).stream == "frozen"
    await nc.close()


@docker_only
def test_containers_carry_the_session_label_and_stop_removes_everything() -> None:
    server = DockerServer().start()
    inspect = json.loads(subprocess.check_output(["docker", "inspect", server.container_id]))
    assert inspect[0]["Config"]["Labels"][LABEL] == SESSION
    ports = inspect[0]["HostConfig"]["PortBindings"]
    assert {b["HostIp"] for bindings in ports.values() for b in bindings} == {"127.0.0.1"}
    server.stop()
    assert _containers(server.name) == []
    assert docker("volume", "inspect", server.volume).returncode != 0


@docker_only
def test_stale_containers_of_dead_sessions_are_swept() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"mistersmith-stale-{SESSION}"
    labels = [f"{LABEL}=dead", f"io.mistersmith.owner-pid={dead.pid}"]
    args = [a for label in labels for a in ("--label", label)]
    image = DockerServer().image
    subprocess.run(
        ["docker", "create", "--name", name, *args, image], check=True, capture_output=True
    )
    assert _containers(name)
    _sweep()
    assert _containers(name) == []


def test_credentials_dirs_of_dead_owners_are_swept_and_live_ones_kept() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    mine = scratch_dir()
    orphan = mine.with_name(mine.name.replace(f"-{os.getpid()}-", f"-{dead.pid}-", 1))
    mine.rename(orphan)
    (orphan / "admin.nk").write_text("seed")
    kept = scratch_dir()
    try:
        assert _sweep_scratch() >= 1
        assert not orphan.exists()
        assert kept.is_dir()
        assert _sweep_scratch(mine=True) >= 1  # what the exit hook does
        assert not kept.exists()
    finally:
        shutil.rmtree(kept, ignore_errors=True)


@docker_only
def test_backend_option_makes_the_default_fixtures_use_containers(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from simulator.servers import DockerServer

        def test_server(nats_server):
            assert isinstance(nats_server, DockerServer)

        @pytest.mark.asyncio
        async def test_client(nats_client):
            assert nats_client.is_connected
        """
    )
    pytester.makeini(_INI)
    result = pytester.runpytest("--nats-backend", "docker", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("how", ["cli", "ini"])
def test_require_docker_turns_the_skip_into_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-engine.sock")
    assert docker_available() is not None
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.docker
        def test_needs_docker():
            pass
        """
    )
    pytester.makeini(_INI)
    skipped = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*needs a Docker engine*"])
    if how == "cli":
        failed = pytester.runpytest("-p", "no:cacheprovider", "--nats-require-docker")
    else:
        pytester.makeini(_INI + "nats_require_docker = true\n")
        failed = pytester.runpytest("-p", "no:cacheprovider")
    failed.assert_outcomes(errors=1)  # a setup failure: the test never ran
    failed.stdout.fnmatch_lines(["*--nats-require-docker*"])


@pytest.mark.parametrize("how", ["cli", "ini"])
def test_image_option_is_in_force_and_shown(pytester: pytest.Pytester, how: str) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    if how == "cli":
        pytester.makeini(_INI)
        result = pytester.runpytest("--nats-backend", "docker", "--nats-image", "mine/nats:9")
    else:
        pytester.makeini(_INI + "nats_backend = docker\nnats_image = mine/nats:9\n")
        result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["mistersmith: backend docker, image mine/nats:9, *"])


def test_docker_backend_refuses_a_url(pytester: pytest.Pytester) -> None:
    pytester.makeini(_INI)
    result = pytester.runpytest("--nats-backend", "docker", "--nats-url", "nats://127.0.0.1:1")
    result.stderr.fnmatch_lines(["*needs --nats-backend external*is docker*"])


def test_a_stuck_docker_call_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No engine answer within the timeout: a ServerError naming the call, not a traceback."""
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\nexec /bin/sleep 5\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError, match=r"`docker info` did not finish within 0.2 s"):
        docker("info", timeout=0.2)
    reason = docker_available(timeout=0.2)
    assert reason is not None and "did not finish within 0.2 s" in reason
