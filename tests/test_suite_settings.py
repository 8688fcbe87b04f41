"""The suite's own settings: a hung test fails by name instead of stalling the run."""

from __future__ import annotations

import pytest

from tests.examples import FAST, ini

pytest_plugins = ["pytester"]

HUNG = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_hangs() -> None:
    await asyncio.Event().wait()


def test_passes() -> None:
    pass
"""


def test_the_suite_has_a_timeout_that_names_the_failing_test(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) >= 60  # generous: the slowest test takes ~10 s
    assert pytestconfig.getini("timeout_method") == "signal"  # the test fails, the run goes on


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_hung_test_fails_by_name_in_the_summary(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makeini(ini(timeout="1", timeout_method="signal"))
    pytester.makepyfile(test_hung=HUNG)
    result = pytester.runpytest_subprocess(*FAST, "-ra", *workers, timeout=60)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED test_hung.py::test_hangs - Failed: Timeout (>1.0s) from pytest-timeout."]
    )
