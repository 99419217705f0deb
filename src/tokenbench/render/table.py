"""Rich tables for terminals: the `table` format of the summary and the comparison views.
They format; they compute nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from rich.console import Console
from rich.markup import escape

from tokenbench.catalog.catalog import BENCHMARKS
from tokenbench.catalog.infra import GIB, KV_BYTES
from tokenbench.catalog.views import InfraView, ModelEntry, ModelsView, RecommendView
from tokenbench.compare.quality import QualityComparison
from tokenbench.compare.quality_render import (
    PAIR_HEADERS,
    QUALITY_HEADERS,
    opt,
    pair_cells,
    pct,
    quality_cells,
)
from tokenbench.compare.query import QueryResult
from tokenbench.compare.summary import EvalSummaryRow, SummaryTable
from tokenbench.compare.views import ComparisonView
from tokenbench.corpus.matching import PLAIN
from tokenbench.corpus.rows import SummaryRow
from tokenbench.envelope.schema import load_label
from tokenbench.pricing.cost_views import ApiRatesView, CostReportView, CostRunView
from tokenbench.render.cells import (
    DASH,
    budget_cell,
    method_line,
    num,
    run_cells,
    run_headers,
    with_warnings,
)
from tokenbench.render.fit import Col, Kind, print_fit
from tokenbench.render.labels import axis_label, hardware_cell
from tokenbench.render.registry import Output, renderer


def _model(model_id: str, valid: bool) -> str:
    return escape(model_id) + ("" if valid else " [red](invalid)[/]")


_SUITE_COLS = [
    Col("Model"), Col("Engine", hoist=True), Col("Quant", hoist=True),
    Col("Hardware", hoist=True), Col("Conc.", "num"), Col("Runs (valid)", "num", optional=True),
    Col("Throughput (tok/s)", "num"), Col("Range (tok/s)", "words", optional=True),
    Col("Bytes/s", "num", optional=True), Col("Words/s", "num", optional=True),
    Col("TTFT p50 (ms)", "num"), Col("TTFT p99 (ms)", "num"),
    Col("J/tok", "num", optional=True), Col("SLO met", "num", optional=True),
    Col("Client err p99 (ms)", "num", optional=True),
    Col("Errors", "num"), Col("Key", "key", hoist=True), Col("Signed", "key", hoist=True),
    Col("Run ID", "key"),
]  # fmt: skip


def _suite_rows(rows: list[SummaryRow], wide: bool) -> list[list[str]]:
    return [
        [
            _model(r.model_id, r.valid),
            escape(r.engine_label),
            r.quant or DASH,
            escape(hardware_cell(r.hardware, wide)),
            _load_cell(r),
            f"{r.group_runs} ({r.group_valid})" if r.group_runs > 1 else DASH,
            num(r.output_throughput_tok_per_s),
            _range(r.output_throughput_min, r.output_throughput_max),
            num(r.output_bytes_per_s, 0),
            num(r.output_words_per_s),
            num(r.ttft_p50_ms),
            num(r.ttft_p99_ms),
            num(r.joules_per_token, 3),
            DASH if r.slo_attainment is None else f"{r.slo_attainment:.0%}",
            num(r.client_error_p99_ms, 2),
            str(r.requests_failed),
            r.comparability_key[:8],
            "✓" if r.signer else "[yellow]unsigned[/]",
            r.run_id[-8:],
        ]
        for r in rows
    ]


def _range(low: float | None, high: float | None) -> str:
    """A group's spread over its valid runs; nothing for a single run."""
    if low is None or high is None or low == high:
        return DASH
    return f"{num(low)}–{num(high)}"


def _load_cell(r: SummaryRow) -> str:
    """The load, after what else tells the row's point apart: its stage of --stages or --ramp,
    and its workload key when it sent one (thinking on against off: two rows, two keys)."""
    load = f"{r.rate_rps:g}/s" if r.rate_rps is not None else str(r.concurrency)
    said = [f"stage {r.stage}"] if r.stage else []
    said += [f"workload {r.workload}"] if r.workload not in (None, PLAIN) else []
    return f"{', '.join(said)}: {load}" if said else load


