"""The metrics a comparison can use, by name: direction, how to read the run's figure, and the
per-request samples its confidence interval is bootstrapped from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tokenbench.compare.pareto import Direction
from tokenbench.errors import ConfigError, unknown_name
from tokenbench.metrics.latency import e2e_ms, tpot_ms, ttft_ms
from tokenbench.metrics.summary import RunMetrics
from tokenbench.pricing.selfhost import SelfHostPricing
from tokenbench.records import RequestRecord


@dataclass(frozen=True, slots=True)
class CompareMetric:
    name: str
    label: str
    json_key: str  # key in `--report json` runs[].metrics
    direction: Direction
    better: str  # the word for a change in the better direction: "faster", "higher", "lower"
    figure: Callable[[RunMetrics], float | None]
    per_request: Callable[[RequestRecord], float | None] | None  # None: one value per run
    q: float | None  # percentile bootstrapped (None: the mean)


_REGISTRY: dict[str, CompareMetric] = {}
_WORSE = {"faster": "slower", "higher": "lower", "lower": "higher"}


def worse_word(metric: CompareMetric) -> str:
    return _WORSE[metric.better]


def compare_metric(
    name: str,
    label: str,
    json_key: str,
    direction: Direction,
    better: str,
    per_request: Callable[[RequestRecord], float | None] | None = None,
    q: float | None = None,
) -> Callable[[Callable[[RunMetrics], float | None]], Callable[[RunMetrics], float | None]]:
    def register(fn: Callable[[RunMetrics], float | None]) -> Callable[[RunMetrics], float | None]:
        if better not in _WORSE:
            raise ValueError(f"no opposite known for {better!r}")
        _REGISTRY[name] = CompareMetric(
            name, label, json_key, direction, better, fn, per_request, q
        )
        return fn

    return register


def get_metric(name: str) -> CompareMetric:
    if name not in _REGISTRY:
        raise unknown_name("metric", name, _REGISTRY)
    return _REGISTRY[name]


COST_METRIC = "usd_mtok"


def cost_metric(pricing: SelfHostPricing) -> CompareMetric:
    """Self-hosted $ per 1M output tokens at the run's measured throughput: a metric only once
    a GPU-hour price is given, so it is built per comparison, not registered."""

    def figure(m: RunMetrics) -> float | None:
        usd = pricing.usd_per_mtok(m.output_throughput_tok_per_s)
        return None if usd is None else float(usd)

    return CompareMetric(COST_METRIC, "Self $/M out", "self_host_usd_per_mtok_output", "min",
                         "lower", figure, None, None)  # fmt: skip


def resolve_metric(name: str, pricing: SelfHostPricing | None) -> CompareMetric:
    if name == COST_METRIC:
        if pricing is None:
            raise ConfigError(f"--pareto {COST_METRIC} needs --gpu-hourly-usd (a GPU-hour price)")
        return cost_metric(pricing)
    return get_metric(name)


def all_metrics() -> list[CompareMetric]:
    return list(_REGISTRY.values())


@compare_metric("throughput", "Throughput (tok/s)", "throughput_tok_per_s", "max", "higher")
def _throughput(m: RunMetrics) -> float | None:
    return m.output_throughput_tok_per_s


@compare_metric("ttft", "TTFT p50 (ms)", "ttft_p50_ms", "min", "faster", ttft_ms, 50)
def _ttft_p50(m: RunMetrics) -> float | None:
    return m.ttft_ms.p50 if m.ttft_ms else None


@compare_metric("ttft_p99", "TTFT p99 (ms)", "ttft_p99_ms", "min", "faster", ttft_ms, 99)
def _ttft_p99(m: RunMetrics) -> float | None:
    return m.ttft_ms.p99 if m.ttft_ms else None


@compare_metric("tpot", "TPOT p50 (ms)", "tpot_p50_ms", "min", "faster", tpot_ms, 50)
def _tpot_p50(m: RunMetrics) -> float | None:
    return m.tpot_ms.p50 if m.tpot_ms else None


@compare_metric("e2e", "E2E p50 (ms)", "e2e_p50_ms", "min", "faster", e2e_ms, 50)
def _e2e_p50(m: RunMetrics) -> float | None:
    return m.e2e_ms.p50 if m.e2e_ms else None


@compare_metric("itl", "ITL p50 (ms)", "itl_p50_ms", "min", "faster")
def _itl_p50(m: RunMetrics) -> float | None:
    return m.itl_ms.p50 if m.itl_ms else None


@compare_metric("jtok", "J/tok", "joules_per_token", "min", "lower")
def _joules_per_token(m: RunMetrics) -> float | None:
    return m.joules_per_token


@compare_metric("goodput", "Goodput (req/s)", "goodput_rps", "max", "higher")
def _goodput(m: RunMetrics) -> float | None:
    return m.goodput_rps


@compare_metric("rps", "Requests/s", "request_throughput_rps", "max", "higher")
def _rps(m: RunMetrics) -> float | None:
    return m.request_throughput_rps
