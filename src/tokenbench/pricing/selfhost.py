"""Self-hosted cost from measured throughput: what a million tokens cost on GPUs rented by the
hour, at the throughput a run measured, and the break-even volume against an API."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import RunMetrics

MILLION = Decimal(1_000_000)
HOURS_PER_MONTH = Decimal(730)  # 365 × 24 / 12


def money(value: float | str | int) -> Decimal:
    """Exact decimal of a figure (floats through their shortest repr, not their binary value)."""
    return Decimal(str(value))


@dataclass(frozen=True, slots=True)
class SelfHostPricing:
    gpu_hourly_usd: Decimal  # per GPU
    gpus: int = 1
    utilization: Decimal = Decimal("0.7")  # share of paid hours serving at the measured rate
    fixed_monthly_usd: Decimal = Decimal(0)  # staff, storage, network, reserved capacity

    def __post_init__(self) -> None:
        if self.gpu_hourly_usd < 0:
            raise ConfigError("--gpu-hourly-usd cannot be negative")
        if self.gpus < 1:
            raise ConfigError("--gpus must be at least 1")
        if not Decimal(0) < self.utilization <= Decimal(1):
            raise ConfigError(f"--utilization {self.utilization} must be in (0, 1]")
        if self.fixed_monthly_usd < 0:
            raise ConfigError("--fixed-monthly-usd cannot be negative")

    @property
    def hourly_usd(self) -> Decimal:
        return self.gpu_hourly_usd * self.gpus

    def usd_per_mtok(self, tok_per_s: float | None) -> Decimal | None:
        """$ per 1M tokens produced at `tok_per_s` for `utilization` of the paid hours."""
        if tok_per_s is None or tok_per_s <= 0:
            return None
        tokens_per_hour = money(tok_per_s) * 3600 * self.utilization
        return self.hourly_usd / tokens_per_hour * MILLION

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


def self_host_cost(metrics: RunMetrics, pricing: SelfHostPricing) -> SelfHostCost:
    total = metrics.input_tokens_total + metrics.output_tokens_total
    share = (Decimal(metrics.input_tokens_total) / Decimal(total)) if total else None
    return SelfHostCost(
        output_tok_per_s=metrics.output_throughput_tok_per_s,
        total_tok_per_s=metrics.total_throughput_tok_per_s,
        input_share=share,
        usd_per_mtok_output=pricing.usd_per_mtok(metrics.output_throughput_tok_per_s),
        usd_per_mtok_total=pricing.usd_per_mtok(metrics.total_throughput_tok_per_s),
        capacity_mtok_per_month=pricing.capacity_mtok_per_month(metrics.total_throughput_tok_per_s),
    )


@dataclass(frozen=True, slots=True)
class BreakEven:
    mtok_per_month: Decimal | None  # None: self-hosting never costs less
    explanation: str
    gpu_sets_needed: int | None  # copies of the --gpus set to serve the break-even volume


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
