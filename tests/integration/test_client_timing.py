"""The streaming client against the scripted SSE server: timing within tolerance of the server's
own write times, and every failure recorded with the right kind."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import pytest

from tests.conftest import ScriptedServer
from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, GenerationParams, measure, request_body
from tokenbench.metrics import itl_ms, ttft_ms
from tokenbench.records import ErrorKind, RequestRecord
from tokenbench.urls import Endpoint

# Loopback on a shared 2-core machine: the client's arrival stamp may trail the server's write
# by scheduler noise. The benchmark reports the real figures; this bound only catches breakage.
TOLERANCE_MS = 5.0


def _record(i: int = 0) -> RequestRecord:
    return RequestRecord(index=i, worker=0, slot=i, warmup=False, prompt_id="p", scheduled_ns=0)


async def _one(
    base_url: str,
    scenario: str,
    api: Api = Api.CHAT,
    slot: int = 0,
    timeout_s: float = 10.0,
    key: str | None = None,
) -> RequestRecord:
    client = HttpClient(Endpoint.parse(base_url), api_key=key)
    try:
        body = request_body(GenerationParams(api, scenario), "one two three four", 64)
        record = _record(slot)
        await measure(client, api, body, record, 0, slot, Timeouts(timeout_s))
        return record
    finally:
        await client.aclose()


def _truth(server: ScriptedServer, response_id: str | None) -> dict[str, object]:
    return server.log_entry(response_id)


@pytest.mark.parametrize("api", [Api.CHAT, Api.COMPLETIONS])
def test_ttft_and_itl_match_server_truth(scripted_server: ScriptedServer, api: Api) -> None:
    r = asyncio.run(_one(scripted_server.base_url, "ttft_ms=50;itl_ms=10;tokens=20", api))
    assert r.ok, r.error
    assert r.output_tokens == 20
    assert r.tokens_from_usage
    assert len(r.chunk_ns) == 20
    truth = _truth(scripted_server, r.response_id)
    server_chunks = truth["chunk_ns"]
    assert isinstance(server_chunks, list)
    # Client arrival stamps trail the server's write stamps by loopback + scheduling only.
    lags_ms = [(c - s) / 1e6 for c, s in zip(r.chunk_ns, server_chunks, strict=True)]
    assert all(0 <= lag < TOLERANCE_MS for lag in lags_ms), lags_ms
    measured_ttft = ttft_ms(r)
    assert measured_ttft is not None
    assert r.send_ns is not None
    true_ttft = (server_chunks[0] - r.send_ns) / 1e6  # anchor 0: record times are absolute
    assert true_ttft >= 49.0  # the server honoured its script (timer slack aside)
    assert 0.0 <= measured_ttft - true_ttft < TOLERANCE_MS
    true_itl = [(b - a) / 1e6 for a, b in itertools.pairwise(server_chunks)]
    for measured, true in zip(itl_ms(r), true_itl, strict=True):
        assert abs(measured - true) < TOLERANCE_MS


def test_http_500_is_recorded_with_message(scripted_server: ScriptedServer) -> None:
    r = asyncio.run(_one(scripted_server.base_url, "status=500"))
    assert r.error_kind is ErrorKind.HTTP
    assert r.http_status == 500
    assert r.error == "HTTP 500: scripted failure 500"
    assert r.end_ns is not None
    assert r.send_ns is not None


def test_connection_dropped_mid_stream(scripted_server: ScriptedServer) -> None:
    r = asyncio.run(_one(scripted_server.base_url, "tokens=10;drop_after=3;itl_ms=2"))
    assert r.error_kind is ErrorKind.DISCONNECT
    assert len(r.chunk_ns) == 3
    assert "mid-stream" in (r.error or "")


def test_in_band_error_after_200(scripted_server: ScriptedServer) -> None:
    r = asyncio.run(_one(scripted_server.base_url, "tokens=10;error_after=2;itl_ms=2"))
    assert r.http_status == 200
    assert r.error_kind is ErrorKind.STREAM_ERROR
    assert "scripted in-band error" in (r.error or "")


def test_stalled_stream_times_out(scripted_server: ScriptedServer) -> None:
    t0 = time.monotonic()
    r = asyncio.run(
        _one(scripted_server.base_url, "tokens=10;stall_after=2;itl_ms=2", timeout_s=0.5)
    )
    assert r.error_kind is ErrorKind.TIMEOUT
    assert time.monotonic() - t0 < 5
    assert len(r.chunk_ns) == 2  # what arrived before the stall is kept
    assert r.first_token_ns is not None
    assert r.send_ns is not None


def test_no_usage_counts_chunks_as_approximate(scripted_server: ScriptedServer) -> None:
    r = asyncio.run(_one(scripted_server.base_url, "tokens=6;usage=0;itl_ms=1"))
    assert r.ok
    assert (r.output_tokens, r.tokens_from_usage) == (6, False)


def test_multi_token_chunks_use_usage_total(scripted_server: ScriptedServer) -> None:
    r = asyncio.run(_one(scripted_server.base_url, "tokens=12;tokens_per_chunk=3;itl_ms=4"))
    assert r.ok
    assert len(r.chunk_ns) == 4
    assert r.output_tokens == 12
    gaps = itl_ms(r)
    assert len(gaps) == 3
    assert all(g < 4.0 for g in gaps)  # each ~4 ms gap spread over ~3.7 tokens


def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        r = asyncio.run(_one(f"http://127.0.0.1:{port}/v1", "x"))
    assert r.error_kind is ErrorKind.CONNECT
    assert r.send_ns is None
    assert f"127.0.0.1:{port}" in (r.error or "")


def test_keep_alive_reuses_the_slot_connection(scripted_server: ScriptedServer) -> None:
    async def two() -> list[RequestRecord]:
        client = HttpClient(Endpoint.parse(scripted_server.base_url))
        out = []
        try:
            for i in range(2):
                rec = _record(i)
                body = request_body(GenerationParams(Api.CHAT, "tokens=3;itl_ms=1"), "a b", 3)
                await measure(client, Api.CHAT, body, rec, 0, 0, Timeouts(5.0))
                out.append(rec)
            assert len(client._conns) == 1
        finally:
            await client.aclose()
        return out

    records = asyncio.run(two())
    assert all(r.ok for r in records)
