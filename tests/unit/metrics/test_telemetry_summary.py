"""Server-metrics and telemetry summaries, and the reconciliation, from hand-made sidecar rows;
every expected value is computed here."""

from __future__ import annotations

import pytest

from tokenbench.metrics.reconcile import reconcile, sidecar_figures
from tokenbench.metrics.telemetry import (
    energy_warning,
    server_summary,
    telemetry_summary,
    unscraped_summary,
)
from tokenbench.records import RequestRecord
from tokenbench.telemetry.sampler import Row, iter_rows

S = 1_000_000_000


def prom(t_s: float, mark: str | None = None, error: str | None = None, **values: float) -> Row:
    values = {} if error else values
    return Row("prometheus", int(t_s * S), values, {}, error, mark)  # type: ignore[arg-type]


def record(
    i: int, ttft_ms: float, e2e_ms: float, inp: int, out: int,
    timings: dict[str, float] | None = None, warmup: bool = False, cooldown: bool = False,
    canary: bool = False,
) -> RequestRecord:  # fmt: skip
    send = i * S
    return RequestRecord(index=i, worker=0, slot=0, warmup=warmup, prompt_id="p",
                         scheduled_ns=send, send_ns=send, first_token_ns=send + int(ttft_ms * 1e6),
                         end_ns=send + int(e2e_ms * 1e6), input_tokens=inp, output_tokens=out,
                         tokens_from_usage=True, server_timings=timings, cooldown=cooldown,
                         canary=canary)  # fmt: skip


VLLM_ROWS = [
    prom(0, "start", requests_running=0, requests_waiting=0, kv_cache_usage=0.1,
         prompt_tokens_total=1000, generation_tokens_total=100, preemptions_total=2,
         prefix_cache_hits=50, prefix_cache_queries=1000, spec_accepted=10, spec_drafted=20,
         ttft_histogram_sum=1.0, ttft_histogram_count=10),
    prom(1, requests_running=4, requests_waiting=2, kv_cache_usage=0.6),
    prom(2, error="no answer within 0.5 s"),
    prom(3, requests_running=4, requests_waiting=6, kv_cache_usage=0.9),
    prom(4, "end", requests_running=0, requests_waiting=0, kv_cache_usage=0.2,
         prompt_tokens_total=1300, generation_tokens_total=160, preemptions_total=5,
         prefix_cache_hits=230, prefix_cache_queries=1300, spec_accepted=40, spec_drafted=80,
         ttft_histogram_sum=1.5, ttft_histogram_count=13),
]  # fmt: skip


def test_server_summary_gauges_counters_and_ratios() -> None:
    s = server_summary(VLLM_ROWS)
    assert s is not None
    assert (s.scrapes, s.failures, s.series, s.reason) == (
        5,
        1,
        "partial",
        "no answer within 0.5 s",
    )
    # medians over the four answered scrapes: running 0, 4, 4, 0; waiting 0, 2, 6, 0
    assert s.requests_running_p50 == 2
    assert s.requests_running_max == 4
    assert s.requests_waiting_p50 == 1
    assert s.requests_waiting_max == 6
    assert s.kv_cache_usage_p50 == pytest.approx((0.2 + 0.6) / 2)  # of 0.1, 0.6, 0.9, 0.2
    assert s.kv_cache_usage_max == 0.9
    assert (s.prompt_tokens, s.generation_tokens, s.preemptions) == (300, 60, 3)
    assert s.prefix_cache_hit_rate == pytest.approx(180 / 300)
    assert s.spec_acceptance_rate == pytest.approx(30 / 60)
    assert s.unmeasured == {}


def test_llama_cpp_cache_hits_without_queries_say_why_there_is_no_rate() -> None:
    rows = [prom(0, "start", prefix_cache_hits=5, requests_running=0),
            prom(1, "end", prefix_cache_hits=25, requests_running=1)]  # fmt: skip
    s = server_summary(rows)
    assert s is not None
    assert s.prefix_cache_hit_tokens == 20
    assert s.prefix_cache_hit_rate is None
    assert "but not the tokens looked up" in s.unmeasured["prefix_cache_hit_rate"]
    assert s.unmeasured["preemptions"] == "the engine does not export it"
    assert s.unmeasured["kv_cache_usage_p50"] == "not exported"


def test_a_missing_series_says_why() -> None:
    rows = [prom(0, "start", error="cannot connect: Connection refused"),
            prom(1, "end", error="cannot connect: Connection refused")]  # fmt: skip
    s = server_summary(rows)
    assert s is not None
    assert s.series == "missing"
    assert s.reason.startswith("cannot connect")
    assert s.unmeasured["prompt_tokens"] == "the scrape at the measured phase's start or end failed"
    assert server_summary([]) is None


