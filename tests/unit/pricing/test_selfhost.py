"""A run is priced by the GPUs its envelope records: per GPU model, a bare price for every GPU,
one machine-hour for a CPU-only run, and no price (with the reason) when a GPU has none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.envelopes import minimal_statement
from tokenbench.envelope.schema import RunPredicate
from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import summarize
from tokenbench.pricing.selfhost import GpuPrice, SelfHostPricing, self_host_cost
from tokenbench.records import RequestRecord

D = Decimal
H100 = "NVIDIA H100 80GB HBM3"
A100 = "NVIDIA A100-SXM4-80GB"


def run_on(*gpu_names: str) -> RunPredicate:
    body: dict[str, Any] = minimal_statement()["predicate"]
    body["hardware"]["gpus"] = [{"name": n} for n in gpu_names]
    return RunPredicate.model_validate(body)


def per_model(bare: Decimal | None = None, **prices: str) -> SelfHostPricing:
    return SelfHostPricing(bare, gpu_models=tuple(GpuPrice(m, D(p)) for m, p in prices.items()))


def test_each_gpu_is_priced_by_its_model_case_insensitively() -> None:
    pricing = per_model(h100="2.49", A100="1.29")
    two_h100 = pricing.run_hourly_usd(run_on(H100, H100))
    assert two_h100.usd == 2 * D("2.49")
    mixed = pricing.run_hourly_usd(run_on(H100, A100))
    assert mixed.usd == D("2.49") + D("1.29")
    assert H100 in mixed.reason


def test_the_most_specific_model_wins_and_a_bare_price_covers_the_rest() -> None:
    pricing = per_model(D(1), **{"A100": "1.29", "a100-sxm4-80gb": "1.89"})
    assert pricing.gpu_price(A100) == D("1.89")
    assert pricing.gpu_price("NVIDIA A100-PCIE-40GB") == D("1.29")
    assert pricing.run_hourly_usd(run_on("NVIDIA L4", A100)).usd == D(1) + D("1.89")


def test_a_gpu_without_a_price_gives_no_cost_and_says_why() -> None:
    pricing = per_model(A100="1.29")
    price = pricing.run_hourly_usd(run_on(H100))
    assert price.usd is None
    assert H100 in price.reason
    metrics = summarize(_records())
    cost = self_host_cost(metrics, pricing, price)
    assert cost.output_tok_per_s == metrics.output_throughput_tok_per_s
    assert cost.usd_per_mtok_output is None
    assert cost.usd_per_mtok_total is None


def test_cpu_only_run_is_one_machine_hour_at_the_bare_price() -> None:
    cpu = run_on()
    assert SelfHostPricing(D("0.5"), gpus=4).run_hourly_usd(cpu).usd == D("0.5")
    unpriced = per_model(H100="2.49").run_hourly_usd(cpu)
    assert unpriced.usd is None
    assert "CPU-only" in unpriced.reason


def test_a_bare_price_counts_every_gpu_the_envelope_records() -> None:
    pricing = SelfHostPricing(D(2), gpus=1, utilization=D(1))
    hourly = pricing.run_hourly_usd(run_on(H100, H100, H100, H100))
    assert hourly.usd == 4 * D(2)
    metrics = summarize(_records())
    one_gpu = self_host_cost(metrics, pricing)  # no run: the bare price × --gpus
    four = self_host_cost(metrics, pricing, hourly)
    assert four.usd_per_mtok_output == 4 * one_gpu.usd_per_mtok_output  # type: ignore[operator]


def test_negative_and_empty_model_prices_are_refused() -> None:
    with pytest.raises(ConfigError, match="negative"):
        per_model(H100="-1")
    with pytest.raises(ConfigError, match="empty"):
        SelfHostPricing(None, gpu_models=(GpuPrice(" ", D(1)),))


def _records() -> list[RequestRecord]:
    end = 1_000_000_000
    return [RequestRecord(i, 0, i, False, "p", 0, send_ns=0, first_token_ns=end // 10,
                          chunk_ns=[end // 10, end], end_ns=end, input_tokens=100,
                          output_tokens=100, tokens_from_usage=True, http_status=200)
            for i in range(2)]  # fmt: skip


def test_a_run_without_a_price_never_falls_back_to_the_bare_price() -> None:
    body: dict[str, Any] = minimal_statement()["predicate"]
    body["hardware"]["gpus"] = [{"name": H100}]
    body["metrics"] = summarize(_records()).model_dump(mode="json")
    run = RunPredicate.model_validate(body)
    assert per_model(A100="1.29").run_usd_per_mtok(run) is None
    priced = per_model(H100="2.49")
    hourly = priced.run_hourly_usd(run).usd
    expected = priced.usd_per_mtok(run.metrics.output_throughput_tok_per_s, hourly)
    assert expected is not None
    assert priced.run_usd_per_mtok(run) == expected
