"""A reasoning model's run: time to the first answer token apart from TTFT, reasoning tokens
from usage, and older envelopes (definitions 1) still recompute as written."""

from __future__ import annotations

import pytest

from tokenbench.metrics.summary import summarize
from tokenbench.records import RequestRecord

MS = 1_000_000


def _record(i: int, first_answer_ms: int | None, reasoning: int | None) -> RequestRecord:
    r = RequestRecord(i, 0, 0, False, f"p{i}", 0, send_ns=0, first_token_ns=20 * MS,
                      chunk_ns=[20 * MS, 30 * MS, 40 * MS], end_ns=50 * MS, output_tokens=3,
                      tokens_from_usage=True, input_tokens=10, finish_reason="stop")  # fmt: skip
    r.first_content_ns = None if first_answer_ms is None else first_answer_ms * MS
    r.reasoning_tokens = reasoning
    return r


def test_time_to_first_answer_token_and_reasoning_tokens() -> None:
    m = summarize([_record(0, 40, 2), _record(1, 30, 1)])
    assert m.ttft_ms is not None
    assert m.ttft_ms.p50 == pytest.approx(20.0)  # the first reasoning token
    ttfat = m.distribution("ttfat_ms")
    assert ttfat is not None
    assert ttfat.min == pytest.approx(30.0)
    assert ttfat.max == pytest.approx(40.0)
    assert m.distributions["ttfat_ms"] == ttfat  # a newer metric: in the open map
    assert m.reasoning_tokens_total == 3
    assert "ttfat_ms" not in m.unmeasured


def test_no_answer_content_and_no_reasoning_usage_are_unmeasured_with_reasons() -> None:
    m = summarize([_record(0, None, None)])
    assert m.distribution("ttfat_ms") is None
    assert "ttfat_ms" not in m.distributions
    assert m.reasoning_tokens_total is None
    assert "answer content" in m.unmeasured["ttfat_ms"]
    assert "reasoning tokens" in m.unmeasured["reasoning_tokens_total"]


def test_definitions_1_does_not_explain_a_field_it_lacks() -> None:
    old = summarize([_record(0, None, None)], definitions=1)
    assert "reasoning_tokens_total" not in old.unmeasured
