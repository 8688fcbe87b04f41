"""A secured server's credentials directory read back by another process (a spread run's
workers): admin and each agent connect as themselves; a wrong directory is one line."""

from __future__ import annotations

import contextlib
from pathlib import Path

import nats
import nats.errors
import pytest

from simulator.errors import ConfigError
from simulator.servers.credentials_dir import CredentialsDir
from simulator.servers.security import Auth, TlsMode
from tests.secured import secured_server


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("auth", "tls"),
    [("password", "off"), ("nkey", "tls"), ("jwt", "off"), ("token", "tls"), ("nkey", "mtls")],
)
async def test_admin_and_agents_connect_from_the_directory(auth: Auth, tls: TlsMode) -> None:
    with secured_server(auth, tls) as server:
        assert server.credentials_dir is not None
        directory = CredentialsDir(server.credentials_dir)
        assert (directory.security.auth, directory.security.tls) == (auth, tls)
        admin = await nats.connect(server.client_url, **directory.connect_options())
        (options,) = directory.agent_options(["a1"])
        agent = await nats.connect(server.client_url, **options)
        try:
            heard = await admin.subscribe("agents.a1.>")
            await admin.flush()
            got = None
            for _ in range(25):  # a denied publish is never heard; a lost first one is retried
                await agent.publish("agents.a1.status", b"{}")
                await agent.flush()
                with contextlib.suppress(nats.errors.TimeoutError):
                    got = await heard.next_msg(timeout=0.2)
                    break
            assert got is not None and got.subject == "agents.a1.status"
        finally:
            await agent.close()
            await admin.close()


def test_a_directory_that_is_not_one_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        CredentialsDir(tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"no admin credentials and no ca\.pem"):
        CredentialsDir(tmp_path)
    (tmp_path / "admin.nk").write_text("SU...\n")
    with pytest.raises(ConfigError, match=r"cannot read agent-a9\.nk"):
        CredentialsDir(tmp_path).agent_options(["a9"])
