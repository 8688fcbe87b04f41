"""The fixtures on a secured server: --nats-auth and --nats-tls, as a downstream suite uses them."""

from __future__ import annotations

import pytest

from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    ("auth", "tls"), [("nkey", "tls"), ("password", "off"), ("jwt", "mtls"), ("token", "off")]
)
def test_every_fixture_works_on_a_secured_server(
    pytester: pytest.Pytester, auth: str, tls: str
) -> None:
    pytester.makeini(ini(nats_auth=auth, nats_tls=tls))
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
