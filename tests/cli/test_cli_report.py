"""`mistersmith report`: saved JSON reports to one HTML page; one line for a bad report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli import main
from tests.reports import synthetic_report
from tests.swarm.test_html import external_references


def _save(path: Path, seconds: float, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(synthetic_report(seconds, seed=seed)), encoding="utf-8")
    return path


def test_one_report_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _save(tmp_path / "run.json", 30, 1)
    out = tmp_path / "run.html"
    assert main(["report", str(run), "--html", str(out)]) == 0
    assert f"HTML report written to {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert external_references(page) == [] and page.count('<div class="run"') == 1


def test_two_reports_side_by_side_named_by_their_paths(tmp_path: Path) -> None:
    before = _save(tmp_path / "before" / "run.json", 30, 1)
    after = _save(tmp_path / "after" / "run.json", 40, 2)
    out = tmp_path / "ab.html"
    assert main(["report", str(before), str(after), "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count('<div class="run"') == 2
    assert str(before) in page and str(after) in page  # the same file name: the paths tell


def test_three_reports_are_one_too_many(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _save(tmp_path / "run.json", 5, 1)
    code = main(["report", str(run), str(run), str(run), "--html", str(tmp_path / "x.html")])
    assert code == 2
    assert "3 reports given; at most 2" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_an_older_report_is_one_line_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = synthetic_report(5)
    del old["timeline"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert main(["report", str(path), "--html", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mistersmith: {path}: key 'timeline' missing") and err.count("\n") == 1


def test_html_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "run.json"]) == 2
    assert "--html" in capsys.readouterr().err


def test_run_html_without_matplotlib_says_so_before_running(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    assert main(["run", "--duration", "1", "--html", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err == "mistersmith: --html: needs matplotlib: pip install 'pytest-mistersmith[html]'\n"
