"""Every plugin option, as a CLI flag and as an ini key, in inner pytest sessions (pytester).

Inner sessions run in a subprocess (the real entry point, as a user runs it) with ``TMPDIR``
pointed inside the pytester dir, so their servers' temp dirs and pid files stay there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.protocol.topology import default_topology
from simulator.servers import BinaryServer, find_nats_server, for_topology
from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]

USAGE_ERROR = pytest.ExitCode.USAGE_ERROR
Source = str  # "cli" or "ini"
SOURCES = ["cli", "ini"]


@pytest.fixture(autouse=True)
def inner_tmp(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The inner session's TMPDIR: its servers' temp dirs and pid records land here."""
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    return tmp


@pytest.fixture
def outer_server(tmp_path: Path) -> Iterator[BinaryServer]:
    """A server the outer test runs, sized for our topology: "someone else's" server."""
    config = for_topology(default_topology())
    with BinaryServer(config, base_dir=tmp_path, runtime_dir=tmp_path / "run") as server:
        yield server


def given(pytester: pytest.Pytester, source: Source, **options: str | bool) -> list[str]:
    """Give ``options`` as CLI flags or as ini keys; the CLI arguments to pass."""
    if source == "ini":
        keys = {k: ("true" if v is True else str(v)) for k, v in options.items()}
        pytester.makeini(ini(**keys))
        return []
    pytester.makeini(ini())
    args: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    return args


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the inner session in a subprocess."""
    return pytester.runpytest_subprocess(*FAST, *args, timeout=60)


def probe(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run the probe test (it must pass); what it recorded about ``nats_server``."""
    pytester.makepyfile(test_probe=example("probe.py"))
    result = run(pytester, *args)
    result.assert_outcomes(passed=1)
    facts: dict[str, Any] = json.loads((pytester.path / "probe.json").read_text())
    return result, facts


def header(result: pytest.RunResult) -> str:
    """The plugin's line of the report header."""
    lines = [line for line in result.outlines if line.startswith("mistersmith:")]
    assert len(lines) == 1, result.outlines[:12]
    return lines[0]


def monitor(server: BinaryServer, endpoint: str) -> dict[str, Any]:
    """One monitoring endpoint of ``server`` (varz, jsz, ...)."""
    with urllib.request.urlopen(f"{server.monitor_url}/{endpoint}", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
    return data


def server_id(server: BinaryServer) -> str:
    """The server_id the server reports on /varz."""
    return str(monitor(server, "varz")["server_id"])


# -- --nats-backend / nats_backend ------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_backend_bad_value_is_a_usage_error_listing_the_valid_ones(
    pytester: pytest.Pytester, source: Source
) -> None:
    pytester.makepyfile(test_x="def test_x(): pass")
    result = run(pytester, *given(pytester, source, nats_backend="podman"))
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["*--nats-backend (ini nats_backend) = 'podman' is not valid*"])
    result.stderr.fnmatch_lines(["*choose one of: binary, docker, external*"])


@pytest.mark.parametrize("source", SOURCES)
def test_backend_external_without_url_is_a_usage_error(
    pytester: pytest.Pytester, source: Source
) -> None:
    pytester.makepyfile(test_x="def test_x(): pass")
    result = run(pytester, *given(pytester, source, nats_backend="external"))
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["*--nats-backend external needs*--nats-url*"])


# -- --nats-server-bin / nats_server_bin ------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_server_bin_missing_errors_listing_the_places_looked(
    pytester: pytest.Pytester, source: Source
) -> None:
    missing = pytester.path / "no" / "nats-server"
    pytester.makepyfile(test_x="def test_x(nats_server): pass")
    result = run(pytester, *given(pytester, source, nats_server_bin=str(missing)))
    result.assert_outcomes(errors=1)
    assert "nats-server not found" in header(result)
    result.stdout.fnmatch_lines(
        [
            "*ServerBinaryError: no usable nats-server*Looked, in order:",
            "*1. binary argument: not set",
            f"*2. --nats-server-bin option / nats_server_bin ini key: {missing}: does not exist",
            "*3. NATS_SERVER_BIN environment variable:*",
        ]
    )
    # A binary named explicitly is never replaced by the one installed beside Python.
    result.stdout.fnmatch_lines(["*(not consulted)*", "*never replaced*"])