def _share(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


_CACHE_COLS = [
    Col("Model"), Col("Engine", hoist=True), Col("Quant", hoist=True), Col("Conc.", "num"),
    Col("Cache", "key", hoist=True), Col("Cache hit", "num"), Col("TTFT hit p50 (ms)", "num"),
    Col("TTFT miss p50 (ms)", "num"),
    Col("TTFT p50 (ms)", "num"), Col("Throughput (tok/s)", "num"), Col("Errors", "num"),
    Col("Run ID", "key"),
]  # fmt: skip


def _cache_rows(rows: list[SummaryRow], wide: bool) -> list[list[str]]:
    """Shared prefixes: what the engine's prefix cache served, and what it bought."""
    return [
        [_model(r.model_id, r.valid), escape(r.engine_label), r.quant or DASH, _load_cell(r),
         r.prefix_cache, _share(r.prefix_cache_hit_rate), num(r.ttft_cache_hit_p50_ms),
         num(r.ttft_cache_miss_p50_ms), num(r.ttft_p50_ms), num(r.output_throughput_tok_per_s),
         str(r.requests_failed), r.run_id[-8:]]
        for r in rows
    ]  # fmt: skip


_SESSION_COLS = [
    Col("Model"), Col("Engine", hoist=True), Col("Quant", hoist=True), Col("Load", "num"),
    Col("Sessions done", "num"), Col("Session p50 (s)", "num"), Col("Sessions/h", "num"),
    Col("TTFT 1st turn (ms)", "num"), Col("TTFT last turn (ms)", "num"),
    Col("Cache hit", "num"), Col("Errors", "num"), Col("Run ID", "key"),
]  # fmt: skip


def _session_rows(rows: list[SummaryRow], wide: bool) -> list[list[str]]:
    """Conversations: whole sessions, and the first turn against the last (longest) one."""
    return [
        [_model(r.model_id, r.valid), escape(r.engine_label), r.quant or DASH, _load_cell(r),
         DASH if r.sessions_completed is None
         else f"{r.sessions_completed}/{r.sessions_completed + (r.sessions_failed or 0)}",
         num(r.session_p50_s, 2), num(r.sessions_per_hour), num(r.ttft_first_turn_p50_ms),
         num(r.ttft_last_turn_p50_ms), _share(r.prefix_cache_hit_rate),
         str(r.requests_failed), r.run_id[-8:]]
        for r in rows
    ]  # fmt: skip


_ENGINE_COLS = [
    Col("Model", hoist=True), Col("Engine", hoist=True), Col("Quant", hoist=True),
    Col("Conc.", "num"), Col("Prompts", "num"), Col("Max tokens", "num"),
    Col("Input tokens", "num"), Col("Output tokens", "num"), Col("Input tok/s", "num"),
    Col("Output tok/s", "num"), Col("Execution time (s)", "num"), Col("Errors", "num"),
    Col("Run ID", "key"),
]  # fmt: skip


def _engine_rows(rows: list[SummaryRow], wide: bool) -> list[list[str]]:
    """The classic engine-comparison table."""
    return [
        [
            _model(r.model_id, r.valid),
            escape(r.engine_label),
            r.quant or DASH,
            str(r.concurrency),
            str(r.requests_ok + r.requests_failed),
            str(r.max_tokens),
            f"{r.input_tokens_total:,}",
            f"{r.output_tokens_total:,}",
            num(r.input_throughput_tok_per_s),
            num(r.output_throughput_tok_per_s),
            num(r.duration_s, 2),
            str(r.requests_failed),
            r.run_id[-8:],
        ]
        for r in rows
    ]


_CONTEXT_COLS = [
    Col("Model", hoist=True), Col("Engine", hoist=True), Col("Quant", hoist=True),
    Col("Input tokens", "num"), Col("Output tok/s", "num"), Col("Decode tok/s", "num"),
    Col("TTFT p50 (ms)", "num"), Col("Prefill tok/s", "num"), Col("Errors", "num"),
    Col("Run ID", "key"),
]  # fmt: skip


def _context_rows(rows: list[SummaryRow], wide: bool) -> list[list[str]]:
    """Input length × speed: one row per model and input length."""
    ordered = sorted(rows, key=lambda r: (r.model_id, r.engine, r.input_tokens_target or 0))
    return [
        [
            _model(r.model_id, r.valid),
            escape(r.engine_label),
            r.quant or DASH,
            f"{r.input_tokens_target:,}" if r.input_tokens_target is not None else DASH,
            num(r.output_throughput_tok_per_s),
            num(1000 / r.tpot_p50_ms if r.tpot_p50_ms else None),
            num(r.ttft_p50_ms),
            num(r.prefill_tok_per_s),
            str(r.requests_failed),
            r.run_id[-8:],
        ]
        for r in ordered
    ]


_EVAL_COLS = [
    Col("Task", hoist=True), Col("Model", hoist=True), Col("Score", "key", hoist=True),
    Col("Accuracy [95% Wilson]", "words"),
    Col("Other scores", optional=True), Col("n", "num"), Col("Unparsed", "num"),
    Col("Failed", "num"), Col("Cut off", "num"), Col("Out tok/answer", "num"),
    Col("TTFT p50 ms", "num"), Col("Valid", "key", hoist=True),
]  # fmt: skip


def _eval_rows(evals: list[EvalSummaryRow]) -> list[list[str]]:
    rows = []
    for row in evals:
        primary = row.primary
        others = [f"{k} {pct(v)}" for k, v in row.scores.items() if k != primary]
        others += [f"instr. {k} {pct(v)}" for k, v in (row.instruction_scores or {}).items()]
        others += [f"{k} {v:.1%}" for k, v in (row.pass_at_k or {}).items()]
        rows.append([
            escape(row.task), escape(row.model_id), primary, escape(pct(row.scores[primary])),
            escape("; ".join(others)), str(row.samples), str(row.parse_failures),
            str(row.errors), str(row.truncated), opt(row.output_tokens_mean, ".0f"),
            opt(row.ttft_p50_ms, ",.1f"), "yes" if row.valid else "NO",
        ])  # fmt: skip
    return rows


_LAYOUTS = {
    "default": (_SUITE_COLS, _suite_rows),
    "engine": (_ENGINE_COLS, _engine_rows),
    "context": (_CONTEXT_COLS, _context_rows),
    "cache": (_CACHE_COLS, _cache_rows),
    "sessions": (_SESSION_COLS, _session_rows),
}


# More rows than a reader can use: the table stops here and says how to see the rest.
MAX_TABLE_ROWS = 60


def _hidden_note(console: Console, rows: int, view: str) -> None:
    if rows <= MAX_TABLE_ROWS:
        return
    what = "groups" if view == "groups" else "runs"
    console.print(
        f"… {rows - MAX_TABLE_ROWS} more {what} not shown ({rows} in all): narrow with "
        "--where FIELD=VALUE or --since DATE, or read them all with --report json",
        soft_wrap=True,
    )


@renderer("table", SummaryTable)
def render_summary(table: SummaryTable, out: Output) -> None:
    """The evals, then one table per suite (rows are already sorted by suite), then the load
    count line."""
    console = out.console
    if table.evals:
        print_fit(console, "evals", _EVAL_COLS, _eval_rows(table.evals))
    by_suite: dict[str, list[SummaryRow]] = {}
    for r in table.runs[:MAX_TABLE_ROWS]:
        by_suite.setdefault(r.suite, []).append(r)
    for suite, rows in by_suite.items():
        cols, cells = _LAYOUTS.get(rows[0].table, _LAYOUTS["default"])
        print_fit(console, suite, cols, cells(rows, out.wide))
    for m in table.comparability_mismatches:
        console.print(
            f"[yellow]warning:[/] the {m.suite} rows do not share a comparability key "
            f"({len(m.keys)} keys); they differ in: {', '.join(m.fields)}",
            soft_wrap=True,  # a warning to grep for stays on one line
        )
    _hidden_note(console, len(table.runs), table.view)
    for s in table.skipped[:MAX_TABLE_ROWS]:
        console.print(f"[yellow]skipped[/] {s.path}: {s.reason}", soft_wrap=True)
    if len(table.skipped) > MAX_TABLE_ROWS:
        console.print(f"… {len(table.skipped) - MAX_TABLE_ROWS} more skipped envelopes not "
                      "listed: `bench summary --report json` lists them all")  # fmt: skip
    if any(r.group_runs > 1 for r in table.runs):
        console.print("a row with several runs is their group: the median of its valid runs "
                      "(--all lists every envelope)", soft_wrap=True)  # fmt: skip
    console.print(
        f"{table.loaded} envelopes loaded, {len(table.skipped)} skipped (validation failure), "
        f"{table.suites} suites"
    )


_QUALITY_KINDS: dict[str, Kind] = {
    "Task": "text", "Setting": "text", "Model": "text", "Accuracy [95% Wilson]": "words",
    "Throughput tok/s": "words", "Pareto": "key", "Diverged": "words",
}  # fmt: skip
_PAIR_KINDS: dict[str, Kind] = {"Task": "text", "Setting": "text", "A": "text", "B": "text",
                                "Verdict": "text", "A − B [95% CI]": "words",
                                "Diverged": "words"}  # fmt: skip
# Left out when no row has them: the setting (only --by load), the per-correct figures
_OPTIONAL = {"Setting", "$/correct", "J/correct", "s/correct", "Diverged"}


def _cols(headers: list[str], kinds: dict[str, Kind]) -> list[Col]:
    return [Col(h, kinds.get(h, "num"), hoist=h in ("Task", "Setting"), optional=h in _OPTIONAL)
            for h in headers]  # fmt: skip


def _escaped(cells: list[str]) -> list[str]:
    return [escape(c) for c in cells]


def render_quality(
    q: QualityComparison, console: Console, name: Callable[[str], str] = str
) -> None:
    rows = [_escaped(quality_cells(row.model_copy(update={"label": name(row.label)})))
            for row in q.rows]  # fmt: skip
    print_fit(console, "quality beside speed", _cols(QUALITY_HEADERS, _QUALITY_KINDS), rows)
    axis = (
        "self-hosted $ per correct answer"
        if any(r.outcome and r.outcome.usd_per_correct is not None for r in q.rows)
        else "throughput"
    )
    console.print(f"★ = on the frontier of accuracy × {axis} within its task (valid evals only)")
    if q.pairs:
        pairs = [_escaped(pair_cells(p.model_copy(update={"a": name(p.a), "b": name(p.b)})))
                 for p in q.pairs]  # fmt: skip
        print_fit(console, "paired on the same items", _cols(PAIR_HEADERS, _PAIR_KINDS), pairs)
        console.print(
            "A − B in percentage points (pp); items whose request failed on "
            "either side are left out of the pair (Failed A/B), not scored wrong"
        )
    for note in q.notes:
        console.print(f"[yellow]note:[/] {note}")


def _runs_table(view: ComparisonView, console: Console, name: Callable[[str], str]) -> None:
    kinds: dict[str, Kind] = {"Suite": "text", "Run": "text", "Pareto": "key", "Valid": "key"}
    cols = [Col(h, kinds.get(h, "num"), hoist=h == "Suite") for h in run_headers(view)]
    print_fit(console, f"runs by {view.by}", cols,
              [_escaped(run_cells(row.model_copy(update={"label": name(row.label)}),
                                  view.columns)) for row in view.runs])  # fmt: skip
    console.print(
        f"★ = on the Pareto frontier of {', '.join(view.pareto_metrics)} within its suite"
    )
    for row in view.runs:
        load = load_label(row.concurrency, row.rate_rps, True, row.input_length)
        if not row.valid:
            console.print(
                f"[yellow]invalid:[/] {row.label} @ {load}: " + "; ".join(row.invalid_reasons),
                soft_wrap=True,  # a warning to grep for stays on one line
            )
        for warning in row.warnings:
            console.print(f"[yellow]warning:[/] {row.label} @ {load}: {warning}", soft_wrap=True)


@renderer("table", ComparisonView)
def render_comparison(view: ComparisonView, out: Output) -> None:
    console = out.console

    def name(label: str) -> str:
        return axis_label(view.by, label, out.wide)

    if view.quality:
        render_quality(view.quality, console, name)
    if not view.source.rows:
        return
    _runs_table(view, console, name)
    for pair in view.pairs:
        a, b = name(pair.a), name(pair.b)
        title = f"{pair.suite} @ {pair.point}: {b} vs {a} ({pair.runs_b} vs {pair.runs_a} runs)"
        cols = [Col("Metric"), Col(a, "num"), Col(b, "num"),
                Col("Client err p99 A / B (ms)", "words", optional=True),
                Col(f"Verdict ({1 - view.alpha:.0%} CI of the ratio over runs)")]  # fmt: skip
        rows = [[escape(d.label), num(d.a), num(d.b), budget_cell(d), escape(with_warnings(d))]
                for d in pair.metrics]  # fmt: skip
        print_fit(console, title, cols, rows)
    if view.pairs:
        console.print(method_line(view))
    for note in view.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    for problem in view.forced_mismatches:
        console.print(f"[yellow]warning:[/] compared with --force: {problem}", soft_wrap=True)


# benchmark headers that wrap between words, so that five scores fit beside the model
_BENCH_HEADERS = {"mmlu": "MMLU", "humaneval": "Human Eval", "gsm8k": "GSM8K",
                  "arc_challenge": "ARC-C", "truthfulqa": "Truthful QA"}  # fmt: skip
_BENCH_COLS = [Col(_BENCH_HEADERS.get(b, b), "num") for b in BENCHMARKS]
# two tables at 100 columns: what each model is, then its published scores
_CATALOG_COLS = [
    Col("Model"), Col("Params (active)", "words"), Col("Context", "num"), Col("License"),
    Col("Released", "key"), Col("Attention"),
]  # fmt: skip
_SCORE_COLS = [Col("Model"), *_BENCH_COLS]


def _published_rows(models: list[ModelEntry]) -> list[list[str]]:
    rows = []
    for m in models:
        active = "" if m.params_active_b == m.params_total_b else f" ({m.params_active_b:g}B)"
        arch = m.architecture
        attn = f"{arch.attention} {arch.kv_heads}/{arch.attention_heads}"
        if arch.moe_experts:
            attn += f", MoE {arch.moe_active_experts}/{arch.moe_experts}"
        if arch.sliding_window:
            attn += f", SWA {arch.sliding_window}"
        scores = [f"{m.published[b].value:g}" if b in m.published else "—" for b in BENCHMARKS]
        rows.append([escape(m.name), f"{m.params_total_b:g}B{active}", f"{m.context_length:,}",
                     escape(m.license), m.release_date.isoformat(), attn, *scores])  # fmt: skip
    return rows


_MEASURED_COLS = [Col("Model"), *(Col(c.header, "words") for c in _BENCH_COLS)]


def _measured_rows(models: list[ModelEntry]) -> list[list[str]]:
    rows = []
    for m in models:
        if not m.measured:
            continue
        cells = []
        for b in BENCHMARKS:
            acc = m.measured.get(b, {}).get("accuracy")
            cells.append("—" if not acc or acc["accuracy"] is None else
                         f"{acc['accuracy']:.1%} (n={acc['total']})")  # fmt: skip
        rows.append([escape(m.name), *cells])
    return rows


@renderer("table", ModelsView)
def render_models(view: ModelsView, out: Output) -> None:
    console = out.console
    rows = _published_rows(view.root)
    print_fit(console, "model catalog", _CATALOG_COLS, [r[:6] for r in rows])
    print_fit(console, "published scores", _SCORE_COLS, [[r[0], *r[6:]] for r in rows])
    console.print("Scores are as published, for the setting each source names "
                  "(`bench models --report json` lists setting and source).")  # fmt: skip
    if not view.with_corpus:
        return
    measured = _measured_rows(view.root)
    if not measured:
        console.print("no eval envelope in the corpus matches a catalogued model")
        return
    print_fit(console, "measured here (bench eval)", _MEASURED_COLS, measured)
    console.print(
        "Measured: 0-shot, complete and valid evals only — another "
        "setting than most published scores: the tables are not one ranking."
    )


@renderer("table", RecommendView)
def render_recommendation(view: RecommendView, out: Output) -> None:
    console, req = out.console, view.requirements
    console.print(f"[bold]For[/] {req.task} (ranked by {view.benchmark}), context {req.context:,}, "
                  f"{req.budget} budget, language {req.language}"
                  + (", latency-critical" if req.latency_critical else "")
                  + (", fine-tuning" if req.fine_tuning else ""), highlight=False)  # fmt: skip
    if not view.shortlist:
        console.print("[yellow]no catalogued model meets these requirements[/]")
    for r in view.rankings:  # scores are compared only within one setting
        console.print(f"  ranking {escape(f'[{r.setting}]')}: " + ", ".join(r.models),
                      highlight=False)  # fmt: skip
    for n, p in enumerate(view.shortlist, 1):
        console.print(f"\n[bold]{n}. {p.name}[/] — " + escape("; ".join(p.reasons)),
                      highlight=False)  # fmt: skip
        for e in p.evidence:
            console.print(f"   \\[{e.kind}] {escape(e.text)}", highlight=False)
    if view.alternatives:
        console.print("\n[bold]Alternatives[/]")
        for p in view.alternatives:
            console.print(f"  {p.name} — " + escape("; ".join(p.reasons)), highlight=False)
    if view.excluded:
        console.print("\n[bold]Excluded[/]")
        for x in view.excluded:
            console.print(f"  {x.name}: {x.why}", highlight=False)
    console.print(
        "\n\\[measured] = bench eval / bench run in your corpus (complete, valid evals only); "
        "\\[published] = the source's claim for the setting it names. Scores are ranked only "
        "within one setting: measured rankings first, then published ones, most models first."
    )


def _usd(value: Decimal | None, places: int = 4) -> str:
    return "—" if value is None else f"${value:,.{places}f}"


@renderer("table", ApiRatesView)
def render_api_rates(view: ApiRatesView, out: Output) -> None:
    rates = view.root
    share, cached = rates[0].input_token_share, rates[0].cached_share
    cols = [Col("Provider"), Col("Model"), *(Col(h, "num") for h in
            ("Input", "Output", "Cached input", "Blended"))]  # fmt: skip
    rows = [[escape(r.provider), escape(r.model), _usd(r.input_usd_per_mtok),
             _usd(r.output_usd_per_mtok), _usd(r.cached_input_usd_per_mtok),
             _usd(r.blended_usd_per_mtok)] for r in rates]  # fmt: skip
    print_fit(out.console, f"API prices, $ per 1M tokens (input share {share}, cached {cached})",
              cols, rows)  # fmt: skip
    date = rates[0].data_date.isoformat() if rates[0].data_date else "undated"
    out.console.print(f"source: {rates[0].source} bundled data (newest price change in effect: "
                      f"{date}); rates in effect today")  # fmt: skip
    if any(r.tiered for r in rates):
        out.console.print("note: some prices have volume tiers; these are the base rates")


def _cost_cells(row: CostRunView) -> list[str]:
    cells = [
        row.model_id + ("" if row.valid else " (invalid)"), row.engine, row.load,
        _usd(row.hourly_usd, 2),
        "—" if row.output_tok_per_s is None else f"{row.output_tok_per_s:,.1f}",
        _usd(row.self_host_usd_per_mtok_output), _usd(row.self_host_usd_per_mtok_total),
        "—" if row.run_input_share is None else f"{row.run_input_share:.2f}",
    ]  # fmt: skip
    for a in row.apis:
        cells += [_usd(a.usd_per_mtok_at_run_mix), _usd(a.usd_per_mtok_at_input_share)]
    return cells


def _cost_table(view: CostReportView, console: Console) -> None:
    prices = [f"${usd} per {gpu}" for gpu, usd in view.gpu_hourly_usd_by_model.items()]
    if view.gpu_hourly_usd_given is not None:
        prices.append(f"${view.gpu_hourly_usd_given} per other GPU or CPU machine")
    title = (f"self-hosted per GPU-hour at {', '.join(prices)}, "
             f"{view.utilization:.0%} utilization — $ per 1M tokens")  # fmt: skip
    heads = ["Model", "Engine", "Load", "Hardware $/h", "Out tok/s", "Self $/M out",
             "Self $/M total", "Run in-share"]  # fmt: skip
    for rate in view.apis:
        heads += [f"{rate.model} @ run mix", f"{rate.model} @ {view.input_token_share}"]
    cols = [Col(h, "text" if h in ("Model", "Engine", "Load") else "num", hoist=h == "Engine")
            for h in heads]  # fmt: skip
    print_fit(console, title, cols, [_escaped(_cost_cells(row)) for row in view.runs])


def _outcome_table(view: CostReportView, console: Console) -> None:
    """Each eval's price of a right answer; a missing figure's reason below the table."""
    cols = [Col("Task", hoist=True), Col("Model"), Col("Engine", hoist=True),
            Col("Accuracy", "num"), Col("Right/answers", "num"), Col("Self $/correct", "num"),
            Col("API $/correct", "num", optional=True), Col("J/correct", "num"),
            Col("s/correct", "num"), Col("At", "text")]  # fmt: skip
    rows = []
    for o in view.outcomes:
        c = o.per_correct
        rows.append(_escaped([
            o.task, o.model_id + ("" if o.valid else " (invalid)"), o.engine,
            DASH if o.accuracy is None else f"{o.accuracy:.1%}", f"{c.correct}/{c.answers}",
            DASH if c.usd_per_correct is None else f"${c.usd_per_correct:,.6f}",
            DASH if c.api_usd_per_correct is None else f"${c.api_usd_per_correct:,.6f}",
            num(c.joules_per_correct), num(c.seconds_per_correct, 3), c.at or DASH,
        ]))  # fmt: skip
    print_fit(console, "per correct answer (every answer's tokens, right or wrong, divided "
              "among the right ones)", cols, rows)  # fmt: skip
    for o in view.outcomes:
        for figure, why in sorted(o.per_correct.reasons.items()):
            console.print(f"[dim]{o.task} {o.model_id}: no {figure}: {why}[/]", soft_wrap=True)


@renderer("table", CostReportView)
def render_cost(view: CostReportView, out: Output) -> None:
    console = out.console
    if view.runs:
        _cost_table(view, console)
        console.print(
            "Self-hosted rates count every paid GPU-hour at the measured throughput × "
            "utilization; API rates are blended at the run's own input share and at "
            "--input-token-share."
        )
    if view.outcomes:
        _outcome_table(view, console)
    for row in view.runs:
        if row.hourly_usd is None:
            console.print(f"[yellow]not priced:[/] {row.model_id} @ {row.load} on "
                          f"{row.hardware}: {row.hourly_usd_reason}")  # fmt: skip
        for a in row.apis:
            if a.break_even is None:
                continue
            sets = (f"; needs {a.gpu_sets_needed} × ({row.hardware}) at that volume"
                    if a.gpu_sets_needed else "")  # fmt: skip
            console.print(
                f"break-even {row.model_id} @ {row.load} vs {a.provider}:{a.model}: "
                f"{a.break_even}{sets}",
            )
    if view.apis:
        date = view.apis[0].data_date
        console.print(f"API prices: {view.apis[0].source} bundled data, newest price change in "
                      f"effect {date.isoformat() if date else 'undated'}")  # fmt: skip


def _weights_formula(e: InfraView) -> str:
    params = e.catalog_model.params_total_b
    if not e.embedding_params_16bit:
        return f"{params:g}B parameters × {e.bits_per_weight:g} bits"
    embed = e.embedding_params_16bit / 1e9
    return (f"{params - embed:.4g}B parameters × {e.bits_per_weight:g} bits + {embed:.4g}B "
            "embedding parameters × 16 bits")  # fmt: skip


def _memory_lines(e: InfraView) -> str:
    a = e.catalog_model.architecture
    return (
        f"[bold]{e.catalog_model.name}[/] at {e.quant}, KV cache {e.kv_dtype}, {e.context:,} "
        f"tokens × {e.concurrency} sequences\n"
        f"  weights     {e.weights_bytes / GIB:,.2f} GiB  ({_weights_formula(e)})\n"
        f"  KV / token  {e.kv_bytes_per_token / 1024:,.1f} KiB  (2 × {a.layers} layers × "
        f"{a.kv_heads} KV heads × {a.head_dim} head dim × {KV_BYTES[e.kv_dtype]:g} bytes; "
        f"{a.attention} {a.kv_heads}/{a.attention_heads})\n"
        f"  KV / seq.   {e.kv_bytes_per_sequence / GIB:,.3f} GiB"
        + (f"  ({a.sliding_layers if a.sliding_layers is not None else a.layers} layers keep "
           f"only {a.sliding_window} tokens)" if a.sliding_window else "")
        + f"\n  KV total    {e.kv_total_bytes / GIB:,.2f} GiB\n"
        f"  total       {e.total_bytes / GIB:,.2f} GiB"
    )  # fmt: skip


@renderer("table", InfraView)
def render_infra(e: InfraView, out: Output) -> None:
    console = out.console
    console.print(_memory_lines(e), highlight=False)
    cols = [Col("GPU"), Col("Memory GiB", "num"), Col("GPUs needed", "words"),
            Col(f"Max sequences of {e.context:,} on one", "num")]  # fmt: skip
    rows = [[escape(f.gpu), f"{f.memory_gib:g}",
             "1 (fits)" if f.gpus_needed == 1 else str(f.gpus_needed),
             str(f.max_concurrency_one_gpu)] for f in e.gpus]  # fmt: skip
    print_fit(console, f"GPUs (usable: {e.usable_share:.0%} of memory)", cols, rows)
    if e.catalog_model.architecture.moe_experts:
        console.print("note: mixture of experts — every expert's weights are counted")
    console.print(f"note: {e.total_bytes / GIB:,.2f} GiB excludes activations and engine "
                  "buffers, which the 10% reserve covers only roughly")  # fmt: skip


def _query_cell(value: object) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return num(value, 3)
    return escape(str(value))


@renderer("table", QueryResult)
def render_query(result: QueryResult, out: Output) -> None:
    """The statement's rows, numbers right-aligned; long results stop with a note."""
    shown = result.rows[:MAX_TABLE_ROWS]
    numeric = [all(isinstance(r[i], int | float) or r[i] is None for r in shown) and shown
               for i in range(len(result.columns))]  # fmt: skip
    cols = [Col(name, "num" if numeric[i] else "text") for i, name in enumerate(result.columns)]
    print_fit(out.console, None, cols, [[_query_cell(v) for v in row] for row in shown])
    if len(result.rows) > MAX_TABLE_ROWS:
        out.console.print(
            f"… {len(result.rows) - MAX_TABLE_ROWS} more rows not shown ({len(result.rows)} in "
            "all): add LIMIT or aggregate, or read them all with --report json or csv",
            soft_wrap=True,
        )
