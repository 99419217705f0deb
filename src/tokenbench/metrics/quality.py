"""Quality statistics: Wilson intervals, the unbiased pass@k estimator, and paired comparisons of
two models on the same items (difference with its interval, exact McNemar test)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.metrics.latency import e2e_ms, ttft_ms
from tokenbench.metrics.stats import Distribution, distribution
from tokenbench.records import ItemRecord

Z95 = 1.959963984540054  # two-sided 95% normal quantile


class Accuracy(BaseModel):
    """A proportion with its Wilson 95% interval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    correct: int
    total: int
    accuracy: float | None  # None when there is nothing to score
    ci_low: float | None
    ci_high: float | None


def wilson(correct: int, total: int, z: float = Z95) -> Accuracy:
    """Wilson score interval: unlike the normal approximation it stays inside [0, 1] and is
    sensible at 0 or `total` correct, which small evals hit often."""
    if total < 0 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total, got {correct}/{total}")
    if total == 0:
        return Accuracy(correct=0, total=0, accuracy=None, ci_low=None, ci_high=None)
    p = correct / total
    low, high = _wilson_bounds(p, total, z)
    return Accuracy(correct=correct, total=total, accuracy=p, ci_low=low, ci_high=high)


def _wilson_bounds(p: float, n: int, z: float) -> tuple[float, float]:
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at p = 0 or 1 the bound is exactly 0 or 1; rounding would miss it
    return (0.0 if p == 0 else max(0.0, centre - half), 1.0 if p == 1 else min(1.0, centre + half))


def item_wilson(per_item: Sequence[Sequence[bool]], z: float = Z95) -> Accuracy:
    """Accuracy with items as the unit, for several samples per item (--samples n): the mean of
    the per-item means, with the Wilson interval over the number of items. The samples of one
    item are not independent draws of the eval, so counting them as n would narrow the interval
    by up to sqrt(n). A per-item mean lies in [0, 1], so its variance is at most p(1 - p): the
    interval holds, and with one sample per item it is the ordinary Wilson interval."""
    correct = sum(sum(v) for v in per_item)
    total = sum(len(v) for v in per_item)
    means = [sum(v) / len(v) for v in per_item if v]
    if not means:
        return Accuracy(correct=0, total=0, accuracy=None, ci_low=None, ci_high=None)
    p = math.fsum(means) / len(means)
    low, high = _wilson_bounds(p, len(means), z)
    return Accuracy(correct=correct, total=total, accuracy=p, ci_low=low, ci_high=high)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c passed: 1 - C(n-c, k) / C(n, k), computed as a
    product so large n does not overflow (Chen et al., 2021)."""
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n} c={c} k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per item, got {n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: b items only model A got right, c only model B. Under
    the null the b+c discordant items split as Binomial(b+c, 1/2)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = math.fsum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


class PairedDifference(BaseModel):
    """Model A minus model B on the items both answered, with a 95% interval and McNemar p."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: int  # items scored for both models
    both_correct: int
    only_a: int
    only_b: int
    neither: int
    accuracy_a: float
    accuracy_b: float
    difference: float  # accuracy_a - accuracy_b
    ci_low: float
    ci_high: float
    mcnemar_p: float


def paired_difference(a: Sequence[bool], b: Sequence[bool], z: float = Z95) -> PairedDifference:
    """Paired comparison over the same items, in the same order. The interval is the normal one
    for a mean of per-item differences in {-1, 0, 1}: its variance uses only discordant pairs,
    which is what makes a paired test much tighter than comparing two independent accuracies."""
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        raise ValueError("no items in common to compare")
    both = sum(1 for x, y in zip(a, b, strict=True) if x and y)
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    diff = (only_a - only_b) / n
    var = ((only_a + only_b) / n - diff * diff) / n
    half = z * math.sqrt(max(var, 0.0))
    return PairedDifference(
        items=n,
        both_correct=both,
        only_a=only_a,
        only_b=only_b,
        neither=n - both - only_a - only_b,
        accuracy_a=(both + only_a) / n,
        accuracy_b=(both + only_b) / n,
        difference=diff,
        ci_low=max(-1.0, diff - half),
        ci_high=min(1.0, diff + half),
        mcnemar_p=mcnemar_exact_p(only_a, only_b),
    )


