"""No orphans: SIGKILL a pytest process that started a server, and the server is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.servers import BinaryServer
from simulator.servers._proc import pid_alive
from tests.examples import FAST, example, ini
from tests.waits import linux_only
from tests.waits import polled as until


@pytest.fixture
def inner_pytest(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A pytest process running the orphan suite (killed at teardown if still alive)."""
    (tmp_path / "tox.ini").write_text(ini())
    (tmp_path / "test_orphan.py").write_text(example("orphan_suite.py"))
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "MISTERSMITH_ORPHAN_DIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    with (tmp_path / "output.txt").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *FAST, "test_orphan.py"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@linux_only
def test_sigkill_of_pytest_takes_its_server_down(
    tmp_path: Path, inner_pytest: subprocess.Popen[bytes]
) -> None:
    facts_file = tmp_path / "server.json"
    started = until(lambda: facts_file.exists() or inner_pytest.poll() is not None, 30)
    output = (tmp_path / "output.txt").read_text
    assert started and facts_file.exists(), f"the inner test did not start:\n{output()}"
    facts = json.loads(facts_file.read_text())
    server_pid, temp_dir = facts["pid"], Path(facts["temp_dir"])
    assert pid_alive(server_pid)
    records = list((tmp_path / "tmp").glob("mistersmith-*/*.json"))
    assert [json.loads(r.read_text())["server_pid"] for r in records] == [server_pid]

    os.kill(inner_pytest.pid, signal.SIGKILL)
    killed = time.monotonic()
    gone = until(lambda: not pid_alive(server_pid), 1.0)
    assert gone, f"nats-server (pid {server_pid}) outlived pytest by over 1 s"
    assert time.monotonic() - killed < 1.0
    assert inner_pytest.wait(5) == -signal.SIGKILL

    # Nobody cleaned up after the killed session: its temp dir and pid record are left...
    assert temp_dir.is_dir()
    assert records[0].exists()
    # ...until the next server start sweeps them (their owner is dead).
    with BinaryServer(base_dir=tmp_path, runtime_dir=records[0].parent) as server:
        assert not temp_dir.exists()
        assert not records[0].exists()
        assert [r.stem for r in records[0].parent.glob("*.json")] == [server.temp_dir.name]
