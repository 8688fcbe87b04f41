"""The suite's own settings: a hung test fails by name; under CI nothing it needs is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.servers._docker_cli import docker_available
from tests.examples import FAST, ini
from tests.prerequisites import missing, under_ci

ROOT = Path(__file__).resolve().parent.parent

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


@pytest.mark.parametrize(
    ("value", "ci"), [("true", True), ("1", True), ("", False), ("false", False), (None, False)]
)
def test_under_ci_is_the_ci_variable(
    monkeypatch: pytest.MonkeyPatch, value: str | None, ci: bool
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert under_ci() is ci


def test_a_missing_prerequisite_skips_outside_ci_and_fails_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^the schema is not there: install it$"):
        missing("the schema is not there", "install it")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^CI=true and the schema is not there: "):
        missing("the schema is not there", "install it")


NEEDS_DOCKER = """
import pytest


@pytest.mark.docker
def test_needs_docker() -> None:
    pass
"""


@pytest.mark.parametrize("ci", [False, True], ids=["developer", "ci"])
def test_under_ci_a_missing_docker_engine_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: bool
) -> None:
    """The repository's conftest, in an inner session where no engine answers."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-engine.sock")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the conftest imports tests.prerequisites
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    assert docker_available() is not None
    pytester.makeini(ini(markers="docker: needs a Docker engine"))
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_docker=NEEDS_DOCKER)
    result = pytester.runpytest_subprocess(*FAST, "-rs", timeout=60)
    if ci:
        result.assert_outcomes(errors=1)  # a setup failure: the test never ran
        result.stdout.fnmatch_lines(["*this test needs Docker and --nats-require-docker*"])
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*needs a Docker engine*"])
