"""Secured servers: each profile's admin works, agents cannot impersonate, strangers are refused."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client

from simulator.errors import ConfigError
from simulator.protocol import subjects
from simulator.servers import BinaryServer, start
from simulator.servers.security import Security
from tests.secured import secured_server

PROFILES = [
    ("password", "off"),
    ("nkey", "off"),
    ("token", "off"),
    ("none", "tls"),
    ("nkey", "tls"),
    ("password", "mtls"),
    ("jwt", "off"),
    ("jwt", "tls"),
]
#: Profiles whose identities are users with permissions (token and open TLS have none).
WITH_USERS = [
    ("password", "off"),
    ("nkey", "off"),
    ("nkey", "tls"),
    ("password", "mtls"),
    ("jwt", "off"),
]
QUICK = {"allow_reconnect": False, "max_reconnect_attempts": 0, "connect_timeout": 2}


async def refused(url: str, **options: Any) -> BaseException:
    """Connect, expecting a refusal within the connect timeout; the exception."""
    client = Client()
    try:
        await asyncio.wait_for(client.connect(url, **{**QUICK, **options}), 10)
    except (nats.errors.Error, ssl.SSLError, OSError) as exc:
        # nats-py leaves a refused connection's socket open; a TLS one may not close cleanly
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(client.close(), 2)
        return exc
    await client.close()
    pytest.fail(f"{url} accepted a client it should refuse")


@pytest.fixture(scope="module", params=PROFILES, ids=lambda p: f"{p[0]}+{p[1]}")
def secured(request: pytest.FixtureRequest) -> Iterator[BinaryServer]:
    with secured_server(*request.param) as server:
        yield server


async def connect(server: BinaryServer, who: str, errors: list[str] | None = None) -> Client:
    async def record(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))

    return await nats.connect(
        server.client_url, **server.connect_options(who), error_cb=record, **QUICK
    )


@pytest_asyncio.fixture
async def admin(secured: BinaryServer) -> AsyncIterator[Client]:
    client = await connect(secured, "admin")
    yield client
    await client.close()


@pytest.mark.asyncio
async def test_the_admin_uses_the_topology(secured: BinaryServer, admin: Client) -> None:
    ack = await admin.jetstream().publish(subjects.agent_heartbeat("a1"), b"{}")
    assert ack.stream == "agent_events"
    names = await admin.jsm().streams_info()
    assert {s.config.name for s in names} >= {"agent_events", "task_lifecycle"}


@pytest.mark.asyncio
async def test_a_client_without_credentials_is_refused(secured: BinaryServer) -> None:
    await refused(secured.client_url)


@pytest.mark.asyncio
async def test_the_files_are_in_the_servers_temp_dir(secured: BinaryServer) -> None:
    directory = secured.credentials_dir
    assert directory is not None and directory.parent == secured.temp_dir
    assert directory.stat().st_mode & 0o077 == 0  # private
    assert any(directory.iterdir())


@pytest.fixture(scope="module", params=WITH_USERS, ids=lambda p: f"{p[0]}+{p[1]}")
def with_users(request: pytest.FixtureRequest) -> Iterator[BinaryServer]:
    with secured_server(*request.param) as server:
        yield server


IMPERSONATIONS = [
    subjects.agent_status("a2", "idle"),
    subjects.agent_heartbeat("a2"),
    "cli.hooks.pre_task.a2",
    "agent.a2.pre",
]


@pytest.mark.asyncio
async def test_an_agent_cannot_act_as_another(with_users: BinaryServer) -> None:
    """a1 publishing as a2 and reading a2's commands and responses: each denied and reported."""
    errors: list[str] = []
    a1 = await connect(with_users, "agent:a1", errors)
    try:
        await a1.publish(subjects.agent_heartbeat("a1"), b"{}")  # its own: fine
        for subject in IMPERSONATIONS:
            await a1.publish(subject, b"{}")
        for subject in (subjects.agent_commands("a2", "stop"), "cli.responses.a2"):
            await a1.subscribe(subject)
        await a1.flush()
        deadline = asyncio.get_running_loop().time() + 5
        while len(errors) < 6 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
    finally:
        await a1.close()
    denied = sorted(e.split('"')[1] for e in errors if "permissions violation" in e)
    assert denied == sorted(
        [*IMPERSONATIONS, subjects.agent_commands("a2", "stop"), "cli.responses.a2"]
    )