class EvalMetrics(BaseModel):
    """An eval's figures, computed once from its items sidecar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: int  # distinct items scored
    samples: int  # answers scored (items × samples)
    errors: int  # failed requests: scored wrong, listed in the items sidecar
    parse_failures: int  # primary variant: no answer could be extracted (scored wrong)
    parse_failure_rate: float | None
    truncated: int  # answers cut off at max_tokens (finish_reason "length")
    scores: dict[str, Accuracy]  # per variant, over every answer
    instruction_scores: dict[str, Accuracy] | None = None  # IFEval: per instruction
    pass_at_k: dict[str, float] | None = None  # HumanEval with --samples n: {"pass@1": …}
    by_subject: dict[str, Accuracy] | None = None  # primary variant per subject (MMLU)
    output_tokens_mean: float | None  # verbosity: output tokens per answer
    output_tokens_mean_correct: float | None
    output_tokens_mean_wrong: float | None
    input_tokens_total: int
    output_tokens_total: int
    ttft_ms: Distribution | None
    e2e_ms: Distribution | None
    duration_s: float | None  # first send to last response
    output_throughput_tok_per_s: float | None
    reasons: dict[str, str] = Field(default_factory=dict)  # why a figure is null
    # What the intervals of `scores` and `by_subject` count as one observation: "item" with
    # --samples n > 1 (per-item means), "answer" otherwise and in envelopes from before.
    interval_unit: Literal["answer", "item"] = "answer"


def _mean(values: list[int]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _accuracy(
    items: Sequence[ItemRecord], hit: Callable[[ItemRecord], bool], unit: str
) -> Accuracy:
    if unit == "answer":
        return wilson(sum(1 for it in items if hit(it)), len(items))
    per_item: dict[str, list[bool]] = {}
    for it in items:
        per_item.setdefault(it.item_id, []).append(hit(it))
    return item_wilson(list(per_item.values()))


def _scored(variant: str) -> Callable[[ItemRecord], bool]:
    return lambda it: bool(it.correct.get(variant, False))


def summarize_eval(
    items: Sequence[ItemRecord],
    variants: Sequence[str],
    primary: str,
    instruction_details: Sequence[str] = (),
    samples: int = 1,
    interval_unit: Literal["answer", "item"] | None = None,
) -> EvalMetrics:
    """Every figure of an eval from its item records. A failed request is a wrong answer and
    also counted in `errors`; an unparsed answer is wrong and also counted in `parse_failures`.
    Intervals count items with --samples > 1 unless `interval_unit` says otherwise (a verifier
    recomputing an older envelope passes the unit it was written with)."""
    reasons: dict[str, str] = {}
    unit = interval_unit or ("item" if samples > 1 else "answer")
    errors = sum(1 for it in items if not it.request.ok)
    parse_failures = sum(1 for it in items if it.request.ok and it.parsed.get(primary) is None)
    answered = len(items) - errors
    subjects = sorted({it.subject for it in items if it.subject is not None})
    by_subject = {
        s: _accuracy([it for it in items if it.subject == s], _scored(primary), unit)
        for s in subjects
    }
    return EvalMetrics(
        items=len({it.item_id for it in items}),
        samples=len(items),
        errors=errors,
        parse_failures=parse_failures,
        parse_failure_rate=parse_failures / answered if answered else None,
        truncated=sum(1 for it in items if it.request.finish_reason == "length"),
        scores={v: _accuracy(items, _scored(v), unit) for v in variants},
        instruction_scores=_instruction_scores(items, instruction_details),
        pass_at_k=_pass_at_k(items, primary, samples),
        by_subject=by_subject or None,
        reasons=reasons,
        interval_unit=unit,
        **_speed(items, primary, reasons),
    )


def _instruction_scores(
    items: Sequence[ItemRecord], names: Sequence[str]
) -> dict[str, Accuracy] | None:
    """IFEval: per instruction, followed or not; an unanswered item's instructions count as
    not followed."""
    if not names:
        return None
    out = {}
    for name in names:
        flags = [f for it in items if it.detail for f in it.detail.get(name, [])]
        flags += [False for it in items if it.detail is None and it.meta
                  for _ in it.meta.get("instructions", [])]  # fmt: skip
        out[name] = wilson(sum(flags), len(flags))
    return out


def _pass_at_k(items: Sequence[ItemRecord], primary: str, samples: int) -> dict[str, float] | None:
    if samples <= 1:
        return None
    per_item: dict[str, list[bool]] = {}
    for it in items:
        per_item.setdefault(it.item_id, []).append(it.correct.get(primary, False))
    out = {}
    for k in sorted({1, samples} | {k for k in (5, 10, 100) if k < samples}):
        estimates = [pass_at_k(len(v), sum(v), k) for v in per_item.values() if len(v) >= k]
        if estimates:
            out[f"pass@{k}"] = math.fsum(estimates) / len(estimates)
    return out


def _speed(items: Sequence[ItemRecord], primary: str, reasons: dict[str, str]) -> dict[str, Any]:
    """Verbosity, tokens, latency and throughput of the answered requests."""
    ok = [it for it in items if it.request.ok]
    out_tokens = [it.request.output_tokens for it in ok if it.request.output_tokens is not None]
    right = [it.request.output_tokens for it in ok
             if it.request.output_tokens is not None and it.correct.get(primary)]  # fmt: skip
    wrong = [it.request.output_tokens for it in ok
             if it.request.output_tokens is not None and not it.correct.get(primary)]  # fmt: skip
    if ok and not out_tokens:
        reasons["output_tokens_mean"] = "the server reported no token usage"
    sends = [it.request.send_ns for it in items if it.request.send_ns is not None]
    ends = [it.request.end_ns for it in items if it.request.end_ns is not None]
    span_ns = max(ends) - min(sends) if sends and ends else 0
    duration_s = span_ns / 1e9 if span_ns > 0 else None
    if duration_s is None:
        reasons["duration_s"] = "no request completed"
    return {
        "output_tokens_mean": _mean(out_tokens),
        "output_tokens_mean_correct": _mean(right),
        "output_tokens_mean_wrong": _mean(wrong),
        "input_tokens_total": sum(it.request.input_tokens or 0 for it in ok),
        "output_tokens_total": sum(out_tokens),
        "ttft_ms": distribution([t for it in ok if (t := ttft_ms(it.request)) is not None]),
        "e2e_ms": distribution([t for it in ok if (t := e2e_ms(it.request)) is not None]),
        "duration_s": duration_s,
        "output_throughput_tok_per_s": (
            math.fsum(out_tokens) / duration_s if duration_s and out_tokens else None
        ),
    }
