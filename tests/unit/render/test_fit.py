"""Tables that fit (issue 15, problem 1): every terminal table rendered at 80, 100 and 160
columns shows every number of its view whole, and no line is wider than the console."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel
from rich.console import Console

from tokenbench.catalog.catalog import BENCHMARKS, load_catalog
from tokenbench.catalog.infra import estimate
from tokenbench.catalog.recommend import Requirements, recommend
from tokenbench.catalog.views import infra_view, models_view, recommend_view
from tokenbench.compare.quality import QualityComparison, QualityPair, QualityRow
from tokenbench.compare.summary import EvalSummaryRow, SummaryTable
from tokenbench.compare.views import (
    Column,
    ComparisonView,
    MetricDifferenceView,
    PairView,
    RunView,
)
from tokenbench.corpus.rows import SummaryRow
from tokenbench.metrics.quality import paired_difference, wilson
from tokenbench.pricing.cost_views import (
    ApiRatesView,
    ApiRateView,
    CostReportView,
    CostRunView,
    RunApiView,
)
from tokenbench.render.fit import Col, fit
from tokenbench.render.formats import Output, render
from tokenbench.render.labels import short_hardware

WIDTHS = (80, 100, 160)
CPU = "AMD EPYC 7B13 64-Core Processor ×16"
GPU = "8× NVIDIA H100 80GB HBM3"


def _text(view: BaseModel, width: int, wide: bool = False) -> str:
    text = io.StringIO()
    console = Console(file=text, width=width, color_system=None, force_terminal=False)
    render(view, "table", Output(console, io.BytesIO(), wide))
    return text.getvalue()


def _f(value: float | None, digits: int = 1) -> Iterator[str]:
    if value is not None:
        yield f"{value:,.{digits}f}"


def _run(n: int, model: str, table: str = "default", **over: Any) -> SummaryRow:
    fields: dict[str, Any] = dict(
        path=f"/c/{n}.json", run_id=f"01J{n:05d}ABCDEFGH{n:04d}", suite="llm.inference.x",
        model_id=model, engine="llama.cpp", engine_version="11434.0.0", quant="Q4_K_M",
        hardware=CPU, concurrency=2**n, rate_rps=None, status="complete", requests_ok=100 * n,
        requests_failed=n % 3, output_throughput_tok_per_s=12345.6 / n,
        input_throughput_tok_per_s=98765.4 / n, input_tokens_total=1_234_567 * n,
        output_tokens_total=765_432 * n, max_tokens=128, duration_s=123.456 * n,
        input_tokens_target=2**(n + 8), prefill_tok_per_s=45678.9 / n, table=table,
        ttft_p50_ms=1155.7 * n, ttft_p99_ms=11943.4 * n, tpot_p50_ms=12.5 * n,
        itl_p50_ms=11.0, e2e_p50_ms=5000.0, joules_per_token=0.123 * n, goodput_rps=1.5,
        slo_attainment=0.5 + n / 100, energy_method="nvml", comparability_key=f"{n:08x}" * 8,
        signer="abc" if n % 2 else None, valid=n != 3,
    )  # fmt: skip
    fields.update(over)
    return SummaryRow(**fields)


def _summary() -> SummaryTable:
    long = "ttft_ms=10;itl_ms=2;tokens=24"
    runs = [_run(n, long if n % 2 else "smollm2-135m-instruct",
                 hardware=GPU if n == 2 else CPU) for n in range(1, 5)]  # fmt: skip
    # one machine, one engine: those columns are said once, above the table
    runs += [_run(n, "gemma-3-270m", suite="llm.inference.chatbot-short", joules_per_token=None,
                  slo_attainment=None, signer="k") for n in range(1, 4)]  # fmt: skip
    runs += [_run(n, "qwen", "engine", suite="llm.inference.engine-compare",
                  engine=("vllm", "llama.cpp")[n % 2]) for n in range(1, 3)]  # fmt: skip
    runs += [_run(n, "qwen", "context", suite="llm.inference.context-sweep")
             for n in range(1, 4)]  # fmt: skip
    acc = wilson(171, 200)
    evals = [EvalSummaryRow(
        path="/e.json", run_id="01JEVAL0000000000000000001", task="ifeval", model_id=long,
        engine="llama.cpp", primary="strict", scores={"strict": acc, "loose": wilson(180, 200)},
        instruction_scores={"strict": wilson(300, 400)}, pass_at_k=None, items=200,
        samples=200, errors=3, parse_failures=12, truncated=7, output_tokens_mean=234.5,
        ttft_p50_ms=1234.5, output_throughput_tok_per_s=55.5, signer=None, valid=True,
    )]  # fmt: skip
    return SummaryTable(runs=runs, loaded=len(runs) + 1, skipped=[], suites=4,
                        comparability_mismatches=[], evals=evals)  # fmt: skip


def _summary_numbers(view: SummaryTable) -> Iterator[str]:
    for r in view.runs:
        yield r.run_id[-8:]
        yield str(r.requests_failed)
        yield from _f(r.output_throughput_tok_per_s)
        if r.table == "default":
            yield str(r.concurrency)
            yield from _f(r.ttft_p50_ms)
            yield from _f(r.ttft_p99_ms)
            yield from _f(r.joules_per_token, 3)
            if r.slo_attainment is not None:
                yield f"{r.slo_attainment:.0%}"
        elif r.table == "engine":
            yield f"{r.input_tokens_total:,}"
            yield f"{r.output_tokens_total:,}"
            yield from _f(r.input_throughput_tok_per_s)
            yield from _f(r.duration_s, 2)
            yield str(r.requests_ok + r.requests_failed)
        else:
            yield f"{r.input_tokens_target:,}"
            yield from _f(r.prefill_tok_per_s)
            yield from _f(1000 / r.tpot_p50_ms if r.tpot_p50_ms else None)
            yield from _f(r.ttft_p50_ms)
    for e in view.evals:
        a = e.scores[e.primary]
        assert a.accuracy is not None
        assert a.ci_low is not None
        assert a.ci_high is not None
        yield from (f"{a.accuracy:.1%}", f"{a.ci_low:.1%}", f"{a.ci_high:.1%}")
        yield from (str(e.samples), str(e.parse_failures), str(e.errors), str(e.truncated))
        yield from _f(e.ttft_p50_ms)


def _comparison() -> ComparisonView:
    cols = [
        Column(
            name="throughput", label="Throughput (tok/s)", json_key="throughput_tok_per_s", digits=1
        ),
        Column(name="ttft", label="TTFT p50 (ms)", json_key="ttft_p50_ms", digits=1),
        Column(name="ttft_p99", label="TTFT p99 (ms)", json_key="ttft_p99_ms", digits=1),
        Column(name="tpot", label="TPOT p50 (ms)", json_key="tpot_p50_ms", digits=1),
        Column(name="jtok", label="J/tok", json_key="joules_per_token", digits=3),
        Column(name="usd_mtok", label="Self $/Mtok", json_key="usd_per_mtok", digits=4),
    ]
    labels = ["ttft_ms=10;itl_ms=2;tokens=24", "ttft_ms=30;itl_ms=4;tokens=24"]
    runs = [RunView(
        suite="llm.inference.chatbot-short", model_id=labels[n % 2], engine="llama.cpp 1",
        quant=None, hardware=GPU, concurrency=2**n, rate_rps=None, label=labels[n % 2],
        run_id=f"R{n}", signed=True, status="complete", valid=True, invalid_reasons=[],
        metrics={"throughput_tok_per_s": 12345.6 * n, "ttft_p50_ms": 1155.7 + n,
                 "ttft_p99_ms": 11943.4 + n, "tpot_p50_ms": 12.25 + n,
                 "joules_per_token": 0.123 + n, "usd_per_mtok": 1.2345 + n},
        pareto=n == 1,
    ) for n in range(4)]  # fmt: skip
    diff = MetricDifferenceView(
        metric="throughput", label="Throughput (tok/s)", a=12345.6, b=9876.5, relative=-0.2,
        ci_low=-0.25, ci_high=-0.15, p_value=0.001, p_adjusted=0.004, n_a=3, n_b=3,
        tested=True, significant=True,
        verdict="B lower by 20.0% (CI −25.0% to −15.0%, p=0.001, Holm 0.004)", warnings=[],
    )  # fmt: skip
    pair = PairView(suite="llm.inference.chatbot-short", point="concurrency 2", concurrency=2,
                    rate_rps=None, input_tokens=None, a=labels[0], b=labels[1], runs_a=3,
                    runs_b=3, metrics=[diff])  # fmt: skip
    row = QualityRow(
        task="gsm8k", label=labels[0], variant="flexible", accuracy=wilson(171, 200),
        parse_failure_rate=0.0123, output_tokens_mean=234.5, throughput_tok_per_s=12345.6,
        throughput_at="concurrency 16", usd_per_mtok=1.2345, pareto=True, eval_path="e.json",
    )  # fmt: skip
    difference = paired_difference([True] * 150 + [False] * 50, [True] * 120 + [False] * 80)
    qpair = QualityPair(task="gsm8k", a=labels[0], b=labels[1], verdict="A better (McNemar)",
                        failed_a=2, failed_b=11, difference=difference)  # fmt: skip
    source = SimpleNamespace(rows=runs)  # only its rows' presence is read by the table
    return ComparisonView.model_construct(
        by="model", method="welch-t", alpha=0.05, family=5, pareto_metrics=["throughput"],
        runs=runs, pairs=[pair], forced_mismatches=[],
        quality=QualityComparison(rows=[row], pairs=[qpair], notes=[]), columns=cols,
        source=source, loaded=4, skipped=0,  # type: ignore[arg-type]
    )  # fmt: skip


def _comparison_numbers(view: ComparisonView) -> Iterator[str]:
    for r in view.runs:
        for c in view.columns:
            yield from _f(r.metrics[c.json_key], c.digits)
    for p in view.pairs:
        for d in p.metrics:
            yield from (*_f(d.a), *_f(d.b))
    assert view.quality is not None
    for q in view.quality.rows:
        a = q.accuracy
        assert a.accuracy is not None
        assert a.ci_low is not None
        assert a.ci_high is not None
        yield from (f"{a.accuracy:.1%}", f"{a.ci_low:.1%}", f"{a.ci_high:.1%}", str(a.total))
        yield from _f(q.throughput_tok_per_s)
        yield f"${q.usd_per_mtok:,.4f}"
    for qp in view.quality.pairs:
        pd = qp.difference
        yield from (f"{pd.difference * 100:+.1f}", f"{pd.ci_low * 100:+.1f}",
                    f"{pd.ci_high * 100:+.1f}", f"{pd.mcnemar_p:.3g}", str(pd.only_a))  # fmt: skip
        yield f"{qp.failed_a}/{qp.failed_b}"


def _cost() -> CostReportView:
    rate = ApiRateView(
        provider="openai", model="gpt-4o-mini", input_usd_per_mtok=Decimal("0.15"),
        output_usd_per_mtok=Decimal("0.6"), cached_input_usd_per_mtok=Decimal("0.075"),
        blended_usd_per_mtok=Decimal("0.2625"), input_token_share=Decimal("0.75"),
        cached_share=Decimal("0"), source="genai-prices", data_date=None, tiered=False,
    )  # fmt: skip
    api = RunApiView(provider="openai", model="gpt-4o-mini",
                     usd_per_mtok_at_input_share=Decimal("0.2625"),
                     usd_per_mtok_at_run_mix=Decimal("0.3712"),
                     break_even_mtok_per_month=Decimal("1234.5"),
                     break_even="at 1,234.5 Mtok a month", gpu_sets_needed=3)  # fmt: skip
    runs = [CostRunView(
        path="/c/r.json", model_id="ttft_ms=10;itl_ms=2;tokens=24", engine="vllm 0.6.3",
        hardware=GPU, load=f"concurrency {2**n}", valid=True, hourly_usd=Decimal("19.92"),
        hourly_usd_reason="", output_tok_per_s=12345.6 * n, total_tok_per_s=23456.7 * n,
        run_input_share=Decimal("0.5"), self_host_usd_per_mtok_output=Decimal("0.4482") / n,
        self_host_usd_per_mtok_total=Decimal("0.2359") / n, capacity_mtok_per_month=None,
        apis=[api],
    ) for n in (1, 2)]  # fmt: skip
    return CostReportView(gpu_hourly_usd=None, gpu_hourly_usd_by_model={"H100": Decimal("2.49")},
                          utilization=Decimal("1"), fixed_monthly_usd=Decimal("0"),
                          input_token_share=Decimal("0.75"), apis=[rate], runs=runs,
                          gpu_hourly_usd_given=None)  # fmt: skip


def _cost_numbers(view: CostReportView) -> Iterator[str]:
    for r in view.runs:
        yield from _f(r.output_tok_per_s)
        for v in (r.self_host_usd_per_mtok_output, r.self_host_usd_per_mtok_total):
            assert v is not None
            yield f"${v:,.4f}"
        for a in r.apis:
            yield from (
                f"${a.usd_per_mtok_at_run_mix:,.4f}",
                f"${a.usd_per_mtok_at_input_share:,.4f}",
            )


def _rates() -> ApiRatesView:
    return ApiRatesView(_cost().apis)


def _rates_numbers(view: ApiRatesView) -> Iterator[str]:
    for r in view.root:
        yield from (f"${r.input_usd_per_mtok:,.4f}", f"${r.output_usd_per_mtok:,.4f}",
                    f"${r.blended_usd_per_mtok:,.4f}")  # fmt: skip


def _models() -> BaseModel:
    catalog = load_catalog()
    first = catalog.model[0].id
    measured: dict[str, dict[str, dict[str, Any]]] = {m.id: {} for m in catalog.model}
    measured[first] = {"gsm8k": {"accuracy": {"accuracy": 0.855, "total": 200}}}
    return models_view(catalog.model, measured, True)


def _models_numbers(view: Any) -> Iterator[str]:
    for m in view.root:
        yield f"{m.context_length:,}"
        for b in BENCHMARKS:
            if b in m.published:
                yield f"{m.published[b].value:g}"
            acc = m.measured.get(b, {}).get("accuracy")
            if acc:
                yield f"{acc['accuracy']:.1%}"


def _infra() -> BaseModel:
    model = load_catalog().get("llama-3.1-8b-instruct")
    return infra_view(estimate(model, "int4", 8192, 16))


def _infra_numbers(view: Any) -> Iterator[str]:
    for g in view.gpus:
        yield from (f"{g.memory_gib:g}", str(g.gpus_needed), str(g.max_concurrency_one_gpu))


def _recommend() -> BaseModel:
    return recommend_view(recommend(load_catalog(), Requirements(context=8000, task="code")))


def _recommend_numbers(view: Any) -> Iterator[str]:
    yield f"{view.requirements.context:,}"


VIEWS: dict[str, tuple[Callable[[], Any], Callable[[Any], Iterator[str]]]] = {
    "summary": (_summary, _summary_numbers),
    "compare": (_comparison, _comparison_numbers),
    "cost": (_cost, _cost_numbers),
    "api rates": (_rates, _rates_numbers),
    "models": (_models, _models_numbers),
    "infra": (_infra, _infra_numbers),
    "recommend": (_recommend, _recommend_numbers),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(VIEWS))
def test_every_number_is_whole_and_no_line_is_too_wide(name: str, width: int) -> None:
    make, numbers = VIEWS[name]
    view = make()
    text = _text(view, width)
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, "\n".join(too_wide)
    expected = list(numbers(view))
    assert expected
    missing = [n for n in expected if n not in text]
    assert not missing, f"{missing} missing from\n{text}"


def test_a_summary_at_100_columns_is_one_table_per_suite_with_short_hardware() -> None:
    view = _summary()
    text = _text(view, 100)
    # designed for 100 columns: the demo's table (one machine, one engine) is not split
    assert "chatbot-short (continued" not in text
    assert "context-sweep (continued" not in text
    assert "EPYC 7B13 ×16" in text
    assert "8× H100" in text  # wraps between words in its column
    assert CPU not in text  # the full label is --wide's, JSON's and the report's
    # one engine and one machine for every row of a suite: said once, above its table
    assert "Hardware: EPYC 7B13 ×16" in text
    assert "Engine: llama.cpp 11434.0.0" in text
    wide = _text(view, 100, wide=True)
    assert CPU in wide.replace("\n", " ") or "AMD EPYC 7B13 64-Core" in wide
    assert view.runs[0].hardware == CPU  # JSON keeps the full label


def test_numbers_that_do_not_fit_split_the_table_by_row_number() -> None:
    cols = [Col("Model"), *(Col(f"Metric {i}", "num") for i in range(8))]
    rows = [[f"model-{r}", *(f"{123456.7 * (r + 1):,.1f}" for _ in range(8))] for r in range(3)]
    parts = fit("t", cols, rows, 60)
    text = io.StringIO()
    console = Console(file=text, width=60, color_system=None)
    for part in parts:
        console.print(part)
    out = text.getvalue()
    assert "continued, by #" in out
    assert all(len(line) <= 60 for line in out.splitlines())
    assert out.count("370,370.1") == 8  # every cell of row 3, whole
    assert all(f"model-{r}" in out for r in range(3))


def test_short_hardware() -> None:
    assert short_hardware("AMD EPYC ×2") == "EPYC ×2"
    assert short_hardware("1× NVIDIA H100 80GB HBM3") == "1× H100 80GB HBM3"
    assert short_hardware(CPU) == "EPYC 7B13 ×16"
    assert len(short_hardware("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz ×224")) <= 18


README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_summary_is_what_the_command_prints() -> None:
    """The Quick start's sample, rendered again from its own numbers at 100 columns."""
    text = README.read_text()
    start = text.index("```\nllm.inference.chatbot-short\n") + 4
    sample = text[start : text.index("report: corpus/report.html", start)]
    lines = sample.splitlines()
    shared = dict(part.split(": ") for part in lines[1].split(" · "))
    runs = []
    for line in lines[5:-1]:
        model, quant, conc, tput, p50, p99, errors, run_id = line.split()
        runs.append(_run(
            1, model, suite=lines[0], quant=quant, concurrency=int(conc),
            output_throughput_tok_per_s=float(tput.replace(",", "")),
            ttft_p50_ms=float(p50.replace(",", "")), ttft_p99_ms=float(p99.replace(",", "")),
            requests_failed=int(errors), run_id="01J" + run_id, joules_per_token=None,
            slo_attainment=None, engine_version=shared["Engine"].split()[1], valid=True,
            hardware="AMD " + shared["Hardware"], signer="k",
            comparability_key=shared["Key"] + "0" * 56,
        ))  # fmt: skip
    view = SummaryTable(runs=runs, loaded=len(runs), skipped=[], suites=1,
                        comparability_mismatches=[], evals=[])  # fmt: skip
    rendered = "\n".join(line.rstrip() for line in _text(view, 100).splitlines())
    assert rendered + "\n" == sample


def test_compare_by_hardware_shows_short_names_and_wide_the_full_ones() -> None:
    view = _comparison()
    full = [f"{GPU} [0a1b2c3d]", f"{CPU} [9f8e7d6c]"]
    runs = [r.model_copy(update={"label": full[n % 2]}) for n, r in enumerate(view.runs)]
    pairs = [p.model_copy(update={"a": full[0], "b": full[1]}) for p in view.pairs]
    by_hw = view.model_copy(update={"by": "hardware", "runs": runs, "pairs": pairs})
    text = _text(by_hw, 160)
    assert "8× H100 80GB HBM3 [0a1b2c3d]" in text
    assert "EPYC 7B13 ×16 [9f8e7d6c]" in text
    assert "NVIDIA" not in text
    assert f"{CPU} [9f8e7d6c]" in _text(by_hw, 160, wide=True)
