"""The HTML report as a browser shows it: real runs' pages opened in headless Chromium.

Each page is written to a file and opened in Debian's ``chromium`` (``.ci/run`` installs it),
driven over the DevTools protocol on a pipe (:mod:`tests.chromium`: no port, no client library,
the network made unreachable so a stray request fails on the machine). The protocol, rather
than one-shot ``--dump-dom`` / ``--screenshot`` runs with ``--enable-logging`` scraped for
console lines: its events say which request and which error, typed, whatever the log format of
the version, and one browser loads the page once for every check. A page passes when

- it loads with no console error, uncaught exception or browser-logged error, and requests
  nothing but itself (every ``Network.requestWillBeSent`` is recorded);
- every chart of :data:`simulator.swarm._charts.CHARTS` is in the laid-out DOM for every run
  shown, as an SVG of a laptop's width whose paths have a non-empty bounding box, and fault
  windows and workers are drawn where the report has them;
- a full-page screenshot is not blank (many non-white pixels, many colours);
- each ``data-key`` cell, as Chromium renders its text, is the JSON report's number.

The pages: a real ``mistersmith run`` (plain), and the fake-clock reports of
:mod:`tests.reports` with fault windows and workers, alone and side by side (the run cannot make
faults or workers yet). Each check is also run on a page made to fail it. Without Chromium the
tests skip, saying how to install it; under CI they fail (:mod:`tests.prerequisites`).
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from simulator.swarm._charts import CHARTS
from simulator.swarm.html import load_report, write_html
from tests.chromium import Browser, Loaded, find_chromium, headless, leftovers
from tests.cli_runs import RUN_TIMEOUT, run_env
from tests.prerequisites import missing
from tests.reports import synthetic_report
from tests.swarm.test_html import FAULTS

WORKERS = {
    name: {"timeline": synthetic_report(60, seed=seed)["timeline"]}
    for name, seed in (("worker-a", 3), ("worker-b", 4))
}

# Per figure as laid out: its SVG's rendered size, its paths, how many have a non-empty box.
_FIGURES = """[...document.querySelectorAll('figure.chart')].map(f => {
  const svg = f.querySelector('svg'), box = svg ? svg.getBoundingClientRect() : null;
  const paths = svg ? [...svg.querySelectorAll('path')] : [];
  return {chart: f.dataset.chart, run: f.dataset.run, svg: !!svg,
          width: box ? box.width : 0, height: box ? box.height : 0, paths: paths.length,
          drawn: paths.filter(p => { const b = p.getBBox(); return b.width > 0 || b.height > 0; })
                      .length,
          text: svg ? svg.textContent : ''};
})"""
# The text of every data-key cell, per run, as rendered.
_CELLS = """[...document.querySelectorAll('.run')].map(run => Object.fromEntries(
  [...run.querySelectorAll('[data-key]')].map(c => [c.dataset.key, c.innerText.trim()])))"""
# Each fault window's shading: its laid-out width in pixels (0 where it is absent).
_SHADES = """Object.fromEntries([...document.querySelectorAll('[id*="-fault-"]')]
  .map(e => [e.id, e.getBoundingClientRect().width]))"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        missing(
            "chromium is not installed",
            "apt-get install chromium (Debian's package; .ci/run installs it)",
        )
    with headless(binary) as browser:
        yield browser


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A real 3-second run's JSON report and the HTML page ``mistersmith run --html`` wrote."""
    tmp = tmp_path_factory.mktemp("run")
    report, html = tmp / "run.json", tmp / "run.html"
    args = ["--agents", "3", "--duration", "3", "--seed", "1", "--report", str(report)]
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", *args, "--html", str(html)],
        capture_output=True,
        text=True,
        env=run_env(tmp),
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return load_report(report), html


def _page(tmp: Path, runs: list[tuple[str, dict[str, Any]]]) -> Path:
    return write_html(tmp / "page.html", runs)


def assert_loads_cleanly(page: Loaded) -> None:
    """No console error, no exception, no request but the page's own."""
    assert page.errors == [], page.errors
    assert page.requests == [page.url], page.requests


