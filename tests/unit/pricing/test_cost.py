"""Blended API rates, self-hosted $/Mtok and break-even on known answers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import summarize
from tokenbench.pricing.api import ApiRate, api_rate, data_date, models, providers
from tokenbench.pricing.selfhost import SelfHostPricing, break_even, self_host_cost
from tokenbench.records import RequestRecord

D = Decimal


CACHED = D("0.3")


def rate(cached: Decimal | None = CACHED) -> ApiRate:
    return ApiRate("p", "m", D(3), D(15), cached, "test", None, False)


def test_blended_rate_arithmetic() -> None:
    assert rate().blended(D("0.75")) == D("6.00")  # 0.75 × 3 + 0.25 × 15
    # half the input from cache: 0.5 × 3 + 0.5 × 0.3 = 1.65; 0.75 × 1.65 + 0.25 × 15 = 4.9875
    assert rate().blended(D("0.75"), D("0.5")) == D("4.9875")
    assert rate(None).blended(D("0.75"), D("0.5")) == D("6.00")  # no cache price: input price
    assert rate().blended(D(1)) == D(3)
    assert rate().blended(D(0)) == D(15)
    with pytest.raises(ConfigError, match=r"outside 0\.\.1"):
        rate().blended(D("1.5"))


def test_api_rate_from_the_bundled_data_matches_its_own_calculator() -> None:
    r = api_rate("openai", "gpt-4o-mini")
    assert isinstance(r.input_usd_per_mtok, Decimal)
    big = calc_price(Usage(input_tokens=10**6, output_tokens=10**6), "gpt-4o-mini",
                     provider_id="openai")  # fmt: skip
    assert r.input_usd_per_mtok == big.input_price
    assert r.output_usd_per_mtok == big.output_price
    assert r.cached_input_usd_per_mtok is not None
    assert r.cached_input_usd_per_mtok < r.input_usd_per_mtok
    assert r.source.startswith("genai-prices ")
    assert r.data_date is not None
    assert r.data_date == data_date()


def test_unknown_provider_and_model_name_close_matches() -> None:
    with pytest.raises(ConfigError, match="did you mean 'openai'"):
        api_rate("openaii", "gpt-4o-mini")
    with pytest.raises(ConfigError, match="did you mean 'gpt-4o-mini'"):
        api_rate("openai", "gpt-4o-mnii")
    assert "openai" in providers()
    assert any(line.startswith("gpt-4o-mini ") for line in models("openai"))


def _records(
    output_tokens: int, input_tokens: int, seconds: float, n: int = 2
) -> list[RequestRecord]:
    end = int(seconds * 1e9)
    return [RequestRecord(i, 0, i, False, "p", 0, send_ns=0, first_token_ns=end // 10,
                          chunk_ns=[end // 10, end], end_ns=end, input_tokens=input_tokens,
                          output_tokens=output_tokens, tokens_from_usage=True, http_status=200)
            for i in range(n)]  # fmt: skip


def test_self_host_cost_from_measured_throughput() -> None:
    metrics = summarize(_records(output_tokens=500, input_tokens=1500, seconds=1.0))
    assert metrics.output_throughput_tok_per_s == pytest.approx(1000.0)
    # $3.60 an hour at 1,000 output tok/s, fully used: 3.6 / 3.6M tokens = $1 per 1M
    cost = self_host_cost(metrics, SelfHostPricing(D("3.6"), 1, D(1)))
    assert cost.usd_per_mtok_output == D(1)
    assert cost.usd_per_mtok_total == D("0.25")  # 4,000 tok/s in and out
    assert cost.input_share == D("0.75")
    # two GPUs at half utilization: four times the price per token
    pricier = self_host_cost(metrics, SelfHostPricing(D("3.6"), 2, D("0.5")))
    assert pricier.usd_per_mtok_output == D(4)
    assert cost.capacity_mtok_per_month == D("4000") * 3600 * 730 / 10**6


def test_self_host_cost_is_null_without_throughput() -> None:
    cost = self_host_cost(summarize([]), SelfHostPricing(D(2)))
    assert cost.usd_per_mtok_output is None
    assert cost.input_share is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"gpus": 0}, "--gpus"), ({"utilization": D(0)}, "--utilization"),
     ({"utilization": D("1.2")}, "--utilization"), ({"fixed_monthly_usd": D(-1)}, "negative")],
)  # fmt: skip
def test_pricing_inputs_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SelfHostPricing(D(1), **kwargs)  # type: ignore[arg-type]


def test_break_even_known_answer() -> None:
    # $1,000/month fixed, saving $0.50 per 1M tokens: 2,000 Mtok a month
    even = break_even(D("1.00"), D("0.50"), D(1000), capacity_mtok_per_month=D(500))
    assert even.mtok_per_month == D(2000)
    assert even.gpu_sets_needed == 4
    assert "2,000.0 Mtok/month" in even.explanation
    never = break_even(D("0.40"), D("0.50"), D(1000), None)
    assert never.mtok_per_month is None
    assert "never" in never.explanation
    free = break_even(D("1.00"), D("0.50"), D(0), D(10))
    assert free.mtok_per_month == 0
    assert "from the start" in free.explanation
