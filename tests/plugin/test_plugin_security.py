"""The fixtures on a secured server: --nats-auth and --nats-tls, as a downstream suite uses them."""

from __future__ import annotations

import pytest

from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    ("auth", "tls", "backend"),
    [
        ("nkey", "tls", "binary"),
        ("password", "off", "binary"),
        ("jwt", "mtls", "binary"),
        ("token", "off", "binary"),
        pytest.param("jwt", "tls", "docker", marks=pytest.mark.docker),
    ],
)
def test_every_fixture_works_on_a_secured_server(
    pytester: pytest.Pytester, auth: str, tls: str, backend: str
) -> None:
    pytester.makeini(ini(nats_auth=auth, nats_tls=tls, nats_backend=backend))
    pytester.makepyfile(test_secured=example("secured_suite.py"))
    result = pytester.runpytest_subprocess(*FAST, "-v", "-p", "hypothesispytest", timeout=120)
    outcomes = result.parseoutcomes()
    result.stdout.fnmatch_lines(
        [
            "*test_admin_fixtures_work PASSED*",
            "*test_the_swarm_and_a_contract_run PASSED*",
            "*cannot connect to nats://127.0.0.1:* as agent:a1: *",
        ]
    )
    if auth == "token":  # one shared secret: no identities, nothing is denied
        result.stdout.fnmatch_lines(["*test_an_agent_cannot_publish_as_another FAILED*"])
        assert outcomes.get("failed") == 2, result.stdout.str()
    else:
        result.stdout.fnmatch_lines(["*test_an_agent_cannot_publish_as_another PASSED*"])
        assert outcomes.get("failed") == 1, result.stdout.str()


CLUSTER_SUITE = """
import asyncio

import pytest
from pytest_mistersmith import factories
from simulator.protocol import subjects

on_cluster = factories.nats_client_factory("nats_cluster")
a1_on_cluster = factories.nats_client_factory("nats_cluster", identity="agent:a1")


@pytest.mark.asyncio
async def test_the_cluster_serves_its_admin(on_cluster):
    ack = await on_cluster.jetstream().publish(subjects.agent_heartbeat("a1"), b"{}")
    assert ack.stream == "agent_events"


@pytest.mark.asyncio
async def test_an_agent_is_confined_on_the_cluster(a1_on_cluster):
    denied = asyncio.get_running_loop().create_future()

    async def on_error(exc):
        if not denied.done():
            denied.set_result(str(exc))

    a1_on_cluster._error_cb = on_error
    await a1_on_cluster.publish(subjects.agent_heartbeat("a2"), b"{}")
    await a1_on_cluster.flush()
    assert "agents.a2.heartbeat" in await asyncio.wait_for(denied, 5)
"""


def test_the_cluster_fixture_is_secured_by_the_same_options(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini(nats_auth="nkey", nats_tls="tls"))
    pytester.makepyfile(test_cluster_secured=CLUSTER_SUITE)
    result = pytester.runpytest_subprocess(*FAST, "-v", timeout=180)
    result.assert_outcomes(passed=2)


def test_a_profile_on_an_external_server_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini(nats_auth="nkey", nats_url="nats://127.0.0.1:1"))
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess(*FAST, timeout=60)
    result.stderr.fnmatch_lines(["*--nats-auth nkey / --nats-tls off*not --nats-backend external*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_an_unknown_profile_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini(nats_auth="kerberos"))
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess(*FAST, timeout=60)
    result.stderr.fnmatch_lines(["*--nats-auth (ini nats_auth) = 'kerberos' is not valid*"])