def assert_every_chart_drawn(page: Loaded, runs: int) -> list[dict[str, Any]]:
    """Every chart, once per run, an SVG of a laptop's width with visible paths."""
    figures: list[dict[str, Any]] = page.evaluate(_FIGURES)
    found = [(f["chart"], f["run"]) for f in figures]
    assert found == [(c.key, str(i)) for c in CHARTS for i in range(runs)], found
    for figure in figures:
        where = f"{figure['chart']} of run {figure['run']}"
        assert figure["svg"], f"{where}: no SVG"
        assert figure["width"] > 1000 / runs / 2 and figure["height"] > 50, (where, figure)
        assert figure["drawn"] > 10, (where, figure)  # axes, ticks, data
    return figures


def assert_not_blank(png: bytes) -> None:
    """A screenshot with ink: over 2% of pixels not white and over 20 colours."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    assert width >= 1000 and height >= 900, image.size
    histogram: list[tuple[int, tuple[int, int, int]]] = (
        image.getcolors(maxcolors=width * height) or []  # type: ignore[assignment]
    )
    white = sum(n for n, (r, g, b) in histogram if min(r, g, b) >= 250)
    assert len(histogram) > 20, f"{len(histogram)} colours"
    assert white < 0.98 * width * height, f"{white} of {width * height} pixels white"


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _at(report: Mapping[str, Any], key: str) -> Any:
    value: Any = report
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def assert_numbers_are_the_reports(cells: Mapping[str, str], report: Mapping[str, Any]) -> int:
    """Each cell whose key is a number of the report shows it (to the page's 3 decimals)."""
    compared = 0
    for key, text in cells.items():
        value = _at(report, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        assert _number(text) == pytest.approx(value, abs=5e-4), (key, text, value)
        compared += 1
    groups = report["scenario"]["groups"]
    assert _number(cells["scenario.agents"]) == sum(g["count"] for g in groups)
    for fault in report.get("faults") or []:
        detail = f": {fault['detail']}" if fault.get("detail") else ""
        assert cells[f"faults.{fault['name']}"] == fault["verdict"] + detail
    return compared


_SHOWN = [
    "elapsed_s",
    "seed",
    "errors.total",
    "messages.total",
    "messages.per_second",
    "tasks.started",
    "tasks.finished",
    "hooks.answered",
    *(f"tasks.latency_ms.{p}" for p in ("count", "p50", "p90", "p99", "max")),
    *(f"hooks.rtt_ms.{p}" for p in ("count", "p50", "p90", "p99", "max")),
]


def test_a_real_run_renders_clean_drawn_and_true(
    chromium: Browser, real_run: tuple[dict[str, Any], Path]
) -> None:
    report, html = real_run
    page = chromium.load(html)
    assert_loads_cleanly(page)
    assert_every_chart_drawn(page, runs=1)
    assert_not_blank(page.screenshot())
    (cells,) = page.evaluate(_CELLS)
    assert set(_SHOWN) <= set(cells), set(_SHOWN) - set(cells)
    assert assert_numbers_are_the_reports(cells, report) >= len(_SHOWN)
    assert report["messages"]["total"] > 0  # numbers worth comparing
    assert cells["verdict"] == ("pass" if report["errors"]["total"] == 0 else "fail")
    page.close()


def test_faults_and_workers_are_drawn(chromium: Browser, tmp_path: Path) -> None:
    report = synthetic_report(60, faults=FAULTS, workers=WORKERS)
    page = chromium.load(_page(tmp_path, [("run.json", report)]))
    assert_loads_cleanly(page)
    figures = assert_every_chart_drawn(page, runs=1)
    shades = page.evaluate(_SHADES)
    for chart in CHARTS:
        for i in range(len(FAULTS)):
            assert shades.get(f"{chart.key}-r0-fault-{i}-0", 0) > 5, (chart.key, i, shades)
    workers = next(f for f in figures if f["chart"] == "workers")
    assert "worker-a" in workers["text"] and "worker-b" in workers["text"]
    assert "no workers" not in workers["text"]
    assert_not_blank(page.screenshot())
    (cells,) = page.evaluate(_CELLS)
    assert assert_numbers_are_the_reports(cells, report) >= len(_SHOWN)
    assert cells["verdict"] == "fail"  # a fault failed
    page.close()


def test_two_runs_side_by_side(
    chromium: Browser, tmp_path: Path, real_run: tuple[dict[str, Any], Path]
) -> None:
    before, _ = real_run
    after = synthetic_report(30, faults=FAULTS[:1])
    page = chromium.load(_page(tmp_path, [("before.json", before), ("after.json", after)]))
    assert_loads_cleanly(page)
    assert_every_chart_drawn(page, runs=2)
    assert_not_blank(page.screenshot())
    cells = page.evaluate(_CELLS)
    assert len(cells) == 2
    for shown, report in zip(cells, (before, after), strict=True):
        assert assert_numbers_are_the_reports(shown, report) >= len(_SHOWN)
    page.close()


# Each check, on a page made to fail it.


@pytest.fixture(scope="module")
def good_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    report = synthetic_report(20, faults=FAULTS)
    path = write_html(tmp_path_factory.mktemp("good") / "page.html", [("run.json", report)])
    return report, path.read_text(encoding="utf-8")


def _broken(tmp: Path, text: str) -> Path:
    path = tmp / "broken.html"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("addition", "caught"),
    [
        ("<script>console.error('drawn wrong')</script>", "console.error: drawn wrong"),
        ("<script>null.x</script>", "exception: TypeError"),
        ('<img src="http://mistersmith.invalid/logo.png">', "mistersmith.invalid"),
        ("<style>body{background:url(https://mistersmith.invalid/a.png)}</style>", "invalid"),
    ],
)
def test_a_console_error_or_a_request_is_caught(
    chromium: Browser,
    tmp_path: Path,
    good_page: tuple[dict[str, Any], str],
    addition: str,
    caught: str,
) -> None:
    _, text = good_page
    page = chromium.load(_broken(tmp_path, text.replace("</body>", f"{addition}</body>")))
    with pytest.raises(AssertionError, match=caught.replace(".", r"\.")):
        assert_loads_cleanly(page)
    page.close()


def test_an_undrawn_or_missing_chart_is_caught(
    chromium: Browser, tmp_path: Path, good_page: tuple[dict[str, Any], str]
) -> None:
    _, text = good_page
    start = text.index('<figure class="chart" data-chart="hooks"')
    svg = text.index("<svg", start)
    emptied = (
        text[:svg]
        + '<svg xmlns="http://www.w3.org/2000/svg"></svg>'
        + text[text.index("</svg>", svg) + len("</svg>") :]
    )
    page = chromium.load(_broken(tmp_path, emptied))
    with pytest.raises(AssertionError, match="hooks of run 0"):
        assert_every_chart_drawn(page, runs=1)
    page.close()
    end = text.index("</section>", text.index('<section data-chart="errors"'))
    removed = text[: text.index('<section data-chart="errors"')] + text[end + len("</section>") :]
    page = chromium.load(_broken(tmp_path, removed))
    with pytest.raises(AssertionError, match="'hooks', '0'\\), \\('workers'"):
        assert_every_chart_drawn(page, runs=1)
    page.close()


def test_a_blank_page_is_caught(chromium: Browser, tmp_path: Path) -> None:
    page = chromium.load(_broken(tmp_path, "<!DOCTYPE html><html><body></body></html>"))
    with pytest.raises(AssertionError, match="colours"):
        assert_not_blank(page.screenshot())
    page.close()


def test_a_wrong_number_is_caught(
    chromium: Browser, tmp_path: Path, good_page: tuple[dict[str, Any], str]
) -> None:
    report, text = good_page
    total = f'data-key="messages.total">{report["messages"]["total"]:,}<'
    assert total in text
    wrong = text.replace(total, f'data-key="messages.total">{report["messages"]["total"] + 1:,}<')
    page = chromium.load(_broken(tmp_path, wrong))
    (cells,) = page.evaluate(_CELLS)
    with pytest.raises(AssertionError, match=r"messages\.total"):
        assert_numbers_are_the_reports(cells, report)
    page.close()


def test_chromium_leaves_nothing_behind(tmp_path: Path) -> None:
    binary = find_chromium()
    if binary is None:
        missing("chromium is not installed", "apt-get install chromium")
    with headless(binary) as browser:
        page = browser.load(_broken(tmp_path, "<p>x</p>"))
        assert page.evaluate("document.body.innerText") == "x"
        profile = browser.profile
        assert profile.is_dir() and leftovers(profile)
    assert browser.process.returncode is not None
    assert not profile.exists()
    assert leftovers(profile) == []
