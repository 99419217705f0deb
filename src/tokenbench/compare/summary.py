"""The summary table: one row per envelope, sorted so models line up by suite and concurrency."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
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
    status: str
    requests_ok: int
    requests_failed: int
    output_throughput_tok_per_s: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    tpot_p50_ms: float | None
    itl_p50_ms: float | None
    e2e_p50_ms: float | None
    joules_per_token: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SummaryTable:
    rows: list[SummaryRow]
    loaded: int
    skipped: list[tuple[str, str]]  # (path, reason)
    suites: int


def summary_table(corpus: Corpus) -> SummaryTable:
    rows = []
    for path, env in corpus.envelopes:
        m = env.metrics
        rows.append(
            SummaryRow(
                path=str(path),
                run_id=env.run_id,
                suite=env.suite.name,
                model_id=env.model.model_id,
                engine=env.engine.name,
                engine_version=env.engine.version,
                quant=env.model.quant,
                hardware=env.hardware.label,
                concurrency=env.load.concurrency,
                status=env.status,
                requests_ok=m.requests_ok,
                requests_failed=m.requests_failed,
                output_throughput_tok_per_s=m.output_throughput_tok_per_s,
                ttft_p50_ms=m.ttft_ms.p50 if m.ttft_ms else None,
                ttft_p99_ms=m.ttft_ms.p99 if m.ttft_ms else None,
                tpot_p50_ms=m.tpot_ms.p50 if m.tpot_ms else None,
                itl_p50_ms=m.itl_ms.p50 if m.itl_ms else None,
                e2e_p50_ms=m.e2e_ms.p50 if m.e2e_ms else None,
                joules_per_token=m.joules_per_token,
            )
        )
    rows.sort(key=lambda r: (r.suite, r.model_id, r.engine, r.quant or "", r.concurrency, r.run_id))
    skipped = [(str(p), why) for p, why in corpus.skipped]
    return SummaryTable(rows, len(corpus.envelopes), skipped, len(corpus.suites))


def relative(path: str, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(base.resolve()))
    except ValueError:
        return path
