"""The summary table: one row per envelope, sorted so models line up by suite and concurrency."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tokenbench.corpus.loader import Corpus


@dataclass(frozen=True, slots=True)
class SummaryRow:
    path: str
    run_id: str
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

    @property
    def engine_label(self) -> str:
        return f"{self.engine} {self.engine_version}" if self.engine_version else self.engine

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class KeyMismatch:
    """Rows of one suite that do not share a comparability key, and the fields that differ."""

    suite: str
    keys: list[str]
    fields: list[str]


@dataclass(frozen=True, slots=True)
class SummaryTable:
    rows: list[SummaryRow]
    loaded: int
    skipped: list[tuple[str, str]]  # (path, reason)
    suites: int
    mismatches: list[KeyMismatch]


def _mismatches(corpus: Corpus) -> list[KeyMismatch]:
    by_suite: dict[str, list[Any]] = {}
    for run in corpus.runs:
        by_suite.setdefault(run.predicate.parameters.suite.name, []).append(
            run.predicate.comparability
        )
    out = []
    for suite, comps in sorted(by_suite.items()):
        keys = sorted({c.key for c in comps})
        if len(keys) > 1:
            fields = [
                name
                for name in ("hardware_fingerprint", "engine", "suite_digest", "schema_version")
                if len({getattr(c, name) for c in comps}) > 1
            ]
            out.append(KeyMismatch(suite, keys, fields))
    return out


def summary_table(corpus: Corpus) -> SummaryTable:
    rows = []
    for loaded in corpus.runs:
        p = loaded.predicate
        m = p.metrics
        engine = p.target.engine
        rows.append(
            SummaryRow(
                path=str(loaded.path),
                run_id=p.run_id,
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
                signer=loaded.signer,
                valid=p.validity.valid,
            )
        )
    rows.sort(
        key=lambda r: (
            r.suite,
            r.model_id,
            r.engine,
            r.quant or "",
            r.rate_rps or 0.0,
            r.concurrency,
            r.run_id,
        )
    )
    skipped = [(str(p), why) for p, why in corpus.skipped]
    return SummaryTable(rows, corpus.loaded, skipped, len(corpus.suites), _mismatches(corpus))
