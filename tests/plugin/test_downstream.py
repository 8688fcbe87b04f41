"""What a downstream suite meets: a teardown that waits, a noisy log, a forgotten fixture."""

from __future__ import annotations

import pytest

from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]


def test_a_drain_that_cannot_finish_warns_naming_the_subscription(
    pytester: pytest.Pytester,
) -> None:
    """nats-py's drain waits 30 s on a pull subscription whose fetch() timed out; ours warns."""
    pytester.makeini(ini())
    pytester.makepyfile(test_teardown=example("teardown_suite.py"))
    result = pytester.runpytest_subprocess(*FAST, "-v", timeout=120)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_leaves_it_open PASSED*",
            "*test_leaves_it_open ERROR*",
            "*test_closes_it PASSED*",
            "*OpenSubscriptionWarning: nats_client: the client's drain did not finish within 2 s*"
            "still open: _INBOX.* (1 message never read; *pull subscription*"
            "`await sub.unsubscribe()`*",
        ]
    )
    assert "DrainTimeoutError" not in result.stdout.str()
    assert "never retrieved" not in result.stdout.str()


# -- --mistersmith-autouse-topology / mistersmith_autouse_topology ---------------------------
def test_order_dependence_passes_after_the_topology_and_fails_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(ini())
    pytester.makepyfile(test_order=example("order_suite.py"))
    pytester.runpytest_subprocess(*FAST, timeout=60).assert_outcomes(passed=2)
    alone = pytester.runpytest_subprocess(*FAST, "-k", "forgets", timeout=60)
    alone.assert_outcomes(failed=1, deselected=1)
    alone.stdout.fnmatch_lines(
        [
            "*NoStreamResponseError*",
            "*- mistersmith: a stream is missing -*",
            "no stream stores the subject published to (NoStreamResponseError): this test did "
            "not use the mistersmith_topology fixture*"
            "Fix: add mistersmith_topology to the test's arguments, or set the ini key "
            "mistersmith_autouse_topology = true (--mistersmith-autouse-topology).",
        ]
    )


@pytest.mark.parametrize("source", ["cli", "ini"])
def test_autouse_topology_gives_the_forgetful_test_its_streams(
    pytester: pytest.Pytester, source: str
) -> None:
    pytester.makepyfile(test_order=example("order_suite.py"))
    if source == "ini":
        pytester.makeini(ini(mistersmith_autouse_topology="true"))
        args: tuple[str, ...] = ()
    else:
        pytester.makeini(ini())
        args = ("--mistersmith-autouse-topology",)
    result = pytester.runpytest_subprocess(*FAST, *args, "-k", "forgets", timeout=60)
    result.assert_outcomes(passed=1, deselected=1)


def test_autouse_topology_leaves_tests_off_the_server_alone(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini(mistersmith_autouse_topology="true"))
    pytester.makepyfile(
        test_plain="from pytest_mistersmith.factories.server import SERVERS_KEY\n"
        "def test_plain(request):\n"
        "    assert request.config.stash.get(SERVERS_KEY, []) == []\n"
    )
    pytester.runpytest_subprocess(*FAST, timeout=60).assert_outcomes(passed=1)
