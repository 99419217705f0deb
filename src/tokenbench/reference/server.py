"""The reference server: scripted OpenAI-compatible SSE streams of known timing (its own process:
`bench reference-server`, `python -m tokenbench.reference.server`), the truth timing is checked on.

Each request picks its behaviour through its `model` field, a `;`-separated list such as
`ttft_ms=50;itl_ms=10;tokens=20`. Keys:
  ttft_ms, itl_ms, tokens    timing and length of the stream (defaults 20, 5, 8); ttft_ms and
                             itl_ms also take a distribution in --input-len syntax, e.g.
                             ttft_ms=lognormal(50,10,min=5): TTFT drawn per request, ITL per
                             chunk, seeded by --seed, the scenario and its request count (a
                             malformed one is answered 400)
  reasoning=N                chat: the first N tokens stream as delta.reasoning_content; usage
                             reports them as completion_tokens_details.reasoning_tokens
  status=N                   answer HTTP N with an OpenAI-style error body
  drop_after=N               abort the connection after N tokens
  error_after=N              send an in-band error event after N tokens (stream stays HTTP 200)
  stall_after=N              stop sending after N tokens, keep the connection open (0: after
                             the response headers, before any token)
  usage=0                    omit the usage chunk
  tokens_per_chunk=K         K tokens' worth of text per chunk (usage still counts tokens)
  status_first=N             the first N requests of this scenario get 429 + Retry-After: 0.05
  fail_every=K               every K-th request of this scenario gets 503
  redirect=1                 answer 307 to another host (a client must not follow it with its key)
  logprobs=0                 ignore a request's `logprobs` (else chat chunks carry the chunk's
                             text as its top alternative, logprob -0.1, then "Z" at -3)
  tool_calls=1               chat: stream one tool call (OpenAI delta.tool_calls, one arguments
                             piece per token, no content) calling the request's first tool (else
                             "lookup"), ending with finish_reason "tool_calls"

--hang accepts connections and reads requests but never answers any (a stuck server).

With --engine llama.cpp, GET /metrics answers Prometheus text (as `llama-server --metrics` does,
then closes the connection) with llama.cpp's series, computed from the process's live state:
  llamacpp:requests_processing          gauge: streams being written now (a stalled one too)
  llamacpp:requests_deferred            gauge: requests waiting for a --capacity place
  llamacpp:prompt_tokens_total          counter: prompt tokens, once a stream's first token is out
  llamacpp:prompt_tokens_cached_total   counter: always 0 (no prefix cache)
  llamacpp:tokens_predicted_total       counter: output tokens written
With --engine vllm --metrics live, vLLM's text (about 44 KB: the same live figures under vLLM's
names, TTFT/E2E and token-count histograms of finished streams, 10 more histograms at 0; see
reference/metrics.py). --metrics absent|malformed|huge|slow breaks the endpoint on purpose. With
--procs N each process reports its own. Otherwise /metrics is 404.

--speed F multiplies every delay (a server F times slower), and --jitter S draws each request's
delays from a lognormal of sigma S around that (seeded by --seed): a realistic A/B pair.

With --answers FILE (JSON: {model: [[substring, reply], ...]}, "*" for any model), a chat request
whose prompt contains a listed substring is answered with that reply, one word per chunk, ending
with finish_reason "stop": a scripted model for eval tests. A reply "<think>T</think>A" streams
T's words as `delta.reasoning_content` and then A's as `delta.content` (a reasoning model), and
its usage reports T's words as completion_tokens_details.reasoning_tokens. With
--answers-under-load FILE, a request that arrives while --load-above streams (default 2) or more
are in flight takes its reply from FILE first: a model whose answers change under load.

The server's "tokenizer" counts whitespace-separated words; chat requests add --template-overhead
tokens. A chunk is never written before its due time (arrival + TTFT + the gaps before it).

With --log PREFIX each process appends to PREFIX.<pid> one JSON line per stream, written after its
last write (or when it fails or stalls): the truth client measurements are checked against.
  id             the stream's response id (the client records it: match by id)
  recv_ns        when the request was read (or left the --capacity queue)
  chunk_ns       one stamp per token chunk, taken just before its write
  outcome        ok | dropped | error | stalled
  auth_sha256, header_sha256   digests of the Authorization and unusual headers (never a value)
  body_keys, passthrough       the request's body keys and its tools, tool_choice,
                               chat_template_kwargs and response_format
Stamps are `time.perf_counter_ns` (CLOCK_MONOTONIC), the clock the client stamps with: on one host
TTFT error = client TTFT - (chunk_ns[0] - client send), ITL error = client gap - server gap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import os
import random
import re
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

from tokenbench.errors import ConfigError
from tokenbench.reference.metrics import (
    METRICS_MODES,
    SLOW_S,
    Live,
    engine_text,
    huge_text,
    malformed_text,
    resolve_mode,
)
from tokenbench.workloads.lengths import Distribution, parse_distribution

_ids = itertools.count()
_seen: dict[str, int] = {}  # requests per scenario string, for status_first / fail_every


_DRAWN_KEYS = ("ttft_ms", "itl_ms")  # the keys that take a distribution as well as a number


@functools.lru_cache(maxsize=256)
def parse_scenario(model: str | None) -> dict[str, float]:
    """The scenario's numeric keys (defaults ttft_ms 20, itl_ms 5, tokens 8); a key whose
    value is not a number is left out here (a distribution: scenario_distributions)."""
    out: dict[str, float] = {"ttft_ms": 20.0, "itl_ms": 5.0, "tokens": 8.0}
    for part in (model or "").split(";"):
        key, sep, value = part.partition("=")
        if sep:
            with contextlib.suppress(ValueError):
                out[key.strip()] = float(value)
    return out


@functools.lru_cache(maxsize=256)
def scenario_distributions(model: str | None) -> dict[str, Distribution]:
    """ttft_ms / itl_ms given as distributions (`lognormal(50,10)`, `uniform(2,8)`, the
    syntax of --input-len); a malformed one raises ConfigError."""
    out: dict[str, Distribution] = {}
    for part in (model or "").split(";"):
        key, sep, value = part.partition("=")  # the first '=': min=/max= stay in the value
        key = key.strip()
        if sep and key in _DRAWN_KEYS and "(" in value:
            out[key] = parse_distribution(value, key, integer=False, minimum=0)
    return out


@dataclass(frozen=True)
class _Plan:
    """What one stream sends: its id, its token texts (the first `thinking` are reasoning)."""

    chat: bool
    rid: str
    pieces: list[str]
    thinking: int
    tokens: int
    per_chunk: int
    scripted: bool  # an --answers reply (finish_reason "stop" when it is all sent)
    prompt_tokens: int


_USUAL_HEADERS = {"host", "user-agent", "accept", "authorization", "content-type",
                  "content-length"}  # fmt: skip
_PASSTHROUGH_FIELDS = ("tools", "tool_choice", "chat_template_kwargs", "response_format")


def _header_digests(head: str) -> dict[str, str]:
    """sha256 of each unusual header's value, by lower-case name: tests check what arrived
    without the log ever holding a value."""
    out = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() not in _USUAL_HEADERS:
            out[name.strip().lower()] = hashlib.sha256(value.strip().encode()).hexdigest()
    return out


def _tool_call_delta(
    req: dict[str, Any], rid: str, sent: int, k: int, total: int
) -> dict[str, Any]:
    """A chunk of one streamed tool call: the first names the function, every one carries
    `k` tokens of its arguments (a JSON object closed by the last)."""
    args = ('{"q": "' if sent == 0 else "") + " tok" * k + ('"}' if sent + k >= total else "")
    call: dict[str, Any] = {"index": 0, "function": {"arguments": args}}
    if sent == 0:
        tools = req.get("tools") or [{}]
        name = (tools[0].get("function") or {}).get("name", "lookup")
        call.update(id=f"call-{rid}", type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


async def _sleep_until(due_s: float) -> None:
    """Sleep until the monotonic clock passes `due_s`, sleeping again if a timer fires early."""
    while True:
        delay = due_s - time.perf_counter_ns() / 1e9
        if delay <= 0:
            return
        await asyncio.sleep(delay)


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts (the OpenAI
    form some clients send: [{"type": "text", "text": ...}])."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _frame(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class ScriptedServer(asyncio.Protocol):
    def __init__(self, args: argparse.Namespace, log: Any) -> None:
        self.args = args
        self.log = log
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.busy = False
        self.auth_sha256: str | None = None  # digest of the Authorization header, never the key
        self.header_sha256: dict[str, str] = {}  # other headers' value digests, by lower name
        self.request: dict[str, Any] = {}  # the body of the request being answered

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        recv_ns = time.perf_counter_ns()
        if self.args.hang:  # a stuck server: the connection stays open, nothing comes back
            return
        self.buf += data
        while not self.busy:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, target = head.split(" ", 2)[:2]
            path = target.split("?", 1)[0]
            auth = next(
                (line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                 if line.lower().startswith("authorization:")),
                None,
            )  # fmt: skip
            self.auth_sha256 = hashlib.sha256(auth.encode()).hexdigest() if auth else None
            self.header_sha256 = _header_digests(head)
            self.busy = True
            asyncio.get_running_loop().create_task(self.handle(method, path, body, recv_ns))

    async def answer_metrics(self) -> None:
        """GET /metrics as --metrics says: the engine's live text, 404, or a broken answer."""
        mode, engine, live = self.args.metrics_mode, self.args.engine, self.args.live
        text = engine_text(engine, live)
        if mode == "absent" or text is None:
            # closed, as every /metrics answer: a scraper's HTTP/1.0 GET reads to the close
            self.send_json(
                404, {"error": {"message": "no route /metrics"}}, "Connection: close\r\n"
            )
            if self.transport:
                self.transport.close()
        elif mode == "malformed":
            self.send_metrics(malformed_text(engine, live))
        elif mode == "huge":
            self.send_metrics(huge_text())
        elif mode == "slow":
            await asyncio.sleep(SLOW_S)
            self.send_metrics(engine_text(engine, live) or "")
        else:
            self.send_metrics(text)

    def send_metrics(self, text: str) -> None:
        """Prometheus text, then the connection closes (a scraper reading an HTTP/1.0 answer
        to its end needs the close)."""
        body = text.encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        if self.transport:
            self.transport.write(head + body)
            self.transport.close()

    def send_json(self, status: int, obj: object, headers: str = "") -> None:
        body = json.dumps(obj).encode()
        reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        if self.transport:
            self.transport.write(head + body)

    async def handle(self, method: str, path: str, body: bytes, recv_ns: int) -> None:
        try:
            await self._route(method, path, body, recv_ns)
        finally:
            self.busy = False
            if self.buf and self.transport:
                self.data_received(b"")

    async def _route(self, method: str, path: str, body: bytes, recv_ns: int) -> None:
        engine = self.args.engine
        if method == "GET":
            if path == "/health":
                self.send_json(200, {"status": "ok"})
            elif path == "/version" and engine == "vllm":
                self.send_json(200, {"version": "0.0.0-scripted"})
            elif path == "/props" and engine == "llama.cpp":
                self.send_json(200, {"total_slots": 4, "build_info": "b0-scripted"})
            elif path == "/metrics":
                await self.answer_metrics()
            elif path == "/v1/models":
                model = {"id": "scripted-model", "object": "model"}
                if engine == "vllm":  # vLLM's own marker: /version alone names no engine
                    model["owned_by"] = "vllm"
                self.send_json(200, {"data": [model]})
            else:
                self.send_json(404, {"error": {"message": f"no route {path}"}})
            return
        if path == "/tokenize" and not self.args.no_tokenize:
            req = json.loads(body or b"{}")
            text = req.get("content") or req.get("prompt") or ""
            self.send_json(200, {"tokens": list(range(len(text.split())))})
            return
        if path in ("/v1/chat/completions", "/v1/completions"):
            gate = self.args.gate
            if gate is None:
                await self.stream(path, json.loads(body or b"{}"), recv_ns)
            else:
                live = self.args.live
                live.deferred += 1
                try:
                    await gate.acquire()
                finally:
                    live.deferred -= 1
                try:  # queued requests start their clock when served
                    await self.stream(path, json.loads(body or b"{}"), time.perf_counter_ns())
                finally:
                    gate.release()
            return
        self.send_json(404, {"error": {"message": f"no route {path}"}})

    def _refuse(self, sc: dict[str, float], key: str) -> bool:
        """Answer a scripted failure before any stream (429, 503, 307, status=N): True if
        one was sent."""
        if _seen[key] <= sc.get("status_first", 0):
            self.send_json(429, {"error": {"message": "slow down"}}, "Retry-After: 0.05\r\n")
        elif sc.get("fail_every") and _seen[key] % int(sc["fail_every"]) == 0:
            self.send_json(503, {"error": {"message": "overloaded"}})
        elif sc.get("redirect"):
            self.send_json(307, {}, "Location: http://198.51.100.7/v1/chat/completions\r\n")
        elif "status" in sc:
            code = int(sc["status"])
            self.send_json(code, {"error": {"message": f"scripted failure {code}", "code": code}})
        else:
            return False
        return True

    def _delays_s(self, model: str, n: int, chunks: int) -> tuple[float, list[float]]:
        """This request's TTFT and its `chunks` gaps in seconds: fixed or drawn (seeded by
        --seed, the scenario and its request count n), then scaled by --speed and --jitter."""
        sc, drawn = parse_scenario(model), scenario_distributions(model)
        seed = f"{self.args.seed}:{model}:{n}"
        ttft_ms = drawn["ttft_ms"].sample(1, seed + ":ttft")[0] if "ttft_ms" in drawn else None
        if "itl_ms" in drawn:
            gaps_ms = drawn["itl_ms"].sample(chunks, seed + ":itl")
        else:
            gaps_ms = [sc["itl_ms"]] * chunks
        pace = self.args.speed * (self.args.rng.lognormvariate(0, self.args.jitter)
                                  if self.args.jitter else 1.0)  # fmt: skip
        ttft_s = pace * (sc["ttft_ms"] if ttft_ms is None else ttft_ms) / 1e3
        return ttft_s, [pace * g / 1e3 for g in gaps_ms]

    async def stream(self, path: str, req: dict[str, Any], recv_ns: int) -> None:
        self.request = req
        key = str(req.get("model"))
        try:
            sc = parse_scenario(key)
            scenario_distributions(key)
        except ConfigError as exc:  # a malformed distribution: the request's own mistake
            self.send_json(400, {"error": {"message": str(exc), "code": 400}})
            return
        _seen[key] = _seen.get(key, 0) + 1
        if self._refuse(sc, key):
            return
        chat = path.endswith("chat/completions")
        if chat:
            prompt = " ".join(_text(m.get("content")) for m in req.get("messages", []))
        else:
            prompt = req.get("prompt", "")
        prompt_tokens = len(prompt.split()) + (self.args.template_overhead if chat else 0)
        pieces, thinking = self.reply(key, prompt)
        limit = len(pieces) if pieces is not None else sc["tokens"]
        tokens = int(min(limit, req.get("max_tokens") or limit))
        if pieces is None:
            thinking = min(tokens, int(sc.get("reasoning", 0)))
            pieces = [" think"] * thinking + [" tok"] * (tokens - thinking)
            scripted = False
        else:
            scripted = True
        per_chunk = max(1, int(sc.get("tokens_per_chunk", 1)))
        plan = _Plan(chat, f"scripted-{os.getpid()}-{next(_ids)}", pieces, thinking, tokens,
                     per_chunk, scripted, prompt_tokens)  # fmt: skip
        ttft_s, gaps_s = self._delays_s(key, _seen[key], -(-tokens // per_chunk))
        live = self.args.live
        live.processing += 1
        try:
            await self._send_stream(sc, plan, recv_ns, ttft_s, gaps_s)
        finally:
            live.processing -= 1

    async def _send_stream(
        self, sc: dict[str, float], plan: _Plan, recv_ns: int, ttft_s: float, gaps_s: list[float]
    ) -> None:
        """Write the stream: headers, chunks at their due times (each stamped just before its
        write), then the finish, usage and [DONE] events, unless a failure is scripted."""
        t = self.transport
        if t is None:
            return
        t.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n"
        )
        chunk_ns: list[int] = []
        if plan.chat:
            t.write(self._event(plan, {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        if sc.get("stall_after") == 0:  # headers, then nothing: a first token that never comes
            self._log(plan.rid, recv_ns, chunk_ns, "stalled")
            await asyncio.sleep(3600)
        due = recv_ns / 1e9 + ttft_s
        sent = 0
        for i in range(len(gaps_s)):
            due += gaps_s[i - 1] if i else 0.0
            # never early: uvloop's timers round to whole milliseconds, so sleep again
            await _sleep_until(due)
            if self.transport is None:
                return
            k = min(plan.per_chunk, plan.tokens - sent)
            frame = self._event(plan, {"choices": [self._choice(plan, sc, sent, k)]})
            if not chunk_ns:  # as llama-server: the prompt counts once its first token is made
                self.args.live.prompt_tokens += plan.prompt_tokens
            chunk_ns.append(time.perf_counter_ns())
            if len(chunk_ns) == 1:
                self.args.live.histograms["ttft_s"].observe((chunk_ns[0] - recv_ns) / 1e9)
            t.write(frame)
            self.args.live.predicted_tokens += k
            sent += k
            if await self._scripted_end(sc, plan, sent, recv_ns, chunk_ns):
                return
        self._finish(sc, plan, sent)
        hist = self.args.live.histograms  # as vLLM: a request's histograms when it finishes
        hist["e2e_s"].observe((time.perf_counter_ns() - recv_ns) / 1e9)
        hist["prompt_tokens"].observe(plan.prompt_tokens)
        hist["generation_tokens"].observe(sent)
        self._log(plan.rid, recv_ns, chunk_ns, "ok")

    async def _scripted_end(
        self, sc: dict[str, float], plan: _Plan, sent: int, recv_ns: int, chunk_ns: list[int]
    ) -> bool:
        """A failure scripted after `sent` tokens (drop, in-band error, stall): True if it ended
        the stream."""
        t = self.transport
        assert t is not None
        if sent == sc.get("drop_after"):
            t.abort()
            self._log(plan.rid, recv_ns, chunk_ns, "dropped")
            return True
        if sent == sc.get("error_after"):
            t.write(_frame(b'data: {"error": {"message": "scripted in-band error"}}\n\n'))
            t.write(b"0\r\n\r\n")
            self._log(plan.rid, recv_ns, chunk_ns, "error")
            return True
        if sent == sc.get("stall_after"):
            self._log(plan.rid, recv_ns, chunk_ns, "stalled")
            await asyncio.sleep(3600)
            return True
        return False

    def _event(self, plan: _Plan, obj: dict[str, Any]) -> bytes:
        kind = "chat.completion.chunk" if plan.chat else "text_completion"
        payload = json.dumps({"id": plan.rid, "object": kind, **obj}).encode()
        return _frame(b"data: " + payload + b"\n\n")

    def _choice(self, plan: _Plan, sc: dict[str, float], sent: int, k: int) -> dict[str, Any]:
        """The choice of the chunk holding tokens [sent, sent + k)."""
        text = "".join(plan.pieces[sent : sent + k])
        if not plan.chat:
            return {"index": 0, "text": text, "finish_reason": None}
        delta: dict[str, Any] = {"content": text}
        if sc.get("tool_calls"):
            delta = _tool_call_delta(self.request, plan.rid, sent, k, plan.tokens)
        elif sent < plan.thinking:  # a chunk may hold the end of both
            split = min(sent + k, plan.thinking)
            delta = {"reasoning_content": "".join(plan.pieces[sent:split])}
            if split < sent + k:
                delta["content"] = "".join(plan.pieces[split : sent + k])
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
        if self.request.get("logprobs") and sc.get("logprobs", 1):
            alts = [{"token": text, "logprob": -0.1}, {"token": "Z", "logprob": -3.0}]
            choice["logprobs"] = {
                "content": [{"token": text, "logprob": -0.1, "top_logprobs": alts}]
            }
        return choice

    def _finish(self, sc: dict[str, float], plan: _Plan, sent: int) -> None:
        """The finish chunk, the usage chunk (unless usage=0) and [DONE]."""
        t = self.transport
        assert t is not None
        done = plan.scripted and sent == len(plan.pieces)
        last: dict[str, Any] = {"index": 0, "finish_reason": "stop" if done else "length"}
        if plan.chat and sc.get("tool_calls"):
            last["finish_reason"] = "tool_calls"
        end = {**last, "delta": {}} if plan.chat else {**last, "text": ""}
        t.write(self._event(plan, {"choices": [end]}))
        if sc.get("usage", 1):
            usage: dict[str, Any] = {
                "prompt_tokens": plan.prompt_tokens,
                "completion_tokens": sent,
                "total_tokens": plan.prompt_tokens + sent,
            }
            if plan.thinking:
                usage["completion_tokens_details"] = {"reasoning_tokens": min(sent, plan.thinking)}
            t.write(self._event(plan, {"choices": [], "usage": usage}))
        t.write(_frame(b"data: [DONE]\n\n") + b"0\r\n\r\n")

    def reply(self, model: str, prompt: str) -> tuple[list[str] | None, int]:
        """The scripted answer's words (with their leading whitespace), or None; and how many of
        the first words are reasoning (a "<think>…</think>" prefix)."""
        tables = [self.args.answer_table]
        if self.args.loaded_table and self.args.live.processing >= self.args.load_above:
            tables.insert(0, self.args.loaded_table)  # answers that change under load
        for answers, key in ((t, k) for t in tables for k in (model, "*")):
            for substring, text in answers.get(key, []):
                if substring in prompt:
                    think, _, answer = text.rpartition("</think>")
                    thought = re.findall(r"\s*\S+", think.removeprefix("<think>"))
                    return thought + (re.findall(r"\s*\S+", answer) or [answer]), len(thought)
        return None, 0

    def _log(self, rid: str, recv_ns: int, chunk_ns: list[int], outcome: str) -> None:
        if self.log is not None:
            req = self.request
            entry = {
                "id": rid,
                "recv_ns": recv_ns,
                "chunk_ns": chunk_ns,
                "outcome": outcome,
                "auth_sha256": self.auth_sha256,
                "header_sha256": self.header_sha256,
                "body_keys": sorted(req),
                "passthrough": {k: req[k] for k in _PASSTHROUGH_FIELDS if k in req},
            }
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()


async def serve(args: argparse.Namespace, sock: socket.socket) -> None:
    args.gate = asyncio.Semaphore(args.capacity) if args.capacity else None
    args.live = Live()
    args.metrics_mode = resolve_mode(getattr(args, "metrics", "auto"), args.engine)
    log = open(f"{args.log}.{os.getpid()}", "w") if args.log else None  # noqa: SIM115, ASYNC230
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ScriptedServer(args, log), sock=sock)
    async with server:
        await server.serve_forever()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The server's options (shared by `python -m tokenbench.reference.server` and
    `bench reference-server`)."""
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    p.add_argument("--procs", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    p.add_argument(
        "--engine",
        default="none",
        choices=["none", "vllm", "llama.cpp"],
        help="which engine's detection endpoints and /metrics to imitate",
    )
    p.add_argument(
        "--metrics",
        default="auto",
        choices=METRICS_MODES,
        help="GET /metrics: auto (llama.cpp's live series, 404 for other engines), live (the "
        "engine's live series: llama.cpp or vllm), absent (404), malformed (unparseable), huge "
        "(over 4 MiB), slow (answered after 2 s)",
    )
    p.add_argument(
        "--template-overhead",
        type=int,
        default=0,
        help="tokens a chat request adds to its prompt's word count",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="multiply every TTFT and ITL delay (1.25: a server 25%% slower)",
    )
    p.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="per-request lognormal sigma on the delays (seeded by --seed)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --jitter and of drawn delays")
    p.add_argument("--no-tokenize", action="store_true", help="answer /tokenize with 404")
    p.add_argument("--hang", action="store_true", help="accept connections, never answer")
    p.add_argument(
        "--capacity",
        type=int,
        default=0,
        help="serve at most N streams at once; the rest queue (a known capacity)",
    )
    p.add_argument("--log", help="log path prefix: each process appends <prefix>.<pid>")
    p.add_argument("--answers", help="JSON file: {model: [[substring, reply], ...]}")
    p.add_argument("--answers-under-load", metavar="FILE",
                   help="JSON file as --answers: the replies of a request that arrives while "
                        "--load-above streams or more are in flight (answers that change under "
                        "load, to check that an eval detects it)")  # fmt: skip
    p.add_argument(
        "--load-above",
        type=int,
        default=2,
        metavar="N",
        help="streams in flight from which --answers-under-load apply (default 2)",
    )


def run(args: argparse.Namespace) -> int:
    """Bind 127.0.0.1:--port, print the port on stdout (one line) and serve until killed."""
    args.answer_table, args.loaded_table = {}, {}
    args.rng = random.Random(args.seed)
    if args.answers:
        with open(args.answers, encoding="utf-8") as f:
            args.answer_table = json.load(f)
    if getattr(args, "answers_under_load", None):
        with open(args.answers_under_load, encoding="utf-8") as f:
            args.loaded_table = json.load(f)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(4096)
    port = sock.getsockname()[1]
    for _ in range(args.procs - 1):
        if os.fork() == 0:
            break
    else:
        print(port, flush=True)
    try:
        import uvloop

        uvloop.run(serve(args, sock))
    except ImportError:
        asyncio.run(serve(args, sock))
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tokenbench.reference.server",
        description=__doc__.split("\n", 1)[0] if __doc__ else None,
    )
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
