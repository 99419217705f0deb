from __future__ import annotations

import math

import pytest

from tokenbench.metrics.quality import (
    mcnemar_exact_p,
    paired_difference,
    pass_at_k,
    summarize_eval,
    wilson,
)
from tokenbench.records import ErrorKind, ItemRecord, RequestRecord


def test_wilson_known_answers() -> None:
    half = wilson(5, 10)  # textbook value: [0.2366, 0.7634]
    assert half.accuracy == 0.5
    assert half.ci_low == pytest.approx(0.2366, abs=1e-4)
    assert half.ci_high == pytest.approx(0.7634, abs=1e-4)
    none = wilson(0, 10)  # upper bound z²/(n+z²)
    assert none.ci_low == 0.0
    assert none.ci_high == pytest.approx(1.959963984540054**2 / (10 + 1.959963984540054**2))
    assert wilson(10, 10).ci_high == 1.0
    empty = wilson(0, 0)
    assert empty.accuracy is None
    assert empty.ci_low is None
    with pytest.raises(ValueError, match="correct <= total"):
        wilson(3, 2)


def test_mcnemar_exact_known_answers() -> None:
    assert mcnemar_exact_p(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact_p(1, 9) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact_p(9, 1) == mcnemar_exact_p(1, 9)
    assert mcnemar_exact_p(4, 4) == 1.0
    assert mcnemar_exact_p(0, 0) == 1.0


def test_pass_at_k_unbiased_estimator() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(4, 2))
    assert pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(10, 0, 5) == 0.0
    with pytest.raises(ValueError, match="at least 3 samples"):
        pass_at_k(2, 1, 3)


def test_paired_difference_counts_discordant_items() -> None:
    a = [True, True, False, False, True]
    b = [True, False, False, True, False]
    d = paired_difference(a, b)
    assert (d.both_correct, d.only_a, d.only_b, d.neither) == (1, 2, 1, 1)
    assert d.difference == pytest.approx(0.2)
    assert d.accuracy_a == pytest.approx(0.6)
    assert d.accuracy_b == pytest.approx(0.4)
    var = ((3 / 5) - 0.2**2) / 5
    assert d.ci_high - d.difference == pytest.approx(1.959963984540054 * math.sqrt(var))
    assert d.mcnemar_p == pytest.approx(mcnemar_exact_p(2, 1))
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference([True], [True, False])


def _item(item_id: str, ok: bool, parsed: str | None, sample: int = 0,
          subject: str | None = None, failed: bool = False, out: int = 10,
          ) -> ItemRecord:  # fmt: skip
    req = RequestRecord(0, 0, 0, False, "p", 0, send_ns=0, first_token_ns=5_000_000,
                        end_ns=1_000_000_000, input_tokens=20, output_tokens=out,
                        tokens_from_usage=True)  # fmt: skip
    if failed:
        req.error_kind, req.error = ErrorKind.HTTP, "500"
    return ItemRecord("t", item_id, sample, subject, "A", None, None if failed else "x",
                      {"v": parsed}, {"v": ok}, None, req)  # fmt: skip


def test_summarize_eval_counts_failures_and_unparsed_as_wrong() -> None:
    items = [
        _item("1", True, "A", subject="law", out=4),
        _item("2", False, None, subject="law", out=30),
        _item("3", False, None, subject="math", failed=True),
        _item("4", True, "B", subject="math", out=8),
    ]
    m = summarize_eval(items, ["v"], "v")
    assert m.scores["v"].correct == 2
    assert m.scores["v"].total == 4
    assert m.errors == 1
    assert m.parse_failures == 1  # item 2; the failed request is counted under errors
    assert m.parse_failure_rate == pytest.approx(1 / 3)
    assert m.by_subject is not None
    assert m.by_subject["math"].correct == 1
    assert m.output_tokens_mean == pytest.approx((4 + 30 + 8) / 3)
    assert m.output_tokens_mean_correct == pytest.approx(6)
    assert m.output_tokens_mean_wrong == pytest.approx(30)
    assert m.ttft_ms is not None
    assert m.ttft_ms.p50 == pytest.approx(5.0)
    assert m.duration_s == pytest.approx(1.0)


def test_summarize_eval_pass_at_k_per_item() -> None:
    items = [_item("a", s < 2, "code", sample=s) for s in range(4)]
    items += [_item("b", False, "code", sample=s) for s in range(4)]
    m = summarize_eval(items, ["v"], "v", samples=4)
    assert m.items == 2
    assert m.samples == 8
    assert m.pass_at_k is not None
    assert m.pass_at_k["pass@1"] == pytest.approx((0.5 + 0.0) / 2)
    assert m.pass_at_k["pass@4"] == pytest.approx((1.0 + 0.0) / 2)


def test_samples_intervals_take_items_as_the_unit() -> None:
    right_per_item = [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]  # of 5 samples each, 10 items
    n = 5
    items = [_item(str(i), s < k, "A", sample=s, subject="law")
             for i, k in enumerate(right_per_item) for s in range(n)]  # fmt: skip
    m = summarize_eval(items, ["v"], "v", samples=n)
    got = m.scores["v"]
    correct = sum(right_per_item)
    per_sample = wilson(correct, len(items))  # every answer counted as independent
    # the mean of the 10 per-item means, as a proportion of 10 items
    per_item = wilson(correct // n, len(right_per_item))
    assert correct % n == 0  # so that per_item above is exactly the mean of item means
    assert (got.correct, got.total) == (correct, len(items))
    assert got.accuracy == pytest.approx(per_item.accuracy)
    assert got.ci_low == pytest.approx(per_item.ci_low)
    assert got.ci_high == pytest.approx(per_item.ci_high)
    assert per_sample.ci_low is not None
    assert per_sample.ci_high is not None
    assert got.ci_high - got.ci_low > per_sample.ci_high - per_sample.ci_low
    assert m.interval_unit == "item"
    assert m.by_subject is not None
    assert m.by_subject["law"] == got
    # one sample per item: the ordinary interval over answers, as before
    single = summarize_eval(items[::n], ["v"], "v")
    assert single.interval_unit == "answer"
    assert single.scores["v"] == wilson(sum(1 for it in items[::n] if it.correct["v"]), 10)
    # an envelope written before per-item intervals is recomputed as it was written
    old = summarize_eval(items, ["v"], "v", samples=n, interval_unit="answer")
    assert old.scores["v"] == per_sample
