"""Tokenizer-fair speed: bytes/s and words/s of the generated text over the output throughput's
window, tokens per word, and nulls with a reason for records that predate the counts."""

from __future__ import annotations

import pytest

from tokenbench.metrics.summary import summarize
from tokenbench.records import ErrorKind, RequestRecord

MS = 1_000_000
S = 1_000_000_000
_TEXT = ("output_bytes_total", "output_words_total", "output_bytes_per_s", "output_words_per_s",
         "tokens_per_word")  # fmt: skip


def _rec(
    index: int,
    send_ns: int,
    end_ns: int,
    tokens: int,
    n_bytes: int | None,
    words: int | None,
    *,
    warmup: bool = False,
    cooldown: bool = False,
    error: ErrorKind | None = None,
) -> RequestRecord:
    """`tokens` one-token chunks spread evenly between the send and the end."""
    step = (end_ns - send_ns) // (tokens + 1)
    chunks = [send_ns + step * (i + 1) for i in range(tokens)]
    return RequestRecord(
        index=index, worker=0, slot=0, warmup=warmup, prompt_id="p", scheduled_ns=send_ns,
        send_ns=send_ns, first_token_ns=chunks[0], chunk_ns=chunks, end_ns=end_ns,
        input_tokens=4, output_tokens=tokens, tokens_from_usage=True, finish_reason="stop",
        cooldown=cooldown, error_kind=error, output_bytes=n_bytes, output_words=words,
    )  # fmt: skip


def test_bytes_and_words_per_second_share_the_token_throughputs_window() -> None:
    records = [
        _rec(0, 0, 2 * S, tokens=40, n_bytes=120, words=30, warmup=True),  # not measured
        _rec(1, 2 * S, 4 * S, tokens=60, n_bytes=250, words=50),
        _rec(2, 3 * S, 6 * S, tokens=90, n_bytes=350, words=70),
        _rec(3, 3 * S, 5 * S, tokens=10, n_bytes=None, words=None, error=ErrorKind.DISCONNECT),
    ]
    m = summarize(records)
    assert m.duration_s == pytest.approx(4.0)
    assert (m.output_bytes_total, m.output_words_total) == (600, 120)
    assert m.output_throughput_tok_per_s == pytest.approx(150 / 4)
    assert m.output_bytes_per_s == pytest.approx(600 / 4)
    assert m.output_words_per_s == pytest.approx(120 / 4)
    assert m.tokens_per_word == pytest.approx(150 / 120)
    assert not set(_TEXT) & set(m.unmeasured)


def test_records_older_than_the_counts_give_nulls_with_the_reason() -> None:
    old = [_rec(i, i * S, (i + 1) * S, tokens=10, n_bytes=None, words=None) for i in range(3)]
    m = summarize(old)
    assert m.output_throughput_tok_per_s is not None
    for name in _TEXT:
        assert getattr(m, name) is None, name
        assert "older" in m.unmeasured[name]
    # one uncounted successful request is enough: a partial total would be too low
    mixed = summarize([*old[:2], _rec(2, 2 * S, 3 * S, tokens=10, n_bytes=40, words=8)])
    assert mixed.output_bytes_per_s is None
    assert "output_bytes_per_s" in mixed.unmeasured


def test_no_words_leaves_tokens_per_word_null_and_words_per_second_zero() -> None:
    cjk = [_rec(0, 0, S, tokens=12, n_bytes=36, words=0)]  # e.g. text with no whitespace at all
    m = summarize(cjk)
    assert m.output_bytes_per_s == pytest.approx(36.0)
    assert m.output_words_per_s == 0.0
    assert m.tokens_per_word is None
    assert m.unmeasured["tokens_per_word"] == "the successful requests generated no words"


def test_no_duration_gives_no_rates_and_a_failure_only_run_gives_zero() -> None:
    never_sent = _rec(0, 0, S, tokens=5, n_bytes=None, words=None, error=ErrorKind.CONNECT)
    never_sent.send_ns = None
    m = summarize([never_sent])
    assert m.output_bytes_per_s is m.output_throughput_tok_per_s is None
    assert m.unmeasured["output_bytes_per_s"] == m.unmeasured["duration_s"]
    failed = summarize([_rec(0, 0, S, tokens=5, n_bytes=None, words=None,
                             error=ErrorKind.TIMEOUT)])  # fmt: skip
    assert failed.output_bytes_per_s == failed.output_throughput_tok_per_s == 0.0
    assert failed.tokens_per_word is None  # nothing succeeded: no words


def test_cooldown_window_prorates_each_requests_text_by_its_tokens_in_the_window() -> None:
    # two requests of 10 tokens; the window [1 s, 3 s] holds half of the first's and all the
    # second's tokens
    a = _rec(0, 0, 2 * S + 1, tokens=10, n_bytes=100, words=20)
    b = _rec(1, 1 * S, 3 * S - 1, tokens=10, n_bytes=60, words=10)
    tail = _rec(2, 2 * S, 5 * S, tokens=10, n_bytes=999, words=99, cooldown=True)
    window = (1 * S, 3 * S)
    m = summarize([a, b, tail], window_ns=window)
    in_window_a = sum(1 for t in a.chunk_ns if window[0] <= t <= window[1])
    in_tail = sum(1 for t in tail.chunk_ns if window[0] <= t <= window[1])
    expected_bytes = 100 * in_window_a / 10 + 60 + 999 * in_tail / 10
    assert m.window_output_tokens == pytest.approx(in_window_a + 10 + in_tail)
    assert m.output_bytes_per_s == pytest.approx(expected_bytes / 2)
    assert m.output_throughput_tok_per_s == pytest.approx(m.window_output_tokens / 2)
    # the totals and the ratio are over the measured requests, as the token totals are
    assert (m.output_bytes_total, m.output_words_total) == (160, 30)
    assert m.tokens_per_word == pytest.approx(20 / 30)


def test_same_text_more_tokens_is_more_tok_per_s_not_more_words_per_s() -> None:
    """A tokenizer that cuts the same text into 20% more tokens looks 20% faster in tok/s."""
    fine = [_rec(i, i * S, (i + 1) * S, tokens=120, n_bytes=500, words=100) for i in range(4)]
    coarse = [_rec(i, i * S, (i + 1) * S, tokens=100, n_bytes=500, words=100) for i in range(4)]
    a, b = summarize(fine), summarize(coarse)
    assert a.output_throughput_tok_per_s == pytest.approx(
        1.2 * (b.output_throughput_tok_per_s or 0)
    )
    assert a.output_words_per_s == pytest.approx(b.output_words_per_s)
    assert a.output_bytes_per_s == pytest.approx(b.output_bytes_per_s)
    assert (a.tokens_per_word, b.tokens_per_word) == pytest.approx((1.2, 1.0))
