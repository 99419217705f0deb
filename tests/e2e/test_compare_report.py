"""`bench compare` and `bench report` on a corpus made like the demo's (two "models" × two sweep
points × three interleaved repeats) against the scripted server; the report is opened in a real
headless Chromium."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ScriptedServer
from tests.support.cli import bench
from tests.support.envelopes import envelope_paths, open_run, prompt_ids
from tokenbench.envelope import dsse, keys
from tokenbench.envelope.canonical import canonical

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def corpus(scripted_server: ScriptedServer, tmp_path: Path) -> Path:
    """Model "fast" streams at 2 ms/token, "slow" at 4 ms with a slower first token; every point
    three times, so compare has runs to judge by."""
    root = tmp_path / "corpus"
    for name, scenario in (("fast", "ttft_ms=10;itl_ms=2;tokens=24"),
                           ("slow", "ttft_ms=30;itl_ms=4;tokens=24")):  # fmt: skip
        proc = bench("run", "llm.inference.chatbot-short", "--base-url",
                     scripted_server.base_url, "--model", scenario, "--sweep", "1,2",
                     "--requests", "12", "--repeat", "3", "--interleave",
                     "--output", str(root / name))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return root


def test_compare_json_pairs_and_pareto(corpus: Path) -> None:
    proc = bench("compare", str(corpus), "--report", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["runs"]) == 12
    assert doc["method"].startswith("welch-t")
    assert doc["family"] == 10  # 5 metrics × 2 points
    for run in doc["runs"]:
        assert set(run) >= {"model_id", "engine", "quant", "hardware", "concurrency",
                            "metrics", "pareto"}  # fmt: skip
        assert {"throughput_tok_per_s", "ttft_p50_ms", "ttft_p99_ms", "joules_per_token"} <= set(
            run["metrics"]
        )
    fast = [r for r in doc["runs"] if "itl_ms=2" in r["model_id"]]
    slow = [r for r in doc["runs"] if r not in fast]
    # "fast" at concurrency 2 has more throughput and a lower TTFT than any "slow" run.
    assert any(r["pareto"] for r in fast)
    assert not any(r["pareto"] for r in slow)
    assert {p["concurrency"] for p in doc["pairs"]} == {1, 2}
    assert all(p["runs_a"] == p["runs_b"] == 3 for p in doc["pairs"])
    ttft = next(m for m in doc["pairs"][0]["metrics"] if m["metric"] == "ttft")
    assert ttft["significant"] is True
    assert ttft["relative"] > 0.5  # "slow" (B) starts ~20 ms later than "fast" (A)
    assert ttft["ci_low"] > 0
    assert ttft["p_adjusted"] < 0.05
    assert "slower by" in ttft["verdict"]
    tput = next(m for m in doc["pairs"][0]["metrics"] if m["metric"] == "throughput")
    assert tput["significant"] is True
    assert "lower by" in tput["verdict"]


def test_repeats_are_tagged_interleaved_and_use_fresh_prompts(corpus: Path) -> None:
    runs = [open_run(p).predicate for p in envelope_paths(corpus / "fast")]
    assert len(runs) == 6
    assert all(r.repeat is not None and r.repeat.count == 3 and r.repeat.interleaved
               for r in runs)  # fmt: skip
    by_point: dict[int, set[int]] = {}
    groups: dict[int, set[str]] = {}
    for r in runs:
        assert r.repeat is not None
        by_point.setdefault(r.parameters.load.concurrency, set()).add(r.repeat.index)
        groups.setdefault(r.parameters.load.concurrency, set()).add(r.repeat.group)
    assert by_point == {1: {0, 1, 2}, 2: {0, 1, 2}}
    assert all(len(g) == 1 for g in groups.values())
    assert groups[1] != groups[2]
    ordered = sorted(runs, key=lambda r: r.timing.wall_anchor_us)
    assert [r.parameters.load.concurrency for r in ordered] == [1, 2, 2, 1, 1, 2]
    prompts = [set(prompt_ids(open_run(p))) for p in envelope_paths(corpus / "fast")]
    assert all(a.isdisjoint(b) for i, a in enumerate(prompts) for b in prompts[i + 1 :])


def test_one_run_a_side_gives_no_verdict(corpus: Path) -> None:
    one_each = [envelope_paths(corpus / name)[0] for name in ("fast", "slow")]
    doc = json.loads(bench("compare", *map(str, one_each), "--report", "json").stdout)
    (pair,) = doc["pairs"]
    assert (pair["runs_a"], pair["runs_b"]) == (1, 1)
    for metric in pair["metrics"]:
        assert metric["significant"] is False
        assert metric["ci_low"] is None
        assert metric["verdict"].startswith("1 run each: ")
        assert metric["verdict"].endswith("no verdict; use --repeat 3")


def test_compare_formats_and_selection(corpus: Path) -> None:
    table = bench("compare", str(corpus), "--at", "concurrency=2")
    assert table.returncode == 0, table.stderr
    assert "concurrency 2" in table.stdout
    assert "concurrency 1:" not in table.stdout
    doc = csv.DictReader(io.StringIO(bench("compare", str(corpus), "--report", "csv").stdout))
    rows = [row for row in doc if row["section"] == "run"]  # pairs and quality follow
    assert len(rows) == 12
    assert {"label", "concurrency", "throughput_tok_per_s", "pareto"} <= set(rows[0])
    md = bench("compare", str(corpus), "--pareto", "throughput,ttft", "--report", "md").stdout
    flags = json.loads(bench("compare", str(corpus), "--report", "json").stdout)["runs"]
    frontier_rows = [ln for ln in md.splitlines() if ln.startswith("| llm.") and "★" in ln]
    assert len(frontier_rows) == sum(r["pareto"] for r in flags) >= 1
    assert all("itl_ms=2" in ln for ln in frontier_rows)
    assert "| llm.inference.chatbot-short | concurrency 1 |" in md  # the pairs table
    html = bench("compare", str(corpus), "--report", "html").stdout
    assert html.startswith("<!doctype html>")
    bad = bench("compare", str(corpus), "--pareto", "thruput,ttft")
    assert bad.returncode == 2
    assert "did you mean 'throughput'" in bad.stderr
    assert bench("compare", str(corpus), "--at", "concurrency=x").returncode == 2


def test_incomparable_runs_are_refused_unless_forced(corpus: Path, tmp_path: Path) -> None:
    # One run claims other hardware: comparing by model must refuse, naming the field.
    victim = envelope_paths(corpus / "slow")[0]
    doc = json.loads(victim.read_text())
    st = json.loads(base64.b64decode(doc["payload"]))
    st["predicate"]["comparability"]["hardware_fingerprint"] = "f" * 64
    key = keys.load_private()
    assert key is not None
    victim.write_text(json.dumps(dsse.sign(dsse.IN_TOTO_PAYLOAD_TYPE, canonical(st), key)))
    refused = bench("compare", str(corpus))
    assert refused.returncode == 2
    assert "not comparable" in refused.stderr
    assert "hardware_fingerprint" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    forced = bench("compare", str(corpus), "--force")
    assert forced.returncode == 0
    assert "compared with --force" in forced.stdout
    assert bench("compare", str(corpus), "--by", "hardware").returncode == 0


def test_report_renders_in_chromium(corpus: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    out = tmp_path / "report.html"
    png_dir = tmp_path / "png"
    proc = bench("report", str(corpus), "-o", str(out), "--png", str(png_dir))
    assert proc.returncode == 0, proc.stderr
    page_text = out.read_text()
    assert "cdn." not in page_text.lower() or "plotly.js v" in page_text  # inlined, no CDN
    assert "<script src=" not in page_text
    assert len(list(png_dir.glob("*.png"))) == 3

    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(out.as_uri())
            page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 3")
            charts = page.evaluate(
                """Array.from(document.querySelectorAll('.chart')).map(d => ({
                    id: d.id,
                    traces: d.data.length,
                    values: d.data.reduce((n, t) => n + t.x.length, 0),
                    drawn: d.querySelectorAll('.scatterlayer .trace path').length,
                }))"""
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            provenance = page.inner_text("body")
        finally:
            browser.close()
    summary = [c for c in charts if "timeline" not in c["id"]]
    timelines = [c for c in charts if "timeline" in c["id"]]
    assert len(summary) == 3
    assert timelines  # each point over time, from its raw records
    for chart in charts:
        assert chart["traces"] > 0, chart
        assert chart["values"] > 0, chart
        assert chart["drawn"] > 0, chart
    assert errors == []
    assert "verified (keyid" in provenance
    assert "Provenance" in provenance
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
