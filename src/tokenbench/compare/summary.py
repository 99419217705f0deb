"""The summary view: one row per configuration and point (or per run envelope), sorted so
models line up by suite and concurrency, and one per eval envelope; what `bench summary`
renders in every format."""

from __future__ import annotations

from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict

from tokenbench.corpus.filters import Filters
from tokenbench.corpus.index import JSON_COLUMNS, ROW_COLUMNS
from tokenbench.corpus.loader import LoadedEval
from tokenbench.corpus.rows import SummaryRow
from tokenbench.corpus.selection import Selection
from tokenbench.metrics.quality import Accuracy

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class KeyMismatch(BaseModel):
    """Rows of one suite that do not share a comparability key, and the fields that differ."""

    model_config = _FROZEN

    suite: str
    keys: list[str]
    fields: list[str]


class Skipped(BaseModel):
    model_config = _FROZEN

    path: str
    reason: str


class EvalSummaryRow(BaseModel):
    """One eval envelope: its scores with intervals and how the answers went."""

    model_config = _FROZEN

    path: str
    run_id: str
    task: str
    model_id: str
    engine: str
    primary: str  # the score variant headline figures use
    scores: dict[str, Accuracy]
    instruction_scores: dict[str, Accuracy] | None
    pass_at_k: dict[str, float] | None
    items: int
    samples: int
    errors: int
    parse_failures: int
    truncated: int
    output_tokens_mean: float | None
    ttft_p50_ms: float | None
    output_throughput_tok_per_s: float | None
    signer: str | None
    valid: bool


class SummaryTable(BaseModel):
    """The `bench summary` view; its JSON is this model's dump."""

    model_config = _FROZEN

    # "groups": one row per configuration and point (its latest valid run, or its valid runs'
    # medians); "runs": one per envelope (--all)
    view: Literal["groups", "runs"] = "runs"
    runs: list[SummaryRow]
    loaded: int
    skipped: list[Skipped]
    suites: int
    comparability_mismatches: list[KeyMismatch]
    evals: list[EvalSummaryRow]


# A group: the runs of one point of one configuration (repeats, and reruns over time).
GROUP_BY = ("suite", "model_id", "engine", "engine_version", "quant", "hardware", "concurrency",
            "rate_rps", "input_tokens_target", "max_tokens", "stage", "prefix_cache", "workload",
            "comparability_key")  # fmt: skip
_GROUP_STATS = ("group_runs", "group_valid", "output_throughput_min", "output_throughput_max",
                "ttft_p50_min_ms", "ttft_p50_max_ms")  # fmt: skip
_COLUMNS = ", ".join(f'"{c}"' for c in ROW_COLUMNS)
_ORDER = (
    "suite, model_id, engine, coalesce(quant, ''), coalesce(rate_rps, 0), concurrency, "
    "input_tokens_target, run_id"
)
# The group's representative: its latest valid run, else its latest run.
_LATEST = "{'valid': valid, 'started': started_ts, 'at': started_at, 'run': run_id}"


def _group_sql(cond: str) -> str:
    """Per group: figures (float columns) are the median over its valid runs when it has two or
    more, else the representative's; everything else is the representative's row."""
    figures = [n for n, kind in ROW_COLUMNS.items()
               if kind == "DOUBLE" and n not in GROUP_BY and n not in _GROUP_STATS]  # fmt: skip
    medians = ", ".join(f'median("{n}") FILTER (WHERE valid) AS "median_{n}"' for n in figures)
    chosen = ", ".join(f'CASE WHEN g.group_valid >= 2 THEN g."median_{n}" ELSE r."{n}" END AS "{n}"'
                       for n in figures)  # fmt: skip
    stats = ", ".join(f"g.{n} AS {n}" for n in _GROUP_STATS)
    return f"""WITH g AS (
        SELECT {", ".join(GROUP_BY)}, arg_max(path, {_LATEST}) AS representative,
            count(*) AS group_runs, count(*) FILTER (WHERE valid) AS group_valid,
            min(output_throughput_tok_per_s) FILTER (WHERE valid) AS output_throughput_min,
            max(output_throughput_tok_per_s) FILTER (WHERE valid) AS output_throughput_max,
            min(ttft_p50_ms) FILTER (WHERE valid) AS ttft_p50_min_ms,
            max(ttft_p50_ms) FILTER (WHERE valid) AS ttft_p50_max_ms, {medians}
        FROM runs WHERE {cond} GROUP BY ALL)
    SELECT {_COLUMNS} FROM (
        SELECT r.* REPLACE ({chosen}, {stats}) FROM g JOIN runs r ON r.path = g.representative
    ) ORDER BY {_ORDER}"""


