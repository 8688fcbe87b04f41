"""The `mistersmith` command, in-process and as `python -m simulator`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.protocol.models import MODELS


def test_lint_ours_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """Our topology has no error; on one node the clamps are reported as infos."""
    assert main(["topology", "lint"]) == 0
    out = capsys.readouterr().out
    assert "0 error(s)" in out
    assert "replicas-exceed-cluster (ERRATA 2)" in out
    assert main(["topology", "lint", "--cluster-size", "3"]) == 0
    assert "0 error(s), 0 warning(s), 0 info(s)" in capsys.readouterr().out


def test_lint_spec_exits_1_naming_the_subject(capsys: pytest.CaptureFixture[str]) -> None:
    """The spec as written has errors, and the output names system.>.health."""
    assert main(["topology", "lint", "--spec"]) == 1
    out = capsys.readouterr().out
    assert "system.>.health" in out
    assert "invalid-subject (ERRATA 3)" in out
    assert "fix: use 'system.health.>'" in out


def test_lint_max_payload_option(capsys: pytest.CaptureFixture[str]) -> None:
    """--max-payload judges the streams against another server's max_payload (ERRATA 7)."""
    assert main(["topology", "lint", "--cluster-size", "3", "--max-payload", "1048576"]) == 1
    out = capsys.readouterr().out
    assert "max-msg-size-over-payload (ERRATA 7)" in out
    assert "task_lifecycle" in out


def test_show_lists_the_taxonomy(capsys: pytest.CaptureFixture[str]) -> None:
    """show prints the coverage table and the streams and consumers."""
    assert main(["topology", "show", "--cluster-size", "1"]) == 0
    out = capsys.readouterr().out
    assert "system.alerts.{severity}" in out
    assert "system.alerts.severity" in out
    assert "system_alerting" in out
    assert "event_processor" in out
    assert "clamped" in out
    assert main(["topology", "show", "--spec"]) == 0
    assert "system.>.health" in capsys.readouterr().out


@pytest.mark.parametrize("columns", [80, 250])
def test_show_is_whole_at_any_width(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns the tables stack; wide, they are tables: no line too long, nothing cut."""
    from simulator.protocol import topology as topo
    from simulator.protocol.subjects import TEMPLATES

    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["topology", "show"]) == 0
    out = capsys.readouterr().out
    assert "\u2026" not in out  # rich's ellipsis
    assert max(len(line) for line in out.splitlines()) <= columns
    assert ("\u2503 template" in out) is (columns > 80)  # a table header, or stacked rows
    words = set(out.replace(",", " ").split())
    for template in TEMPLATES:
        assert {template.name, template.pattern, template.example()} <= words
    for stream in topo.default_topology().streams:
        assert {str(stream.name), *(stream.subjects or ())} <= words


def test_malformed_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad file prints one line naming file:line and key, no traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text("streams:\n  s:\n    subjects: [a]\n    max_age: 7 days\n")
    assert main(["topology", "lint", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"mistersmith: {path}:4: streams.s.max_age: '7 days'")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown commands and bad options are argparse usage errors."""
    assert main(["bogus"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["topology"]) == 2
    assert main(["topology", "lint", "--cluster-size", "0"]) == 2
    assert main(["topology", "lint", "--spec", "x.yaml"]) == 2
    assert "not allowed with" in capsys.readouterr().err


def test_schemas_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """schemas export writes the models' JSON schemas and lists them."""
    target = tmp_path / "schemas"
    assert main(["schemas", "export", str(target)]) == 0
    out = capsys.readouterr().out
    written = sorted(target.glob("*.json"))
    assert sorted(p.name for p in written) == sorted(f"{name}.schema.json" for name in MODELS)
    for path in written:
        assert str(path) in out
        json.loads(path.read_text())


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_dash_m(tmp_path: Path) -> None:
    """`python -m simulator` is the same command, with the same exit codes and one-line errors."""
    ours = _run("topology", "lint")
    assert (ours.returncode, ours.stderr) == (0, "")
    spec = _run("topology", "lint", "--spec")
    assert spec.returncode == 1
    assert "system.>.health" in spec.stdout

    path = tmp_path / "bad.yaml"
    path.write_text("streams:\n  s:\n    subjects: [a]\n    max_agee: 7d\n")
    bad = _run("topology", "lint", str(path))
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    (line,) = bad.stderr.splitlines()
    assert line.startswith(f"mistersmith: {path}:4: streams.s.max_agee: unknown key (known: ")


def test_permissions_show_prints_an_identitys_lists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["permissions", "show", "--role", "agent:a1"]) == 0
    out = capsys.readouterr().out
    assert "agents.a1.heartbeat" in out and "_INBOX.agent-a1.>" in out
    assert "agents.a2" not in out and "agents.*.heartbeat" not in out
    assert main(["permissions", "show"]) == 0
    out = capsys.readouterr().out
    for name in ("admin", "agent:a1", "dispatcher", "monitor", "hook_responder", "operator"):
        assert name in out


def test_permissions_show_refuses_an_unknown_role(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["permissions", "show", "--role", "root"]) == 2
    assert "identity 'root' is not one of" in capsys.readouterr().err
