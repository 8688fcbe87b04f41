"""The bridge against a secured server: an agent identity's credentials and TLS from files
(the server's ``credentials_dir``), and the catalogue's permissions enforced by the server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
import pytest_asyncio

from simulator.agents.hooks import HookResponder
from simulator.servers import BinaryServer
from simulator.swarm.scenario import HookPolicy
from tests.bridge.hooks import policy, run_hook, sample
from tests.secured import secured_server

PRE = sample("PreToolUse")

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module", params=[("nkey", "tls"), ("password", "mtls")], ids=str)
def secured(request: pytest.FixtureRequest) -> Iterator[BinaryServer]:
    with secured_server(*request.param) as server:
        yield server


@pytest_asyncio.fixture
async def responder(secured: BinaryServer) -> AsyncIterator[HookResponder]:
    client = await nats.connect(secured.client_url, **secured.connect_options("hook_responder"))
    service = HookResponder(client, HookPolicy(), seed=0, decide=policy)
    await service.start()
    yield service
    await service.stop()
    await client.close()


def agent_options(server: BinaryServer, agent: str) -> list[str]:
    """The command-line options of ``agent:<agent>``, from the server's credentials files."""
    files = server.credentials_dir
    assert files is not None and server.material is not None
    user = f"agent-{agent}"
    options = ["--tls-ca", str(files / "ca.pem"), "--tls-hostname", "localhost"]
    if server.material.security.tls == "mtls":
        options += [
            "--tls-cert",
            str(files / f"{user}.pem"),
            "--tls-key",
            str(files / f"{user}.key"),
        ]
    elif server.material.security.auth == "nkey":
        options += ["--nkey-seed", str(files / f"{user}.nk")]
    else:
        options += ["--user", user, "--password-file", str(files / f"{user}.password")]
    return options


async def test_an_agent_identity_gets_its_answer(
    secured: BinaryServer, responder: HookResponder
) -> None:
    options = agent_options(secured, "a1")
    code, out, err = await run_hook(secured.client_url, PRE, "--agent-id", "a1", *options)
    assert (code, err) == (0, "")
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert [e.agent_id for e in responder.events] == ["a1"]


async def test_another_agents_subjects_are_denied_and_the_hook_fails_closed(
    secured: BinaryServer, responder: HookResponder
) -> None:
    options = agent_options(secured, "a1")
    code, out, err = await run_hook(
        secured.client_url, PRE, "--agent-id", "a2", "--timeout", "1", *options
    )
    assert (code, out) == (2, "")
    assert "denied (--on-failure deny)" in err
    assert responder.events == []  # the server dropped a1's publish as agent a2


async def test_no_credentials_fail_closed(secured: BinaryServer) -> None:
    code, out, err = await run_hook(secured.client_url, PRE, "--timeout", "2")
    assert (code, out) == (2, "")
    assert "cannot reach NATS" in err


async def test_a_missing_credentials_file_is_named(secured: BinaryServer) -> None:
    code, _, err = await run_hook(secured.client_url, PRE, "--nkey-seed", "/nonexistent.nk")
    assert code == 2
    assert "--nkey-seed /nonexistent.nk: No such file or directory" in err
