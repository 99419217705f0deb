"""Self-hosted cost from measured throughput: what a million tokens cost on GPUs rented by the
hour, at the throughput a run measured, and the break-even volume against an API.

A run is priced by the GPUs its envelope records (`hardware.gpus`): the sum of each GPU's
hourly price, found by GPU model (`H100=2.49` matches "NVIDIA H100 80GB HBM3") or else the
price for every GPU. A CPU-only run costs the price for every GPU once, as one machine-hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from tokenbench.envelope.schema import EvalPredicate, RunPredicate
from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import RunMetrics

MILLION = Decimal(1_000_000)
HOURS_PER_MONTH = Decimal(730)  # 365 × 24 / 12


def money(value: float | str | int) -> Decimal:
    """Exact decimal of a figure (floats through their shortest repr, not their binary value)."""
    return Decimal(str(value))


@dataclass(frozen=True, slots=True)
class GpuPrice:
    model: str  # matched as a case-insensitive substring of the GPU's name, e.g. "H100"
    hourly_usd: Decimal


@dataclass(frozen=True, slots=True)
class HourlyPrice:
    usd: Decimal | None  # None: the run's hardware has no price
    reason: str  # how it was priced, or why it could not be


@dataclass(frozen=True, slots=True)
class SelfHostPricing:
    gpu_hourly_usd: Decimal | None  # per GPU of any model (a bare --gpu-hourly-usd)
    gpus: int = 1  # only for a price without a run (`hourly_usd`); a run's envelope says its own
    utilization: Decimal = Decimal("0.7")  # share of paid hours serving at the measured rate
    fixed_monthly_usd: Decimal = Decimal(0)  # staff, storage, network, reserved capacity
    gpu_models: tuple[GpuPrice, ...] = ()  # per GPU model (--gpu-hourly-usd H100=2.49)

    def __post_init__(self) -> None:
        prices = [g.hourly_usd for g in self.gpu_models]
        if self.gpu_hourly_usd is not None:
            prices.append(self.gpu_hourly_usd)
        if any(p < 0 for p in prices):
            raise ConfigError("--gpu-hourly-usd cannot be negative")
        if any(not g.model.strip() for g in self.gpu_models):
            raise ConfigError("--gpu-hourly-usd MODEL=USD: the GPU model is empty")
        if self.gpus < 1:
            raise ConfigError("--gpus must be at least 1")
        if not Decimal(0) < self.utilization <= Decimal(1):
            raise ConfigError(f"--utilization {self.utilization} must be in (0, 1]")
        if self.fixed_monthly_usd < 0:
            raise ConfigError("--fixed-monthly-usd cannot be negative")

    @property
    def hourly_usd(self) -> Decimal | None:
        """The bare price × --gpus: for a figure that has no run to read the GPUs from."""
        return None if self.gpu_hourly_usd is None else self.gpu_hourly_usd * self.gpus

    def gpu_price(self, gpu_name: str) -> Decimal | None:
        """One GPU's hourly price: the longest (most specific) model that its name contains,
        so `A100 80GB=…` wins over `A100=…`; else the price for every GPU."""
        name = gpu_name.lower()
        found = [g for g in self.gpu_models if g.model.strip().lower() in name]
        if found:
            return max(found, key=lambda g: len(g.model.strip())).hourly_usd
        return self.gpu_hourly_usd

    def run_hourly_usd(self, predicate: RunPredicate | EvalPredicate) -> HourlyPrice:
        """What an hour of the hardware this run's envelope records costs, or None and why."""
        gpus = predicate.hardware.gpus
        if not gpus:
            if self.gpu_hourly_usd is None:
                why = (f"CPU-only run ({predicate.hardware.label}): only a bare "
                       "--gpu-hourly-usd USD prices it, as one machine-hour")  # fmt: skip
                return HourlyPrice(None, why)
            return HourlyPrice(self.gpu_hourly_usd, "CPU-only run: one machine-hour at "
                               f"${self.gpu_hourly_usd}")  # fmt: skip
        prices = [self.gpu_price(g.name) for g in gpus]
        missing = sorted({g.name for g, p in zip(gpus, prices, strict=True) if p is None})
        if missing:
            return HourlyPrice(None, f"no --gpu-hourly-usd price for {', '.join(missing)}; "
                               "give MODEL=USD for it, or a bare USD for every GPU")  # fmt: skip
        total = sum((p for p in prices if p is not None), Decimal(0))
        parts = ", ".join(f"{g.name} ${p}" for g, p in zip(gpus, prices, strict=True))
        return HourlyPrice(total, f"{len(gpus)} GPU(s): {parts}")

    def usd_per_mtok(
        self, tok_per_s: float | None, hourly_usd: Decimal | None = None
    ) -> Decimal | None:
        """$ per 1M tokens produced at `tok_per_s` for `utilization` of the paid hours, at
        `hourly_usd` (a run's, from `run_hourly_usd`) or else the bare price × --gpus."""
        hourly = self.hourly_usd if hourly_usd is None else hourly_usd
        if hourly is None or tok_per_s is None or tok_per_s <= 0:
            return None
        tokens_per_hour = money(tok_per_s) * 3600 * self.utilization
        return hourly / tokens_per_hour * MILLION

    def run_usd_per_mtok(self, predicate: RunPredicate | EvalPredicate) -> Decimal | None:
        """$ per 1M output tokens of this run on the hardware it records; None when that hardware
        has no price (never the bare price × --gpus in its place) or nothing was measured."""
        hourly = self.run_hourly_usd(predicate)
        if hourly.usd is None:
            return None
        return self.usd_per_mtok(predicate.metrics.output_throughput_tok_per_s, hourly.usd)

    def capacity_mtok_per_month(self, tok_per_s: float | None) -> Decimal | None:
        if tok_per_s is None or tok_per_s <= 0:
            return None
        return money(tok_per_s) * 3600 * HOURS_PER_MONTH * self.utilization / MILLION