def _summary_rows(sel: Selection, filters: Filters, every: bool) -> list[SummaryRow]:
    cond = sel.where("runs", filters)
    if cond is None:
        return []
    sql = (f"SELECT {_COLUMNS} FROM runs WHERE {cond[0]} ORDER BY {_ORDER}"
           if every else _group_sql(cond[0]))  # fmt: skip
    cursor = sel.con.execute(sql, cond[1])
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        for name in JSON_COLUMNS:
            row[name] = orjson.loads(row[name]) if row[name] is not None else None
        rows.append(SummaryRow.model_validate(row))
    return rows


def _mismatches(sel: Selection, filters: Filters) -> list[KeyMismatch]:
    cond = sel.where("runs", filters)
    if cond is None:
        return []
    fields = ("hardware_fingerprint", "comparability_engine", "suite_digest", "schema_version")
    counts = ", ".join(f"count(DISTINCT {f})" for f in fields)
    found = sel.con.execute(
        f"SELECT suite, list(DISTINCT comparability_key ORDER BY comparability_key), {counts} "
        f"FROM runs WHERE {cond[0]} GROUP BY suite "
        "HAVING count(DISTINCT comparability_key) > 1 ORDER BY suite", cond[1],
    ).fetchall()  # fmt: skip
    names = ("hardware_fingerprint", "engine", "suite_digest", "schema_version")
    return [KeyMismatch(suite=suite, keys=keys,
                        fields=[n for n, c in zip(names, n_distinct, strict=True) if c > 1])
            for suite, keys, *n_distinct in found]  # fmt: skip


def summary_table(sel: Selection, filters: Filters | None = None,
                  every: bool = False) -> SummaryTable:  # fmt: skip
    """The summary of the selected envelopes: one row per group (suite × model × engine × quant
    × hardware × point), or with `every` one per run envelope."""
    filters = filters or Filters()
    evals = sel.evals(filters)
    counted = sel.counts(filters)
    return SummaryTable(
        view="runs" if every else "groups",
        runs=_summary_rows(sel, filters, every),
        loaded=counted.runs + len(evals),
        skipped=[Skipped(path=str(p), reason=why) for p, why in sel.skipped()],
        suites=counted.suites,
        comparability_mismatches=_mismatches(sel, filters),
        evals=eval_rows(evals),
    )


def eval_rows(evals: list[LoadedEval]) -> list[EvalSummaryRow]:
    rows = []
    for ev in evals:
        p = ev.predicate
        m = p.metrics
        rows.append(
            EvalSummaryRow(
                path=str(ev.path), run_id=p.run_id, task=p.task.name,
                model_id=p.target.model.model_id, engine=p.target.engine.label,
                primary=p.task.primary, scores=m.scores, instruction_scores=m.instruction_scores,
                pass_at_k=m.pass_at_k, items=m.items, samples=m.samples, errors=m.errors,
                parse_failures=m.parse_failures, truncated=m.truncated,
                output_tokens_mean=m.output_tokens_mean,
                ttft_p50_ms=m.ttft_ms.p50 if m.ttft_ms else None,
                output_throughput_tok_per_s=m.output_throughput_tok_per_s,
                signer=ev.signer, valid=p.validity.valid,
            )
        )  # fmt: skip
    rows.sort(key=lambda r: (r.task, r.model_id, r.run_id))
    return rows
