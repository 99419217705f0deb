"""The reference server's scenarios: drawn delays, reasoning chunks, a malformed distribution."""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
from collections.abc import Callable

import pytest

from tests.conftest import ScriptedServer
from tokenbench.errors import ConfigError
from tokenbench.reference.server import parse_scenario, scenario_distributions


def test_numbers_and_distributions_are_parsed_apart() -> None:
    model = "ttft_ms=lognormal(50,10,min=5);itl_ms=3;tokens=4;reasoning=2"
    assert parse_scenario(model) == {"ttft_ms": 20.0, "itl_ms": 3.0, "tokens": 4.0,
                                     "reasoning": 2.0}  # fmt: skip
    drawn = scenario_distributions(model)
    assert list(drawn) == ["ttft_ms"]
    assert drawn["ttft_ms"].text == "lognormal(50,10,min=5)"


def test_malformed_distribution_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="itl_ms"):
        scenario_distributions("itl_ms=lognormal(5)")


def _stream(server: ScriptedServer, model: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    conn.request("POST", "/v1/chat/completions", json.dumps(body))
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    return resp.status, text


def _events(text: str) -> list[dict[str, object]]:
    return [json.loads(line[6:]) for line in text.splitlines()
            if line.startswith("data: {")]  # fmt: skip


def test_reasoning_key_streams_reasoning_then_content(scripted_server: ScriptedServer) -> None:
    status, text = _stream(scripted_server, "tokens=5;reasoning=2;itl_ms=1;tokens_per_chunk=3")
    assert status == 200
    events = _events(text)
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]  # type: ignore[index]
    assert deltas[1] == {"reasoning_content": " think think", "content": " tok"}
    assert deltas[2] == {"content": " tok tok"}
    usage = events[-1]["usage"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 2}  # type: ignore[index]


def test_drawn_delays_vary_within_bounds(scripted_server: ScriptedServer) -> None:
    model = "ttft_ms=uniform(5,40);itl_ms=uniform(1,6);tokens=6"
    ids = [_events(_stream(scripted_server, model)[1])[0]["id"] for _ in range(4)]
    ttfts, gaps = [], []
    for rid in ids:
        entry = scripted_server.log_entry(str(rid))
        recv, chunks = entry["recv_ns"], entry["chunk_ns"]
        assert isinstance(recv, int)
        assert isinstance(chunks, list)
        ttfts.append((chunks[0] - recv) / 1e6)
        gaps += [(b - a) / 1e6 for a, b in itertools.pairwise(chunks)]
    assert all(5 <= t < 60 for t in ttfts)
    assert len({round(t) for t in ttfts}) > 1
    # chunks never leave early: over a stream they are at least the smallest gap apart on
    # average (a chunk written late is followed by a shorter gap as the server catches up)
    assert sum(gaps) >= 0.9 * len(gaps)
    assert max(gaps) - min(gaps) > 1


def test_bad_distribution_is_answered_400(scripted_server: ScriptedServer) -> None:
    status, text = _stream(scripted_server, "ttft_ms=normal(1)")
    assert status == 400
    assert "ttft_ms" in text


def test_chat_content_given_as_parts_is_read_as_text() -> None:
    from tokenbench.reference.server import _text

    assert _text("plain words") == "plain words"
    assert _text([{"type": "text", "text": "two"}, {"type": "image_url"}, "x"]) == "two "
    assert _text(None) == ""


def test_metrics_text_parses_into_the_llamacpp_profiles_roles() -> None:
    from tokenbench.engines.profile import MetricRole
    from tokenbench.engines.profiles import profile
    from tokenbench.reference.metrics import Live, metrics_text
    from tokenbench.telemetry.prometheus import parse_metrics

    live = Live(processing=3, deferred=2, prompt_tokens=40, predicted_tokens=77)
    values = parse_metrics(metrics_text(live), profile("llama.cpp").metrics).values
    assert values == {
        MetricRole.REQUESTS_RUNNING.value: 3, MetricRole.REQUESTS_WAITING.value: 2,
        MetricRole.PROMPT_TOKENS_TOTAL.value: 40, MetricRole.PREFIX_CACHE_HITS.value: 0,
        MetricRole.GENERATION_TOKENS_TOTAL.value: 77,
    }  # fmt: skip


