"""Under pytest-xdist every worker has its own server: ``pytest -n 2`` passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]


def test_two_workers_get_two_servers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    pytester.makeini(ini())
    pytester.makepyfile(test_parallel=example("parallel_suite.py"))
    result = pytester.runpytest_subprocess(*FAST, "-n", "2", timeout=120)
    result.assert_outcomes(passed=8)

    records = [json.loads(p.read_text()) for p in (pytester.path / "workers").glob("*.json")]
    assert len(records) == 8
    url_of: dict[str, set[str]] = {}
    for record in records:
        url_of.setdefault(record["worker"], set()).add(record["client_url"])
    assert sorted(url_of) == ["gw0", "gw1"]
    # One server per worker for the whole session, and not the same one.
    assert all(len(urls) == 1 for urls in url_of.values())
    assert url_of["gw0"] != url_of["gw1"]
    # Both servers were stopped and their temp dirs removed at the workers' teardown.
    assert [p.name for p in Path(tmp).glob("mistersmith-nats-*")] == []


def test_what_a_worker_built_on_demand_is_said_once_in_the_summary(
    pytester: pytest.Pytester,
) -> None:
    """A line the simulator said in a worker's test (as if it built an image) reaches the
    controller's terminal summary: reports cross xdist as data."""
    pytester.makeini(ini())
    pytester.makepyfile(
        """
        from simulator.servers import image

        def test_builds():
            image._notes.append("mistersmith: built it on demand (once)")

        def test_other():
            pass
        """
    )
    result = pytester.runpytest_subprocess(*FAST, "-n", "2", timeout=120)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["mistersmith: built it on demand (once)"])
    assert result.stdout.str().count("built it on demand") == 1
