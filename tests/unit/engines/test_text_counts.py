"""The generated text's UTF-8 bytes and words, counted as the stream is parsed: multi-byte
characters, words split across chunks, reasoning and tool-call arguments, and older sidecars."""

from __future__ import annotations

import orjson
import pytest

from tokenbench.engines.http1 import Response
from tokenbench.engines.openai import Api, StreamParser, TextCount, parse_stream
from tokenbench.records import RequestRecord, read_records

DONE = b"data: [DONE]\n\n"


def blank() -> RequestRecord:
    return RequestRecord(index=0, worker=0, slot=0, warmup=False, prompt_id="p", scheduled_ns=0)


def delta_chunk(**delta: object) -> bytes:
    obj = {"id": "r1", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def parsed(chunks: list[bytes], api: Api = Api.CHAT) -> RequestRecord:
    pieces = [(i + 1, c) for i, c in enumerate([*chunks, DONE])]
    r = blank()
    parse_stream(Response(200, {}, pieces, len(pieces) + 1, True), api, r, 0)
    assert r.ok, r.error
    return r


def counted(texts: list[str]) -> tuple[int, int]:
    r = parsed([delta_chunk(content=t) for t in texts])
    assert r.output_bytes is not None
    assert r.output_words is not None
    return r.output_bytes, r.output_words


@pytest.mark.parametrize(
    "texts",
    [
        ["Hel", "lo wor", "ld"],  # words split across chunks count once
        ["Hello", " ", "world", "\n"],  # whitespace-only chunks
        ["  Hello  world  "],
        ["Hello ", "world"],
        ["Hello", " world"],
        ["H", "e", "l", "l", "o", "\t", "w", "o", "r", "l", "d"],  # one character a chunk
    ],
)
def test_words_are_those_of_the_joined_text(texts: list[str]) -> None:
    joined = "".join(texts)
    assert counted(texts) == (len(joined.encode()), len(joined.split())) == (len(joined), 2)


def test_multi_byte_utf8_counts_bytes_not_characters() -> None:
    texts = ["café ", "naï", "ve 日本", "語 🙂", "\u00a0end"]  # NBSP is whitespace to split()
    joined = "".join(texts)
    n_bytes, n_words = counted(texts)
    assert n_bytes == len(joined.encode("utf-8")) == 32
    assert n_bytes > len(joined)
    assert n_words == len(joined.split()) == 5


def test_cjk_without_spaces_is_one_word_a_run() -> None:
    """No spaces, no word breaks: words/s undercounts such text and bytes/s is the fair unit."""
    text = "東京は日本の首都です"
    assert counted([text[:4], text[4:]]) == (len(text.encode()), 1)


def test_reasoning_and_answer_are_both_counted_and_never_join_a_word() -> None:
    # the reasoning ends inside "think" and the answer starts with "Answer": two texts
    chunks = [dict(reasoning_content="I th"), dict(reasoning_content="ink"),
              dict(content="Answer:"), dict(content=" B", reasoning="er")]  # fmt: skip
    r = parsed([delta_chunk(**c) for c in chunks])
    assert r.output_bytes == len("I thinker" + "Answer: B")
    assert r.output_words == 2 + 2


def test_tool_call_arguments_are_counted_per_call() -> None:
    first = {"index": 0, "id": "c1", "type": "function",
             "function": {"name": "lookup", "arguments": '{"q": "Par'}}  # fmt: skip
    second = {"index": 1, "function": {"name": "weather", "arguments": '{"city":'}}
    r = parsed([
        delta_chunk(tool_calls=[first]),
        delta_chunk(tool_calls=[{"index": 0, "function": {"arguments": 'is"}'}}, second]),
        delta_chunk(tool_calls=[{"index": 1, "function": {"arguments": ' "Rome"}'}}]),
    ])  # fmt: skip
    args0, args1 = '{"q": "Paris"}', '{"city": "Rome"}'
    assert r.output_bytes == len(args0) + len(args1)  # names are not generated text
    assert r.output_words == len(args0.split()) + len(args1.split()) == 4
    assert r.first_content_ns == 1  # still an answer token


def test_completions_text_is_counted() -> None:
    def c(text: str) -> bytes:
        return b"data: " + orjson.dumps({"choices": [{"text": text}]}) + b"\n\n"

    r = parsed([c("one tw"), c("o thr"), c("ée")], Api.COMPLETIONS)
    assert (r.output_bytes, r.output_words) == (len("one two thrée".encode()), 3)


def test_a_failed_request_has_no_counts() -> None:
    r = blank()
    pieces = [(1, delta_chunk(content="partial answer"))]  # cut before the end
    parse_stream(Response(200, {}, pieces, 2, False), Api.CHAT, r, 0)
    assert not r.ok
    assert (r.output_bytes, r.output_words) == (None, None)


def test_the_counts_are_written_and_an_older_sidecar_reads_as_none() -> None:
    r = parsed([delta_chunk(content="two words")])
    assert orjson.loads(r.to_json())["output_bytes"] == len("two words")
    (again,) = read_records(r.to_json())
    assert (again.output_bytes, again.output_words) == (9, 2)
    old = orjson.loads(r.to_json())
    del old["output_bytes"], old["output_words"]
    (older,) = read_records(orjson.dumps(old))
    assert (older.output_bytes, older.output_words) == (None, None)


def test_text_count_keeps_streams_apart() -> None:
    count = TextCount()
    for stream, text in [("a", "ab"), ("b", "cd"), ("a", "ef gh"), ("b", " ij")]:
        count.add(stream, text)
    assert (count.close().bytes, count.words) == (12, 4)  # abef gh | cd ij


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_a_word_across_a_batch_boundary_counts_once(offset: int) -> None:
    """Chunks are counted a batch at a time: a word may straddle two batches."""
    pieces = ["x"] * offset + ["wo", "rd ", "é"] * (TextCount.BATCH + 5)
    joined = "".join(pieces)
    count = TextCount()
    for piece in pieces:
        count.add("content", piece)
    assert (count.close().bytes, count.words) == (len(joined.encode()), len(joined.split()))


def test_text_is_counted_as_it_streams_before_the_end() -> None:
    """The counts are gathered in feed(), so nothing keeps the text to count it at the end."""
    r = blank()
    parser = StreamParser(Api.CHAT, r, 0)
    assert parser.text is None  # no text kept
    parser.feed(1, delta_chunk(content="a b"))
    parser.feed(2, delta_chunk(content="c"))
    parser.feed(3, DONE)
    parser.finish(Response(200, {}, [], 4, True))
    assert (r.output_bytes, r.output_words) == (4, 2)