def test_sglang_acceptance_comes_from_its_gauge_and_retractions_are_preemptions() -> None:
    # no accepted/drafted counters: the gauge's readings above 0 (0 before the first batch with
    # drafts is logged), and the retraction counter as preemptions
    rows = [prom(0, "start", preemptions_total=3, spec_accept_rate=0.0),
            prom(1, spec_accept_rate=0.6),
            prom(2, error="no answer within 0.5 s"),
            prom(3, spec_accept_rate=0.8),
            prom(4, "end", preemptions_total=7, spec_accept_rate=0.7)]  # fmt: skip
    s = server_summary(rows)
    assert s is not None
    assert s.spec_acceptance_rate == pytest.approx((0.6 + 0.8 + 0.7) / 3)
    assert s.preemptions == 4
    assert "spec_acceptance_rate" not in s.unmeasured
    off = server_summary([prom(0, "start", spec_accept_rate=0.0),
                          prom(1, "end", spec_accept_rate=0.0)])  # fmt: skip
    assert off is not None
    assert off.spec_acceptance_rate is None
    assert off.unmeasured["spec_acceptance_rate"] == (
        "the acceptance gauge stayed 0 (no speculative decoding, or nothing drafted)"
    )
    # counters, where the engine has them, win over a gauge
    both = [prom(0, "start", spec_accepted=10, spec_drafted=20, spec_accept_rate=0.9),
            prom(1, "end", spec_accepted=20, spec_drafted=60, spec_accept_rate=0.9)]  # fmt: skip
    assert (server_summary(both) or s).spec_acceptance_rate == pytest.approx(10 / 40)


def test_rows_round_trip_through_the_sidecar_format() -> None:
    data = b"".join(r.to_json() + b"\n" for r in VLLM_ROWS) + b'{"source": "pro'
    assert list(iter_rows(data)) == VLLM_ROWS


def _gpu(t_s: float, w: float, mark: str | None = None, **v: float) -> Row:
    return Row("nvml", int(t_s * S), {"power_w": w, **v}, {}, None, mark)  # type: ignore[arg-type]


def test_telemetry_summary_power_integral_and_process_cores() -> None:
    rows = [
        _gpu(0, 100, "start", sm_util_pct=50, throttle_reasons=0x4, temperature_c=60),
        _gpu(1, 200, sm_util_pct=100, temperature_c=70),
        _gpu(3, 200, "end", sm_util_pct=90, throttle_reasons=0x40, temperature_c=65),
        Row("process", 0, {"cpu_s": 10.0, "rss_bytes": 1e8}, mark="start"),
        Row("process", 1 * S, {"cpu_s": 11.5, "rss_bytes": 3e8}),
        Row("process", 2 * S, error="the engine process is gone or not readable"),
        Row("process", 4 * S, {"cpu_s": 13.0, "rss_bytes": 2e8}, mark="end"),
    ]
    joules = (100 + 200) / 2 * 1 + 200 * 2  # trapezoids: 550 J over 3 s
    t = telemetry_summary(rows, energy_j=560.0)
    assert t is not None
    assert t.samples == {"nvml": 3, "process": 4}
    assert t.failures == {"process": 1}
    assert t.power_integral_j == pytest.approx(joules)
    assert t.power_mean_w == pytest.approx(joules / 3)
    assert t.power_max_w == 200
    assert t.sm_util_mean_pct == pytest.approx(80)
    assert t.temperature_max_c == 70
    assert t.throttle_reasons == ["sw_power_cap", "hw_thermal_slowdown"]
    assert t.engine_cpu_cores_mean == pytest.approx(3.0 / 4)
    assert t.engine_cpu_cores_max == pytest.approx(1.5)  # 1.5 s of CPU in the first second
    assert t.engine_rss_max_bytes == 3e8
    assert energy_warning(t) is None  # 550 vs 560 J: -1.8 %, within 10 %
    off = telemetry_summary(rows, energy_j=400.0)
    assert "energy cross-check" in (energy_warning(off) or "")


