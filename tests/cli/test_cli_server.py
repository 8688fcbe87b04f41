"""`mistersmith server` as a user runs it: a subprocess, its stdout, a client, then a signal."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nats
import pytest

from simulator.protocol.topology import SPEC_TOPOLOGY_PATH

STREAMS = {"task_lifecycle", "agent_events", "system_monitoring", "claude_cli_integration"}
CONSUMERS = {"task_processor", "agent_status_monitor", "event_processor", "system_alerting"}
READY_TIMEOUT = 20.0
EXIT_TIMEOUT = 20.0
_CLIENT_URL = re.compile(r"^client URL\s+(nats://\S+)$", re.MULTILINE)
_PID = re.compile(r"^server pid\s+(\d+)$", re.MULTILINE)
_TEMP_DIR = re.compile(r"^temp dir\s+(\S+)$", re.MULTILINE)


class ServerCommand:
    """`python -m simulator server ...`, its stdout and stderr read line by line on a thread."""

    def __init__(self, args: list[str], tmp: Path) -> None:
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "server", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.out = ""
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = READY_TIMEOUT) -> str:
        """The first group of ``pattern`` once it appears on stdout; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (match := pattern.search(self.out)) is None:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0))
            except queue.Empty:
                pytest.fail(f"no {pattern.pattern!r} within {timeout} s; stdout:\n{self.out}")
            if line is None:
                pytest.fail(f"exited {self.process.wait()} before {pattern.pattern!r}:\n{self.out}")
            self.out += line
        return match[1]

    def finish(self, timeout: float = EXIT_TIMEOUT) -> int:
        """Wait for the exit; the exit code (the rest of stdout is in ``out``)."""
        code = self.process.wait(timeout)
        while (line := self._lines.get(timeout=timeout)) is not None:
            self.out += line
        return code

    def close(self) -> None:
        """Kill the command if it still runs (after a failed test), and close its pipe."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(EXIT_TIMEOUT)
        assert self.process.stdout is not None
        self.process.stdout.close()


Run = Callable[[list[str]], ServerCommand]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    """Start `mistersmith server` with arguments (temp files under ``tmp_path``); kill after."""
    started: list[ServerCommand] = []

    def start(args: list[str]) -> ServerCommand:
        started.append(ServerCommand(args, tmp_path))
        return started[-1]

    yield start
    for command in started:
        command.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _names(url: str) -> tuple[set[str], set[str]]:
    client = await nats.connect(url, allow_reconnect=False)
    try:
        js = client.jetstream()
        streams = {str(info.config.name) for info in await js.streams_info()}
        consumers = {str(c.name) for s in STREAMS for c in await js.consumers_info(s)}
        return streams, consumers
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_server_serves_the_topology_until_sigint(run: Run) -> None:
    """The client URL comes up with every stream; SIGINT stops the server and removes its dir."""
    command = run([])
    url = command.wait_for(_CLIENT_URL)
    pid = int(command.wait_for(_PID))
    temp_dir = Path(command.wait_for(_TEMP_DIR))
    assert "monitoring URL  http://127.0.0.1:" in command.out
    assert "agent_events: num_replicas 3 clamped to 1" in command.out  # ERRATA 2, said
    assert temp_dir.is_dir()
    assert not _gone(pid)

    streams, consumers = await _names(url)
    assert streams == STREAMS
    assert consumers == CONSUMERS

    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0, command.out
    assert f"SIGINT: nats-server (pid {pid}) stopped" in command.out
    assert _gone(pid)
    assert not temp_dir.exists()


def test_sigterm_with_keep_data_and_debug_log(run: Run) -> None:
    """SIGTERM stops it too; --keep-data keeps the dir, whose log has --log-level's lines."""
    command = run(["--keep-data", "--log-level", "debug"])
    command.wait_for(_CLIENT_URL)
    pid = int(command.wait_for(_PID))
    temp_dir = Path(command.wait_for(_TEMP_DIR))
    try:
        command.process.send_signal(signal.SIGTERM)
        assert command.finish() == 0, command.out
        assert _gone(pid)
        assert f"data kept in {temp_dir}" in command.out
        assert "[DBG]" in (temp_dir / "nats.log").read_text()
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.asyncio
async def test_topology_option(run: Run, tmp_path: Path) -> None:
    """--topology FILE serves that topology, clamped to one node."""
    path = tmp_path / "mine.yaml"
    path.write_text(
        "streams:\n  scratch:\n    subjects: ['scratch.>']\n    storage: memory\n"
        "    num_replicas: 3\n"
    )
    command = run(["--topology", str(path)])
    url = command.wait_for(_CLIENT_URL)
    assert "stream scratch: num_replicas 3 clamped to 1" in command.out
    client = await nats.connect(url, allow_reconnect=False)
    try:
        names = [info.config.name for info in await client.jetstream().streams_info()]
    finally:
        await client.close()
    assert names == ["scratch"]
    command.process.send_signal(signal.SIGINT)
    assert command.finish() == 0, command.out


def test_a_refused_topology_exits_2_and_leaves_nothing(run: Run, tmp_path: Path) -> None:
    """The spec's topology as written is refused: exit 2, one line why, no server, no dir."""
    command = run(["--topology", str(SPEC_TOPOLOGY_PATH)])
    assert command.finish() == 2
    assert "refused by the server: 10052" in command.out
    assert not list(tmp_path.glob("mistersmith-nats-*"))


def test_a_server_that_dies_exits_1_with_its_log(run: Run) -> None:
    """When nats-server dies on its own the command says so, shows its log, exits 1."""
    command = run([])
    command.wait_for(_CLIENT_URL)
    pid = int(command.wait_for(_PID))
    temp_dir = Path(command.wait_for(_TEMP_DIR))
    os.kill(pid, signal.SIGKILL)
    assert command.finish() == 1, command.out
    assert f"nats-server (pid {pid}) exited on its own with code -9" in command.out
    assert "Server is ready" in command.out  # the tail of its log
    assert not temp_dir.exists()


def test_a_missing_server_bin_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--server-bin naming nothing: exit 2 and say where it looked, before starting anything."""
    from simulator.cli import main

    assert main(["server", "--server-bin", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "no usable nats-server" in err
    assert "nope: does not exist" in err
