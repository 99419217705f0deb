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
from tokenbench.report.charts import Chart, Series, SuiteSection, load_charts, quality_charts

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222;
       padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-bottom: 1px solid #ddd; }
figure { margin: 24px 0 12px; }
figcaption { font-size: 15px; font-weight: 600; text-align: center; }
.chart { width: 100%; height: 440px; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; } td.l, th.l { text-align: left; }
.ci { color: #777; font-size: 12px; white-space: nowrap; } .bad { color: #b00; }
.muted { color: #777; } .nw { white-space: nowrap; }
.prov { font-size: 13px; margin: 12px 0; }
.prov .line { display: grid; gap: 0 12px; padding: 4px 10px; border-bottom: 1px solid #eee;
  grid-template-columns: minmax(0, 3fr) minmax(0, 1.2fr) minmax(0, 2fr) minmax(0, 2fr)
                         minmax(0, 2.4fr); }
.prov .line > span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.prov .head { background: #f6f6f6; font-weight: 600; }
.prov summary { cursor: pointer; list-style: none; }
.prov summary::-webkit-details-marker { display: none; }
.prov summary > span:first-child::before { content: "▸ "; color: #777; }
.prov details[open] > summary > span:first-child::before { content: "▾ "; }
.prov summary:hover { background: #fafafa; }
.prov dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px;
  margin: 4px 0 10px 24px; }
.prov dt { color: #777; } .prov dd { margin: 0; overflow-wrap: anywhere; }
"""


def _plotly_js() -> str:
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text("utf-8")


def _trace(s: Series) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "scatter",
        "name": s.name,
        "x": s.x,
        "y": s.y,
        "mode": s.mode,
        "meta": {"label": s.label},  # the model (or --by axis) whose colour the trace wears
        "line": {"color": s.colour, "dash": s.dash, "width": s.width},
        "opacity": s.opacity,
        "marker": {"color": s.colour, "size": 8},
        "showlegend": s.legend,
        "cliponaxis": False,  # a marker on a fixed range's edge (100%) drawn whole
    }
    if s.group is not None:
        trace["legendgroup"] = s.group
    if s.panel:
        trace["yaxis"] = f"y{s.panel + 1}"
    if s.text is not None:
        trace.update(text=s.text, textposition="bottom center",
                     textfont={"color": s.colour, "size": 11})  # fmt: skip
    if s.hover is not None:
        trace.update(hovertext=s.hover, hoverinfo="name+x+y+text")
    if s.error_plus is not None:
        trace["error_y"] = {"type": "data", "symmetric": False, "array": s.error_plus,
                            "arrayminus": s.error_minus or s.error_plus, "visible": True,
                            "color": s.colour, "thickness": 1.5, "width": 6}  # fmt: skip
    return trace


def _panels(chart: Chart) -> dict[str, Any]:
    """Stacked panels sharing the x axis, the first at the bottom, each its own y axis."""
    n = len(chart.panels)
    gap = 0.04
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": chart.x_label}, "rangemode": "tozero"},
        "showlegend": False,
        "margin": {"t": 10, "r": 20, "b": 50},
        "height": 140 * n + 80,
    }
    for i, label in enumerate(chart.panels):
        key = "yaxis" if i == 0 else f"yaxis{i + 1}"
        layout[key] = {"title": {"text": label, "font": {"size": 11}}, "rangemode": "tozero",
                       "domain": [i / n + (gap if i else 0), (i + 1) / n - gap]}  # fmt: skip
    return layout


def _figure(chart: Chart) -> dict[str, Any]:
    traces = [_trace(s) for s in chart.series]
    if chart.panels:
        return {"data": traces, "layout": _panels(chart)}
    xaxis: dict[str, Any] = {"title": {"text": chart.x_label}}
    if chart.log_x:  # sweep points (1, 2, 4, …): ticks at the points, not at 1.1, 1.2, …
        ticks = sorted({x for s in chart.series for x in s.x})
        xaxis.update(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    elif chart.x_from_zero:
        xaxis["rangemode"] = "tozero"
    yaxis: dict[str, Any] = {"title": {"text": chart.y_label}, "rangemode": "tozero"}
    if chart.y_range is not None:
        yaxis.update(range=list(chart.y_range), autorange=False)
    layout = {
        "xaxis": xaxis,
        "yaxis": yaxis,
        # plotly hides the legend of a one-trace chart: the legend names the model, so always
        "showlegend": True,
        # above the plot (the title is the figure's caption): it grows upwards as it wraps at
        # narrow widths, never onto the x axis's title
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "margin": {"t": 20, "r": 20, "b": 50},
    }
    return {"data": traces, "layout": layout}


def _breakable(text: str) -> str:
    """Escaped, with break opportunities after the separators of model ids ("org/name",
    "a;b"), so that a narrow window wraps a long label instead of scrolling its table."""
    out = escape(text)
    for sep in ("/", ";", ",", "_"):
        out = out.replace(sep, f"{sep}<wbr>")
    return out


def _chart_div(chart: Chart) -> str:
    return (f'<figure><figcaption>{escape(chart.title)}</figcaption>'
            f'<div class="chart" id="{chart.chart_id}"></div></figure>')  # fmt: skip


def _num(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f' <span class="ci">[{ci[0]:,.1f}–{ci[1]:,.1f}]</span>'


def _table(section: SuiteSection) -> str:
    # the client's timing error (--canary, else --selftest): a column only when a run has it
    client = any(r.client_error_p99 is not None for r in section.table)
    head = (
        "<tr><th class=l>Run</th><th>Load</th><th>Throughput (tok/s)</th>"
        "<th>TTFT p50 (ms) [95% CI]</th><th>TTFT p99 (ms)</th><th>TPOT p50 (ms) [95% CI]</th>"
        "<th>J/tok</th>"
        + ("<th>Client err p99 (ms)</th>" if client else "")
        + "<th>Errors</th></tr>"
    )
    rows = []
    for r in section.table:
        errors = f"{r.errors}" + ("" if r.valid else ' <span class="bad">invalid</span>')
        rows.append(
            f"<tr><td class=l>{_breakable(r.label)}</td><td class=nw>{escape(r.load)}</td>"
            f"<td>{_num(r.throughput)}</td><td>{_num(r.ttft_p50)}{_ci(r.ttft_p50_ci)}</td>"
            f"<td>{_num(r.ttft_p99)}</td><td>{_num(r.tpot_p50, 2)}{_ci(r.tpot_p50_ci)}</td>"
            f"<td>{_num(r.joules_per_token, 3)}</td>"
            + (f"<td>{_num(r.client_error_p99, 2)}</td>" if client else "")
            + f"<td>{errors}</td></tr>"
        )
    return f"<div class=scroll><table>{head}{''.join(rows)}</table></div>"


def _provenance(section: SuiteSection) -> str:
    """One line per run (label, load, engine, hardware, signature); the rest on click."""
    head = ("<div class='line head'><span>Run</span><span>Load</span><span>Engine</span>"
            "<span>Hardware</span><span>Signature</span></div>")  # fmt: skip
    runs = []
    for p in section.provenance:
        sig_class = "" if p.signature.startswith("verified") else " class=bad"
        line = "".join(
            f"<span title='{escape(full)}'{cls}>{escape(short)}</span>"
            for short, full, cls in (
                (p.label, p.label, ""),
                (p.load, p.load, ""),
                (p.engine, p.engine, ""),
                (p.hardware_short, p.hardware, ""),
                (p.signature_short, p.signature, sig_class),
            )
        )
        details = (
            ("Run ID", p.run_id),
            ("Validity", p.validity),
            ("Hardware", f"{p.hardware} (fingerprint {p.fingerprint})"),
            ("Engine", p.engine),
            ("Tool", p.tool),
            ("Signature", p.signature),
            ("Comparability", p.comparability_key),
            ("Energy", p.energy),
        )
        dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in details)
        runs.append(f"<details><summary class=line>{line}</summary><dl>{dl}</dl></details>")
    return f"<div class=prov>{head}{''.join(runs)}</div>"


def _quality(q: QualityComparison, charts: list[Chart]) -> list[str]:
    body = ["<h2>Quality beside speed</h2>"]
    body += [_chart_div(c) for c in charts]
    head = "".join(f"<th{' class=l' if h in ('Task', 'Model') else ''}>{escape(h)}</th>"
                   for h in QUALITY_HEADERS)  # fmt: skip
    rows = [
        "<tr>" + "".join(f"<td{' class=l' if i < 2 else ''}>{_breakable(c)}</td>"
                         for i, c in enumerate(quality_cells(r))) + "</tr>"
        for r in q.rows
    ]  # fmt: skip
    body.append(f"<div class=scroll><table><tr>{head}</tr>{''.join(rows)}</table></div>")
    if q.pairs:
        body.append("<h3>Paired on the same items (McNemar exact test)</h3>")
        head = "".join(f"<th>{escape(h)}</th>" for h in PAIR_HEADERS)
        rows = ["<tr>" + "".join(f"<td>{_breakable(c)}</td>" for c in pair_cells(p)) + "</tr>"
                for p in q.pairs]  # fmt: skip
        body.append(f"<div class=scroll><table><tr>{head}</tr>{''.join(rows)}</table></div>")
    body += [f'<p class="muted">{escape(n)}</p>' for n in q.notes]
    return body


def _timelines(section: SuiteSection) -> list[str]:
    if not section.timelines:
        return []
    body = ["<h3>Each point over time</h3>"]
    body += [_chart_div(c) for c in section.timelines]
    if section.timelines_omitted:
        body.append(f'<p class="muted">{section.timelines_omitted} more points are not drawn '
                    "(the first ones of the sweep are).</p>")  # fmt: skip
    return body


def _under_load(q: QualityComparison, charts: list[Chart]) -> list[str]:
    body = ["<h2>Quality under load</h2>",
            '<p class="muted">The same items at each load level; each level paired with the '
            "lowest on the items both answered (McNemar exact test). Diverged: greedy answers "
            "whose text differs from the lowest level's, scored alike or not.</p>"]  # fmt: skip
    body += [_chart_div(c) for c in charts]
    head = "".join(f"<th>{escape(h)}</th>" for h in PAIR_HEADERS)
    rows = ["<tr>" + "".join(f"<td>{_breakable(c)}</td>" for c in pair_cells(p)) + "</tr>"
            for p in q.pairs]  # fmt: skip
    body.append(f"<div class=scroll><table><tr>{head}</tr>{''.join(rows)}</table></div>")
    return body


def render_html(
    sections: list[SuiteSection],
    runs: int,
    skipped: int,
    quality: QualityComparison | None = None,
    under_load: QualityComparison | None = None,
) -> str:
    labels = {label for s in sections for label in s.labels}
    qcharts = quality_charts(quality, labels) if quality else []
    lcharts = load_charts(under_load) if under_load else []
    figures = {c.chart_id: _figure(c) for s in sections for c in (*s.charts, *s.timelines)}
    figures.update({c.chart_id: _figure(c) for c in (*qcharts, *lcharts)})
    body = _quality(quality, qcharts) if quality else []
    body += _under_load(under_load, lcharts) if under_load else []
    for s in sections:
        body.append(f"<h2>{escape(s.suite)}</h2>")
        body += [_chart_div(c) for c in s.charts]
        body.append("<h3>Per run, with 95% within-run bootstrap intervals</h3>")
        body.append(_table(s))
        body.append("<h3>Provenance <span class=muted>(click a run for its details)</span></h3>")
        body.append(_provenance(s))
        body += _timelines(s)
    data = json.dumps(figures).replace("</", "<\\/")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>tokenbench report</title>
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
