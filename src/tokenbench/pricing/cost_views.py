"""The `bench cost` views: API rates alone, and measured runs priced beside them. JSON is the
model's dump; decimals are dumped as their strings (normalized where the figure is computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from tokenbench.pricing.api import ApiRate
from tokenbench.pricing.outcomes import EvalOutcome
from tokenbench.pricing.view import ApiAtMix, CostRow, CostView

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _norm(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.normalize()


class ApiRateView(BaseModel):
    """One API's $ per 1M tokens, and its blend at the given input and cached shares."""

    model_config = _FROZEN

    provider: str
    model: str
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal | None
    blended_usd_per_mtok: Decimal
    input_token_share: Decimal
    cached_share: Decimal
    source: str
    data_date: dt.date | None
    tiered: bool


def api_rate_view(rate: ApiRate, share: Decimal, cached: Decimal) -> ApiRateView:
    return ApiRateView(
        provider=rate.provider, model=rate.model, input_usd_per_mtok=rate.input_usd_per_mtok,
        output_usd_per_mtok=rate.output_usd_per_mtok,
        cached_input_usd_per_mtok=rate.cached_input_usd_per_mtok,
        blended_usd_per_mtok=rate.blended(share, cached).normalize(), input_token_share=share,
        cached_share=cached, source=rate.source, data_date=rate.data_date, tiered=rate.tiered,
    )  # fmt: skip


class ApiRatesView(RootModel[list[ApiRateView]]):
    """`bench cost --provider P --model M` without envelopes: dumped as the list of rates."""

    model_config = ConfigDict(frozen=True)


class RunApiView(BaseModel):
    model_config = _FROZEN

    provider: str
    model: str
    usd_per_mtok_at_input_share: Decimal | None
    usd_per_mtok_at_run_mix: Decimal | None
    break_even_mtok_per_month: Decimal | None
    break_even: str | None  # the explanation
    gpu_sets_needed: int | None


class CostRunView(BaseModel):
    model_config = _FROZEN

    path: str
    model_id: str
    engine: str
    hardware: str
    load: str
    valid: bool
    hourly_usd: Decimal | None
    hourly_usd_reason: str
    output_tok_per_s: float | None
    total_tok_per_s: float | None
    run_input_share: Decimal | None
    self_host_usd_per_mtok_output: Decimal | None
    self_host_usd_per_mtok_total: Decimal | None
    capacity_mtok_per_month: Decimal | None
    apis: list[RunApiView]


class CostReportView(BaseModel):
    """`bench cost PATH... --gpu-hourly-usd …`: each run's self-hosted cost beside the APIs,
    and each eval's cost per correct answer."""

    model_config = _FROZEN

    gpu_hourly_usd: Decimal | None
    gpu_hourly_usd_by_model: dict[str, Decimal]
    utilization: Decimal
    fixed_monthly_usd: Decimal
    input_token_share: Decimal
    apis: list[ApiRateView]
    runs: list[CostRunView]
    outcomes: list[EvalOutcome] = Field(default_factory=list)
    # the table's title quotes the price as given ("$2.50"), the JSON normalized ("2.5")
    gpu_hourly_usd_given: Decimal | None = Field(exclude=True)


def _run_api(a: ApiAtMix) -> RunApiView:
    b = a.break_even
    return RunApiView(
        provider=a.rate.provider, model=a.rate.model,
        usd_per_mtok_at_input_share=_norm(a.at_share_usd_per_mtok),
        usd_per_mtok_at_run_mix=_norm(a.at_run_mix_usd_per_mtok),
        break_even_mtok_per_month=_norm(b.mtok_per_month) if b else None,
        break_even=b.explanation if b else None,
        gpu_sets_needed=b.gpu_sets_needed if b else None,
    )  # fmt: skip


def _run(row: CostRow) -> CostRunView:
    c = row.self_host
    return CostRunView(
        path=row.path, model_id=row.model_id, engine=row.engine, hardware=row.hardware,
        load=row.load, valid=row.valid, hourly_usd=_norm(row.hourly.usd),
        hourly_usd_reason=row.hourly.reason, output_tok_per_s=c.output_tok_per_s,
        total_tok_per_s=c.total_tok_per_s, run_input_share=_norm(c.input_share),
        self_host_usd_per_mtok_output=_norm(c.usd_per_mtok_output),
        self_host_usd_per_mtok_total=_norm(c.usd_per_mtok_total),
        capacity_mtok_per_month=_norm(c.capacity_mtok_per_month),
        apis=[_run_api(a) for a in row.apis],
    )  # fmt: skip


def cost_report_view(view: CostView) -> CostReportView:
    p = view.pricing
    return CostReportView(
        gpu_hourly_usd=_norm(p.gpu_hourly_usd),
        gpu_hourly_usd_by_model={g.model: g.hourly_usd for g in p.gpu_models},
        utilization=p.utilization,
        fixed_monthly_usd=p.fixed_monthly_usd,
        input_token_share=view.input_share,
        apis=[api_rate_view(r, view.input_share, view.cached_share) for r in view.apis],
        runs=[_run(row) for row in view.rows],
        outcomes=view.outcomes,
        gpu_hourly_usd_given=p.gpu_hourly_usd,
    )
