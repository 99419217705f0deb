"""`bench compare --unit bytes|words|tokens`: the throughput of the frontier and the pairs'
verdicts counted in a unit no tokenizer decides; tokens per word per run in the JSON."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from tests.support.envelopes import minimal_statement
from tokenbench.compare.comparison import Comparison, compare
from tokenbench.compare.views import comparison_view
from tokenbench.corpus.loader import Corpus, LoadedRun
from tokenbench.envelope.schema import RunPredicate
from tokenbench.errors import ConfigError
from tokenbench.metrics.stats import Distribution
from tokenbench.render.csv import comparison_csv
from tokenbench.render.json import to_json

_IDS = itertools.count()  # a distinct path for each run


def _dist(p50: float) -> dict[str, Any]:
    return Distribution(count=200, mean=p50, p50=p50, p90=p50, p99=p50, min=p50, max=p50,
                        stdev=1.0).model_dump()  # fmt: skip


def _run(model: str, words_per_s: float | None, tokens_per_word: float,
         ttft_ms: float = 50.0) -> LoadedRun:  # fmt: skip
    """A run generating `words_per_s` words of 6 bytes each, in its tokenizer's tokens (None:
    recorded before the text was counted)."""
    body = minimal_statement()["predicate"]
    words = words_per_s or 100.0
    body["metrics"].update(
        requests_ok=200, requests_measured=200,
        output_throughput_tok_per_s=words * tokens_per_word, ttft_ms=_dist(ttft_ms),
        tpot_ms=_dist(10.0), e2e_ms=_dist(400.0),
    )  # fmt: skip
    if words_per_s is not None:
        body["metrics"].update(output_bytes_per_s=6 * words_per_s, output_words_per_s=words_per_s,
                               tokens_per_word=tokens_per_word)  # fmt: skip
    body["target"]["model"]["model_id"] = model
    return LoadedRun(Path(f"/x/{model}-{next(_IDS)}.json"), RunPredicate.model_validate(body), "k")


def _repeats(model: str, tokens_per_word: float, seed: int) -> list[LoadedRun]:
    """Three runs of the same server speed in words/s, with run-to-run noise."""
    rng = np.random.default_rng(seed)
    return [_run(model, 100.0 * float(np.exp(rng.normal(0, 0.02))), tokens_per_word)
            for _ in range(3)]  # fmt: skip


def _pair_metric(result: Comparison, name: str) -> Any:
    (pair,) = result.pairs
    return next((d for d in pair.metrics if d.metric.name == name), None)


def test_a_tokenizer_with_20_percent_more_tokens_per_word_is_faster_only_in_tokens() -> None:
    runs = _repeats("wordy-tokenizer", 1.2, seed=1) + _repeats("plain-tokenizer", 1.0, seed=2)
    by_tokens = compare(Corpus(runs=runs))
    tokens = _pair_metric(by_tokens, "throughput")
    assert tokens.difference.significant
    # A is plain (labels sort), the baseline: the wordy tokenizer looks 20% faster
    assert tokens.verdict.startswith("wordy-tokenizer higher by")
    assert tokens.difference.relative == pytest.approx(0.2, abs=0.05)
    for unit in ("words", "bytes"):
        fair = compare(Corpus(runs=runs), unit=unit)
        assert _pair_metric(fair, "throughput") is None  # counted in the unit instead
        d = _pair_metric(fair, unit)
        assert not d.difference.significant
        assert d.verdict.startswith("no verdict: within run-to-run noise")
        assert abs(d.difference.relative) < 0.05
        assert fair.family == by_tokens.family  # the unit replaces tokens; the family is the same
        assert [m.name for m in fair.pareto_metrics] == [unit, "ttft"]


def test_the_frontier_is_drawn_in_the_unit() -> None:
    # same TTFT: the frontier is whoever is fastest in the unit
    more_tokens = _run("a", 90.0, tokens_per_word=1.5)  # 135 tok/s, 90 words/s
    more_words = _run("b", 100.0, tokens_per_word=1.0)  # 100 tok/s, 100 words/s

    def front(**kwargs: Any) -> dict[str, bool]:
        result = compare(Corpus(runs=[more_tokens, more_words]), **kwargs)
        return {r.run.predicate.target.model.model_id: r.pareto for r in result.rows}

    assert front() == {"a": True, "b": False}
    assert front(unit="words") == front(unit="bytes") == {"a": False, "b": True}
    # an explicit --pareto throughput,... is throughput in the unit too
    result = compare(Corpus(runs=[more_tokens, more_words]), pareto=["throughput", "ttft"],
                     unit="words")  # fmt: skip
    assert [m.name for m in result.pareto_metrics] == ["words", "ttft"]
    # bytes and words can also be named directly beside tokens
    result = compare(Corpus(runs=[more_tokens, more_words]), pareto=["bytes", "ttft"])
    assert [r.pareto for r in result.rows] == [False, True]


def test_runs_older_than_the_counts_have_no_value_in_words() -> None:
    old, new = _run("old", None, 1.0), _run("new", 100.0, 1.0)
    result = compare(Corpus(runs=[old, new]), unit="words")
    assert {r.run.predicate.target.model.model_id: r.pareto for r in result.rows} == {
        "new": True, "old": False}  # fmt: skip
    assert _pair_metric(result, "words") is None  # one side has nothing to compare


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ConfigError, match="--unit 'chars'"):
        compare(Corpus(runs=[_run("a", 1.0, 1.0)]), unit="chars")


def test_json_and_csv_carry_bytes_words_tokens_per_word_and_the_unit() -> None:
    runs = [_run("a", 100.0, 1.25), _run("b", None, 1.0)]
    view = comparison_view(compare(Corpus(runs=runs), unit="bytes"))
    doc = orjson.loads(to_json(view))
    assert doc["unit"] == "bytes"
    assert doc["pareto_metrics"] == ["bytes", "ttft"]
    a, b = sorted(doc["runs"], key=lambda r: r["model_id"])
    assert a["metrics"]["throughput_bytes_per_s"] == pytest.approx(600.0)
    assert a["metrics"]["throughput_words_per_s"] == pytest.approx(100.0)
    assert a["metrics"]["throughput_tok_per_s"] == pytest.approx(125.0)
    assert a["tokens_per_word"] == pytest.approx(1.25)
    assert b["metrics"]["throughput_words_per_s"] is None
    assert b["tokens_per_word"] is None
    labels = [c.label for c in view.columns]
    assert labels[:3] == ["Throughput (tok/s)", "Throughput (bytes/s)", "Throughput (words/s)"]
    rows = list(csv.DictReader(io.StringIO(comparison_csv(view))))
    by_label = {r["label"]: r for r in rows if r["section"] == "run"}
    assert float(by_label["a"]["throughput_words_per_s"]) == pytest.approx(100.0)
    assert by_label["b"]["throughput_words_per_s"] == ""


def test_no_text_columns_when_no_run_has_the_counts() -> None:
    view = comparison_view(compare(Corpus(runs=[_run("a", None, 1.0), _run("b", None, 1.0)])))
    assert [c.name for c in view.columns] == ["throughput", "ttft", "ttft_p99", "tpot", "jtok"]
    assert view.runs[0].metrics["throughput_bytes_per_s"] is None  # JSON keeps every metric
