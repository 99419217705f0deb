"""The cost-aware view: each measured run's self-hosted $/Mtok beside the chosen API rates, at
the run's own token mix and at the --input-token-share, with the break-even volume."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tokenbench.corpus.loader import Corpus
from tokenbench.corpus.matching import speed_of
from tokenbench.pricing.api import ApiRate
from tokenbench.pricing.outcomes import EvalOutcome, outcome_cost
from tokenbench.pricing.selfhost import (
    BreakEven,
    HourlyPrice,
    SelfHostCost,
    SelfHostPricing,
    break_even,
)
from tokenbench.pricing.selfhost import self_host_cost as run_cost


@dataclass(frozen=True, slots=True)
class ApiAtMix:
    rate: ApiRate
    at_share_usd_per_mtok: Decimal  # blended at --input-token-share
    at_run_mix_usd_per_mtok: Decimal | None  # blended at the run's measured input share
    break_even: BreakEven | None


@dataclass(frozen=True, slots=True)
class CostRow:
    path: str
    model_id: str
    engine: str
    hardware: str
    load: str  # "concurrency 16" or "4 req/s"
    valid: bool
    hourly: HourlyPrice  # the run's hardware at the given prices; usd None: not priced, and why
    self_host: SelfHostCost
    apis: list[ApiAtMix]


@dataclass
class CostView:
    pricing: SelfHostPricing
    input_share: Decimal
    cached_share: Decimal
    apis: list[ApiRate]
    rows: list[CostRow] = field(default_factory=list)
    outcomes: list[EvalOutcome] = field(default_factory=list)


def cost_view(
    corpus: Corpus,
    pricing: SelfHostPricing,
    apis: list[ApiRate],
    input_share: Decimal,
    cached_share: Decimal = Decimal(0),
) -> CostView:
    view = CostView(pricing, input_share, cached_share, apis)
    for run in corpus.runs:
        p = run.predicate
        hourly = pricing.run_hourly_usd(p)
        cost = run_cost(p.metrics, pricing, hourly)
        at_mix = []
        for rate in apis:
            share_price = rate.blended(input_share, cached_share)
            run_mix = (
                rate.blended(cost.input_share, cached_share)
                if cost.input_share is not None
                else None
            )
            even = (
                break_even(
                    run_mix,
                    cost.usd_per_mtok_total,
                    pricing.fixed_monthly_usd,
                    cost.capacity_mtok_per_month,
                )
                if run_mix is not None and cost.usd_per_mtok_total is not None
                else None
            )
            at_mix.append(ApiAtMix(rate, share_price, run_mix, even))
        view.rows.append(
            CostRow(
                path=str(run.path),
                model_id=p.target.model.model_id,
                engine=p.target.engine.label,
                hardware=p.hardware.label,
                load=p.parameters.load.label,
                valid=p.validity.valid,
                hourly=hourly,
                self_host=cost,
                apis=at_mix,
            )
        )
    view.rows.sort(key=lambda r: (r.model_id, r.engine, r.load))
    view.outcomes = outcome_rows(corpus, pricing, apis)
    return view


def outcome_rows(corpus: Corpus, pricing: SelfHostPricing | None,
                 apis: list[ApiRate]) -> list[EvalOutcome]:  # fmt: skip
    """Per eval, the price of a right answer at the speed of the fastest valid run of its
    setup (or its own requests' speed when there is none)."""
    runs = {str(r.path) for r in corpus.runs}
    rows = []
    for ev in corpus.evals:
        p = ev.predicate
        rows.append(EvalOutcome(
            task=p.task.name, model_id=p.target.model.model_id, engine=p.target.engine.label,
            hardware=p.hardware.label, accuracy=p.metrics.scores[p.task.primary].accuracy,
            valid=p.validity.valid, path=str(ev.path),
            per_correct=outcome_cost(ev, speed_of(corpus, runs, ev), pricing, apis),
        ))  # fmt: skip
    rows.sort(key=lambda r: (r.task, r.model_id, r.engine))
    return rows
