"""The HTML report: one self-contained file (plotly.js inlined, no network), readable offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from importlib import resources
from typing import Any

from tokenbench import __version__
from tokenbench.compare.quality import QualityComparison
from tokenbench.compare.quality_render import (
    PAIR_HEADERS,
    QUALITY_HEADERS,
    pair_cells,
    quality_cells,
)
from tokenbench.report.charts import Chart, SuiteSection, quality_charts

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-bottom: 1px solid #ddd; }
.chart { width: 100%; height: 420px; margin: 12px 0; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; } td.l, th.l { text-align: left; }
.ci { color: #777; font-size: 12px; } .bad { color: #b00; } .muted { color: #777; }
"""


def _plotly_js() -> str:
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text("utf-8")


def _figure(chart: Chart) -> dict[str, Any]:
    traces = [
        {
            "type": "scatter",
            "name": s.name,
            "x": s.x,
            "y": s.y,
            "mode": s.mode,
            "line": {"dash": "dash"} if s.dash else {},
        }
        for s in chart.series
    ]
    xaxis: dict[str, Any] = {"title": {"text": chart.x_label}}
    if chart.log_x:  # sweep points (1, 2, 4, …): ticks at the points, not at 1.1, 1.2, …
        ticks = sorted({x for s in chart.series for x in s.x})
        xaxis.update(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    layout = {
        "title": {"text": chart.title},
        "xaxis": xaxis,
        "yaxis": {"title": {"text": chart.y_label}, "rangemode": "tozero"},
        "margin": {"t": 50, "r": 20},
    }
    return {"data": traces, "layout": layout}


def _num(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f' <span class="ci">[{ci[0]:,.1f}–{ci[1]:,.1f}]</span>'


def _table(section: SuiteSection) -> str:
    head = (
        "<tr><th class=l>Run</th><th>Conc.</th><th>Throughput (tok/s)</th>"
        "<th>TTFT p50 (ms) [95% CI]</th><th>TTFT p99 (ms)</th><th>TPOT p50 (ms) [95% CI]</th>"
        "<th>J/tok</th><th>Errors</th></tr>"
    )
    rows = []
    for r in section.table:
        errors = f"{r.errors}" + ("" if r.valid else ' <span class="bad">invalid</span>')
        rows.append(
            f"<tr><td class=l>{escape(r.label)}</td><td>{r.concurrency}</td>"
            f"<td>{_num(r.throughput)}</td><td>{_num(r.ttft_p50)}{_ci(r.ttft_p50_ci)}</td>"
            f"<td>{_num(r.ttft_p99)}</td><td>{_num(r.tpot_p50, 2)}{_ci(r.tpot_p50_ci)}</td>"
            f"<td>{_num(r.joules_per_token, 3)}</td><td>{errors}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _provenance(section: SuiteSection) -> str:
    head = (
        "<tr><th class=l>Run</th><th>Conc.</th><th class=l>Hardware</th>"
        "<th class=l>Fingerprint</th><th class=l>Engine</th><th class=l>Tool</th>"
        "<th class=l>Signature</th><th class=l>Comparability</th><th class=l>Energy</th>"
        "<th class=l>Run ID</th></tr>"
    )
    rows = []
    for p in section.provenance:
        sig_class = "" if p.signature.startswith("verified") else "bad"
        cells = [p.hardware, p.fingerprint, p.engine, p.tool]
        rows.append(
            f"<tr><td class=l>{escape(p.label)}</td><td>{p.concurrency}</td>"
            + "".join(f"<td class=l>{escape(c)}</td>" for c in cells)
            + f"<td class='l {sig_class}'>{escape(p.signature)}</td>"
            f"<td class=l>{escape(p.comparability_key)}</td>"
            f"<td class='l muted'>{escape(p.energy)}</td><td class=l>{escape(p.run_id)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _quality(q: QualityComparison, charts: list[Chart]) -> list[str]:
    body = ["<h2>Quality beside speed</h2>"]
    body += [f'<div class="chart" id="{c.chart_id}"></div>' for c in charts]
    head = "".join(f"<th{' class=l' if h in ('Task', 'Model') else ''}>{escape(h)}</th>"
                   for h in QUALITY_HEADERS)  # fmt: skip
    rows = [
        "<tr>" + "".join(f"<td{' class=l' if i < 2 else ''}>{escape(c)}</td>"
                         for i, c in enumerate(quality_cells(r))) + "</tr>"
        for r in q.rows
    ]  # fmt: skip
    body.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    if q.pairs:
        body.append("<h3>Paired on the same items (McNemar exact test)</h3>")
        head = "".join(f"<th>{escape(h)}</th>" for h in PAIR_HEADERS)
        rows = ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in pair_cells(p)) + "</tr>"
                for p in q.pairs]  # fmt: skip
        body.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    body += [f'<p class="muted">{escape(n)}</p>' for n in q.notes]
    return body


def render_html(
    sections: list[SuiteSection], runs: int, skipped: int, quality: QualityComparison | None = None
) -> str:
    qcharts = quality_charts(quality) if quality else []
    figures = {c.chart_id: _figure(c) for s in sections for c in s.charts}
    figures.update({c.chart_id: _figure(c) for c in qcharts})
    body = _quality(quality, qcharts) if quality else []
    for s in sections:
        body.append(f"<h2>{escape(s.suite)}</h2>")
        body += [f'<div class="chart" id="{c.chart_id}"></div>' for c in s.charts]
        body.append("<h3>Per run, with 95% within-run bootstrap intervals</h3>")
        body.append(_table(s))
        body.append("<h3>Provenance</h3>")
        body.append(_provenance(s))
    data = json.dumps(figures).replace("</", "<\\/")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenbench report</title>
<style>{_STYLE}</style>
<script>{_plotly_js()}</script></head>
<body>
<h1>tokenbench report</h1>
<p class="muted">{runs} envelopes ({skipped} skipped), generated {generated} by tokenbench
{__version__}.
Definitions: docs/metrics.md. The intervals in the per-run tables are 95% percentile bootstraps
over that run's requests: how precisely the run measured itself, not how another run would come
out. Whether two labels differ is decided over repeated runs by <code>bench compare</code>
(docs/statistics.md).</p>
{"".join(body)}
<script>
const FIGURES = {data};
for (const [id, fig] of Object.entries(FIGURES)) {{
  Plotly.newPlot(id, fig.data, fig.layout, {{displaylogo: false, responsive: true}});
}}
</script>
</body></html>
"""
