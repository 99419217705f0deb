from __future__ import annotations

from collections.abc import Mapping

import orjson
import pytest

from tokenbench.engines.http1 import Response
from tokenbench.engines.openai import (
    Api,
    GenerationParams,
    StreamParser,
    error_message,
    parse_stream,
    request_body,
)
from tokenbench.engines.sse import iter_events
from tokenbench.errors import ConfigError
from tokenbench.evals.tasks import get_task
from tokenbench.records import ErrorKind, RequestRecord
from tokenbench.urls import Endpoint, redact_url


def chunk(content: str | None = None, finish: str | None = None, **extra: object) -> bytes:
    delta = {"content": content} if content is not None else {}
    obj = {"id": "r1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def usage_chunk(prompt: int, completion: int) -> bytes:
    body = {"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion}}
    return b"data: " + orjson.dumps(body) + b"\n\n"


def blank() -> RequestRecord:
    return RequestRecord(index=0, worker=0, slot=0, warmup=False, prompt_id="p", scheduled_ns=0)


def test_events_split_across_reads_keep_arrival_of_completing_read() -> None:
    pieces = [
        (1, b"data: a"),
        (2, b"bc\n\n"),
        (3, b"data: x\r\n\r\n: comment\n\nevent: e\ndata: y\n\n"),
    ]
    assert list(iter_events(pieces)) == [(2, None, b"abc"), (3, None, b"x"), (3, "e", b"y")]


def test_truncated_trailing_event_is_not_yielded() -> None:
    assert list(iter_events([(1, b"data: a\n\ndata: b")])) == [(1, None, b"a")]


def test_parse_chat_stream_with_usage() -> None:
    resp = Response(
        status=200,
        headers={"content-type": "text/event-stream"},
        pieces=[
            (100, chunk(None, role="assistant")),  # role-only chunk is not a token
            (150, chunk("Hel")),
            (160, chunk("lo")),
            (170, chunk(None, finish="length") + usage_chunk(12, 2) + b"data: [DONE]\n\n"),
        ],
        end_ns=171,
        complete=True,
    )
    r = blank()
    parse_stream(resp, Api.CHAT, r, anchor_ns=100)
    assert r.ok
    assert r.first_token_ns == 50
    assert r.chunk_ns == [50, 60]
    assert r.end_ns == 71
    assert (r.input_tokens, r.output_tokens, r.tokens_from_usage) == (12, 2, True)
    assert r.finish_reason == "length"
    assert r.response_id == "r1"


def test_parse_without_usage_counts_chunks_and_flags_it() -> None:
    resp = Response(200, {}, [(5, chunk("a") + chunk("b") + b"data: [DONE]\n\n")], 6, True)
    r = blank()
    parse_stream(resp, Api.CHAT, r, 0)
    assert r.ok
    assert (r.output_tokens, r.tokens_from_usage, r.input_tokens) == (2, False, None)


def test_parse_http_error_shows_server_message() -> None:
    body = orjson.dumps({"error": {"message": "model 'x' not found", "code": 404}})
    r = blank()
    parse_stream(Response(404, {}, [(1, body)], 2, True), Api.CHAT, r, 0)
    assert r.error_kind is ErrorKind.HTTP
    assert r.error == "HTTP 404: model 'x' not found"
    assert r.http_status == 404


def test_parse_in_band_error_after_200() -> None:
    pieces = [(1, chunk("a")), (2, b'data: {"error": {"message": "overloaded"}}\n\n')]
    r = blank()
    parse_stream(Response(200, {}, pieces, 3, True), Api.CHAT, r, 0)
    assert r.error_kind is ErrorKind.STREAM_ERROR
    assert r.error is not None
    assert "overloaded" in r.error


def test_parse_cut_stream_is_a_disconnect() -> None:
    r = blank()
    parse_stream(Response(200, {}, [(1, chunk("a"))], 2, False), Api.CHAT, r, 0)
    assert r.error_kind is ErrorKind.DISCONNECT
    assert r.chunk_ns == [1]


def test_parse_unparseable_event() -> None:
    r = blank()
    parse_stream(Response(200, {}, [(1, b"data: {nope\n\n")], 2, True), Api.CHAT, r, 0)
    assert r.error_kind is ErrorKind.INVALID_RESPONSE


def test_parse_completions_text_and_continuous_usage() -> None:
    def c(text: str, done: int) -> bytes:
        obj = {
            "choices": [{"text": text}],
            "usage": {"prompt_tokens": 3, "completion_tokens": done},
        }
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    pieces = [(10, c("a", 1)), (20, c("bc", 3)), (30, usage_chunk(3, 3) + b"data: [DONE]\n\n")]
    r = blank()
    parse_stream(Response(200, {}, pieces, 31, True), Api.COMPLETIONS, r, 0)
    assert r.chunk_tokens == [1, 2]
    assert r.output_tokens == 3


def test_error_message_variants() -> None:
    assert error_message(b'{"object": "error", "message": "bad"}') == "bad"
    assert error_message(b'{"detail": "nope"}') == "nope"
    assert error_message(b"plain  text\nhere") == "plain text here"
    assert error_message(b"x" * 1000).endswith("…")


def test_request_body_fields() -> None:
    chat = orjson.loads(request_body(GenerationParams(Api.CHAT, "m", 0.0, True, 3), "hi", 7))
    assert chat["messages"] == [{"role": "user", "content": "hi"}]
    assert chat["stream_options"] == {"include_usage": True}
    assert (chat["max_tokens"], chat["ignore_eos"], chat["seed"], chat["model"]) == (
        7,
        True,
        3,
        "m",
    )
    comp = orjson.loads(request_body(GenerationParams(Api.COMPLETIONS, None), "hi", 7))
    assert comp["prompt"] == "hi"
    assert "model" not in comp
    assert "ignore_eos" not in comp


def test_endpoint_parse_and_redaction() -> None:
    e = Endpoint.parse("http://user:secret@localhost:8000/v1/?key=abc")
    assert (e.host, e.port, e.base_path) == ("localhost", 8000, "/v1")
    assert "secret" not in e.url
    assert "abc" not in e.url
    assert redact_url("https://u:p@h.example/v1?api_key=zzz#f") == "https://h.example/v1"
    assert Endpoint.parse("https://api.example.com/v1").port == 443
    with pytest.raises(ConfigError, match="not an http"):
        Endpoint.parse("ftp://x")


def delta_chunk(**delta: object) -> bytes:
    obj = {"id": "r1", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def kept(pieces: list[tuple[int, bytes]]) -> tuple[RequestRecord, str, str]:
    """(record, answer text, reasoning text) of a complete chat stream."""
    r = blank()
    parser = StreamParser(Api.CHAT, r, 0)
    parser.text, parser.reasoning = [], []
    for t, piece in pieces:
        parser.feed(t, piece)
    parser.finish(Response(200, {}, pieces, pieces[-1][0] + 1, True))
    return r, "".join(parser.text), "".join(parser.reasoning)


def test_reasoning_is_kept_apart_and_the_scorer_reads_only_the_answer() -> None:
    thinking = ["Is the answer A? ", "No: A is a trap, ", "and B is too small."]
    pieces = [(10 * (i + 1), delta_chunk(reasoning_content=t)) for i, t in enumerate(thinking)]
    answer_at = 10 * (len(thinking) + 1)
    pieces += [(answer_at, delta_chunk(content="C")), (answer_at + 1, b"data: [DONE]\n\n")]
    r, answer, reasoning = kept(pieces)
    assert r.ok
    assert answer == "C"
    assert reasoning == "".join(thinking)
    assert r.first_token_ns == pieces[0][0]  # TTFT: the first reasoning token
    assert r.first_content_ns == answer_at  # the first answer token
    assert len(r.chunk_ns) == len(thinking) + 1
    mmlu = get_task("mmlu")
    assert mmlu.score(answer, "C", {"letters": "ABCD"}).correct == {"letter": True}
    # what the old parser scored: every text joined, so the thinking's "A" won
    assert mmlu.score(reasoning + answer, "C", {"letters": "ABCD"}).parsed != {"letter": "C"}


def test_a_chunk_with_reasoning_and_content_loses_neither() -> None:
    both = delta_chunk(reasoning="so it is B.", content="B")
    r, answer, reasoning = kept([(5, both), (6, b"data: [DONE]\n\n")])
    assert (answer, reasoning) == ("B", "so it is B.")
    assert r.first_token_ns == r.first_content_ns == 5
    # vLLM may send the same text under both names: it is kept once
    dup = delta_chunk(reasoning="hmm", reasoning_content="hmm")
    _, _, once = kept([(5, dup), (6, b"data: [DONE]\n\n")])
    assert once == "hmm"


def test_a_tool_call_is_an_answer_token() -> None:
    call = delta_chunk(tool_calls=[{"index": 0, "function": {"name": "f"}}])
    r, answer, _ = kept([(3, delta_chunk(reasoning="use f")), (7, call), (8, b"data: [DONE]\n\n")])
    assert answer == ""
    assert (r.first_token_ns, r.first_content_ns) == (3, 7)


def test_reasoning_tokens_come_from_usage_details() -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 30,
             "completion_tokens_details": {"reasoning_tokens": 27}}  # fmt: skip
    tail = b"data: " + orjson.dumps({"choices": [], "usage": usage}) + b"\n\ndata: [DONE]\n\n"
    r, _, _ = kept([(1, delta_chunk(reasoning="x")), (2, delta_chunk(content="y")), (3, tail)])
    assert r.reasoning_tokens == usage["completion_tokens_details"]["reasoning_tokens"]
    assert r.output_tokens == usage["completion_tokens"]
    plain, _, _ = kept([(1, chunk("a")), (2, usage_chunk(1, 1) + b"data: [DONE]\n\n")])
    assert plain.reasoning_tokens is None
    assert plain.first_content_ns == plain.first_token_ns


def _cache_tail(usage: Mapping[str, object] | None, timings: Mapping[str, object] | None) -> bytes:
    """The last event of a stream: the finish, with the usage and llama.cpp's timings as given."""
    obj: dict[str, object] = {"id": "r1", "choices": [{"index": 0, "delta": {},
                                                        "finish_reason": "length"}]}  # fmt: skip
    if usage is not None:
        obj["usage"] = usage
    if timings is not None:
        obj["timings"] = timings
    return b"data: " + orjson.dumps(obj) + b"\n\ndata: [DONE]\n\n"


def _cached(
    usage: Mapping[str, object] | None, timings: Mapping[str, object] | None
) -> RequestRecord:
    r, _, _ = kept([(1, chunk("a")), (2, chunk("b")), (3, _cache_tail(usage, timings))])
    assert r.ok
    return r


def test_cached_tokens_come_from_the_usage_details() -> None:
    usage = {"prompt_tokens": 40, "completion_tokens": 2,
             "prompt_tokens_details": {"cached_tokens": 32}}  # fmt: skip
    r = _cached(usage, None)
    assert r.cached_input_tokens == 32
    assert r.input_tokens == 40
    # the usage's count wins over llama.cpp's timings when a server sends both
    both = _cached(usage, {"cache_n": 7, "prompt_n": 33})
    assert both.cached_input_tokens == 32
    # a count of 0 is a count (a miss), not a missing one
    zero = _cached({**usage, "prompt_tokens_details": {"cached_tokens": 0}}, {"cache_n": 7})
    assert zero.cached_input_tokens == 0


def test_cached_tokens_fall_back_to_llama_cpp_timings() -> None:
    timings = {"cache_n": 24, "prompt_n": 16, "prompt_ms": 3.5, "predicted_n": 2}
    # usage without prompt_tokens_details (older llama.cpp builds)
    r = _cached({"prompt_tokens": 40, "completion_tokens": 2}, timings)
    assert r.cached_input_tokens == 24
    assert r.server_timings is not None
    assert r.server_timings["cache_n"] == 24
    # details that hold no integer count leave the timings to answer
    odd = _cached({"prompt_tokens": 40, "completion_tokens": 2,
                   "prompt_tokens_details": {"cached_tokens": None}}, timings)  # fmt: skip
    assert odd.cached_input_tokens == 24
    # no usage at all: the timings still say what the cache served
    bare = _cached(None, timings)
    assert bare.cached_input_tokens == 24
    assert bare.tokens_from_usage is False


def test_cached_tokens_unknown_without_either_source() -> None:
    r = _cached({"prompt_tokens": 40, "completion_tokens": 2}, None)
    assert r.cached_input_tokens is None
    no_cache_n = _cached({"prompt_tokens": 40, "completion_tokens": 2},
                         {"prompt_n": 40, "prompt_ms": 9.0})  # fmt: skip
    assert no_cache_n.cached_input_tokens is None
    assert _cached(None, None).cached_input_tokens is None