@pytest.mark.parametrize("source", SOURCES)
def test_server_bin_names_the_binary_the_server_runs(
    pytester: pytest.Pytester, source: Source
) -> None:
    real = find_nats_server(None, None, os.environ)
    alias = pytester.path / "bin" / "nats-server"  # a path no lookup would find by itself
    alias.parent.mkdir()
    alias.symlink_to(real.path)
    result, facts = probe(pytester, *given(pytester, source, nats_server_bin=str(alias)))
    assert facts["binary"] == str(alias)
    assert header(result) == (
        f"mistersmith: backend binary, {alias} (v{real.version}), topology topology.yaml"
    )


# -- --nats-url / nats_url --------------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_url_makes_nats_server_the_external_one(
    pytester: pytest.Pytester, source: Source, outer_server: BinaryServer
) -> None:
    url = outer_server.client_url
    result, facts = probe(pytester, *given(pytester, source, nats_url=url))
    assert facts["type"] == "ExternalServer"
    assert facts["client_url"] == url
    assert facts["server_id"] == server_id(outer_server)
    assert header(result) == f"mistersmith: backend external, url {url}, topology topology.yaml"
    # Not ours to stop: the server is still there and serving.
    assert outer_server.running
    assert server_id(outer_server) == facts["server_id"]


# -- --nats-keep-data / nats_keep_data --------------------------------------------------------
@pytest.mark.parametrize("source", [*SOURCES, "default"])
def test_keep_data_keeps_the_temp_dir(
    pytester: pytest.Pytester, source: Source, inner_tmp: Path
) -> None:
    if source == "default":
        pytester.makeini(ini())
        args: list[str] = []
    else:
        args = given(pytester, source, nats_keep_data=True)
    _, facts = probe(pytester, *args)
    temp_dir = Path(facts["temp_dir"])
    assert temp_dir.parent == inner_tmp
    if source == "default":
        assert not temp_dir.exists()
    else:
        assert (temp_dir / "nats.conf").is_file()
        assert (temp_dir / "nats.log").is_file()
        shutil.rmtree(temp_dir)


# -- --nats-allow-reset / nats_allow_reset ----------------------------------------------------
def test_reset_of_an_external_server_is_refused_by_default(
    pytester: pytest.Pytester, outer_server: BinaryServer
) -> None:
    pytester.makepyfile(test_topology=example("topology_probe.py"))
    result = run(pytester, *given(pytester, "cli", nats_url=outer_server.client_url))
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [f"*ResetRefusedError: refusing to purge the streams of {outer_server.client_url}*"]
    )
    result.stdout.fnmatch_lines(["*Pass --nats-allow-reset (ini nats_allow_reset = true)*"])


def test_a_refused_reset_leaves_the_external_server_untouched(
    pytester: pytest.Pytester, outer_server: BinaryServer
) -> None:
    pytester.makepyfile(test_topology=example("topology_probe.py"))
    result = run(pytester, *given(pytester, "cli", nats_url=outer_server.client_url))
    result.assert_outcomes(errors=2)
    jsz = monitor(outer_server, "jsz")
    assert (jsz["streams"], jsz["consumers"]) == (0, 0)


@pytest.mark.parametrize("source", SOURCES)
def test_allow_reset_resets_an_external_server(
    pytester: pytest.Pytester, source: Source, outer_server: BinaryServer
) -> None:
    pytester.makepyfile(test_topology=example("topology_probe.py"))
    args = given(pytester, source, nats_url=outer_server.client_url, nats_allow_reset=True)
    # Two rounds, each publishing one message and expecting an empty stream first.
    run(pytester, *args).assert_outcomes(passed=2)


