"""Quality beside speed: failed requests are not wrong answers, the speed beside an accuracy is
from a run of the same setup, invalid evals stay off the frontier, differences are in pp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.eval_envelopes import SECOND, base_predicate, items, loaded_eval
from tokenbench.compare.quality import Axis, compare_quality, verdict_of
from tokenbench.compare.quality_render import pair_cells, pp
from tokenbench.corpus.loader import Corpus, LoadedRun
from tokenbench.envelope.schema import RunPredicate
from tokenbench.metrics.quality import paired_difference
from tokenbench.metrics.summary import summarize
from tokenbench.records import RequestRecord


def loaded_run(model: str, seconds: float, fingerprint: str | None = None,
               engine: str = "x") -> LoadedRun:  # fmt: skip
    end = int(seconds * SECOND)
    records = [RequestRecord(i, 0, i, False, "p", 0, send_ns=0, first_token_ns=end // 10,
                             chunk_ns=[end // 10, end], end_ns=end, input_tokens=10,
                             output_tokens=100, tokens_from_usage=True, http_status=200)
               for i in range(2)]  # fmt: skip
    body = base_predicate(model, fingerprint, engine)
    body["metrics"] = summarize(records).model_dump(mode="json")
    pred = RunPredicate.model_validate(body)
    return LoadedRun(Path(f"{model}-{fingerprint}-{engine}-{seconds}.json"), pred, None)


def _compare(corpus: Corpus) -> Any:
    axis = Axis({str(e.path): e.predicate.target.model.model_id for e in corpus.evals})
    return compare_quality(corpus, axis, {str(r.path): r.predicate.target.model.model_id
                                          for r in corpus.runs})  # fmt: skip


def test_a_failed_request_is_left_out_of_the_pair_not_scored_wrong(tmp_path: Path) -> None:
    n, failed = 12, {0, 3, 7}
    a = loaded_eval(tmp_path, "a", items([True] * n, failed))
    b = loaded_eval(tmp_path, "b", items([True] * n))
    q = _compare(Corpus(evals=[a, b]))
    (pair,) = q.pairs
    assert pair.difference.items == n - len(failed)
    assert pair.difference.only_b == 0  # B is not "better" on the items A never answered
    assert (pair.failed_a, pair.failed_b) == (len(failed), 0)
    assert any("not a wrong answer" in note for note in q.notes)
    assert pair_cells(pair)[7] == f"{len(failed)}/0"


def test_the_speed_beside_accuracy_comes_from_a_run_of_the_same_setup(tmp_path: Path) -> None:
    ev = loaded_eval(tmp_path, "m", items([True, False]))
    own_fingerprint = ev.predicate.hardware.fingerprint
    same = loaded_run("m", 2.0, own_fingerprint)
    other_gpu = loaded_run("m", 0.5, "another-machine")  # faster, but other hardware
    other_engine = loaded_run("m", 0.25, own_fingerprint, engine="vllm")
    row = _compare(Corpus(runs=[same, other_gpu, other_engine], evals=[ev])).rows[0]
    assert row.throughput_tok_per_s == same.predicate.metrics.output_throughput_tok_per_s
    assert row.throughput_at == same.predicate.parameters.load.label


def test_no_matching_run_gives_no_speed_and_says_why(tmp_path: Path) -> None:
    ev = loaded_eval(tmp_path, "m", items([True, False], timed=False))  # no speed of its own
    assert ev.predicate.metrics.output_throughput_tok_per_s is None
    row = _compare(Corpus(runs=[loaded_run("m", 1.0, "another-machine")], evals=[ev])).rows[0]
    assert row.throughput_tok_per_s is None
    assert row.throughput_reason is not None
    assert "hardware" in row.throughput_reason


def test_an_invalid_eval_is_never_on_the_frontier(tmp_path: Path) -> None:
    good = loaded_eval(tmp_path, "good", items([True, False, False]))
    bad = loaded_eval(tmp_path, "bad", items([True, True, True]), valid=False)
    rows = {r.label: r for r in _compare(Corpus(evals=[good, bad])).rows}
    # equal speed, so the invalid eval's higher accuracy would otherwise dominate
    assert rows["bad"].throughput_tok_per_s == rows["good"].throughput_tok_per_s
    assert not rows["bad"].pareto
    assert rows["good"].pareto


def test_quality_differences_are_percentage_points() -> None:
    n = 40
    d = paired_difference([True] * n, [False] * (n // 2) + [True] * (n // 2))
    text = verdict_of(d, "A", "B")
    assert f"by {d.difference * 100:.1f} pp" in text
    assert "%" not in text
    assert pp(d.difference) == f"+{d.difference * 100:.1f} pp"