def test_reconciliation_tokens_histograms_and_timings() -> None:
    records = [
        record(0, 50, 500, 999, 999, warmup=True),  # not measured: left out
        record(1, 100, 400, 100, 20, {"prompt_ms": 90, "predicted_ms": 295, "cache_n": 0}),
        record(2, 200, 600, 200, 40, {"prompt_ms": 180, "predicted_ms": 400, "cache_n": 0}),
    ]
    rows = [prom(0, "start", prompt_tokens_total=0, generation_tokens_total=0,
                 ttft_histogram_sum=0, ttft_histogram_count=0),
            prom(1, "end", prompt_tokens_total=300, generation_tokens_total=66,
                 ttft_histogram_sum=0.3, ttft_histogram_count=2)]  # fmt: skip
    rec = reconcile(rows, records, prompt_excludes_cached=False)
    assert rec is not None
    got = {f.figure: f for f in rec.figures}
    assert got["prompt_tokens"].difference == 0
    assert got["prompt_tokens"].within
    gen = got["generation_tokens"]
    assert (gen.client, gen.server, gen.difference) == (60, 66, -6)
    assert not gen.within
    assert gen.tolerance == pytest.approx(0.6)
    assert got["ttft_mean_ms"].server == pytest.approx(150)
    assert got["ttft_mean_ms"].difference == pytest.approx(0, abs=1e-6)
    assert got["ttft_minus_prompt_ms_p50"].difference == pytest.approx((10 + 20) / 2)
    assert got["e2e_minus_server_ms_p50"].difference == pytest.approx((15 + 20) / 2)
    assert rec.unmeasured == {"e2e_mean_ms": "the engine does not export it"}
    assert rec.warnings() == [
        "reconciliation: generation_tokens differs: client 60 vs server 66 tokens "
        "(difference -6, tolerance ±0.6)"
    ]


def test_llama_cpp_prompt_counter_adds_the_cached_tokens() -> None:
    records = [record(1, 100, 400, 100, 20)]
    rows = [prom(0, "start", prompt_tokens_total=0, prefix_cache_hits=0),
            prom(1, "end", prompt_tokens_total=60, prefix_cache_hits=40)]  # fmt: skip
    figures = sidecar_figures(rows, records, "llama.cpp", None)
    assert figures.reconciliation is not None
    prompt = figures.reconciliation.figures[0]
    assert (prompt.figure, prompt.server, prompt.within) == ("prompt_tokens", 100, True)
    assert figures.warnings() == []


def _counters(prompt: float, generation: float, ttft_sum_s: float, count: float) -> list[Row]:
    return [prom(0, "start", prompt_tokens_total=0, generation_tokens_total=0,
                 ttft_histogram_sum=0, ttft_histogram_count=0),
            prom(9, "end", prompt_tokens_total=prompt, generation_tokens_total=generation,
                 ttft_histogram_sum=ttft_sum_s, ttft_histogram_count=count)]  # fmt: skip


def test_cooldown_requests_count_against_the_counters_they_ran_under() -> None:
    """The end scrape follows the --cooldown requests, so the counters include them: the
    client's side does too. Warmup ended before the start scrape; a canary went elsewhere."""
    records = [
        record(0, 50, 500, 999, 999, warmup=True),
        record(1, 100, 400, 100, 20),
        record(2, 200, 600, 200, 40),
        record(3, 300, 700, 50, 10, cooldown=True),
        record(4, 20, 300, 7, 64, canary=True),
    ]
    rec = reconcile(_counters(350, 70, 0.6, 3), records, prompt_excludes_cached=False)
    assert rec is not None
    got = {f.figure: f for f in rec.figures}
    assert (got["prompt_tokens"].client, got["generation_tokens"].client) == (350, 70)
    assert got["ttft_mean_ms"].client == pytest.approx(200)  # (100 + 200 + 300) / 3
    assert rec.warnings() == []
    # the server really counted more than the client received: still a warning
    off = reconcile(_counters(350, 80, 0.6, 3), records, prompt_excludes_cached=False)
    assert off is not None
    assert off.warnings() == [
        "reconciliation: generation_tokens differs: client 70 vs server 80 tokens "
        "(difference -10, tolerance ±0.7)"
    ]


def test_per_request_timings_pair_measured_requests_only() -> None:
    records = [record(1, 100, 400, 100, 20, {"prompt_ms": 90, "predicted_ms": 300}),
               record(2, 900, 990, 100, 20, {"prompt_ms": 100, "predicted_ms": 80},
                      cooldown=True)]  # fmt: skip
    rec = reconcile([], records, prompt_excludes_cached=False)
    assert rec is not None
    ttft = next(f for f in rec.figures if f.figure == "ttft_minus_prompt_ms_p50")
    assert ttft.difference == pytest.approx(10)
    assert ttft.requests == 1


