"""The metrics a comparison can use, by name: direction, how to read each run's figure (the
per-run value every verdict is drawn from), and which percentile it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tokenbench.compare.pareto import Direction
from tokenbench.envelope.schema import RunPredicate
from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import RunMetrics
from tokenbench.pricing.selfhost import SelfHostPricing
from tokenbench.registry import Registry

Figure = Callable[[RunMetrics], float | None]


@dataclass(frozen=True, slots=True)
class CompareMetric:
    name: str
    label: str
    json_key: str  # key in `--report json` runs[].metrics
    direction: Direction
    better: str  # the word for a change in the better direction: "faster", "higher", "lower"
    figure: Figure
    percentile: float | None = None  # the run's figure is this percentile of its requests
    # Open loop: the same figure counted from each request's scheduled send, so queueing in
    # the client (a late send) counts against the server as a user arriving on time sees it.
    open_loop: Figure | None = None
    # A figure that needs more of the envelope than its metrics (the GPUs a run was priced on)
    per_run: Callable[[RunPredicate], float | None] | None = None

    def value(self, predicate: RunPredicate) -> float | None:
        """The run's figure for this metric, as compared."""
        if self.per_run is not None:
            return self.per_run(predicate)
        if self.open_loop is not None and predicate.parameters.load.mode == "open_loop":
            return self.open_loop(predicate.metrics)
        return self.figure(predicate.metrics)


METRICS: Registry[CompareMetric] = Registry("metric")
_WORSE = {"faster": "slower", "higher": "lower", "lower": "higher"}


def worse_word(metric: CompareMetric) -> str:
    return _WORSE[metric.better]


def compare_metric(
    name: str,
    label: str,
    json_key: str,
    direction: Direction,
    better: str,
    percentile: float | None = None,
    open_loop: Figure | None = None,
) -> Callable[[Figure], Figure]:
    def register(fn: Figure) -> Figure:
        if better not in _WORSE:
            raise ValueError(f"no opposite known for {better!r}")
        METRICS.register(
            name, CompareMetric(name, label, json_key, direction, better, fn, percentile, open_loop)
        )
        return fn

    return register


def get_metric(name: str) -> CompareMetric:
    return METRICS.get(name)


COST_METRIC = "usd_mtok"


def cost_metric(pricing: SelfHostPricing) -> CompareMetric:
    """Self-hosted $ per 1M output tokens at the run's measured throughput, on the GPUs its
    envelope records: a metric only once a GPU-hour price is given, so it is built per
    comparison, not registered."""

    def figure(m: RunMetrics) -> float | None:
        usd = pricing.usd_per_mtok(m.output_throughput_tok_per_s)
        return None if usd is None else float(usd)

    def per_run(p: RunPredicate) -> float | None:
        usd = pricing.run_usd_per_mtok(p)
        return None if usd is None else float(usd)

    return CompareMetric(COST_METRIC, "Self $/M out", "self_host_usd_per_mtok_output", "min",
                         "lower", figure, per_run=per_run)  # fmt: skip


def resolve_metric(name: str, pricing: SelfHostPricing | None) -> CompareMetric:
    if name == COST_METRIC:
        if pricing is None:
            raise ConfigError(f"--pareto {COST_METRIC} needs --gpu-hourly-usd (a GPU-hour price)")
        return cost_metric(pricing)
    return get_metric(name)


def all_metrics() -> list[CompareMetric]:
    return METRICS.values()


@compare_metric("throughput", "Throughput (tok/s)", "throughput_tok_per_s", "max", "higher")
def _throughput(m: RunMetrics) -> float | None:
    return m.output_throughput_tok_per_s


# The same output throughput in units no tokenizer decides (`bench compare --unit`)
@compare_metric("bytes", "Throughput (bytes/s)", "throughput_bytes_per_s", "max", "higher")
def _bytes_per_s(m: RunMetrics) -> float | None:
    return m.output_bytes_per_s


@compare_metric("words", "Throughput (words/s)", "throughput_words_per_s", "max", "higher")
def _words_per_s(m: RunMetrics) -> float | None:
    return m.output_words_per_s


def _ttft_sched_p50(m: RunMetrics) -> float | None:
    return m.ttft_from_schedule_ms.p50 if m.ttft_from_schedule_ms else None


def _ttft_sched_p99(m: RunMetrics) -> float | None:
    return m.ttft_from_schedule_ms.p99 if m.ttft_from_schedule_ms else None


def _e2e_sched_p50(m: RunMetrics) -> float | None:
    return m.e2e_from_schedule_ms.p50 if m.e2e_from_schedule_ms else None


@compare_metric("ttft", "TTFT p50 (ms)", "ttft_p50_ms", "min", "faster", 50, _ttft_sched_p50)
def _ttft_p50(m: RunMetrics) -> float | None:
    return m.ttft_ms.p50 if m.ttft_ms else None


@compare_metric("ttft_p99", "TTFT p99 (ms)", "ttft_p99_ms", "min", "faster", 99, _ttft_sched_p99)
def _ttft_p99(m: RunMetrics) -> float | None:
    return m.ttft_ms.p99 if m.ttft_ms else None


@compare_metric("tpot", "TPOT p50 (ms)", "tpot_p50_ms", "min", "faster", 50)
def _tpot_p50(m: RunMetrics) -> float | None:
    return m.tpot_ms.p50 if m.tpot_ms else None


@compare_metric("e2e", "E2E p50 (ms)", "e2e_p50_ms", "min", "faster", 50, _e2e_sched_p50)
def _e2e_p50(m: RunMetrics) -> float | None:
    return m.e2e_ms.p50 if m.e2e_ms else None


@compare_metric("itl", "ITL p50 (ms)", "itl_p50_ms", "min", "faster", 50)
def _itl_p50(m: RunMetrics) -> float | None:
    return m.itl_ms.p50 if m.itl_ms else None


@compare_metric("ttfat", "TTFAT p50 (ms)", "ttfat_p50_ms", "min", "faster", 50)
def _ttfat_p50(m: RunMetrics) -> float | None:
    d = m.distribution("ttfat_ms")  # reasoning models: to the first answer token
    return d.p50 if d else None


@compare_metric("jtok", "J/tok", "joules_per_token", "min", "lower")
def _joules_per_token(m: RunMetrics) -> float | None:
    return m.joules_per_token


@compare_metric("goodput", "Goodput (req/s)", "goodput_rps", "max", "higher")
def _goodput(m: RunMetrics) -> float | None:
    return m.goodput_rps


@compare_metric("rps", "Requests/s", "request_throughput_rps", "max", "higher")
def _rps(m: RunMetrics) -> float | None:
    return m.request_throughput_rps
