"""The client fixtures under pytest-asyncio's strict and auto modes, and on a session loop."""

from __future__ import annotations

import pytest

from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]

MODES = ["strict", "auto"]


@pytest.fixture(autouse=True)
def inner_tmp(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the inner session's server temp dirs and pid records in the pytester dir."""
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))


def add_loops_suite(pytester: pytest.Pytester, mode: str) -> None:
    """The function-scoped suite; marked for strict mode, left unmarked for auto mode."""
    source = example("loops_suite.py")
    if mode == "strict":
        source += "\n\npytestmark = pytest.mark.asyncio\n"
        source = source.replace("import asyncio\n", "import asyncio\n\nimport pytest\n", 1)
    pytester.makepyfile(test_loops=source)


def check_loops_suite(result: pytest.RunResult, passed: int) -> None:
    """Everything passed but the capture that must fail, which names subject, payload, fields."""
    result.assert_outcomes(passed=passed, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_capture_fails_on_a_message_that_does_not_fit*",
            "*1 message(s) on agents.*.status do not fit AgentStatus:",
            "*subject agents.a2.status",
            '*payload {"agent_id": "a2"}',
            "*status: Field required [[]missing[]]",
        ]
    )


@pytest.mark.parametrize("mode", MODES)
def test_function_scoped_fixtures(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makeini(ini())
    add_loops_suite(pytester, mode)
    result = pytester.runpytest_subprocess(*FAST, f"--asyncio-mode={mode}", timeout=60)
    check_loops_suite(result, passed=5)


@pytest.mark.parametrize("mode", MODES)
def test_session_scoped_client_recipe(pytester: pytest.Pytester, mode: str) -> None:
    """The README recipe, beside function-scoped clients in the same session."""
    pytester.makeini(ini())
    pytester.makeconftest(example("session_client_conftest.py"))
    pytester.makepyfile(test_session=example("session_client_suite.py"))
    add_loops_suite(pytester, mode)
    result = pytester.runpytest_subprocess(*FAST, f"--asyncio-mode={mode}", timeout=60)
    check_loops_suite(result, passed=5 + 5)
    result.stdout.fnmatch_lines(["test_session.py .....*"])
