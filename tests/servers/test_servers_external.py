"""ExternalServer: readiness of a server someone else runs, which we never stop."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import nats
import pytest

from simulator.errors import ConfigError, ServerNotReadyError
from simulator.servers import BinaryServer, ExternalServer, NatsServer
from simulator.servers.health import read_info


@pytest.fixture(scope="module")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BinaryServer]:
    """A real server playing the part of one someone else runs."""
    base = tmp_path_factory.mktemp("external")
    with BinaryServer(base_dir=base, runtime_dir=base / "run") as server:
        yield server


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.asyncio
async def test_ready_on_a_running_server_and_stop_leaves_it_running(
    backing: BinaryServer,
) -> None:
    external = ExternalServer(backing.client_url, backing.monitor_url, timeout=5)
    handles: list[NatsServer] = [external, backing]  # both are NatsServer handles
    assert len(handles) == 2
    with external:
        assert external.client_url == backing.client_url
        assert external.monitor_url == backing.monitor_url
        assert external.version == backing.version
        assert external.jetstream
        assert external.max_payload == backing.config.max_payload
    external.stop()
    assert backing.running
    nc = await nats.connect(external.client_url)
    try:
        assert (await nc.jetstream().account_info()).limits.max_streams == 50
    finally:
        await nc.close()


def test_ready_without_a_monitor_url_and_with_a_bare_host_port(backing: BinaryServer) -> None:
    host_port = backing.client_url.removeprefix("nats://")
    external = ExternalServer(host_port, timeout=5).start()
    assert external.monitor_url is None
    assert external.info["port"] == backing.config.port


def test_a_closed_port_fails_within_its_timeout() -> None:
    url = f"nats://127.0.0.1:{closed_port()}"
    external = ExternalServer(url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ServerNotReadyError) as caught:
        external.start()
    assert time.monotonic() - started < 0.3 + 1.0
    message = str(caught.value)
    assert url in message
    assert "0.3 s" in message
    assert "ConnectionRefusedError" in message
    assert caught.value.timeout == 0.3


def test_an_unhealthy_monitor_url_fails_within_the_same_deadline(backing: BinaryServer) -> None:
    monitor = f"http://127.0.0.1:{closed_port()}"
    external = ExternalServer(backing.client_url, monitor, timeout=0.3)
    with pytest.raises(ServerNotReadyError, match="healthz"):
        external.start()


def test_something_that_is_not_nats_is_not_ready(backing: BinaryServer) -> None:
    monitor_port = int(backing.monitor_url.rsplit(":", 1)[1])
    with pytest.raises(OSError, match=r"not a NATS INFO banner|timed out"):
        read_info("127.0.0.1", monitor_port, timeout=0.2)


@pytest.mark.parametrize(
    ("url", "monitor", "field"),
    [
        ("http://127.0.0.1:4222", None, "url"),
        ("nats://127.0.0.1:notaport", None, "url"),
        ("nats://127.0.0.1:4222", "127.0.0.1:8222", "monitor_url"),
    ],
)
def test_bad_urls_are_config_errors(url: str, monitor: str | None, field: str) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: "):
        ExternalServer(url, monitor)