def _get(server: ScriptedServer, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    return resp.status, text


def test_metrics_endpoint_counts_live_streams_as_llama_server(
    scripted_server_factory: Callable[..., ScriptedServer],
) -> None:
    llama = scripted_server_factory("--engine", "llama.cpp", "--template-overhead", "3")
    status, before = _get(llama, "/metrics")
    assert status == 200
    assert "llamacpp:tokens_predicted_total 0\n" in before
    assert "# TYPE llamacpp:requests_processing gauge" in before
    assert _stream(llama, "tokens=5;itl_ms=1")[0] == 200
    _status, after = _get(llama, "/metrics")
    assert "llamacpp:tokens_predicted_total 5\n" in after
    assert "llamacpp:prompt_tokens_total 4\n" in after  # "hi" + 3 template tokens
    assert "llamacpp:requests_processing 0\n" in after
    # the scraper's own HTTP/1.0 GET reads to the end: the server closes after answering
    from tokenbench.engines.profiles import profile
    from tokenbench.telemetry.prometheus import PrometheusSampler

    reading = asyncio.run(PrometheusSampler("127.0.0.1", llama.port, profile("llama.cpp")).read())
    assert reading.error is None
    assert reading.values["generation_tokens_total"] == 5
    # vLLM's only when asked for (--metrics live); by default its /metrics is 404 as before
    assert _get(scripted_server_factory("--engine", "vllm"), "/metrics")[0] == 404


def test_vllm_metrics_are_vllm_shaped_and_live(
    scripted_server_factory: Callable[..., ScriptedServer],
) -> None:
    from tokenbench.engines.profiles import profile
    from tokenbench.telemetry.prometheus import PrometheusSampler

    vllm = scripted_server_factory("--engine", "vllm", "--metrics", "live")
    status, text = _get(vllm, "/metrics")
    assert status == 200
    assert 40_000 < len(text) < 50_000  # the size of a real vLLM scrape
    assert text.count(" histogram\n") == 14
    assert text.count("_bucket{") == 14 * 26
    assert _stream(vllm, "tokens=5;itl_ms=1;ttft_ms=30")[0] == 200
    sampler = PrometheusSampler("127.0.0.1", vllm.port, profile("vllm"))
    reading = asyncio.run(sampler.read())
    assert reading.error is None
    assert reading.values["generation_tokens_total"] == 5
    assert reading.values["ttft_histogram_count"] == 1
    assert reading.values["ttft_histogram_sum"] >= 0.03
    assert reading.values["e2e_histogram_count"] == 1
    assert "spec_accepted" not in reading.values  # no draft model: no speculative series
    assert dict(reading.buckets["ttft_histogram"])[0.04] == 1  # 30 ms: in the 0.04 s bucket


@pytest.mark.parametrize(
    ("mode", "error"),
    [("absent", "/metrics: HTTP 404"), ("malformed", "/metrics: could not convert"),
     ("huge", "/metrics: body larger than 4 MiB; not parsed")],
)  # fmt: skip
def test_a_broken_metrics_endpoint_on_purpose(
    scripted_server_factory: Callable[..., ScriptedServer], mode: str, error: str
) -> None:
    from tokenbench.engines.profiles import profile
    from tokenbench.telemetry.prometheus import PrometheusSampler

    server = scripted_server_factory("--engine", "vllm", "--metrics", mode)
    sampler = PrometheusSampler("127.0.0.1", server.port, profile("vllm"), timeout_s=5.0)
    reading = asyncio.run(sampler.read())
    assert reading.values == {}
    assert (reading.error or "").startswith(error)
