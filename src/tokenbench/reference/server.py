"""A scripted OpenAI-compatible SSE server for tests and benchmarks (run as its own process).

Each request picks its behaviour through its `model` field, a `;`-separated list such as
`ttft_ms=50;itl_ms=10;tokens=20`. Keys:
  ttft_ms, itl_ms, tokens    timing and length of the stream (defaults 20, 5, 8)
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

--speed F multiplies every delay (a server F times slower), and --jitter S draws each request's
delays from a lognormal of sigma S around that (seeded by --seed): a realistic A/B pair.

With --answers FILE (JSON: {model: [[substring, reply], ...]}, "*" for any model), a chat request
whose prompt contains a listed substring is answered with that reply, one word per chunk, ending
with finish_reason "stop": a scripted model for eval tests. A reply "<think>T</think>A" streams
T's words as `delta.reasoning_content` and then A's as `delta.content` (a reasoning model), and
its usage reports T's words as completion_tokens_details.reasoning_tokens.

The server's "tokenizer" counts whitespace-separated words; chat requests add --template-overhead
tokens. Every finished stream is logged as a JSON line with the server's monotonic timestamps
(`time.perf_counter_ns`, the same clock as the client's on one machine): the truth that client
measurements are checked against. The line also holds the request's body keys, its passthrough
fields (tools, tool_choice, chat_template_kwargs, response_format), and a digest of each header
value beyond the client's usual ones, by lower-case name (never a value: it may be a key).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import socket
import sys
import time
from typing import Any

_ids = itertools.count()
_seen: dict[str, int] = {}  # requests per scenario string, for status_first / fail_every


def parse_scenario(model: str | None) -> dict[str, float]:
    out: dict[str, float] = {"ttft_ms": 20.0, "itl_ms": 5.0, "tokens": 8.0}
    for part in (model or "").split(";"):
        key, sep, value = part.partition("=")
        if sep:
            with contextlib.suppress(ValueError):
                out[key.strip()] = float(value)
    return out


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
                async with gate:  # queued requests start their clock when served
                    await self.stream(path, json.loads(body or b"{}"), time.perf_counter_ns())
            return
        self.send_json(404, {"error": {"message": f"no route {path}"}})

    async def stream(self, path: str, req: dict[str, Any], recv_ns: int) -> None:
        self.request = req
        sc = parse_scenario(req.get("model"))
        chat = path.endswith("chat/completions")
        key = str(req.get("model"))
        _seen[key] = _seen.get(key, 0) + 1
        if _seen[key] <= sc.get("status_first", 0):
            self.send_json(429, {"error": {"message": "slow down"}}, "Retry-After: 0.05\r\n")
            return
        if sc.get("fail_every") and _seen[key] % int(sc["fail_every"]) == 0:
            self.send_json(503, {"error": {"message": "overloaded"}})
            return
        if sc.get("redirect"):
            self.send_json(307, {}, "Location: http://198.51.100.7/v1/chat/completions\r\n")
            return
        if "status" in sc:
            code = int(sc["status"])
            self.send_json(code, {"error": {"message": f"scripted failure {code}", "code": code}})
            return
        if chat:
            prompt = " ".join(m.get("content", "") for m in req.get("messages", []))
        else:
            prompt = req.get("prompt", "")
        prompt_tokens = len(prompt.split()) + (self.args.template_overhead if chat else 0)
        pieces, thinking = self.reply(str(req.get("model")), prompt)
        limit = len(pieces) if pieces is not None else sc["tokens"]
        tokens = int(min(limit, req.get("max_tokens") or limit))
        per_chunk = max(1, int(sc.get("tokens_per_chunk", 1)))
        rid = f"scripted-{os.getpid()}-{next(_ids)}"
        loop = asyncio.get_running_loop()
        t = self.transport
        if t is None:
            return
        t.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n"
        )
        chunk_ns: list[int] = []
        base = {"id": rid, "object": "chat.completion.chunk" if chat else "text_completion"}

        def event(obj: dict[str, Any]) -> bytes:
            return _frame(b"data: " + json.dumps({**base, **obj}).encode() + b"\n\n")

        if chat:
            t.write(event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        sent = 0
        i = 0
        start = recv_ns / 1e9
        # --speed scales every delay (a slower server), --jitter varies it per request
        pace = self.args.speed * (self.args.rng.lognormvariate(0, self.args.jitter)
                                  if self.args.jitter else 1.0)  # fmt: skip
        ttft, itl = pace * sc["ttft_ms"] / 1e3, pace * sc["itl_ms"] / 1e3
        if sc.get("stall_after") == 0:  # headers, then nothing: a first token that never comes
            self._log(rid, recv_ns, chunk_ns, "stalled")
            await asyncio.sleep(3600)
        while sent < tokens:
            due = start + ttft + i * itl
            delay = due - time.perf_counter_ns() / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            if self.transport is None:
                return
            k = min(per_chunk, tokens - sent)
            text = "".join(pieces[sent : sent + k]) if pieces is not None else " tok" * k
            delta: dict[str, Any] = {"content": text}
            if chat and sc.get("tool_calls"):
                delta = _tool_call_delta(req, rid, sent, k, tokens)
            elif sent < thinking and pieces is not None:  # a chunk may hold the end of both
                split = min(sent + k, thinking)
                delta = {"reasoning_content": "".join(pieces[sent:split])}
                if split < sent + k:
                    delta["content"] = "".join(pieces[split : sent + k])
            choice: dict[str, Any] = (
                {"index": 0, "delta": delta, "finish_reason": None}
                if chat
                else {"index": 0, "text": text, "finish_reason": None}
            )
            if chat and req.get("logprobs") and sc.get("logprobs", 1):
                alts = [{"token": text, "logprob": -0.1}, {"token": "Z", "logprob": -3.0}]
                choice["logprobs"] = {
                    "content": [{"token": text, "logprob": -0.1, "top_logprobs": alts}]
                }
            frame = event({"choices": [choice]})
            now = time.perf_counter_ns()
            t.write(frame)
            chunk_ns.append(now)
            sent += k
            i += 1
            if sent == sc.get("drop_after"):
                t.abort()
                self._log(rid, recv_ns, chunk_ns, "dropped")
                return
            if sent == sc.get("error_after"):
                t.write(_frame(b'data: {"error": {"message": "scripted in-band error"}}\n\n'))
                t.write(b"0\r\n\r\n")
                self._log(rid, recv_ns, chunk_ns, "error")
                return
            if sent == sc.get("stall_after"):
                self._log(rid, recv_ns, chunk_ns, "stalled")
                await asyncio.sleep(3600)
        done = pieces is not None and sent == len(pieces)
        last = {"index": 0, "finish_reason": "stop" if done else "length"}
        if chat and sc.get("tool_calls"):
            last["finish_reason"] = "tool_calls"
        t.write(event({"choices": [{**last, "delta": {}} if chat else {**last, "text": ""}]}))
        if sc.get("usage", 1):
            usage: dict[str, Any] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": sent,
                "total_tokens": prompt_tokens + sent,
            }
            if thinking:
                usage["completion_tokens_details"] = {"reasoning_tokens": min(sent, thinking)}
            t.write(event({"choices": [], "usage": usage}))
        t.write(_frame(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        self._log(rid, recv_ns, chunk_ns, "ok")
        del loop

    def reply(self, model: str, prompt: str) -> tuple[list[str] | None, int]:
        """The scripted answer's words (with their leading whitespace), or None; and how many of
        the first words are reasoning (a "<think>…</think>" prefix)."""
        answers = self.args.answer_table
        for key in (model, "*"):
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
        help="which engine's detection endpoints to imitate",
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


def run(args: argparse.Namespace) -> int:
    """Bind 127.0.0.1:--port, print the port on stdout (one line) and serve until killed."""
    args.answer_table = {}
    args.rng = random.Random(args.seed)
    if args.answers:
        with open(args.answers, encoding="utf-8") as f:
            args.answer_table = json.load(f)
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
