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
