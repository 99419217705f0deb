"""The Prometheus sampler: each engine profile's series read from a fake /metrics text, and bad
endpoints (absent, refused, slow, huge, malformed) as failed readings, never errors."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest

from tokenbench.engines.profile import MetricRole
from tokenbench.engines.profiles import profile
from tokenbench.telemetry import prometheus
from tokenbench.telemetry.prometheus import (
    MAX_BODY_BYTES,
    PrometheusSampler,
    family_names,
    parse_metrics,
    parse_text,
    select_families,
)

LLAMACPP = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 32
# TYPE llamacpp:prompt_tokens_cached_total counter
llamacpp:prompt_tokens_cached_total 7
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 8
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 1
# TYPE llamacpp:n_busy_slots_per_decode gauge
llamacpp:n_busy_slots_per_decode 1
"""

VLLM = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_running{engine="1",model_name="m"} 1.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 2.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.5
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.25
# TYPE vllm:prompt_tokens counter
vllm:prompt_tokens_total{engine="0",model_name="m"} 1000.0
# TYPE vllm:generation_tokens counter
vllm:generation_tokens_total{engine="0",model_name="m"} 500.0
# TYPE vllm:num_preemptions counter
vllm:num_preemptions_total{engine="0",model_name="m"} 4.0
# TYPE vllm:prefix_cache_hits counter
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 300.0
# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1000.0
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} 2.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="m"} 5.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 6.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 6.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 1.2
"""

SGLANG = """\
# TYPE sglang:token_usage gauge
sglang:token_usage{model_name="m"} 0.4
# TYPE sglang:num_running_reqs gauge
sglang:num_running_reqs{model_name="m"} 8
# TYPE sglang:num_queue_reqs gauge
sglang:num_queue_reqs{model_name="m"} 3
# TYPE sglang:prompt_tokens counter
sglang:prompt_tokens_total{model_name="m"} 2000
# TYPE sglang:cached_tokens counter
sglang:cached_tokens_total{model_name="m"} 500
# TYPE sglang:e2e_request_latency_seconds histogram
sglang:e2e_request_latency_seconds_bucket{le="1.0",model_name="m"} 1
sglang:e2e_request_latency_seconds_bucket{le="+Inf",model_name="m"} 2
sglang:e2e_request_latency_seconds_sum{model_name="m"} 3.5
sglang:e2e_request_latency_seconds_count{model_name="m"} 2
# TYPE sglang:num_retracted_requests counter
sglang:num_retracted_requests_total{model_name="m",tp_rank="0"} 5
sglang:num_retracted_requests_total{model_name="m",tp_rank="1"} 2
# TYPE sglang:num_retracted_reqs gauge
sglang:num_retracted_reqs{model_name="m",tp_rank="0"} 1
# TYPE sglang:spec_accept_rate gauge
sglang:spec_accept_rate{model_name="m",tp_rank="0"} 0.6
sglang:spec_accept_rate{model_name="m",tp_rank="1"} 0.8
# TYPE sglang:spec_accept_length gauge
sglang:spec_accept_length{model_name="m",tp_rank="0"} 2.5
"""

TGI = """\
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 4
# TYPE tgi_queue_size gauge
tgi_queue_size 0
# TYPE tgi_request_input_length histogram
tgi_request_input_length_bucket{le="100"} 2
tgi_request_input_length_bucket{le="+Inf"} 3
tgi_request_input_length_sum 250
tgi_request_input_length_count 3
# TYPE tgi_request_generated_tokens histogram
tgi_request_generated_tokens_bucket{le="+Inf"} 3
tgi_request_generated_tokens_sum 90
tgi_request_generated_tokens_count 3
"""


@pytest.mark.parametrize(
    ("engine", "text", "expected"),
    [
        ("llama.cpp", LLAMACPP, {"requests_running": 2, "requests_waiting": 1,
                                 "prompt_tokens_total": 32, "generation_tokens_total": 8,
                                 "prefix_cache_hits": 7}),
        ("vllm", VLLM, {"requests_running": 4, "requests_waiting": 2, "kv_cache_usage": 0.375,
                        "prompt_tokens_total": 1000, "generation_tokens_total": 500,
                        "preemptions_total": 4, "prefix_cache_hits": 300,
                        "prefix_cache_queries": 1000, "ttft_histogram_sum": 1.2,
                        "ttft_histogram_count": 6}),
        ("sglang", SGLANG, {"kv_cache_usage": 0.4, "requests_running": 8, "requests_waiting": 3,
                            "prompt_tokens_total": 2000, "prefix_cache_hits": 500,
                            "prefix_cache_queries": 2000, "e2e_histogram_sum": 3.5,
                            "e2e_histogram_count": 2, "preemptions_total": 7,
                            "spec_accept_rate": 0.7}),
        ("tgi", TGI, {"requests_running": 4, "requests_waiting": 0, "prompt_tokens_total": 250,
                      "generation_tokens_total": 90}),
    ],
)  # fmt: skip
def test_each_profile_reads_its_engines_series(
    engine: str, text: str, expected: dict[str, float]
) -> None:
    reading = parse_metrics(text, profile(engine).metrics)
    assert reading.error is None
    assert reading.values == pytest.approx(expected)


def test_histogram_buckets_are_cumulative_and_summed_over_label_sets() -> None:
    reading = parse_metrics(VLLM, profile("vllm").metrics)
    assert reading.buckets[MetricRole.TTFT_HISTOGRAM] == [(0.1, 2.0), (0.5, 5.0),
                                                          (float("inf"), 6.0)]  # fmt: skip


def _unnamed_families(n: int) -> str:
    """`n` histograms no profile names, and families whose names start like the profile's."""
    out = []
    for i in range(n):
        name = f"vllm:other_{i}_seconds"
        out.append(f"# HELP {name} Not read.\n# TYPE {name} histogram\n")
        out += [f'{name}_bucket{{le="{le}",model_name="m"}} {i}\n' for le in (0.1, 1, "+Inf")]
        out.append(f'{name}_count{{model_name="m"}} {i}\n{name}_sum{{model_name="m"}} 1.5\n')
    out.append("# TYPE vllm:prompt_tokens_cached counter\nvllm:prompt_tokens_cached_total 9\n")
    out.append("# TYPE vllm:num_requests_running_max gauge\nvllm:num_requests_running_max 99\n")
    out.append("vllm:other_0_seconds_bucket{le=oops} x y\n")  # bad, but never parsed
    return "".join(out)


