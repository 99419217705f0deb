"""The price of a right answer: dollars, joules and seconds per correct answer of an eval, from
its own token counts and the speed, price and energy of a run of the same setup."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.corpus.loader import LoadedEval
from tokenbench.corpus.matching import Speed
from tokenbench.pricing.api import ApiRate
from tokenbench.pricing.selfhost import SelfHostPricing

MILLION = Decimal(1_000_000)
Figures = dict[str, float | str | None]


class OutcomeCost(BaseModel):
    """Per correct answer of one eval (its primary score), each figure null with the reason
    when a part is missing; `eval_run_id` and `speed_run_id` name the envelopes used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    correct: int
    answers: int
    output_tokens: int  # the eval's answers, all of them: wrong answers cost tokens too
    input_tokens: int
    usd_per_correct: float | None = None  # self-hosted, at the speed run's throughput
    api_usd_per_correct: float | None = None  # the eval's own model at its API price
    api: str | None = None  # "provider:model" of that price
    joules_per_correct: float | None = None
    seconds_per_correct: float | None = None  # GPU-seconds of generation at the run's load
    at: str | None = None  # the load those seconds are at: "concurrency 4"
    eval_run_id: str
    speed_run_id: str | None = None
    reasons: dict[str, str] = Field(default_factory=dict)  # figure → why it is null


class EvalOutcome(BaseModel):
    """One eval's accuracy and what each of its right answers cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    model_id: str
    engine: str
    hardware: str
    accuracy: float | None
    valid: bool
    path: str
    per_correct: OutcomeCost


def outcome_cost(
    ev: LoadedEval, speed: Speed, pricing: SelfHostPricing | None, apis: Sequence[ApiRate] = ()
) -> OutcomeCost:
    """Every answer's tokens (right or wrong) divided among the right ones."""
    p = ev.predicate
    m = p.metrics
    score = m.scores[p.task.primary]
    reasons: dict[str, str] = {}
    figures: Figures = {}
    if score.correct == 0:
        why = "no correct answer"
        reasons = {k: why for k in ("usd_per_correct", "joules_per_correct",
                                    "seconds_per_correct", "api_usd_per_correct")}  # fmt: skip
    else:
        figures |= _self_hosted(m.output_tokens_total, score.correct, speed, pricing, reasons)
        figures |= _energy(m.output_tokens_total, score.correct, speed, reasons)
        figures |= _api(p.target.model.model_id, m.input_tokens_total, m.output_tokens_total,
                        score.correct, apis, reasons)  # fmt: skip
    run = speed.run
    return OutcomeCost(
        correct=score.correct, answers=score.total, output_tokens=m.output_tokens_total,
        input_tokens=m.input_tokens_total, at=speed.at, eval_run_id=p.run_id,
        speed_run_id=run.run_id if run is not None else None, reasons=reasons, **figures,
    )  # fmt: skip


def speed_usd_per_mtok(pricing: SelfHostPricing | None,
                       speed: Speed) -> tuple[Decimal | None, str | None]:  # fmt: skip
    """Self-hosted $ per M output tokens at a speed's throughput, on the hardware its envelope
    records; (None, why) when it has no price, (None, None) without a price or a speed."""
    if pricing is None or speed.predicate is None:
        return None, None
    hourly = pricing.run_hourly_usd(speed.predicate)
    if hourly.usd is None:
        return None, hourly.reason
    return pricing.usd_per_mtok(speed.tok_per_s, hourly.usd), None


def _self_hosted(tokens: int, correct: int, speed: Speed, pricing: SelfHostPricing | None,
                 reasons: dict[str, str]) -> Figures:  # fmt: skip
    out: Figures = {}
    if speed.tok_per_s is None or speed.tok_per_s <= 0:
        why = speed.reason or "no throughput for this setup"
        reasons["seconds_per_correct"] = reasons["usd_per_correct"] = why
        return out
    out["seconds_per_correct"] = tokens / speed.tok_per_s / correct
    per_mtok, unpriced = speed_usd_per_mtok(pricing, speed)
    if per_mtok is None:
        reasons["usd_per_correct"] = unpriced or "no GPU price: add --gpu-hourly-usd"
        return out
    out["usd_per_correct"] = float(per_mtok * tokens / MILLION / correct)
    return out


def _energy(tokens: int, correct: int, speed: Speed, reasons: dict[str, str]) -> Figures:
    run = speed.run
    if run is None:
        reasons["joules_per_correct"] = speed.reason or "no run of this setup measured energy"
        return {}
    per_token = run.metrics.joules_per_token
    if per_token is None:
        reasons["joules_per_correct"] = (f"run {run.run_id} measured no energy "
                                         f"({run.energy.reason or run.energy.method})")  # fmt: skip
        return {}
    return {"joules_per_correct": per_token * tokens / correct}


def _api(model_id: str, input_tokens: int, output_tokens: int, correct: int,
         apis: Sequence[ApiRate], reasons: dict[str, str]) -> Figures:  # fmt: skip
    rate = next((r for r in apis if r.model.lower() == model_id.lower()), None)
    if rate is None:
        reasons["api_usd_per_correct"] = (
            f"no API price given for {model_id} (--api PROVIDER:{model_id})" if apis
            else "no API price given (--api PROVIDER:MODEL)"
        )  # fmt: skip
        return {}
    usd = (input_tokens * rate.input_usd_per_mtok
           + output_tokens * rate.output_usd_per_mtok) / MILLION / correct  # fmt: skip
    return {"api_usd_per_correct": float(usd), "api": f"{rate.provider}:{rate.model}"}