# -- --nats-log-level / nats_log_level --------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_log_level_debug_reaches_the_server(pytester: pytest.Pytester, source: Source) -> None:
    _, facts = probe(pytester, *given(pytester, source, nats_log_level="debug"))
    assert "debug: true" in facts["conf"]
    assert "trace: false" in facts["conf"]
    assert "[DBG]" in facts["log"]
    assert "[TRC]" not in facts["log"]


def test_log_level_default_is_info(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini())
    _, facts = probe(pytester)
    assert "debug: false" in facts["conf"]
    assert "[INF]" in facts["log"]
    assert "[DBG]" not in facts["log"]


@pytest.mark.parametrize("source", SOURCES)
def test_log_level_bad_value_is_a_usage_error_listing_the_valid_ones(
    pytester: pytest.Pytester, source: Source
) -> None:
    pytester.makepyfile(test_x="def test_x(): pass")
    result = run(pytester, *given(pytester, source, nats_log_level="verbose"))
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["*nats_log_level*'verbose' is not valid*info, debug, trace*"])


# -- precedence: factory argument > CLI > ini > default ---------------------------------------
def test_cli_beats_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini(nats_log_level="trace"))
    _, facts = probe(pytester, "--nats-log-level", "debug")
    assert "debug: true" in facts["conf"]
    assert "trace: false" in facts["conf"]


def test_factory_argument_beats_cli(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini(nats_log_level="debug"))
    pytester.makeconftest(
        "from pytest_mistersmith import factories\n\n"
        'nats_server = factories.nats_server_factory(log_level="trace")\n'
    )
    _, facts = probe(pytester, "--nats-log-level", "info")
    assert "trace: true" in facts["conf"]
    assert "[TRC]" in facts["log"]


# -- what the report shows --------------------------------------------------------------------
def test_report_header_names_backend_binary_version_and_topology(
    pytester: pytest.Pytester,
) -> None:
    real = find_nats_server(None, None, os.environ)
    pytester.makeini(ini())
    pytester.makepyfile(test_x="def test_x(): pass")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert header(result) == (
        f"mistersmith: backend binary, {real.path} (v{real.version}), topology topology.yaml"
    )


def test_a_failing_test_report_carries_the_server_log(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini())
    pytester.makepyfile(test_failing=example("failing.py"))
    result = run(pytester, "-rN")
    result.assert_outcomes(passed=1, failed=1)
    sections = [line for line in result.outlines if "nats-server log (nats://127.0.0.1:" in line]
    assert len(sections) == 1, "only the failing test carries the log"
    body = result.outlines[result.outlines.index(sections[0]) + 1]
    # the start-up banner came before the test: what the test did is nothing, and where to look
    assert re.match(
        r"^\(nothing logged since the test started; the whole log: /.*nats\.log\)$", body
    )


def test_each_janitor_lets_go_of_its_server_before_the_server_stops(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(ini())
    suite = example("janitor_order.py")
    pytester.makepyfile(test_one=suite, test_two=suite)
    result = run(pytester)
    result.assert_outcomes(passed=6)
    stops = (pytester.path / "stops.txt").read_text().splitlines()
    assert sorted(stops) == ["module test_one 0", "module test_two 0", "session 0"]


def test_a_url_with_the_binary_backend_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess(
        "--nats-url", "nats://127.0.0.1:4222", "--nats-backend", "binary"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--nats-url nats://127.0.0.1:4222*needs --nats-backend external*"]
    )


def test_a_bool_option_set_in_ini_can_be_turned_off_on_the_command_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nnats_keep_data = true\n")
    pytester.makepyfile(
        """
        from pytest_mistersmith.config import CONFIG_KEY

        def test_keep(request):
            assert request.config.stash[CONFIG_KEY].keep_data is False
        """
    )
    result = pytester.runpytest_subprocess("--no-nats-keep-data")
    result.assert_outcomes(passed=1)