def test_only_the_profiles_families_are_parsed() -> None:
    names = profile("vllm").metrics
    big = _unnamed_families(1000) + VLLM + _unnamed_families(3)
    kept = select_families(big, family_names(names))
    assert kept == VLLM  # every line of the profile's families, nothing else
    assert len(big) > 100 * len(VLLM)
    assert "other_" not in kept
    assert "_cached" not in kept
    assert "_max" not in kept
    reading = parse_metrics(big, names)
    assert reading == parse_text(VLLM, names)
    assert reading.values["requests_running"] == 4


def test_a_counters_family_is_kept_whole() -> None:
    # the TYPE line names `vllm:prompt_tokens`; the profile names the sample `..._total`
    names = {MetricRole.PROMPT_TOKENS_TOTAL: ("vllm:prompt_tokens_total",)}
    assert family_names(names) == {"vllm:prompt_tokens_total", "vllm:prompt_tokens"}
    text = (
        "# HELP vllm:prompt_tokens P.\n# TYPE vllm:prompt_tokens counter\n"
        'vllm:prompt_tokens_total{engine="0"} 5\nvllm:prompt_tokens_created 1.7e9\n'
    )
    assert select_families(text, family_names(names)).splitlines() == text.splitlines()[:3]


def test_malformed_text_raises_value_error() -> None:
    with pytest.raises(ValueError, match="could not convert"):
        parse_metrics("llamacpp:requests_processing one two three\n", profile("llama.cpp").metrics)


def run_async(fn: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    @functools.wraps(fn)
    def test() -> None:
        asyncio.run(fn())

    return test


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()


def _answer(status: str, body: bytes) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        with contextlib.suppress(ConnectionError):  # the scraper stops reading a huge body
            await writer.drain()
        writer.close()

    return handle


async def _read_from(handler: Handler, timeout_s: float = 0.5) -> tuple[dict[str, float], str]:
    async with _server(handler) as port:
        sampler = PrometheusSampler("127.0.0.1", port, profile("llama.cpp"), 1.0,
                                    timeout_s=timeout_s)  # fmt: skip
        reading = await sampler.read()
    return reading.values, reading.error or ""


@run_async
async def test_a_good_endpoint_is_read_on_its_own_connection() -> None:
    values, error = await _read_from(_answer("200 OK", LLAMACPP.encode()))
    assert not error
    assert values["requests_running"] == 2


def test_the_parse_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = prometheus.parse_metrics

    def spy(text: str, names: Any) -> Any:
        threads.append(threading.get_ident())
        return real(text, names)

    monkeypatch.setattr(prometheus, "parse_metrics", spy)
    values, error = asyncio.run(_read_from(_answer("200 OK", LLAMACPP.encode())))
    assert not error
    assert values["requests_running"] == 2
    assert threads
    assert threading.get_ident() not in threads  # not the loop's (this) thread


@run_async
async def test_absent_endpoint_404_is_a_failed_reading() -> None:
    values, error = await _read_from(_answer("404 Not Found", b"not found"))
    assert values == {}
    assert error == "/metrics: HTTP 404"


@run_async
async def test_refused_connection_is_a_failed_reading() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        reading = await PrometheusSampler("127.0.0.1", port, profile("llama.cpp")).read()
    assert reading.error is not None
    assert reading.error.startswith("cannot connect")


@run_async
async def test_slow_endpoint_times_out_well_under_the_interval() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.sleep(5)
        finally:
            writer.close()

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    _values, error = await _read_from(stall, timeout_s=0.2)
    assert error == "no answer within 0.2 s"
    assert loop.time() - t0 < 1.0
    assert PrometheusSampler("h", 1, profile("llama.cpp"), 1.0).timeout_s == 0.5


@run_async
async def test_huge_body_is_not_parsed_and_says_so() -> None:
    line = b"llamacpp:requests_processing 1\n"
    body = line * (MAX_BODY_BYTES // len(line) + 10)
    values, error = await _read_from(_answer("200 OK", body), timeout_s=5.0)
    assert values == {}
    assert error == "/metrics: body larger than 4 MiB; not parsed"


@run_async
async def test_malformed_body_is_a_failed_reading() -> None:
    values, error = await _read_from(_answer("200 OK", b"llamacpp:requests_processing x y z\n"))
    assert values == {}
    assert error.startswith("/metrics: ")


@run_async
async def test_an_endpoint_without_the_engines_series_says_so() -> None:
    _values, error = await _read_from(_answer("200 OK", b"# TYPE other gauge\nother 1\n"))
    assert error == "/metrics exports none of the engine's known series"
