"""Figures from the telemetry sidecar: the engine's own metrics over the measured window, and the
GPU and engine-process series; each null figure with its reason (docs/metrics.md)."""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.engines.profile import MetricRole
from tokenbench.telemetry.sampler import Row

ENERGY_TOLERANCE = 0.10  # power-series integral vs the energy counter, relative (docs/metrics.md)
# NVML's throttle-reason bits (nvmlClocksEventReasons)
THROTTLE_REASONS = {
    0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
    0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown", 0x100: "display_clock_setting",
}  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerMetricsSummary(_Strict):
    """The engine's Prometheus series over the measured phase (`series`: how much of it came)."""

    scrapes: int
    failures: int
    series: str  # "complete", "partial" (some scrapes failed) or "missing" (none answered)
    reason: str | None = None  # the first failure, when there was one
    kv_cache_usage_p50: float | None = None  # share 0-1
    kv_cache_usage_max: float | None = None
    requests_running_p50: float | None = None
    requests_running_max: float | None = None
    requests_waiting_p50: float | None = None
    requests_waiting_max: float | None = None
    prompt_tokens: float | None = None  # counter deltas from the start to the end scrape
    generation_tokens: float | None = None
    prefix_cache_hit_tokens: float | None = None
    prefix_cache_hit_rate: float | None = None  # hits / queries
    preemptions: float | None = None
    spec_acceptance_rate: float | None = None  # accepted / drafted; SGLang: its gauge's mean
    unmeasured: dict[str, str] = Field(default_factory=dict)  # null figure → why


class TelemetrySummary(_Strict):
    """GPU (NVML, amdsmi) and local engine-process series over the measured phase."""

    samples: dict[str, int]  # source → readings
    failures: dict[str, int] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)  # source → its first failure
    notes: dict[str, str] = Field(default_factory=dict)  # source → fields its readings lacked
    # the power figures span the series, or with --cooldown the energy counter's fixed window
    power_mean_w: float | None = None  # the integral over the series' span
    power_max_w: float | None = None
    power_integral_j: float | None = None  # trapezoids over the readings
    energy_counter_j: float | None = None  # the envelope's energy figure, for the cross-check
    sm_util_mean_pct: float | None = None
    mem_util_mean_pct: float | None = None
    memory_used_max_bytes: float | None = None
    sm_clock_min_mhz: float | None = None
    mem_clock_min_mhz: float | None = None
    temperature_max_c: float | None = None
    throttle_reasons: list[str] = Field(default_factory=list)
    engine_cpu_cores_mean: float | None = None
    engine_cpu_cores_max: float | None = None
    engine_rss_max_bytes: float | None = None
    unmeasured: dict[str, str] = Field(default_factory=dict)


def _ok(rows: Sequence[Row], source: str) -> list[Row]:
    return sorted((r for r in rows if r.source == source and r.error is None),
                  key=lambda r: r.t_ns)  # fmt: skip


def _marked(rows: Sequence[Row], source: str, mark: str) -> Row | None:
    return next((r for r in rows if r.source == source and r.mark == mark), None)


def counter_delta(rows: Sequence[Row], key: str) -> tuple[float | None, str | None]:
    """A counter's rise from the measured phase's start scrape to its end scrape, or why not."""
    start, end = _marked(rows, "prometheus", "start"), _marked(rows, "prometheus", "end")
    if start is None or end is None or start.error or end.error:
        return None, "the scrape at the measured phase's start or end failed"
    if key not in start.values or key not in end.values:
        return None, "the engine does not export it"
    delta = end.values[key] - start.values[key]
    return (delta, None) if delta >= 0 else (None, "the counter went backwards (a restart)")


def _ratio(rows: Sequence[Row], num: MetricRole, den: MetricRole) -> tuple[float | None, str]:
    a, why_a = counter_delta(rows, num)
    b, why_b = counter_delta(rows, den)
    if a is None or b is None:
        return None, why_a or why_b or ""
    return (a / b, "") if b > 0 else (None, "nothing was counted in the window")


