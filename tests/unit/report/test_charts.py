"""What the report's charts say, from hand-made runs and evals: one colour per label in every
chart, points named by their load, axes in the units their titles state, accuracy with its
interval, a legend whatever the number of traces, and one provenance line per run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.envelopes import minimal_statement
from tokenbench.compare.comparison import Comparison, RunRow
from tokenbench.compare.quality import QualityComparison, QualityRow
from tokenbench.corpus.loader import LoadedRun
from tokenbench.envelope.schema import RunPredicate
from tokenbench.metrics.quality import wilson
from tokenbench.report.charts import (
    NEUTRAL,
    PALETTE,
    Chart,
    label_colours,
    quality_charts,
    sections,
    short_hardware,
)
from tokenbench.report.html import _figure, render_html
from tokenbench.report.png import write_pngs


def _dist(ms: float) -> dict[str, float]:
    return {"count": 8, "mean": ms, "p50": ms, "p90": ms, "p99": ms * 1.5, "min": ms,
            "max": ms * 2, "stdev": 1.0}  # fmt: skip


def _row(model: str, concurrency: int = 1, rate: float | None = None,
         input_tokens: int | None = None, tput: float = 100.0, ttft: float = 20.0,
         pareto: bool = False) -> RunRow:  # fmt: skip
    body: dict[str, Any] = minimal_statement()["predicate"]
    body["target"]["model"]["model_id"] = model
    body["parameters"]["load"]["concurrency"] = concurrency
    if rate is not None:
        body["parameters"]["load"].update(mode="open_loop", rate_rps=rate)
    body["parameters"]["workload"]["input_tokens_target"] = input_tokens
    body["metrics"].update(output_throughput_tok_per_s=tput, ttft_ms=_dist(ttft))
    run = LoadedRun(Path(f"{model}-{concurrency}.json"), RunPredicate.model_validate(body),
                    signer="ab" * 32)  # fmt: skip
    return RunRow(run, model, pareto)


def _quality(label: str, correct: int, total: int, tput: float) -> QualityRow:
    return QualityRow(task="mmlu", label=label, variant="letter", accuracy=wilson(correct, total),
                      parse_failure_rate=0.0, output_tokens_mean=1.0, throughput_tok_per_s=tput,
                      throughput_at="concurrency 4", usd_per_mtok=None, pareto=False,
                      eval_path=f"{label}.json")  # fmt: skip


def _comparison(rows: list[RunRow], quality: list[QualityRow] | None = None) -> Comparison:
    q = QualityComparison(rows=quality) if quality is not None else None
    return Comparison(by="model", pareto_metrics=[], rows=rows, quality=q)


def _charts(comparison: Comparison) -> list[Chart]:
    return [c for s in sections(comparison) for c in s.charts]


def test_one_colour_per_label_in_every_chart_quality_included() -> None:
    # "b" has no eval, "c" no run: the palette is over every label of the report
    rows = [_row(m, c, tput=100 * c + i, pareto=(m, c) == ("a", 4))
            for i, m in enumerate(("b", "a")) for c in (1, 4)]  # fmt: skip
    comparison = _comparison(rows, [_quality("c", 5, 10, 90.0), _quality("a", 8, 10, 410.0)])
    secs = sections(comparison)
    charts = [c for s in secs for c in s.charts] + quality_charts(
        comparison.quality or QualityComparison(), secs[0].labels
    )
    assert {c.chart_id for c in charts} == {"s0-throughput", "s0-latency", "s0-cdf", "quality-0"}
    expected = {"a": PALETTE[0], "b": PALETTE[1], "c": PALETTE[2]}
    worn: dict[str, set[str]] = {}
    for chart in charts:
        for s in chart.series:
            if s.label is None:
                assert s.name == "Pareto frontier"
                assert s.colour == NEUTRAL
            else:
                worn.setdefault(s.label, set()).add(s.colour)
    assert worn == {label: {colour} for label, colour in expected.items()}
    # the figures wear it on markers and lines alike
    for chart in charts:
        for trace, s in zip(_figure(chart)["data"], chart.series, strict=True):
            assert trace["line"]["color"] == trace["marker"]["color"] == s.colour
            assert trace["meta"] == {"label": s.label}


def test_label_colours_follow_the_sorted_labels() -> None:
    assert label_colours(["z", "a", "m", "a"]) == {"a": PALETTE[0], "m": PALETTE[1],
                                                   "z": PALETTE[2]}  # fmt: skip
    many = label_colours(f"m{i:02}" for i in range(len(PALETTE) + 2))
    assert many["m00"] == many[f"m{len(PALETTE):02}"]  # cycles past the palette
    assert NEUTRAL not in many.values()


def test_latency_points_are_named_by_their_load() -> None:
    closed = _charts(_comparison([_row("a", 1), _row("a", 4, tput=300), _row("a", 4, tput=310)]))
    p50 = next(s for s in closed[1].series if s.name == "a TTFT p50")
    assert "text" in p50.mode
    assert p50.text == ["c=1", "c=4", ""]  # a repeat is not written twice
    assert p50.hover == ["c=1, TTFT p50", "c=4, TTFT p50", "c=4, TTFT p50"]
    fig = _figure(closed[1])["data"][0]
    assert fig["text"] == ["c=1", "c=4", ""]
    assert fig["textposition"]

    rate = _charts(_comparison([_row("a", 64, rate=2.0), _row("a", 64, rate=0.5, tput=40)]))
    assert [c.x_label for c in rate] == ["offered rate (req/s)", "output tok/s", "TTFT (ms)"]
    assert rate[0].series[0].x == [0.5, 2.0]  # the rate, not the cap of 64 in flight
    p50 = next(s for s in rate[1].series if s.name == "a TTFT p50")
    assert p50.text == ["0.5 req/s", "2 req/s"]

    context = _charts(_comparison([_row("a", 1, input_tokens=n, tput=1e5 / n)
                                   for n in (1024, 4096)]))  # fmt: skip
    assert context[0].x_label == "input tokens"
    assert context[0].series[0].x == [1024, 4096]
    p50 = next(s for s in context[1].series if s.name == "a TTFT p50")
    assert p50.text == ["4,096 tok in", "1,024 tok in"]  # ordered by throughput


def test_closed_and_open_loop_points_get_their_own_axes() -> None:
    charts = _charts(_comparison([_row("a", 1), _row("a", 2), _row("a", 8, rate=4.0)]))
    assert [(c.chart_id, c.x_label) for c in charts[:2]] == [
        ("s0-throughput", "concurrency"), ("s0-throughput-rate", "offered rate (req/s)")
    ]  # fmt: skip
    assert charts[0].series[0].x == [1.0, 2.0]
    assert charts[1].series[0].x == [4.0]


def test_a_single_trace_chart_still_has_its_legend() -> None:
    for chart in _charts(_comparison([_row("only", 1)])):
        layout = _figure(chart)["layout"]
        assert layout["showlegend"] is True
        assert layout["legend"]


def test_axes_are_in_the_units_they_state() -> None:
    rows = [_quality("a", 3, 4, 100.0), _quality("b", 0, 4, 50.0)]
    (chart,) = quality_charts(QualityComparison(rows=rows))
    assert chart.y_label == "accuracy (%)"
    assert chart.y_range == (0.0, 100.0)
    assert [s.y for s in chart.series] == [[75.0], [0.0]]
    yaxis = _figure(chart)["layout"]["yaxis"]
    assert yaxis["range"] == [0.0, 100.0]
    assert yaxis["autorange"] is False
    cdf = _charts(_comparison([_row("a", 1)]))[-1]
    assert cdf.y_label == "fraction of requests"
    assert _figure(cdf)["layout"]["yaxis"]["range"] == [0.0, 1.0]


def test_accuracy_carries_its_wilson_interval_as_error_bars() -> None:
    row = _quality("a", 8, 10, 100.0)
    (chart,) = quality_charts(QualityComparison(rows=[row]))
    acc = row.accuracy
    assert acc.ci_low is not None
    assert acc.ci_high is not None
    err = _figure(chart)["data"][0]["error_y"]
    assert err["visible"] is True
    assert err["array"][0] == (acc.ci_high - 0.8) * 100
    assert err["arrayminus"][0] == (0.8 - acc.ci_low) * 100
    assert 0 < err["arrayminus"][0] != err["array"][0] > 0  # Wilson is not symmetric


def test_provenance_is_one_line_per_run_with_details_on_click() -> None:
    rows = [_row("a", 1), _row("a", 4), _row("b", 8, rate=2.0)]
    page = render_html(sections(_comparison(rows)), 3, 0)
    prov = page[page.index("<div class=prov>") :]
    assert prov.count("<details>") == 3
    summaries = re.findall(r"<summary class=line>(.*?)</summary>", prov)
    assert len(summaries) == 3
    for summary in summaries:
        assert summary.count("<span") == 5  # label, load, engine, hardware, signature
        assert "verified (keyid abababab…)" in summary
    assert ">c=4<" in summaries[1]
    assert ">2 req/s<" in summaries[2]
    details = re.findall(r"<dl>(.*?)</dl>", prov)
    assert len(details) == 3
    for field in ("Run ID", "Comparability", "Energy", "Tool", "fingerprint", "Validity"):
        assert field in details[0]


def test_short_hardware_names() -> None:
    assert short_hardware("1× NVIDIA H200") == "1× H200"
    assert short_hardware("AMD EPYC 7B13 64-Core Processor ×16") == "EPYC 7B13 ×16"
    assert short_hardware("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz ×8") == (
        "Xeon Platinum 8481C ×8"
    )


def test_pngs_draw_every_chart(tmp_path: Path) -> None:
    rows = [_row("a", 1), _row("a", 2, tput=190, pareto=True), _row("b", 8, rate=4.0)]
    written = write_pngs(sections(_comparison(rows)), tmp_path)
    assert [p.name for p in written] == [  # chart id, suite
        "s0-throughput-s.png", "s0-throughput-rate-s.png", "s0-latency-s.png", "s0-cdf-s.png"
    ]  # fmt: skip
    assert all(p.stat().st_size > 5_000 for p in written)


def test_each_point_over_time_in_stacked_panels(tmp_path: Path) -> None:
    from tokenbench.records import RequestRecord

    raw = tmp_path / "a.records.jsonl"
    records = [
        RequestRecord(index=i, worker=0, slot=i, warmup=False, prompt_id=f"p{i}",
                      scheduled_ns=0, send_ns=0, first_token_ns=10**8 * (i + 1),
                      chunk_ns=[10**8 * (i + 1), 10**9 + 10**8 * i], end_ns=2 * 10**9,
                      output_tokens=2, tokens_from_usage=True)
        for i in range(3)
    ]  # fmt: skip
    raw.write_bytes(b"".join(r.to_json() + b"\n" for r in records))
    row = _row("a", 3)
    with_raw = RunRow(LoadedRun(row.run.path, row.run.predicate, row.run.signer, raw), "a", False)
    (section,) = sections(_comparison([with_raw, _row("b", 3)]))  # b: no records, no timeline
    (chart,) = section.timelines
    assert chart.panels == ("output throughput (tok/s)", "requests in flight (requests)")
    assert [s.panel for s in chart.series] == [0, 1]
    assert sum(chart.series[0].y) == 6.0  # six tokens in 1-s bins: tok/s sums to the tokens
    layout = _figure(chart)["layout"]
    low, high = layout["yaxis"]["domain"], layout["yaxis2"]["domain"]
    assert low[1] <= high[0]  # stacked, not overlapping
    html = render_html([section], runs=2, skipped=0)
    assert "Each point over time" in html
    assert chart.chart_id in html
