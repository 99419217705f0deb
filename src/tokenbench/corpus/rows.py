"""A run's row: the flat figures one run envelope contributes to the summary, the index and
the exports, computed once from its predicate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from tokenbench.corpus.matching import workload_key
from tokenbench.envelope.schema import ErrorBudget, RunPredicate

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class SummaryRow(BaseModel):
    model_config = _FROZEN

    path: str
    run_id: str
    started_at: str | None = None  # ISO 8601 UTC
    suite: str
    model_id: str
    engine: str
    engine_version: str | None
    quant: str | None
    hardware: str
    concurrency: int
    rate_rps: float | None  # open loop
    status: str
    requests_ok: int
    requests_failed: int
    output_throughput_tok_per_s: float | None
    input_throughput_tok_per_s: float | None
    input_tokens_total: int
    output_tokens_total: int
    max_tokens: int
    duration_s: float | None
    input_tokens_target: int | None
    prefill_tok_per_s: float | None
    table: str
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    tpot_p50_ms: float | None
    itl_p50_ms: float | None
    e2e_p50_ms: float | None
    joules_per_token: float | None
    goodput_rps: float | None
    slo_attainment: float | None
    energy_method: str
    comparability_key: str
    signer: str | None  # keyid that verified the envelope; None when unsigned
    valid: bool
    stage: str | None = None  # "2/3" for a stage of --stages / --ramp
    prefix_cache: str = "defeated"  # the engine asked to skip its prefix cache, or not
    # what the run sent beyond its suite (corpus.matching.workload_key): "plain" when nothing was
    workload: str | None = None
    prefix_cache_hit_rate: float | None = None
    ttft_cache_hit_p50_ms: float | None = None
    ttft_cache_miss_p50_ms: float | None = None
    sessions_completed: int | None = None  # session workloads and traces with sessions
    sessions_failed: int | None = None
    session_p50_s: float | None = None
    sessions_per_hour: float | None = None
    ttft_first_turn_p50_ms: float | None = None
    ttft_last_turn_p50_ms: float | None = None  # the history is longest there
    error_budget: ErrorBudget | None = None  # --selftest: the client's error before the sweep
    canary: ErrorBudget | None = None  # --canary: the client's error under this run's load
    # A group of repeats (the summary's default view): how many runs it holds, how many are
    # valid, and the valid runs' range of the two headline figures. A single run is a group of 1.
    group_runs: int = 1
    group_valid: int | None = None
    output_throughput_min: float | None = None
    output_throughput_max: float | None = None
    ttft_p50_min_ms: float | None = None
    ttft_p50_max_ms: float | None = None
    # Tokenizer-fair speed (RunMetrics): null for runs recorded before the text was counted
    output_bytes_per_s: float | None = None
    output_words_per_s: float | None = None
    tokens_per_word: float | None = None

    @property
    def engine_label(self) -> str:
        return f"{self.engine} {self.engine_version}" if self.engine_version else self.engine

    @property
    def client_error_p99_ms(self) -> float | None:
        """The client's TTFT error p99: the canary's (under the run's load), else the
        selftest's; None when neither was measured."""
        for budget in (self.canary, self.error_budget):
            if budget is not None and budget.ttft_error_ms_p99 is not None:
                return budget.ttft_error_ms_p99
        return None


def run_row(p: RunPredicate, path: str, signer: str | None) -> SummaryRow:
    """The row of one run envelope (a group of 1)."""
    m = p.metrics
    engine = p.target.engine
    return SummaryRow(
        path=path,
        run_id=p.run_id,
        started_at=p.timing.started_at,
        suite=p.parameters.suite.name,
        model_id=p.target.model.model_id,
        engine=engine.name,
        engine_version=engine.version,
        quant=p.target.model.quant,
        hardware=p.hardware.label,
        concurrency=p.parameters.load.concurrency,
        rate_rps=p.parameters.load.rate_rps,
        status=p.status,
        requests_ok=m.requests_ok,
        requests_failed=m.requests_failed,
        output_throughput_tok_per_s=m.output_throughput_tok_per_s,
        input_throughput_tok_per_s=m.input_throughput_tok_per_s,
        input_tokens_total=m.input_tokens_total,
        output_tokens_total=m.output_tokens_total,
        max_tokens=p.parameters.suite.max_tokens,
        duration_s=m.duration_s,
        input_tokens_target=p.parameters.workload.input_tokens_target,
        prefill_tok_per_s=m.prefill_tok_per_s.p50 if m.prefill_tok_per_s else None,
        table=p.parameters.suite.table,
        ttft_p50_ms=m.ttft_ms.p50 if m.ttft_ms else None,
        ttft_p99_ms=m.ttft_ms.p99 if m.ttft_ms else None,
        tpot_p50_ms=m.tpot_ms.p50 if m.tpot_ms else None,
        itl_p50_ms=m.itl_ms.p50 if m.itl_ms else None,
        e2e_p50_ms=m.e2e_ms.p50 if m.e2e_ms else None,
        joules_per_token=m.joules_per_token,
        goodput_rps=m.goodput_rps,
        slo_attainment=m.slo_attainment,
        energy_method=p.energy.method,
        comparability_key=p.comparability.key,
        signer=signer,
        valid=p.validity.valid,
        error_budget=p.error_budget,
        canary=p.canary,
        output_bytes_per_s=m.output_bytes_per_s,
        output_words_per_s=m.output_words_per_s,
        tokens_per_word=m.tokens_per_word,
        **_workload_cells(p),
    )


def _workload_cells(p: RunPredicate) -> dict[str, Any]:
    """The prefix cache's and the sessions' figures, the stage and the workload key, for the
    row."""
    m = p.metrics
    stage = p.parameters.load.stage
    hit, miss = m.distribution("ttft_cache_hit_ms"), m.distribution("ttft_cache_miss_ms")
    out: dict[str, Any] = {
        "stage": f"{stage.index + 1}/{stage.count}" if stage else None,
        "prefix_cache": "defeated" if p.parameters.suite.prefix_cache_disabled else "allowed",
        "workload": workload_key(p),
        "prefix_cache_hit_rate": m.prefix_cache_hit_rate,
        "ttft_cache_hit_p50_ms": hit.p50 if hit else None,
        "ttft_cache_miss_p50_ms": miss.p50 if miss else None,
    }
    if m.sessions is not None:
        sess = m.sessions
        out |= {"sessions_completed": sess.completed, "sessions_failed": sess.failed,
                "session_p50_s": sess.completion_s.p50 if sess.completion_s else None,
                "sessions_per_hour": sess.sessions_per_hour}  # fmt: skip
    if m.by_turn:
        turns = sorted(m.by_turn, key=int)
        first, last = m.by_turn[turns[0]].ttft_ms, m.by_turn[turns[-1]].ttft_ms
        out["ttft_first_turn_p50_ms"] = first.p50 if first else None
        out["ttft_last_turn_p50_ms"] = last.p50 if last else None
    return out
