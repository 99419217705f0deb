"""`compare --report csv` keeps everything the comparison says: runs, the verdict of each pair
and metric, and the quality rows and their paired differences, one `section` column apart."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.support.eval_envelopes import SECOND, base_predicate, items, loaded_eval
from tokenbench.compare.comparison import compare
from tokenbench.compare.views import comparison_view
from tokenbench.corpus.loader import Corpus, LoadedRun
from tokenbench.envelope.schema import RunPredicate
from tokenbench.metrics.summary import summarize
from tokenbench.records import RequestRecord
from tokenbench.render.csv import comparison_csv


def _run(model: str, seconds: float, fingerprint: str) -> LoadedRun:
    end = int(seconds * SECOND)
    records = [RequestRecord(i, 0, i, False, "p", 0, send_ns=0, first_token_ns=end // 10,
                             chunk_ns=[end // 10, end], end_ns=end, input_tokens=10,
                             output_tokens=100, tokens_from_usage=True, http_status=200)
               for i in range(2)]  # fmt: skip
    body = base_predicate(model, fingerprint, "x")
    body["metrics"] = summarize(records).model_dump(mode="json")
    return LoadedRun(Path(f"{model}.json"), RunPredicate.model_validate(body), None)


def test_the_csv_holds_runs_verdicts_and_quality_in_sections(tmp_path: Path) -> None:
    a = loaded_eval(tmp_path, "a", items([True] * 10 + [False] * 2))
    b = loaded_eval(tmp_path, "b", items([True] * 6 + [False] * 6))
    fingerprint = a.predicate.hardware.fingerprint
    runs = [_run("a", 1.0, fingerprint), _run("b", 2.0, fingerprint)]
    view = comparison_view(compare(Corpus(runs=runs, evals=[a, b])))
    rows = list(csv.DictReader(io.StringIO(comparison_csv(view))))
    by_section: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_section.setdefault(row["section"], []).append(row)
    assert [r["label"] for r in by_section["run"]] == ["a", "b"]
    assert "throughput_tok_per_s" in rows[0]
    pair_rows = by_section["pair"]
    assert len(pair_rows) == sum(len(p.metrics) for p in view.pairs) >= 1
    assert all(r["verdict"] and r["metric"] for r in pair_rows)
    assert (pair_rows[0]["a"], pair_rows[0]["b"]) == (view.pairs[0].a, view.pairs[0].b)
    quality = {r["label"]: r for r in by_section["quality"]}
    assert set(quality) == {"a", "b"}
    assert float(quality["a"]["accuracy"]) == 10 / 12
    assert quality["a"]["total"] == "12"
    (qp,) = by_section["quality_pair"]
    assert qp["task"] == "mmlu"
    assert qp["verdict"]
    assert qp["p_value"]
    assert abs(abs(float(qp["difference"])) - 4 / 12) < 1e-9