def server_summary(rows: Sequence[Row]) -> ServerMetricsSummary | None:
    """None when the engine was not scraped (--no-scrape, no endpoint known)."""
    scraped = [r for r in rows if r.source == "prometheus"]
    if not scraped:
        return None
    ok = _ok(rows, "prometheus")
    failed = [r for r in scraped if r.error]
    series = "missing" if not ok else "partial" if failed else "complete"
    doc: dict[str, object] = {"scrapes": len(scraped), "failures": len(failed), "series": series,
                              "reason": failed[0].error if failed else None}  # fmt: skip
    unmeasured: dict[str, str] = {}
    for role in (MetricRole.KV_CACHE_USAGE, MetricRole.REQUESTS_RUNNING,
                 MetricRole.REQUESTS_WAITING):  # fmt: skip
        values = [r.values[role] for r in ok if role in r.values]
        for stat, fn in (("p50", statistics.median), ("max", max)):
            doc[f"{role}_{stat}"] = fn(values) if values else None
            if not values:
                unmeasured[f"{role}_{stat}"] = "no scrape answered" if not ok else "not exported"
    for field, role in (("prompt_tokens", MetricRole.PROMPT_TOKENS_TOTAL),
                        ("generation_tokens", MetricRole.GENERATION_TOKENS_TOTAL),
                        ("prefix_cache_hit_tokens", MetricRole.PREFIX_CACHE_HITS),
                        ("preemptions", MetricRole.PREEMPTIONS_TOTAL)):  # fmt: skip
        doc[field], why = counter_delta(rows, role)
        if why:
            unmeasured[field] = why
    for field, num, den in (
        ("prefix_cache_hit_rate", MetricRole.PREFIX_CACHE_HITS, MetricRole.PREFIX_CACHE_QUERIES),
        ("spec_acceptance_rate", MetricRole.SPEC_ACCEPTED, MetricRole.SPEC_DRAFTED),
    ):
        doc[field], why = _ratio(rows, num, den)
        if doc[field] is None:
            unmeasured[field] = why
    if "prefix_cache_hit_rate" in unmeasured and doc["prefix_cache_hit_tokens"] is not None:
        unmeasured["prefix_cache_hit_rate"] = (
            "the engine counts cached prompt tokens (prefix_cache_hit_tokens) but not the "
            "tokens looked up"
        )
    if doc["spec_acceptance_rate"] is None:  # no counters: the engine's gauge, if it has one
        rate, why = _spec_gauge(ok)
        doc["spec_acceptance_rate"] = rate
        if rate is not None:
            unmeasured.pop("spec_acceptance_rate", None)
        elif why:
            unmeasured["spec_acceptance_rate"] = why
    return ServerMetricsSummary.model_validate({**doc, "unmeasured": unmeasured})


def unscraped_summary(reason: str) -> ServerMetricsSummary:
    """The server series of a point that never scraped the engine, and why (`reason`): every
    figure null, each with that reason, as any other null figure has its own."""
    why = f"not scraped: {reason}"
    figures = [name for name, f in ServerMetricsSummary.model_fields.items()
               if f.annotation == float | None]  # fmt: skip
    return ServerMetricsSummary(scrapes=0, failures=0, series="missing", reason=why,
                                unmeasured=dict.fromkeys(figures, why))  # fmt: skip


def _spec_gauge(ok: Sequence[Row]) -> tuple[float | None, str | None]:
    """The acceptance gauge's mean over the answered scrapes that read above 0 (SGLang's reads 0
    until a batch with drafts is logged, and always without speculative decoding); (None, None)
    when the engine does not export it."""
    role = MetricRole.SPEC_ACCEPT_RATE
    values = [r.values[role] for r in ok if role in r.values]
    if not values:
        return None, None
    drafted = [v for v in values if v > 0]
    if not drafted:
        return None, "the acceptance gauge stayed 0 (no speculative decoding, or nothing drafted)"
    return statistics.fmean(drafted), None


