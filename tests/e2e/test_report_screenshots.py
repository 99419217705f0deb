"""The HTML report as a reader sees it, in a real headless Chromium at 1400 and at 800 px wide,
on a small corpus made against the scripted server (two models, closed- and open-loop points,
an eval of each): one colour per model across every chart, points labelled by their load, a
legend on every chart (one model too), axes in their units, accuracy with error bars, one line
per run in the provenance, and nothing wider than the window. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tokenbench.report.charts import NEUTRAL, PALETTE

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MODELS = {"fast": "ttft_ms=10;itl_ms=2;tokens=16", "slow": "ttft_ms=30;itl_ms=4;tokens=16"}
RIGHT = {"fast": 9, "slow": 5}  # of 12 questions

_CHARTS = """Array.from(document.querySelectorAll('.chart')).map(d => ({
    id: d.id,
    x_title: d._fullLayout.xaxis.title.text,
    y_title: d._fullLayout.yaxis.title.text,
    y_range: d._fullLayout.yaxis.range,
    showlegend: d._fullLayout.showlegend,
    legend_items: d.querySelectorAll('.legend .traces').length,
    texts: Array.from(d.querySelectorAll('.textpoint text')).map(t => t.textContent),
    error_bars: d.querySelectorAll('.errorbar').length,
    traces: d.data.map((t, i) => ({
        name: t.name,
        label: t.meta ? t.meta.label : null,
        x: t.x,
        y: t.y,
        mode: t.mode,
        text: t.text || null,
        marker: d._fullData[i].marker ? d._fullData[i].marker.color : null,
        line: d._fullData[i].line ? d._fullData[i].line.color : null,
        error_y: t.error_y || null,
    })),
}))"""


@pytest.fixture
def small_corpus(scripted_server_factory: Any, tmp_path: Path) -> Path:
    """Per model: closed-loop points at concurrency 1 and 2, open-loop points at 20 and 40
    req/s, and a 12-question custom eval ("fast" right on 9, "slow" on 5)."""
    questions = [(f"Question number {i}?", f"answer{i}") for i in range(12)]
    data = tmp_path / "questions.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": q, "answer": a, "id": f"q{i}"})
                              for i, (q, a) in enumerate(questions)) + "\n")  # fmt: skip
    table = {scenario: [[q, a if i < RIGHT[name] else "wrong"]
                        for i, (q, a) in enumerate(questions)]
             for name, scenario in MODELS.items()}  # fmt: skip
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(table))
    server: ScriptedServer = scripted_server_factory("--engine", "vllm", "--answers", str(answers))
    root = tmp_path / "corpus"
    for name, scenario in MODELS.items():
        common = ("--base-url", server.base_url, "--model", scenario)
        for load in (("--sweep", "1,2"), ("--sweep-rate", "20,40")):
            proc = bench("run", "llm.inference.chatbot-short", *common, *load, "--requests", "8",
                         "--output", str(root / name))  # fmt: skip
            assert proc.returncode == 0, proc.stderr
        proc = bench("eval", "custom", "--data", str(data), "--scorer", "exact", *common,
                     "-o", str(root / name))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return root


def _console_error(errors: list[str], message: Any) -> None:
    if message.type == "error":
        errors.append(message.text)


def _browse(sync_api: Any, pages: list[tuple[Path, int, str]]) -> list[dict[str, Any]]:
    """Open each (report, width, screenshot name); return what each page shows."""
    seen = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        try:
            for report, width, shot in pages:
                errors: list[str] = []
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m, e=errors: _console_error(e, m))
                page.on("pageerror", lambda x, e=errors: e.append(str(x)))
                page.goto(report.as_uri())
                page.wait_for_function(
                    "Array.from(document.querySelectorAll('.chart'))"
                    ".every(d => d.querySelector('.main-svg'))"
                )
                page.wait_for_timeout(300)  # responsive relayout to the window's width
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
                state = {
                    "charts": page.evaluate(_CHARTS),
                    "scroll_width": page.evaluate("document.documentElement.scrollWidth"),
                    "lines": page.evaluate(
                        """Array.from(document.querySelectorAll('.prov summary')).map(s => ({
                            height: s.getBoundingClientRect().height,
                            line: parseFloat(getComputedStyle(s.firstElementChild).lineHeight),
                            text: s.innerText,
                        }))"""
                    ),
                    "errors": errors,
                }
                page.click(".prov details summary")
                state["opened"] = page.inner_text(".prov details[open]")
                seen.append(state)
                page.close()
        finally:
            browser.close()
    return seen


def test_report_reads_well_at_1400_and_800_px(small_corpus: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    full, single = tmp_path / "report.html", tmp_path / "single.html"
    assert bench("report", str(small_corpus), "-o", str(full)).returncode == 0
    assert bench("report", str(small_corpus / "fast"), "-o", str(single)).returncode == 0
    wide, narrow, one = _browse(sync_api, [(full, 1400, "report-1400.png"),
                                           (full, 800, "report-800.png"),
                                           (single, 1400, "report-one-model.png")])  # fmt: skip
    for state in (wide, narrow, one):
        assert state["errors"] == []
        _one_line_per_run(state)
        # the per-point timelines are panels of one run each, named by their title
        summary = [c for c in state["charts"] if "timeline" not in c["id"]]
        assert len(summary) < len(state["charts"])  # and they are drawn
        _axes_in_their_units(summary)
        for chart in summary:  # a legend on every chart, one model or many
            assert chart["showlegend"] is True, chart["id"]
            assert chart["legend_items"] >= 1, chart["id"]
    assert narrow["scroll_width"] <= 800
    assert wide["scroll_width"] <= 1400

    charts = {c["id"]: c for c in wide["charts"]}
    ids = set(charts)
    assert {"quality-0", "s0-throughput", "s0-throughput-rate", "s0-latency", "s0-cdf"} <= ids
    fast, slow = MODELS["fast"], MODELS["slow"]
    colours = _one_colour_per_label(wide["charts"])
    assert set(colours) == {fast, slow}
    assert colours == {fast: PALETTE[0], slow: PALETTE[1]}  # sorted labels take the palette
    frontier = [t for t in charts["s0-latency"]["traces"] if t["label"] is None]
    assert [t["name"] for t in frontier] == ["Pareto frontier"]
    assert frontier[0]["line"] == NEUTRAL
    # the single-model report gives its model the colour of the palette's first place
    assert set(_one_colour_per_label(one["charts"])) == {fast}

    # TTFT vs throughput: each point labelled by its load, drawn beside its marker
    latency = charts["s0-latency"]
    for label in (fast, slow):
        p50 = next(t for t in latency["traces"] if t["label"] == label and "p50" in t["name"])
        assert "text" in p50["mode"]
        assert set(p50["text"]) == {"c=1", "c=2", "20 req/s", "40 req/s"}
    assert {"c=1", "c=2", "20 req/s", "40 req/s"} <= set(latency["texts"])

    # accuracy in percent, with its Wilson interval as error bars
    quality = charts["quality-0"]
    assert quality["y_title"] == "accuracy (%)"
    assert quality["error_bars"] >= 2
    for trace in quality["traces"]:
        err = trace["error_y"]
        assert err is not None
        assert err["visible"] is True
        assert len(err["array"]) == len(err["arrayminus"]) == len(trace["y"]) == 1
        assert err["array"][0] > 0
        assert err["arrayminus"][0] > 0
        right = RIGHT["fast" if trace["label"] == fast else "slow"]
        assert trace["y"][0] == pytest.approx(right / 12 * 100)
        assert 0 <= trace["y"][0] - err["arrayminus"][0] < trace["y"][0] + err["array"][0] <= 100

    opened = wide["opened"]
    for field in ("Run ID", "Comparability", "Energy", "Tool", "fingerprint"):
        assert field in opened
    for shot in ("report-1400.png", "report-800.png", "report-one-model.png"):
        assert (ARTIFACTS / shot).stat().st_size > 10_000


def _one_colour_per_label(charts: list[dict[str, Any]]) -> dict[str, str]:
    """Every trace of a label, in every chart, wears one colour (markers and lines); two labels
    never share one; a trace of no label is the neutral grey."""
    colours: dict[str, set[str]] = {}
    for chart in charts:
        for trace in chart["traces"]:
            worn = {trace["marker"], trace["line"]} - {None}  # a "lines" trace has no marker
            assert worn, (chart["id"], trace["name"])
            if trace["label"] is None:
                assert worn == {NEUTRAL}, (chart["id"], trace["name"])
            else:
                colours.setdefault(trace["label"], set()).update(worn)
    assert all(len(c) == 1 for c in colours.values()), colours
    single = {label: next(iter(c)) for label, c in colours.items()}
    assert len(set(single.values())) == len(single)
    assert NEUTRAL not in single.values()
    return single


def _axes_in_their_units(charts: list[dict[str, Any]]) -> None:
    """An axis titled in percent runs 0–100, one titled as a fraction 0–1, and every value lies
    within its axis; nothing measured (tok/s, ms) is drawn below zero."""
    for chart in charts:
        low, high = chart["y_range"]
        ys = [y for t in chart["traces"] for y in t["y"]]
        assert ys, chart["id"]
        if "%" in chart["y_title"]:
            assert (low, high) == (0, 100), chart["id"]
        elif "fraction" in chart["y_title"]:
            assert (low, high) == (0, 1), chart["id"]
            assert max(ys) == pytest.approx(1.0)
        else:
            assert low == 0, chart["id"]
        assert all(low <= y <= high for y in ys), chart["id"]
        if chart["x_title"] == "concurrency":
            assert all(x in (1, 2) for t in chart["traces"] for x in t["x"]), chart["id"]
        if chart["x_title"] == "offered rate (req/s)":
            assert all(x in (20, 40) for t in chart["traces"] for x in t["x"]), chart["id"]


def _one_line_per_run(state: dict[str, Any]) -> None:
    lines = state["lines"]
    assert len(lines) == 8 or len(lines) == 4  # 2 models (or 1) × 4 points
    for line in lines:
        assert line["height"] <= line["line"] + 12, line  # one line of text and its padding
        assert "verified (keyid" in line["text"]
