"""OpenAI-compatible streaming client: builds `/chat/completions` and `/completions` requests and
turns a timed SSE response into a RequestRecord."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from tokenbench.engines.http import ConnectFailed, HttpClient, IdleTimeout, Timeouts
from tokenbench.engines.http1 import Response
from tokenbench.engines.passthrough import check_body_field
from tokenbench.engines.profiles import TIMINGS_PARSERS
from tokenbench.engines.sse import SseDecoder
from tokenbench.errors import ConfigError
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
    disable_prefix_cache: bool = False  # `extras` hold the engine's switch to skip its cache
    # Engine-specific body fields from its profile (llama.cpp: cache_prompt false), as pairs
    # so the params stay hashable.
    extras: tuple[tuple[str, Any], ...] = ()
    # The user's --extra-body fields, applied after `extras` so the user wins; never the
    # fields tokenbench owns (stream, model, ...), refused here as in the CLI.
    extra_body: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name, _ in self.extra_body:
            check_body_field(name)


def request_body(
    params: GenerationParams,
    prompt: str,
    max_tokens: int,
    messages: Sequence[dict[str, Any]] | None = None,
    top_logprobs: int | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "max_tokens": max_tokens,
        "temperature": params.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if params.model is not None:
        body["model"] = params.model
    if messages is not None:
        if params.api is not Api.CHAT:
            raise ConfigError("a prompt given as chat messages needs --api chat")
        body["messages"] = list(messages)
    elif params.api is Api.CHAT:
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    if params.ignore_eos:
        body["ignore_eos"] = True
    if params.seed is not None:
        body["seed"] = params.seed
    body.update(params.extras)
    body.update(params.extra_body)
    if top_logprobs is not None:  # the OpenAI chat form; llama.cpp and vLLM accept it
        body["logprobs"] = True
        body["top_logprobs"] = top_logprobs
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
    timeouts: Timeouts,
    retries: int = 0,
    keep_text: list[str] | None = None,
    keep_logprobs: list[Any] | None = None,
    keep_reasoning: list[str] | None = None,
) -> None:
    """Send one streaming request and fill `record` (times relative to `anchor_ns`).

    Events are parsed as they arrive, inside the read callback and after its arrival stamp, so
    no callback ever does a whole response's work. Never raises for a failed request: the
    failure is written into the record. Re-raises cancellation after marking the record.
    """
    path = client.endpoint.api_path(api.path)
    parser = StreamParser(api, record, anchor_ns)
    parser.text = keep_text
    parser.reasoning = keep_reasoning
    parser.logprobs = keep_logprobs

    def sent(send_ns: int) -> None:
        if record.send_ns is None:  # a retried request is timed from its first send
            record.send_ns = send_ns - anchor_ns

    try:
        async with asyncio.timeout(timeouts.request_s):
            response = await _exchange(client, path, body, slot, record, parser, sent, timeouts,
                                       retries)  # fmt: skip
    except ConnectFailed as exc:
        _fail(record, anchor_ns, ErrorKind.CONNECT, client.redact(str(exc)))
        return
    except IdleTimeout as exc:
        _fail(record, anchor_ns, ErrorKind.TIMEOUT, str(exc))
        return
    except TimeoutError:
        within = f"no complete response within {timeouts.request_s:g} s"
        _fail(record, anchor_ns, ErrorKind.TIMEOUT, within)
        return
    except asyncio.CancelledError:
        _fail(record, anchor_ns, ErrorKind.CANCELLED, "the run stopped while in flight")
        raise
    parser.finish(response)
    if record.error:
        record.error = client.redact(record.error)


async def _exchange(
    client: HttpClient,
    path: str,
    body: bytes,
    slot: int,
    record: RequestRecord,
    parser: StreamParser,
    sent: Callable[[int], None],
    timeouts: Timeouts,
    retries: int,
) -> Response:
    """The POST, resent after 429/503 (honouring Retry-After) up to `retries` times."""
    while True:
        response = await client.exchange(
            "POST", path, body, slot, stream=True, on_send=sent, consumer=parser.feed,
            timeouts=timeouts,
        )  # fmt: skip
        if response.status not in RETRY_STATUSES or record.attempts > retries:
            return response
        await asyncio.sleep(retry_delay(response.headers, record.attempts))
        record.attempts += 1


RETRY_STATUSES = frozenset({429, 503})
_MAX_RETRY_WAIT_S = 60.0


def retry_delay(headers: dict[str, str], attempt: int) -> float:
    """Seconds to wait before resending: the server's Retry-After (seconds), else exponential
    backoff from 0.5 s; never more than a minute (the request timeout bounds it too)."""
    value = headers.get("retry-after", "").strip()
    try:
        wait = float(value) if value else 0.5 * 2 ** (attempt - 1)
    except ValueError:  # an HTTP date: not worth a clock comparison here
        wait = 0.5 * 2 ** (attempt - 1)
    return max(0.0, min(wait, _MAX_RETRY_WAIT_S))


def _fail(record: RequestRecord, anchor_ns: int, kind: ErrorKind, message: str) -> None:
    record.end_ns = time.perf_counter_ns() - anchor_ns
    record.error_kind = kind
    record.error = message


class TextCount:
    """UTF-8 bytes and whitespace-separated words of generated text, as it streams.

    Each stream (answer, reasoning, each tool call's arguments) is its own text: a word split
    across two of its chunks counts once, and words never join across streams. Chunks are
    counted joined, a batch at a time: a call per chunk costs an append, and no batch holds up
    the event loop however long the answer. Words follow `str.split()`: CJK text has no spaces,
    so its words/s undercounts (bytes/s is fair there).
    """

    __slots__ = ("_mid_word", "_pending", "bytes", "words")
    BATCH = 64  # chunks joined and counted at once

    def __init__(self) -> None:
        self.bytes = 0
        self.words = 0
        self._pending: dict[object, list[str]] = {}  # per stream: chunks not yet counted
        self._mid_word: set[object] = set()  # streams whose counted text ends inside a word

    def add(self, stream: object, text: str) -> None:
        pending = self._pending.get(stream)
        if pending is None:
            pending = self._pending[stream] = []
        pending.append(text)
        if len(pending) >= self.BATCH:
            self._count(stream, pending)

    def close(self) -> TextCount:
        """Count what is still pending; the totals are then final."""
        for stream, pending in self._pending.items():
            if pending:
                self._count(stream, pending)
        return self

    def _count(self, stream: object, pending: list[str]) -> None:
        text = "".join(pending)
        pending.clear()
        if not text:
            return
        # isascii() is O(1) on CPython: only non-ASCII text is encoded to be measured
        self.bytes += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        words = len(text.split())
        if words and stream in self._mid_word and not text[0].isspace():
            words -= 1  # the first word continues the last one counted
        self.words += words
        if text[-1].isspace():
            self._mid_word.discard(stream)
        else:
            self._mid_word.add(stream)


class StreamParser:
    """Turns the body pieces of a 200 event stream into a record, one event at a time."""

    __slots__ = ("_count", "_cumulative", "_decoder", "_done", "_finish", "_usage", "anchor_ns",
                 "api", "logprobs", "reasoning", "record", "text")  # fmt: skip

    def __init__(self, api: Api, record: RequestRecord, anchor_ns: int) -> None:
        self.api = api
        self.record = record
        self.anchor_ns = anchor_ns
        self._decoder = SseDecoder()
        self._done = False  # saw [DONE], an error event or an unparseable one: ignore the rest
        self._finish = False
        self._usage: dict[str, Any] | None = None
        self._cumulative: list[int | None] = []  # per output chunk: usage.completion_tokens
        self._count = TextCount()
        self.text: list[str] | None = None  # set to [] to keep the answer (content) text
        self.reasoning: list[str] | None = None  # set to [] to keep the reasoning text apart
        self.logprobs: list[Any] | None = None  # set to [] to keep each chunk's `logprobs`

    def feed(self, t: int, piece: bytes) -> None:
        if self._done:
            return
        for _event, data in self._decoder.feed(piece):
            self._event(t, data)
            if self._done:
                return

    def _event(self, t: int, data: bytes) -> None:
        record = self.record
        if data == b"[DONE]":
            self._done = True
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            self._stop(ErrorKind.INVALID_RESPONSE, f"unparseable event: {data[:80]!r}")
            return
        if not isinstance(obj, dict):
            return
        if "error" in obj:
            self._stop(ErrorKind.STREAM_ERROR, "error event in stream: " + error_message(data))
            return
        if record.response_id is None and isinstance(obj.get("id"), str):
            record.response_id = obj["id"]
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        for parse in TIMINGS_PARSERS:
            timings = parse(obj)
            if timings is not None:
                record.server_timings = timings
        choices = obj.get("choices")
        if not choices or not isinstance(choices, list):
            return
        choice = choices[0]
        if choice.get("finish_reason"):
            record.finish_reason = choice["finish_reason"]
            self._finish = True
        content, reasoning, tool_args = _output(choice, self.api)
        tool_call = tool_args is not None
        if content or reasoning or tool_call:
            # bytes and words of each text as it arrives (a list append per chunk)
            if content:
                self._count.add("content", content)
            if reasoning:
                self._count.add("reasoning", reasoning)
            if tool_args:
                for i, args in tool_args:
                    self._count.add(i, args)
            # One chunk may carry reasoning and content together: each goes to its own list.
            if content and self.text is not None:
                self.text.append(content)
            if reasoning and self.reasoning is not None:
                self.reasoning.append(reasoning)
            if self.logprobs is not None and choice.get("logprobs") is not None:
                self.logprobs.append(choice["logprobs"])
            rel = t - self.anchor_ns
            if record.first_token_ns is None:
                record.first_token_ns = rel
            if record.first_content_ns is None and (content or tool_call):
                record.first_content_ns = rel
            record.chunk_ns.append(rel)
            self._cumulative.append(
                usage.get("completion_tokens") if isinstance(usage, dict) else None
            )

    def _stop(self, kind: ErrorKind, message: str) -> None:
        self.record.error_kind = kind
        self.record.error = message
        self._done = True

    def finish(self, response: Response) -> None:
        """Close the record once the exchange is over (complete, cut off or refused)."""
        record = self.record
        if response.end_ns is not None:
            record.end_ns = response.end_ns - self.anchor_ns
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
        if record.error_kind is not None:
            return
        if not (self._done or (response.complete and self._finish)):
            record.error_kind = ErrorKind.DISCONNECT
            record.error = (
                f"connection closed mid-stream after {len(record.chunk_ns)} output chunks"
            )
            return
        usage = self._usage
        if usage is not None and isinstance(usage.get("completion_tokens"), int):
            record.output_tokens = usage["completion_tokens"]
            record.tokens_from_usage = True
            if isinstance(usage.get("prompt_tokens"), int):
                record.input_tokens = usage["prompt_tokens"]
            details = usage.get("prompt_tokens_details")
            if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
                record.cached_input_tokens = details["cached_tokens"]
            details = usage.get("completion_tokens_details")
            if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
                record.reasoning_tokens = details["reasoning_tokens"]
        else:
            record.output_tokens = len(record.chunk_ns)
        count = self._count.close()
        record.output_bytes, record.output_words = count.bytes, count.words
        timings = record.server_timings
        if record.cached_input_tokens is None and timings and "cache_n" in timings:
            # older llama.cpp builds report prompt-cache reuse only in their timings
            record.cached_input_tokens = int(timings["cache_n"])
        cumulative = self._cumulative
        if cumulative and all(isinstance(c, int) for c in cumulative):
            counts = [int(c) for c in cumulative if c is not None]
            record.chunk_tokens = [counts[0]] + [b - a for a, b in itertools.pairwise(counts)]


def parse_stream(response: Response, api: Api, record: RequestRecord, anchor_ns: int) -> None:
    """Fill a record from a recorded response (every piece kept): the same parser, fed late."""
    parser = StreamParser(api, record, anchor_ns)
    if response.status == 200:
        for t, piece in response.pieces:
            parser.feed(t, piece)
    parser.finish(response)


ToolArgs = list[tuple[int, str]]  # (tool call index, a piece of its arguments' text)


def _output(choice: dict[str, Any], api: Api) -> tuple[str, str, ToolArgs | None]:
    """(answer text, reasoning text, tool-call argument pieces or None without a tool call) of
    one choice. Servers name the chain of thought `reasoning_content` (DeepSeek, llama.cpp) or
    `reasoning` (vLLM, which may send both with the same text: one is taken, never both)."""
    if api is Api.COMPLETIONS:
        return str(choice.get("text") or ""), "", None
    delta = choice.get("delta") or {}
    reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
    calls = delta.get("tool_calls")
    tools = _tool_args(calls) if calls else None
    return str(delta.get("content") or ""), str(reasoning), tools


def _tool_args(calls: Any) -> ToolArgs:
    """The arguments text of each streamed tool call (the generated JSON; the function's name
    is not counted as text), keyed by its index so parallel calls stay apart."""
    out: ToolArgs = []
    for pos, call in enumerate(calls if isinstance(calls, list) else ()):
        fn = call.get("function") if isinstance(call, dict) else None
        args = fn.get("arguments") if isinstance(fn, dict) else None
        if isinstance(args, str) and args:
            index = call.get("index")
            out.append((index if isinstance(index, int) else pos, args))
    return out