def _at(points: Sequence[tuple[float, float]], t: float) -> float:
    """The series' value at `t` (within its span), linear between readings."""
    i = bisect.bisect_left(points, t, key=lambda p: p[0])
    if points[i][0] == t:
        return points[i][1]
    (t0, v0), (t1, v1) = points[i - 1], points[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def _cut(points: list[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """The series between `start` and `end`, as far as its readings reach, with its values at
    the cuts interpolated (readings come every 0.1 s, not at the window's bounds)."""
    lo, hi = max(start, points[0][0]), min(end, points[-1][0])
    if hi <= lo:
        return []
    inner = [(t, v) for t, v in points if lo < t < hi]
    return [(lo, _at(points, lo)), *inner, (hi, _at(points, hi))]


def _points(rows: Sequence[Row], key: str,
           window_ns: tuple[int, int] | None = None) -> list[tuple[float, float]]:  # fmt: skip
    """(seconds, value) of the readings that carry `key`; with a window (ns), cut to it."""
    points = [(float(r.t_ns), r.values[key]) for r in rows if key in r.values]
    if window_ns is not None and points:
        points = _cut(points, *window_ns)
    return [(t / 1e9, v) for t, v in points]


def _trapezoids(points: Sequence[tuple[float, float]]) -> float | None:
    """The integral of (seconds, value) points (value × seconds); None under two points."""
    if len(points) < 2:
        return None
    return sum((t1 - t0) * (v0 + v1) / 2 for (t0, v0), (t1, v1) in itertools.pairwise(points))


def _span_s(rows: Sequence[Row]) -> float:
    return (rows[-1].t_ns - rows[0].t_ns) / 1e9 if len(rows) > 1 else 0.0


def _gpu_figures(rows: Sequence[Row], energy_j: float | None,
                 window_ns: tuple[int, int] | None) -> dict[str, object]:  # fmt: skip
    """`window_ns`: the energy counter's fixed window (--cooldown), which the power figures
    keep to so the cross-check compares one span; None: the counter spans the series."""
    gpu = _ok(rows, "nvml") or _ok(rows, "amd")
    if not gpu:
        return {}
    power = _points(gpu, "power_w", window_ns)
    joules = _trapezoids(power)
    span = power[-1][0] - power[0][0] if len(power) > 1 else 0.0
    mask = 0
    for r in gpu:
        mask |= int(r.values.get("throttle_reasons", 0))

    def pick(key: str, fn: object) -> float | None:
        vals = [r.values[key] for r in gpu if key in r.values]
        return fn(vals) if vals else None  # type: ignore[operator]

    return {
        "power_mean_w": joules / span if joules is not None and span > 0 else None,
        "power_max_w": max(v for _, v in power) if power else None,
        "power_integral_j": joules,
        "energy_counter_j": energy_j,
        "sm_util_mean_pct": pick("sm_util_pct", statistics.fmean),
        "mem_util_mean_pct": pick("mem_util_pct", statistics.fmean),
        "memory_used_max_bytes": pick("memory_used_bytes", max),
        "sm_clock_min_mhz": pick("sm_clock_mhz", min),
        "mem_clock_min_mhz": pick("mem_clock_mhz", min),
        "temperature_max_c": pick("temperature_c", max),
        "throttle_reasons": [name for bit, name in THROTTLE_REASONS.items() if mask & bit],
    }


def _process_figures(rows: Sequence[Row]) -> dict[str, object]:
    proc = [r for r in _ok(rows, "process") if "cpu_s" in r.values]
    if not proc:
        return {}
    cores = [(b.values["cpu_s"] - a.values["cpu_s"]) / ((b.t_ns - a.t_ns) / 1e9)
             for a, b in itertools.pairwise(proc) if b.t_ns > a.t_ns]  # fmt: skip
    span = _span_s(proc)
    return {
        "engine_cpu_cores_mean": (proc[-1].values["cpu_s"] - proc[0].values["cpu_s"]) / span
        if span > 0
        else None,
        "engine_cpu_cores_max": max(cores) if cores else None,
        "engine_rss_max_bytes": max(r.values.get("rss_bytes", 0.0) for r in proc),
    }


def telemetry_summary(
    rows: Sequence[Row], energy_j: float | None, window_ns: tuple[int, int] | None = None
) -> TelemetrySummary | None:
    """None when no hardware or process series was sampled. `energy_j` is the envelope's
    counter figure, stated beside the power integral for the cross-check; `window_ns` the
    counter's fixed window (--cooldown; records' clock), which the power figures keep to."""
    sources = sorted({r.source for r in rows if r.source != "prometheus"})
    if not sources:
        return None
    doc: dict[str, object] = {
        "samples": {s: sum(r.source == s for r in rows) for s in sources},
        "failures": {s: n for s in sources
                     if (n := sum(r.source == s and r.error is not None for r in rows))},
        "reasons": {s: e for s in sources
                    if (e := next((r.error for r in rows if r.source == s and r.error), None))},
        "notes": {s: "; ".join(said) for s in sources
                  if (said := [r.note for r in rows if r.source == s and r.note])},
        **_gpu_figures(rows, energy_j, window_ns),
        **_process_figures(rows),
    }  # fmt: skip
    unmeasured = {}
    gpu_why = ("no GPU series (no NVIDIA or AMD GPU sampled here)"
               if not {"nvml", "amd"} & set(sources) else "every GPU reading failed")  # fmt: skip
    gpu = [r for r in rows if r.source in ("nvml", "amd") and r.error is None]
    for name, key in (("power_mean_w", "power_w"), ("power_integral_j", "power_w"),
                      ("sm_util_mean_pct", "sm_util_pct"),
                      ("memory_used_max_bytes", "memory_used_bytes")):  # fmt: skip
        if doc.get(name) is None:
            given = not gpu or any(key in r.values for r in gpu)  # else the GPU never gave it
            note = next((r.note for r in gpu if r.note and key in r.note), None)
            unmeasured[name] = gpu_why if given else note or f"no GPU reading gave {key}"
    for name in ("engine_cpu_cores_mean", "engine_rss_max_bytes"):
        if doc.get(name) is None:
            unmeasured[name] = ("no local engine process was sampled" if "process" not in sources
                                else "too few readings of the engine process")  # fmt: skip
    return TelemetrySummary.model_validate({**doc, "unmeasured": unmeasured})


def energy_warning(summary: TelemetrySummary | None) -> str | None:
    """The power series' integral against the energy counter: beyond ENERGY_TOLERANCE, a
    warning (the counter stays the envelope's figure)."""
    if summary is None or summary.power_integral_j is None or not summary.energy_counter_j:
        return None
    off = summary.power_integral_j / summary.energy_counter_j - 1
    if abs(off) <= ENERGY_TOLERANCE:
        return None
    return (f"energy cross-check: the power series integrates to {summary.power_integral_j:.1f} J, "
            f"the energy counter says {summary.energy_counter_j:.1f} J ({off:+.0%}, tolerance "
            f"±{ENERGY_TOLERANCE:.0%})")  # fmt: skip
