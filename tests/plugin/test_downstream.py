"""What a downstream suite meets: a teardown that waits, a noisy log, a forgotten fixture."""

from __future__ import annotations

import re
from collections import Counter

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


# -- the server log in a failure report --------------------------------------------------------
def _log_sections(output: str) -> dict[str, list[str]]:
    """The report's "nats-server log" sections, by test and section title."""
    sections: dict[str, list[str]] = {}
    test, current = "", None
    for line in output.splitlines():
        failure = re.match(r"^_+ (test_\w+) _+$", line)
        if failure:
            test, current = failure[1], None
            continue
        header = re.match(r"^-+ (nats-server log \(.*\)) -+$", line)
        if header:
            current = sections.setdefault(f"{test}: {header[1]}", [])
        elif re.match(r"^(-{3,}|_{3,}|={3,}) ", line):
            current = None
        elif current is not None:
            current.append(line)
    return sections


def test_a_failure_shows_the_log_of_the_test_not_the_start_up(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(ini())
    pytester.makepyfile(test_logs=example("log_suite.py"))
    result = pytester.runpytest_subprocess(*FAST, "--nats-log-level", "debug", timeout=180)
    result.assert_outcomes(passed=1, failed=4)
    sections = _log_sections(result.stdout.str())
    by_test = {
        name: [k for k in sections if k.startswith(name)]
        for name in ("test_2", "test_3", "test_4", "test_5")
    }
    assert [len(v) for v in by_test.values()] == [1, 1, 1, 3], list(sections)
    for title, lines in sections.items():
        text = "\n".join(lines)
        assert len(lines) <= 42, (title, text)  # 40, a heading and the "more" line at most
        assert "Starting nats-server" not in text and "_ ___ _____" not in text, (title, text)
        assert "Server is ready" not in text, (title, text)
    error = sections[by_test["test_2"][0]]
    assert error[0] == "warnings and errors since the test started (1):"
    assert error[1].endswith("authentication error") and "[ERR]" in error[1]
    assert error[2].startswith("lines logged since the test started (")
    many = sections[by_test["test_3"][0]]
    assert "authentication error" in many[1]
    assert re.match(r"^\.\.\. \d+ lines more in /.*nats\.log$", many[-1]), many[-1]
    restart = sections[by_test["test_4"][0]]
    assert any(re.search(r"\[INF\] \(nats-server started: \d+ lines\)$", x) for x in restart)
    for title in by_test["test_5"]:  # a restarted node's health checks: each said once
        said = Counter(
            re.sub(r"  \(x\d+\)$", "", x.split(" [WRN] ")[-1])
            for x in sections[title]
            if "Healthcheck failed" in x
        )
        assert all(n <= 2 for n in said.values()), said  # in the warnings and the latest lines


def _line(second: int, level: str, message: str, pid: int = 7) -> str:
    return f"[{pid}] 2026/01/01 10:00:{second:02d}.000000 [{level}] {message}"


def test_the_log_shown_is_bounded_and_puts_problems_first() -> None:
    from pytest_mistersmith._report import format_log

    banner = [_line(1, "INF", "Starting nats-server"), *(_line(1, "INF", "x") for _ in range(26))]
    banner.append(_line(1, "INF", "Server is ready"))
    checks = [_line(2, "WRN", 'Healthcheck failed: "recovering"') for _ in range(40)]
    chatter = [_line(3, "DBG", f"client {i}") for i in range(60)]
    lines = [*banner, *checks, _line(4, "ERR", "authentication error"), *chatter]
    shown = format_log(lines, "/tmp/x/nats.log").splitlines()
    assert len(shown) <= 40
    assert shown[0] == "warnings and errors since the test started (2):"
    assert shown[1].endswith('Healthcheck failed: "recovering"  (x40)')
    assert shown[2].endswith("[ERR] authentication error")
    assert shown[3].startswith("lines logged since the test started (63, ")
    assert shown[-2].endswith("client 59")
    assert re.fullmatch(r"\.\.\. \d+ lines more in /tmp/x/nats\.log", shown[-1])
    assert not any("Starting nats-server" in x for x in shown)
    started = format_log([*banner, _line(5, "INF", "after")], "where")
    assert "(nats-server started: 28 lines)" in started
    assert (
        format_log([], "/x.log") == "(nothing logged since the test started; the whole log: /x.log)"
    )