def test_per_request_timings_are_not_compared_while_the_engine_queued() -> None:
    """llama.cpp's prompt_ms starts when a slot takes the request: with more streams than slots
    the client's TTFT holds the queue too (measured: 3.5 s against a 50 ms tolerance)."""
    records = [record(1, 100, 4000, 100, 20, {"prompt_ms": 90, "predicted_ms": 300})]
    queued = [prom(0, "start", requests_waiting=0), prom(1, "end", requests_waiting=3)]
    rec = sidecar_figures(queued, records, "llama.cpp", None).reconciliation
    assert rec is not None
    assert not any(f.figure.endswith("_ms_p50") for f in rec.figures)
    assert rec.warnings() == []
    why = rec.unmeasured["ttft_minus_prompt_ms_p50"]
    assert why.startswith("the engine queued requests for a slot (up to 3 waiting)")
    assert rec.unmeasured["e2e_minus_server_ms_p50"] == why
    idle = [prom(0, "start", requests_waiting=0), prom(1, "end", requests_waiting=0)]
    compared = sidecar_figures(idle, records, "llama.cpp", None).reconciliation
    assert compared is not None
    assert "ttft_minus_prompt_ms_p50" in {f.figure for f in compared.figures}
    # an envelope sealed before this rule is recomputed as it was sealed: compared
    first = sidecar_figures(queued, records, "llama.cpp", None, first_rules=True).reconciliation
    assert first is not None
    assert "ttft_minus_prompt_ms_p50" in {f.figure for f in first.figures}


# --cooldown: the counter is read at 0 s and 2 s; the GPU series runs on to the end scrape at 4 s
_COOLDOWN_GPU = [_gpu(0, 100, "start"), _gpu(1, 200), _gpu(2.5, 200), _gpu(4, 400, "end")]
_WINDOW_NS = (0, 2 * S)


def test_power_is_integrated_over_the_energy_counters_window() -> None:
    # trapezoids 0-1 s (150 J) and 1-2 s, cut inside the 1-2.5 s reading gap (200 W): 350 J
    t = telemetry_summary(_COOLDOWN_GPU, energy_j=350.0, window_ns=_WINDOW_NS)
    assert t is not None
    assert t.power_integral_j == pytest.approx(350)
    assert t.power_mean_w == pytest.approx(175)
    assert t.power_max_w == 200  # the 400 W reading came after the counter stopped
    assert energy_warning(t) is None
    whole = telemetry_summary(_COOLDOWN_GPU, energy_j=350.0)  # without the window: 900 J
    assert whole is not None
    assert whole.power_integral_j == pytest.approx(150 + 300 + 450)
    assert "energy cross-check" in (energy_warning(whole) or "")


def test_a_cut_between_readings_is_interpolated_and_a_real_gap_still_warns() -> None:
    # 0.5-3 s: 0.5-1 s from 150 to 200 W (87.5 J), 1-2.5 s at 200 W (300 J), 2.5-3 s from 200
    # to 266.7 W (116.7 J)
    t = telemetry_summary(_COOLDOWN_GPU, energy_j=504.0, window_ns=(S // 2, 3 * S))
    assert t is not None
    assert t.power_integral_j == pytest.approx(87.5 + 300 + (200 + 800 / 3) / 2 * 0.5)
    assert energy_warning(t) is None
    low = telemetry_summary(_COOLDOWN_GPU, energy_j=250.0, window_ns=_WINDOW_NS)
    assert "energy cross-check" in (energy_warning(low) or "")


def test_an_unscraped_engine_states_the_series_missing_and_why() -> None:
    figures = sidecar_figures([], [], "unknown", None, not_scraped="--no-scrape")
    assert figures.server == unscraped_summary("--no-scrape")
    assert figures.server is not None
    assert (figures.server.series, figures.server.scrapes) == ("missing", 0)
    assert figures.server.reason == "not scraped: --no-scrape"
    # every null figure says why, like any other null figure
    assert figures.server.kv_cache_usage_max is None
    assert figures.server.unmeasured["kv_cache_usage_max"] == "not scraped: --no-scrape"
    assert figures.server.unmeasured["spec_acceptance_rate"] == "not scraped: --no-scrape"
    assert (figures.telemetry, figures.reconciliation) == (None, None)
    # a scraped series wins over the stated reason; without one, an older envelope's None
    assert sidecar_figures(VLLM_ROWS, [], "vllm", None, not_scraped="x").server == (
        server_summary(VLLM_ROWS)
    )
    assert sidecar_figures([], [], "unknown", None).server is None
