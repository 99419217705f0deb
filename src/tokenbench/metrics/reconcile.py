"""The client's figures against the engine's own over the same measured window: its token
counters, its TTFT/E2E histograms, and per request its `timings`; each difference with its
tolerance, measured on llama-server (docs/metrics.md, Reconciliation)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.engines.profile import MetricRole
from tokenbench.engines.profiles import profile_or_generic
from tokenbench.metrics.latency import e2e_ms, ttft_ms
from tokenbench.metrics.telemetry import (
    ServerMetricsSummary,
    TelemetrySummary,
    counter_delta,
    energy_warning,
    server_summary,
    telemetry_summary,
    unscraped_summary,
)
from tokenbench.records import RequestRecord
from tokenbench.telemetry.sampler import Row

# Tolerances: what each difference may be before it is a warning (docs/metrics.md)
TOKENS_TOLERANCE = 0.01  # token counters, relative to the client's total
MEAN_TOLERANCE = 0.10  # histogram means (TTFT, E2E), relative to the client's mean …
MEAN_TOLERANCE_MS = 5.0  # … plus this (transport and the client's own work)
TTFT_PROMPT_TOLERANCE_MS = 50.0  # p50 of client TTFT − server prompt_ms (queueing + transport)
E2E_SERVER_TOLERANCE_MS = 50.0  # p50 of client E2E − server (prompt_ms + predicted_ms)


class ReconciledFigure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    figure: str  # e.g. "generation_tokens", "ttft_mean_ms", "ttft_minus_prompt_ms_p50"
    client: float
    server: float
    difference: float  # client − server (per-request figures: the p50 of the differences)
    tolerance: float  # |difference| beyond this is a validity warning
    unit: str  # "tokens" or "ms"
    within: bool
    requests: int | None = None  # per-request figures: requests that carried server timings


class Reconciliation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    figures: list[ReconciledFigure] = Field(default_factory=list)
    unmeasured: dict[str, str] = Field(default_factory=dict)  # figure → why it was not compared

    def warnings(self) -> list[str]:
        return [
            f"reconciliation: {f.figure} differs: client {f.client:.6g} vs server "
            f"{f.server:.6g} {f.unit} (difference {f.difference:+.6g}, tolerance ±{f.tolerance:g})"
            for f in self.figures if not f.within
        ]  # fmt: skip


def _figure(name: str, client: float, server: float, diff: float, tol: float, unit: str,
            n: int | None = None) -> ReconciledFigure:  # fmt: skip
    return ReconciledFigure(
        figure=name, client=client, server=server, difference=diff, tolerance=tol, unit=unit,
        within=abs(diff) <= tol, requests=n,
    )  # fmt: skip


@dataclass(slots=True)
class _Found:
    """What the comparisons found, gathered before the (frozen) Reconciliation is made."""

    figures: list[ReconciledFigure] = field(default_factory=list)
    unmeasured: dict[str, str] = field(default_factory=dict)


def _tokens(rows: Sequence[Row], records: Sequence[RequestRecord], excludes_cached: bool,
            out: _Found) -> None:  # fmt: skip
    pairs = (
        ("prompt_tokens", MetricRole.PROMPT_TOKENS_TOTAL, "input_tokens"),
        ("generation_tokens", MetricRole.GENERATION_TOKENS_TOTAL, "output_tokens"),
    )
    for name, role, attr in pairs:
        server, why = counter_delta(rows, role)
        if server is not None and excludes_cached and role == MetricRole.PROMPT_TOKENS_TOTAL:
            cached, why = counter_delta(rows, MetricRole.PREFIX_CACHE_HITS)
            server = None if cached is None else server + cached
        counted = [getattr(r, attr) for r in records]
        if server is None or not counted or any(c is None for c in counted):
            out.unmeasured[name] = why or "some requests carried no usage counts"
            continue
        client = float(sum(counted))
        out.figures.append(_figure(name, client, server, client - server,
                                   TOKENS_TOLERANCE * client, "tokens"))  # fmt: skip


def _histogram_mean(rows: Sequence[Row], role: MetricRole) -> tuple[float | None, str | None]:
    total, why = counter_delta(rows, f"{role}_sum")
    count, why_count = counter_delta(rows, f"{role}_count")
    if total is None or count is None:
        return None, why or why_count
    return (total / count * 1000.0, None) if count > 0 else (None, "no request in the window")


def _histograms(rows: Sequence[Row], records: Sequence[RequestRecord],
                out: _Found) -> None:  # fmt: skip
    for name, role, fn in (("ttft_mean_ms", MetricRole.TTFT_HISTOGRAM, ttft_ms),
                           ("e2e_mean_ms", MetricRole.E2E_HISTOGRAM, e2e_ms)):  # fmt: skip
        server, why = _histogram_mean(rows, role)
        client_values = [v for r in records if r.ok and (v := fn(r)) is not None]
        if server is None or not client_values:
            out.unmeasured[name] = why or "no successful request"
            continue
        client = statistics.fmean(client_values)
        tol = MEAN_TOLERANCE * client + MEAN_TOLERANCE_MS
        out.figures.append(_figure(name, client, server, client - server, tol, "ms"))


def _timings(records: Sequence[RequestRecord], out: _Found, waiting: float | None) -> None:
    """llama.cpp's per-request timings: prompt_ms ends at the first token the server makes.
    Its clock starts when a slot takes the request, so with requests queued for a slot
    (`waiting` > 0) client − server is the queue, not a disagreement: not compared then."""
    if waiting:
        why = (f"the engine queued requests for a slot (up to {waiting:g} waiting); its "
               "per-request timings start at the slot, the client's at the send")  # fmt: skip
        out.unmeasured["ttft_minus_prompt_ms_p50"] = why
        out.unmeasured["e2e_minus_server_ms_p50"] = why
        return
    ttft: list[tuple[float, float]] = []
    e2e: list[tuple[float, float]] = []
    for r in records:
        t = r.server_timings or {}
        client_ttft, client_e2e = ttft_ms(r), e2e_ms(r)
        if not r.ok or "prompt_ms" not in t or client_ttft is None or client_e2e is None:
            continue
        ttft.append((client_ttft, t["prompt_ms"]))
        if "predicted_ms" in t:
            e2e.append((client_e2e, t["prompt_ms"] + t["predicted_ms"]))
    for name, pairs, tol in (
        ("ttft_minus_prompt_ms_p50", ttft, TTFT_PROMPT_TOLERANCE_MS),
        ("e2e_minus_server_ms_p50", e2e, E2E_SERVER_TOLERANCE_MS),
    ):
        if not pairs:
            out.unmeasured[name] = "the engine returned no per-request timings"
            continue
        diff = statistics.median(c - s for c, s in pairs)
        out.figures.append(_figure(name, statistics.median(c for c, _ in pairs),
                                   statistics.median(s for _, s in pairs), diff, tol, "ms",
                                   len(pairs)))  # fmt: skip


def reconcile(rows: Sequence[Row], records: Sequence[RequestRecord],
              prompt_excludes_cached: bool, waiting_max: float | None = None,
              first_rules: bool = False) -> Reconciliation | None:  # fmt: skip
    """None when there is neither a server series nor server timings. The counter and histogram
    deltas run from the start scrape (after warmup) to the end scrape (after the last request,
    --cooldown ones included), so they meet every engine request but warmup; canaries go to
    the reference server. Per-request timings pair measured records only, and are not compared
    while the engine queued (`waiting_max`: the most requests its scrapes saw waiting).
    `first_rules`: an envelope sealed before these two rules, recomputed as it was sealed
    (measured requests against the counters, timings compared whatever the queue)."""
    measured = [r for r in records if r.measured]
    scraped = any(r.source == "prometheus" for r in rows)
    if not scraped and not any(r.server_timings for r in measured):
        return None
    out = _Found()
    if scraped:
        in_window = measured if first_rules else [r for r in records if not (r.warmup or r.canary)]
        _tokens(rows, in_window, prompt_excludes_cached, out)
        _histograms(rows, in_window, out)
    _timings(measured, out, None if first_rules else waiting_max)
    return Reconciliation(figures=out.figures, unmeasured=out.unmeasured)


@dataclass(frozen=True, slots=True)
class SidecarFigures:
    """What an envelope states from its telemetry sidecar; `bench verify` recomputes it."""

    server: ServerMetricsSummary | None
    telemetry: TelemetrySummary | None
    reconciliation: Reconciliation | None

    def warnings(self) -> list[str]:
        energy = energy_warning(self.telemetry)
        return [*(self.reconciliation.warnings() if self.reconciliation else []),
                *([energy] if energy else [])]  # fmt: skip


def sidecar_figures(
    rows: Sequence[Row], records: Sequence[RequestRecord], engine: str, energy_j: float | None,
    *, window_ns: tuple[int, int] | None = None, not_scraped: str | None = None,
    first_rules: bool = False,
) -> SidecarFigures:  # fmt: skip
    """The summaries and the reconciliation of one point (`engine`: its recorded name).
    `window_ns`: the energy counter's fixed window (--cooldown); `not_scraped`: why the engine
    was not scraped (None: it was, or an envelope from before that was recorded);
    `first_rules`: see `reconcile`."""
    excludes = profile_or_generic(engine).prompt_tokens_exclude_cached
    server = server_summary(rows)
    if server is None and not_scraped is not None:
        server = unscraped_summary(not_scraped)
    waiting = server.requests_waiting_max if server is not None else None
    return SidecarFigures(server, telemetry_summary(rows, energy_j, window_ns),
                          reconcile(rows, records, excludes, waiting, first_rules))  # fmt: skip
