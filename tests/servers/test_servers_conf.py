"""ServerConfig: validation, rendering, and the limits a real nats-server then enforces."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.errors import MaxPayloadError
from nats.js.errors import BadRequestError

import simulator.servers as servers
from simulator.errors import ConfigError
from simulator.servers import (
    DEFAULT_MAX_PAYLOAD,
    BinaryServer,
    ClusterConfig,
    ServerConfig,
    find_nats_server,
    get_json,
    render,
)
from simulator.servers.health import read_info
from tests.pins import assert_pinned

MiB = 1024 * 1024


def test_public_names_are_pinned() -> None:
    assert_pinned(
        servers,
        """
        DEFAULT_MAX_PAYLOAD ENV_VAR HEALTHZ HEALTHZ_JS MIN_VERSION Backend BinaryLookup
        BinaryServer ClusterBackend ClusterConfig DockerServer ExternalServer LogLevel
        NatsCluster NatsServer NatsServerBinary ServerBackend ServerConfig Started
        binary_version build_image default_image docker_available find_nats_server
        for_topology get_json render start wait_healthy wait_info
        """,
    )


def test_defaults_render_every_limit_explicitly() -> None:
    text = render(ServerConfig())
    for line in (
        "port: -1",
        'http: "127.0.0.1:-1"',
        f"max_payload: {DEFAULT_MAX_PAYLOAD}",
        "max_connections: 10000",
        "max_subscriptions: 100000",
        "max_memory_store: 2147483648",
        "max_file_store: 107374182400",
        "max_streams: 50",
        "max_consumers: 500",
        "no_auth_user:",
        "debug: false",
        "trace: false",
    ):
        assert line in text
    assert 10 * MiB + 64 * 1024 <= DEFAULT_MAX_PAYLOAD  # task_lifecycle max_msg_size + headers
    assert "cluster" not in text


@pytest.mark.parametrize(
    ("level", "debug", "trace"),
    [("info", "false", "false"), ("debug", "true", "false"), ("trace", "true", "true")],
)
def test_log_level_renders_debug_and_trace(level: Any, debug: str, trace: str) -> None:
    text = render(ServerConfig(log_level=level))
    assert f"debug: {debug}" in text
    assert f"trace: {trace}" in text


def test_jetstream_off_renders_no_jetstream_limits() -> None:
    text = render(ServerConfig(jetstream=False))
    assert "jetstream" not in text
    assert "no_auth_user" in text


def test_cluster_block_and_extra_lines_render() -> None:
    cluster = ClusterConfig(name="ms", port=6222, routes=("nats-route://127.0.0.1:6223",))
    text = render(ServerConfig(cluster=cluster, extra=("ping_interval: 5s",)))
    assert 'cluster {\n  name: "ms"\n  listen: "127.0.0.1:6222"' in text
    assert '"nats-route://127.0.0.1:6223"' in text
    assert text.endswith("ping_interval: 5s\n")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", ""),
        ("port", 0),
        ("port", 70000),
        ("http_port", 0),
        ("server_name", "has space"),
        ("max_payload", 0),
        ("max_payload", 65 * MiB),
        ("max_connections", 0),
        ("max_subscriptions", -1),
        ("max_memory_store", 0),
        ("max_file_store", -5),
        ("account", "has space"),
        ("account", "$SYS"),
        ("max_streams", 0),
        ("max_consumers", -2),
        ("log_level", "verbose"),
        ("lame_duck_duration", 5.0),
        ("lame_duck_grace_period", 31.0),
        ("extra", ("a\nb",)),
    ],
)
def test_invalid_values_name_their_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"^{field}: "):
        ServerConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"name": "a b"}, "cluster.name"), ({"name": "c", "routes": ("127.0.0.1:1",)}, "routes")],
)
def test_invalid_cluster_values_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ClusterConfig(**kwargs)


@pytest.mark.parametrize(
    "config",
    [
        ServerConfig(),
        ServerConfig(log_level="trace", server_name="n1", max_streams=-1),
        ServerConfig(jetstream=False, cluster=ClusterConfig(name="ms")),
    ],
    ids=["defaults", "trace", "cluster"],
)
def test_nats_server_accepts_the_rendered_config(tmp_path: Path, config: ServerConfig) -> None:
    conf = tmp_path / "nats.conf"
    conf.write_text(render(replace(config, store_dir=tmp_path / "store")))
    binary = find_nats_server()
    result = subprocess.run(
        [str(binary.path), "-t", "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _server(tmp_path: Path, **fields: Any) -> BinaryServer:
    return BinaryServer(ServerConfig(**fields), base_dir=tmp_path)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[BinaryServer]:
    """A server with small, visible limits."""
    with _server(
        tmp_path, max_streams=2, max_payload=12 * MiB, max_subscriptions=2, max_connections=77
    ) as server:
        yield server


@pytest.mark.asyncio
async def test_account_max_streams_is_enforced_for_plain_clients(limited: BinaryServer) -> None:
    nc = await nats.connect(limited.client_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="one", subjects=["one.>"])
        await js.add_stream(name="two", subjects=["two.>"])
        with pytest.raises(BadRequestError) as caught:
            await js.add_stream(name="three", subjects=["three.>"])
        assert caught.value.err_code == 10027  # maximum number of streams reached
        info = await js.account_info()
        assert info.limits.max_streams == 2
        assert info.limits.max_consumers == 500
    finally:
        await nc.close()


@pytest.mark.asyncio
async def test_plain_clients_land_in_the_mistersmith_account(limited: BinaryServer) -> None:
    nc = await nats.connect(limited.client_url, name="probe")
    try:
        await nc.flush()
        connz = get_json(f"{limited.monitor_url}/connz?auth=true")
        accounts = {conn.get("name"): conn.get("account") for conn in connz["connections"]}
        assert accounts["probe"] == "MISTERSMITH"
    finally:
        await nc.close()


@pytest.mark.asyncio
async def test_max_payload_is_announced_and_enforced(limited: BinaryServer) -> None:
    info = read_info("127.0.0.1", limited.config.port, timeout=5)
    assert info["max_payload"] == 12 * MiB
    nc = await nats.connect(limited.client_url)
    try:
        assert nc.max_payload == 12 * MiB
        await nc.publish("big", b"x" * (11 * MiB))  # above nats-server's 1 MiB default
        await nc.flush()
        with pytest.raises(MaxPayloadError):
            await nc.publish("big", b"x" * (12 * MiB + 1))
    finally:
        await nc.close()


@pytest.mark.asyncio
async def test_max_subscriptions_is_per_connection(limited: BinaryServer) -> None:
    first = await nats.connect(limited.client_url)
    second = await nats.connect(limited.client_url)
    errors: list[Exception] = []

    async def on_error(error: Exception) -> None:
        errors.append(error)

    third = await nats.connect(limited.client_url, allow_reconnect=False, error_cb=on_error)
    try:
        for nc in (first, second):  # 4 subscriptions in all: the limit is not server-wide
            await nc.subscribe("a")
            await nc.subscribe("b")
            await nc.flush()
            assert nc.is_connected
        for subject in ("a", "b", "c"):
            await third.subscribe(subject)
        deadline = asyncio.get_running_loop().time() + 5
        while not third.is_closed and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)  # poll: nats-py closes the connection on this -ERR
        assert third.is_closed
        assert "maximum subscriptions exceeded" in str(third.last_error)
    finally:
        for nc in (first, second, third):
            await nc.close()


def test_max_connections_is_visible_in_varz(limited: BinaryServer) -> None:
    varz = get_json(f"{limited.monitor_url}/varz")
    assert varz["max_connections"] == 77
    assert varz["max_payload"] == 12 * MiB


def test_cluster_port_is_read_back(tmp_path: Path) -> None:
    config = ServerConfig(jetstream=False, cluster=ClusterConfig(name="solo"))
    with BinaryServer(config, base_dir=tmp_path) as server:
        assert server.config.cluster is not None
        assert server.config.cluster.port > 0
        assert server.config.port > 0
        assert server.config.http_port > 0
