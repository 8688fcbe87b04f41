"""Secured docker servers and clusters: the binary server's profiles on every backend."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from simulator.protocol import subjects
from simulator.protocol.permissions import identity
from simulator.servers import DockerServer, NatsCluster, get_json, start
from simulator.servers._jwt import new_key
from simulator.servers.base import NatsServer
from simulator.servers.security import Security, user_creds
from tests.servers.test_security import QUICK, refused

#: (auth, tls) on docker: each auth once, each TLS mode at least once.
DOCKER_PROFILES = [("token", "off"), ("password", "mtls"), ("nkey", "tls"), ("jwt", "tls")]
CLUSTER_PROFILES = [("nkey", "tls"), ("jwt", "mtls"), ("password", "off")]


def wrong(server: NatsServer, auth: str, tls: str) -> dict[str, Any]:
    """The admin's connect options with its credential replaced by one the server refuses."""
    options = server.connect_options("admin")
    material = server.material
    assert material is not None
    if tls == "mtls":  # the certificate is the credential: trust the CA, show none
        return {**options, "tls": material.ssl_context(None)}
    if auth == "token":
        return {**options, "token": "not-it"}
    if auth == "password":
        return {**options, "password": "not-it"}
    if auth == "nkey":
        return {**options, "nkeys_seed_str": new_key("user").seed.decode()}
    assert material.operator is not None  # jwt: an expired user of the right account
    expired = material.directory / "expired.creds"
    expired.write_text(user_creds(material.operator, identity("admin"), expires=1)[0])
    return {**options, "user_credentials": str(expired)}


async def denied(server: NatsServer, url: str, who: str, subject: str) -> list[str]:
    """The async errors ``who`` gets for publishing to ``subject`` (another agent's)."""
    errors: list[str] = []

    async def record(exc: Exception) -> None:
        errors.append(str(exc))

    client = await nats.connect(url, **server.connect_options(who), error_cb=record, **QUICK)
    try:
        await client.publish(subject, b"{}")
        await client.flush()
        deadline = asyncio.get_running_loop().time() + 5
        while not errors and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
    finally:
        await client.close()
    return errors


async def admin_stores(server: NatsServer, url: str) -> None:
    """The admin publishes to a stored subject through ``url`` and is acknowledged."""
    admin: Client = await nats.connect(url, **server.connect_options("admin"), **QUICK)
    try:
        ack = await admin.jetstream().publish(subjects.agent_heartbeat("a1"), b"{}")
        assert ack.stream == "agent_events"
    finally:
        await admin.close()


@pytest.fixture(scope="module", params=DOCKER_PROFILES, ids=lambda p: f"{p[0]}+{p[1]}")
def secured_docker(request: pytest.FixtureRequest) -> Iterator[tuple[DockerServer, str, str]]:
    auth, tls = request.param
    server = start("docker", security=Security(auth, tls, agents=("a1",)), apply=True).server
    assert isinstance(server, DockerServer)
    with server:
        yield server, auth, tls


@pytest.mark.docker
@pytest.mark.asyncio
async def test_a_secured_container_serves_its_admin_and_refuses_the_rest(
    secured_docker: tuple[DockerServer, str, str],
) -> None:
    server, auth, tls = secured_docker
    await admin_stores(server, server.client_url)
    await refused(server.client_url)  # no credentials at all
    exc = await refused(server.client_url, **wrong(server, auth, tls))
    if tls != "mtls":  # without a certificate the TLS handshake itself may fail
        assert "Authorization Violation" in str(exc) or "expired" in str(exc).lower()
    if tls != "off":
        with pytest.raises(ssl.SSLError):  # a client that does not trust the CA
            await nats.connect(server.client_url, tls=ssl.create_default_context(), **QUICK)


@pytest.mark.docker
@pytest.mark.asyncio
async def test_a_secured_container_learns_an_agent_added_later(
    secured_docker: tuple[DockerServer, str, str],
) -> None:
    """agent:a7 is not known at the start: its credentials reach the container on demand."""
    server, auth, _ = secured_docker
    errors = await denied(server, server.client_url, "agent:a7", subjects.agent_heartbeat("a1"))
    if auth == "token":  # one secret for everyone: no identities, nothing denied
        assert errors == []
    else:
        assert errors == ['nats: permissions violation for publish to "agents.a1.heartbeat"']