@pytest.mark.asyncio
async def test_an_agent_pulls_its_tasks_from_the_work_queue(with_users: BinaryServer) -> None:
    """The JetStream API it is given is enough to pull from task_processor and ack."""
    errors: list[str] = []
    admin = await connect(with_users, "admin")
    a1 = await connect(with_users, "agent:a1", errors)
    try:
        await admin.jetstream().publish("tasks.analysis.assignment", b"{}")
        sub = await a1.jetstream().pull_subscribe_bind("task_processor", "task_lifecycle")
        (msg,) = await sub.fetch(1, timeout=5)
        await msg.ack_sync()
    finally:
        await a1.close()
        await admin.close()
    assert errors == []


def test_an_identity_that_is_no_role_says_which_exist(with_users: BinaryServer) -> None:
    with pytest.raises(ConfigError, match=r"identity 'root' is not one of: admin, agent:<id>"):
        with_users.connect_options("root")


@pytest.fixture(scope="module")
def by_auth() -> Iterator[dict[str, BinaryServer]]:
    """One server per auth, for the tests that use several (refusals outlive a test's loop)."""
    with (
        BinaryServer(security=Security("password")) as password,
        BinaryServer(security=Security("nkey")) as nkey,
        BinaryServer(security=Security("jwt", agents=("a1", "a2"))) as jwt,
    ):
        yield {"password": password, "nkey": nkey, "jwt": jwt}


@pytest.mark.asyncio
async def test_wrong_credentials_are_refused(by_auth: dict[str, BinaryServer]) -> None:
    one, other = by_auth["password"], by_auth["nkey"]
    wrong: dict[str, Any] = {**one.connect_options("admin"), "password": "not-it"}
    assert "Authorization Violation" in str(await refused(one.client_url, **wrong))
    stranger = other.connect_options("admin")  # an nkey the first server does not know
    seed = stranger["nkeys_seed_str"]
    exc = await refused(one.client_url, nkeys_seed_str=seed)
    assert "Authorization Violation" in str(exc)


@pytest.mark.asyncio
async def test_tls_refuses_clients_that_do_not_trust_the_ca_or_have_no_certificate() -> None:
    with BinaryServer(security=Security("none", "mtls")) as server:
        untrusting = ssl.create_default_context()  # the system's CAs, not ours
        with pytest.raises(ssl.SSLError):
            await nats.connect(server.client_url, tls=untrusting, **QUICK)
        assert server.material is not None
        no_cert = server.material.ssl_context(None)  # trusts the CA, shows no certificate
        with pytest.raises((nats.errors.Error, ssl.SSLError, OSError)):
            await nats.connect(server.client_url, tls=no_cert, tls_hostname="localhost", **QUICK)


def test_a_profile_that_does_not_exist_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="auth: 'kerberos' is not one of none, token"):
        Security("kerberos")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="external server is secured by whoever runs it"):
        start("external", url="nats://127.0.0.1:1", security=Security("nkey"))


@pytest.mark.asyncio
async def test_an_expired_or_revoked_jwt_is_refused(
    tmp_path: Path, by_auth: dict[str, BinaryServer]
) -> None:
    from simulator.protocol.permissions import identity
    from simulator.servers.security import user_creds

    server = by_auth["jwt"]
    material = server.material
    assert material is not None and material.operator is not None
    expired = tmp_path / "expired.creds"
    expired.write_text(user_creds(material.operator, identity("agent:a1"), expires=1)[0])
    exc = await refused(server.client_url, user_credentials=str(expired))
    assert "Authorization Violation" in str(exc) or "expired" in str(exc).lower()
    a2 = await nats.connect(server.client_url, **server.connect_options("agent:a2"), **QUICK)
    await a2.close()  # a2 could connect before the revocation
    material.revoke("agent:a2")
    server.reload()
    exc = await refused(server.client_url, **server.connect_options("agent:a2"))
    assert "Authorization Violation" in str(exc) or "revoked" in str(exc).lower()


@pytest.mark.asyncio
async def test_an_agent_unknown_at_the_start_gets_credentials_on_demand(
    with_users: BinaryServer,
) -> None:
    errors: list[str] = []
    a9 = await connect(with_users, "agent:a9", errors)
    try:
        await a9.publish(subjects.agent_heartbeat("a9"), b"{}")
        await a9.publish(subjects.agent_heartbeat("a2"), b"{}")
        await a9.flush()
        deadline = asyncio.get_running_loop().time() + 5
        while not errors and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
    finally:
        await a9.close()
    assert errors == ['nats: permissions violation for publish to "agents.a2.heartbeat"']