@dataclass(frozen=True, slots=True)
class SelfHostCost:
    output_tok_per_s: float | None
    total_tok_per_s: float | None
    input_share: Decimal | None  # input tokens / all tokens, as the run measured them
    usd_per_mtok_output: Decimal | None
    usd_per_mtok_total: Decimal | None
    capacity_mtok_per_month: Decimal | None  # total tokens the GPUs serve in a month


def self_host_cost(
    metrics: RunMetrics, pricing: SelfHostPricing, hourly: HourlyPrice | None = None
) -> SelfHostCost:
    """At `hourly` (the run's hardware, from `run_hourly_usd`; no price there: no cost), else
    at the bare price × --gpus."""
    total = metrics.input_tokens_total + metrics.output_tokens_total
    share = (Decimal(metrics.input_tokens_total) / Decimal(total)) if total else None
    unpriced = hourly is not None and hourly.usd is None
    hourly_usd = None if hourly is None else hourly.usd
    out_tok, all_tok = metrics.output_throughput_tok_per_s, metrics.total_throughput_tok_per_s
    return SelfHostCost(
        output_tok_per_s=out_tok,
        total_tok_per_s=all_tok,
        input_share=share,
        usd_per_mtok_output=None if unpriced else pricing.usd_per_mtok(out_tok, hourly_usd),
        usd_per_mtok_total=None if unpriced else pricing.usd_per_mtok(all_tok, hourly_usd),
        capacity_mtok_per_month=pricing.capacity_mtok_per_month(metrics.total_throughput_tok_per_s),
    )


@dataclass(frozen=True, slots=True)
class BreakEven:
    mtok_per_month: Decimal | None  # None: self-hosting never costs less
    explanation: str
    gpu_sets_needed: int | None  # copies of the run's hardware to serve the break-even volume


def break_even(
    api_usd_per_mtok: Decimal,
    self_usd_per_mtok: Decimal,
    fixed_monthly_usd: Decimal,
    capacity_mtok_per_month: Decimal | None,
) -> BreakEven:
    """Monthly volume T (millions of tokens) where fixed + T × self = T × api. GPU hours are
    paid per use at `utilization`, so self-hosting costs `self_usd_per_mtok` per 1M tokens on
    top of the fixed monthly cost."""
    margin = api_usd_per_mtok - self_usd_per_mtok
    if margin <= 0:
        return BreakEven(
            None,
            f"the API costs ${api_usd_per_mtok:.4f}/Mtok, no more than self-hosting's "
            f"${self_usd_per_mtok:.4f}/Mtok: self-hosting never breaks even",
            None,
        )
    volume = fixed_monthly_usd / margin
    sets = None
    if capacity_mtok_per_month:
        sets = max(1, math.ceil(volume / capacity_mtok_per_month))
    if volume == 0:
        text = "no fixed cost and a lower rate than the API: self-hosting is cheaper from the start"
    else:
        text = (
            f"${fixed_monthly_usd:,.2f}/month fixed ÷ ${margin:.4f}/Mtok saved = "
            f"{volume:,.1f} Mtok/month"
        )
    return BreakEven(volume, text, sets)