@pytest.mark.docker
def test_a_secured_containers_credentials_go_with_it() -> None:
    server = DockerServer(security=Security("nkey", "tls")).start()
    directory = server.credentials_dir
    assert directory is not None and (directory / "ca.pem").exists()
    assert "/credentials/server.pem" in server.rendered()  # the container's path, not ours
    server.stop()
    assert not directory.exists()


@pytest.fixture(scope="module", params=CLUSTER_PROFILES, ids=lambda p: f"{p[0]}+{p[1]}")
def secured_cluster(request: pytest.FixtureRequest) -> Iterator[tuple[NatsCluster, str]]:
    auth, tls = request.param
    security = Security(auth, tls, agents=("a1", "a2"))
    cluster = start("cluster", security=security, apply=True).server
    assert isinstance(cluster, NatsCluster)
    with cluster:
        yield cluster, tls


@pytest.mark.asyncio
async def test_a_secured_cluster_serves_its_admin_on_every_node_and_denies_agents(
    secured_cluster: tuple[NatsCluster, str],
) -> None:
    cluster, tls = secured_cluster
    for url in cluster.client_urls:  # every node has the same accounts and users
        await admin_stores(cluster, url)
        await refused(url)
    errors = await denied(
        cluster, cluster.client_urls[2], "agent:a1", subjects.agent_heartbeat("a2")
    )
    assert errors == ['nats: permissions violation for publish to "agents.a2.heartbeat"']
    for url in cluster.monitor_urls:  # plain HTTP on loopback; routes under TLS with tls on
        routes = get_json(f"{url}/varz")["cluster"]
        assert routes.get("tls_required", False) is (tls != "off")
        assert routes.get("tls_verify", False) is (tls != "off")


@pytest.mark.asyncio
async def test_a_secured_cluster_gives_a_later_agent_credentials_on_every_node(
    secured_cluster: tuple[NatsCluster, str],
) -> None:
    cluster, _ = secured_cluster
    for url in cluster.client_urls:
        errors = await denied(cluster, url, "agent:a8", subjects.agent_heartbeat("a1"))
        assert errors == ['nats: permissions violation for publish to "agents.a1.heartbeat"']


def test_a_secured_clusters_routes_refuse_a_node_without_the_route_password(
    secured_cluster: tuple[NatsCluster, str],
) -> None:
    """Routes are authenticated too: a process on the host cannot join as a node and read
    every message past the clients' auth (with TLS, it would need our CA's certificate too)."""
    cluster, tls = secured_cluster
    if tls != "off":
        pytest.skip("routes under TLS verify our CA's certificate first (tls_verify, above)")
    for url in cluster.monitor_urls:
        port = get_json(f"{url}/varz")["cluster"]["cluster_port"]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as rogue,
            rogue.makefile("rb") as reader,
        ):
            info = json.loads(reader.readline().decode().removeprefix("INFO "))
            assert info.get("auth_required") is True, info
            rogue.sendall(b'CONNECT {"verbose":false,"name":"rogue"}\r\nPING\r\n')
            assert reader.readline().startswith(b"-ERR 'Authorization Violation'")


@pytest.mark.docker
@pytest.mark.asyncio
async def test_a_secured_docker_cluster_routes_over_tls_by_node_name() -> None:
    """The server certificate names every node: routes dialled by network alias verify."""
    security = Security("password", "tls", agents=("a1", "a2"))
    cluster = start("cluster", nodes_on="docker", security=security, apply=True).server
    assert isinstance(cluster, NatsCluster)
    with cluster:
        for url in cluster.client_urls:
            await admin_stores(cluster, url)
        for url in cluster.monitor_urls:
            assert get_json(f"{url}/varz")["cluster"]["tls_required"] is True
            assert get_json(f"{url}/routez")["num_routes"] >= 2
        errors = await denied(cluster, cluster.client_url, "agent:a1", "agent.a2.pre")
        assert errors == ['nats: permissions violation for publish to "agent.a2.pre"']
