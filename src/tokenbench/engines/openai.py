"""OpenAI-compatible streaming client: builds `/chat/completions` and `/completions` requests and
turns a timed SSE response into a RequestRecord."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from tokenbench.engines.http import ConnectFailed, HttpClient, Response
from tokenbench.engines.sse import iter_events
from tokenbench.records import ErrorKind, RequestRecord

_MAX_ERROR_CHARS = 300


class Api(StrEnum):
    CHAT = "chat"
    COMPLETIONS = "completions"

    @property
    def path(self) -> str:
        return "/chat/completions" if self is Api.CHAT else "/completions"


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """What every request of a run asks for, besides its prompt and length."""

    api: Api
    model: str | None  # the `model` field sent; None lets the server pick
    temperature: float = 0.0
    ignore_eos: bool = False  # sent only to engines known to honour it
    seed: int | None = None
    disable_prefix_cache: bool = False  # llama.cpp `cache_prompt: false`


def request_body(params: GenerationParams, prompt: str, max_tokens: int) -> bytes:
    body: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": params.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if params.model is not None:
        body["model"] = params.model
    if params.api is Api.CHAT:
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    if params.ignore_eos:
        body["ignore_eos"] = True
    if params.seed is not None:
        body["seed"] = params.seed
    if params.disable_prefix_cache:
        body["cache_prompt"] = False
    return orjson.dumps(body)


def error_message(body: bytes) -> str:
    """The human part of an error body from any OpenAI-compatible server."""
    text = body.decode("utf-8", "replace").strip()
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            text = err["message"]
        elif isinstance(err, str):
            text = err
        elif isinstance(obj.get("message"), str):
            text = obj["message"]
        elif isinstance(obj.get("detail"), str):
            text = obj["detail"]
    text = " ".join(text.split())
    return text[:_MAX_ERROR_CHARS] + ("…" if len(text) > _MAX_ERROR_CHARS else "")


async def measure(
    client: HttpClient,
    api: Api,
    body: bytes,
    record: RequestRecord,
    anchor_ns: int,
    slot: int,
    timeout_s: float,
) -> None:
    """Send one streaming request and fill `record` (times relative to `anchor_ns`).

    Never raises for a failed request: the failure is written into the record. Re-raises
    cancellation after marking the record, so a stopped run still accounts for it.
    """
    path = client.endpoint.base_path + api.path

    def sent(send_ns: int) -> None:
        record.send_ns = send_ns - anchor_ns

    try:
        async with asyncio.timeout(timeout_s):
            response = await client.exchange("POST", path, body, slot, stream=True, on_send=sent)
    except ConnectFailed as exc:
        _fail(record, anchor_ns, ErrorKind.CONNECT, client.redact(str(exc)))
        return
    except TimeoutError:
        _fail(record, anchor_ns, ErrorKind.TIMEOUT, f"no complete response within {timeout_s:g} s")
        return
    except asyncio.CancelledError:
        _fail(record, anchor_ns, ErrorKind.CANCELLED, "the run stopped while in flight")
        raise
    parse_stream(response, api, record, anchor_ns)
    if record.error:
        record.error = client.redact(record.error)


def _fail(record: RequestRecord, anchor_ns: int, kind: ErrorKind, message: str) -> None:
    record.end_ns = time.perf_counter_ns() - anchor_ns
    record.error_kind = kind
    record.error = message


def parse_stream(response: Response, api: Api, record: RequestRecord, anchor_ns: int) -> None:
    """Fill a record from a finished streaming response."""
    if response.end_ns is not None:
        record.end_ns = response.end_ns - anchor_ns
    if response.status == 0:
        record.error_kind = ErrorKind.DISCONNECT
        record.error = "connection closed before a response"
        return
    record.http_status = response.status
    if response.status != 200:
        record.error_kind = ErrorKind.HTTP
        record.error = f"HTTP {response.status}: {error_message(response.body)}"
        return
    if "text/event-stream" not in response.headers.get("content-type", "text/event-stream"):
        record.error_kind = ErrorKind.INVALID_RESPONSE
        record.error = "expected an event stream; the server ignored stream=true"
        return

    saw_done = False
    saw_finish = False
    usage: dict[str, Any] | None = None
    cumulative: list[int | None] = []  # per output chunk: usage.completion_tokens if sent
    for t, _event, data in iter_events(response.pieces):
        if data == b"[DONE]":
            saw_done = True
            break
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            record.error_kind = ErrorKind.INVALID_RESPONSE
            record.error = f"unparseable event: {data[:80]!r}"
            return
        if not isinstance(obj, dict):
            continue
        if "error" in obj:
            record.error_kind = ErrorKind.STREAM_ERROR
            record.error = "error event in stream: " + error_message(data)
            return
        if record.response_id is None and isinstance(obj.get("id"), str):
            record.response_id = obj["id"]
        chunk_usage = obj.get("usage")
        if isinstance(chunk_usage, dict):
            usage = chunk_usage
        timings = obj.get("timings")
        if isinstance(timings, dict):
            record.server_timings = {
                k: float(v) for k, v in timings.items() if isinstance(v, int | float)
            }
        choices = obj.get("choices")
        if not choices or not isinstance(choices, list):
            continue
        choice = choices[0]
        if choice.get("finish_reason"):
            record.finish_reason = choice["finish_reason"]
            saw_finish = True
        if _has_output(choice, api):
            if record.first_token_ns is None:
                record.first_token_ns = t - anchor_ns
            record.chunk_ns.append(t - anchor_ns)
            cumulative.append(
                chunk_usage.get("completion_tokens") if isinstance(chunk_usage, dict) else None
            )

    if not (saw_done or (response.complete and saw_finish)):
        record.error_kind = ErrorKind.DISCONNECT
        record.error = f"connection closed mid-stream after {len(record.chunk_ns)} output chunks"
        return

    if usage is not None and isinstance(usage.get("completion_tokens"), int):
        record.output_tokens = usage["completion_tokens"]
        record.tokens_from_usage = True
        if isinstance(usage.get("prompt_tokens"), int):
            record.input_tokens = usage["prompt_tokens"]
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            record.cached_input_tokens = details["cached_tokens"]
    else:
        record.output_tokens = len(record.chunk_ns)
    if cumulative and all(isinstance(c, int) for c in cumulative):
        counts = [int(c) for c in cumulative if c is not None]
        record.chunk_tokens = [counts[0]] + [b - a for a, b in itertools.pairwise(counts)]


def _has_output(choice: dict[str, Any], api: Api) -> bool:
    if api is Api.COMPLETIONS:
        return bool(choice.get("text"))
    delta = choice.get("delta") or {}
    return bool(
        delta.get("content")
        or delta.get("reasoning_content")
        or delta.get("reasoning")
        or delta.get("tool_calls")
    )
