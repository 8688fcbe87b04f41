"""The contract options in inner pytest sessions: examples per check, the CI profile, reports.

Inner sessions run in a subprocess with ``tests/responders.py`` copied beside their test file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import responders
from tests.examples import FAST, ini

pytest_plugins = ["pytester"]

SOURCES = ["cli", "ini"]

COUNTING = """
import pytest
from hypothesis import settings

from pytest_mistersmith.contracts import COMMAND_TO_REPLY
from responders import Responder


@pytest.mark.asyncio
async def test_cases(nats_server, mistersmith_contracts):
    async with Responder(nats_server.client_url, "command") as responder:
        await mistersmith_contracts.check(COMMAND_TO_REPLY, settings=settings(database=None))
    print(f"cases: {responder.handled}")
    assert responder.handled == EXPECTED, responder.handled
"""

BROKEN = """
import pytest

from pytest_mistersmith.contracts import ASSIGNMENT_TO_RESULT
from responders import Responder


@pytest.mark.asyncio
async def test_assignments(nats_server, mistersmith_contracts):
    async with Responder(nats_server.client_url, "assignment", "missing-result"):
        await mistersmith_contracts.check(ASSIGNMENT_TO_RESULT, timeout=0.2)
"""


@pytest.fixture(autouse=True)
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner session's TMPDIR, and the responders beside its tests."""
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    pytester.makepyfile(responders=Path(responders.__file__).read_text())


def run(pytester: pytest.Pytester, *args: str, fast: bool = True) -> pytest.RunResult:
    """Run the inner session in a subprocess (with hypothesis' pytest plugin unless ``fast``)."""
    plugins = FAST if fast else ("-p", "no:faker", "-p", "no:cacheprovider")
    return pytester.runpytest_subprocess(*plugins, "-s", *args, timeout=120)


@pytest.mark.parametrize("source", SOURCES)
def test_examples_sets_the_cases_per_check(pytester: pytest.Pytester, source: str) -> None:
    pytester.makepyfile(test_inner=COUNTING.replace("EXPECTED", "7"))
    if source == "ini":
        pytester.makeini(ini(mistersmith_examples="7"))
        result = run(pytester)
    else:
        pytester.makeini(ini())
        result = run(pytester, "--mistersmith-examples", "7")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*cases: 7*"])


def test_the_cli_wins_over_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=COUNTING.replace("EXPECTED", "3"))
    pytester.makeini(ini(mistersmith_examples="9"))
    run(pytester, "--mistersmith-examples", "3").assert_outcomes(passed=1)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("value", ["0", "many"])
def test_a_bad_examples_value_is_a_usage_error(
    pytester: pytest.Pytester, source: str, value: str
) -> None:
    pytester.makepyfile(test_inner=COUNTING.replace("EXPECTED", "1"))
    if source == "ini":
        pytester.makeini(ini(mistersmith_examples=value))
        result = run(pytester)
    else:
        pytester.makeini(ini())
        result = run(pytester, "--mistersmith-examples", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--mistersmith-examples (ini mistersmith_examples) = '{value}' is not valid*"]
    )


def test_a_contract_failure_prints_payload_and_subject(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini())
    pytester.makepyfile(test_inner=BROKEN)
    result = run(pytester, "--mistersmith-examples", "5")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ContractViolation: contract 'assignment to result' broken: expected exactly one "
            "TaskResult on tasks.*.result or tasks.*.error, got none within 0.2 s",
            "*sent on tasks.*.assignment:",
            '*{"task_id":"*","task_type":"*","assigned_agent":"*","timestamp":"*"}',
            "*Failing test case: check_contract(",
            "*payload=b'{*",
        ]
    )


def test_the_ci_profile_prints_the_blob(pytester: pytest.Pytester) -> None:
    """``--hypothesis-profile mistersmith-ci``: registered by the hypothesis entry point."""
    pytester.makeini(ini())
    pytester.makepyfile(test_inner=BROKEN)
    result = run(pytester, "--hypothesis-profile", "mistersmith-ci", fast=False)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*Replay this failure with check_contract(..., reproduce=('*', b'*'))*"]
    )
