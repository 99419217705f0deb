"""The summary's workload layouts: the "cache" table of a shared-prefix suite (the cache setting,
its hit rate and TTFT of hits against misses, as docs/workloads.md promises) and the "sessions"
table of a conversation suite (sessions done, completion time, sessions per hour, the first turn's
TTFT against the last's), rendered from predicates over hand-made request records."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from tests.support.envelopes import minimal_statement
from tokenbench.compare.summary import SummaryTable
from tokenbench.corpus.rows import SummaryRow, run_row
from tokenbench.envelope.schema import RunPredicate
from tokenbench.metrics.summary import summarize
from tokenbench.records import ErrorKind, RequestRecord
from tokenbench.render.cells import DASH, num
from tokenbench.render.formats import Output, render

MS = 1_000_000  # ns


def _record(i: int, ttft_ms: int, cached: int | None, **extra: Any) -> RequestRecord:
    send = extra.pop("send_ns", i * 200 * MS)
    first = send + ttft_ms * MS
    fields: dict[str, Any] = dict(
        index=i, worker=0, slot=0, warmup=False, prompt_id=f"p{i}", scheduled_ns=send,
        send_ns=send, first_token_ns=first, chunk_ns=[first, first + 5 * MS],
        end_ns=first + 10 * MS, input_tokens=100, cached_input_tokens=cached, output_tokens=2,
        tokens_from_usage=True, http_status=200,
    )  # fmt: skip
    return RequestRecord(**(fields | extra))


def _row(n: int, table: str, records: list[RequestRecord], cache_off: bool = False) -> SummaryRow:
    body = minimal_statement()["predicate"]
    body["run_id"] = f"01ARZ3NDEKTSV4RRFFQ69G{n:04d}"
    body["parameters"]["suite"] |= {"name": f"llm.inference.{table}-suite", "table": table,
                                    "prefix_cache_disabled": cache_off}  # fmt: skip
    body["metrics"] = summarize(records).model_dump(mode="json")
    return run_row(RunPredicate.model_validate(body), f"/runs/{n}.json", None)


def _text(rows: list[SummaryRow]) -> str:
    table = SummaryTable(runs=rows, loaded=len(rows), skipped=[], suites=1,
                         comparability_mismatches=[], evals=[])  # fmt: skip
    out = io.StringIO()
    render(table, "table", Output(Console(file=out, width=160, color_system=None), io.BytesIO()))
    return out.getvalue()


def _line(text: str, run_id: str) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.rstrip().endswith(run_id[-8:])]
    return line


HIT_MS, MISS_MS, CACHED = 20, 80, 80  # a hit: 80 of its 100 input tokens served from the cache


def test_the_cache_layout_shows_the_setting_hit_rate_and_ttft_of_hits_and_misses() -> None:
    # the first request fills the cache, the three after it find their prefix there
    allowed = [_record(0, MISS_MS, 0)] + [_record(i, HIT_MS, CACHED) for i in (1, 2, 3)]
    defeated = [_record(i, MISS_MS, 0) for i in range(4)]
    rows = [_row(1, "cache", allowed), _row(2, "cache", defeated, cache_off=True)]
    assert rows[0].ttft_cache_hit_p50_ms == HIT_MS
    assert rows[0].ttft_cache_miss_p50_ms == MISS_MS
    text = _text(rows)
    header = next(ln for ln in text.splitlines() if "Cache hit" in ln)
    for col in ("Cache", "Cache hit", "TTFT hit p50 (ms)", "TTFT miss p50 (ms)", "TTFT p50 (ms)"):
        assert col in header, header
    assert header.index("TTFT hit") < header.index("TTFT miss")
    hit_rate = 3 * CACHED / (4 * 100)
    on, off = _line(text, rows[0].run_id).split(), _line(text, rows[1].run_id).split()
    assert "allowed" in on
    assert f"{hit_rate:.0%}" in on
    assert [num(HIT_MS), num(MISS_MS)] == on[on.index(f"{hit_rate:.0%}") + 1 :][:2]
    assert "defeated" in off
    # defeated: nothing was a hit, so no TTFT of hits; every request is a miss
    assert ["0%", DASH, num(MISS_MS)] == off[off.index("0%") :][:3]


def test_the_cache_layout_says_unknown_when_the_server_reports_no_cached_count() -> None:
    rows = [_row(1, "cache", [_record(i, MISS_MS, None) for i in range(3)])]
    assert rows[0].prefix_cache_hit_rate is None
    text = _text(rows)
    assert "Cache: allowed" in text  # one row: its setting is said once, above the table
    cells = _line(text, rows[0].run_id).split()
    assert cells[:2] == ["m", "1"]  # model, concurrency
    assert cells[2:5] == [DASH, DASH, DASH]  # hit rate, TTFT of hits, of misses: unknown
    assert cells[5] == num(MISS_MS)  # TTFT itself was measured


TURN_TTFT_MS = (30, 40, 50)  # the history grows: each later turn waits longer for its first token


def _sessions(failed_session: int | None = None) -> list[RequestRecord]:
    out: list[RequestRecord] = []
    for s in range(2):
        for t, ttft in enumerate(TURN_TTFT_MS):
            send = (s * 10 + t) * 300 * MS
            extra: dict[str, Any] = {}
            if s == failed_session and t == len(TURN_TTFT_MS) - 1:
                extra = {
                    "http_status": 500,
                    "error_kind": ErrorKind.HTTP,
                    "error": "HTTP 500",
                    "first_token_ns": None,
                    "chunk_ns": [],
                    "output_tokens": None,
                }
            rec = _record(len(out), ttft, t * 60, send_ns=send, session=s, turn=t,
                          session_turns=len(TURN_TTFT_MS), **extra)  # fmt: skip
            out.append(rec)
    return out


def test_the_sessions_layout_shows_sessions_and_the_first_turn_against_the_last() -> None:
    row = _row(1, "sessions", _sessions())
    text = _text([row])
    header = next(ln for ln in text.splitlines() if "Sessions done" in ln)
    for col in ("Sessions done", "Session p50 (s)", "Sessions/h", "TTFT 1st turn (ms)",
                "TTFT last turn (ms)", "Cache hit"):  # fmt: skip
        assert col in header, header
    cells = _line(text, row.run_id).split()
    assert "2/2" in cells  # both sessions answered every turn
    # each session: its first turn's schedule → its last turn's end
    session_s = ((len(TURN_TTFT_MS) - 1) * 300 + TURN_TTFT_MS[-1] + 10) / 1000
    assert row.session_p50_s == session_s
    assert row.sessions_per_hour is not None
    done = cells.index("2/2")
    assert cells[done + 1 : done + 5] == [
        num(session_s, 2), num(row.sessions_per_hour), num(TURN_TTFT_MS[0]),
        num(TURN_TTFT_MS[-1]),
    ]  # fmt: skip
    cached = sum(t * 60 for t in range(len(TURN_TTFT_MS))) * 2
    assert cells[done + 5] == f"{cached / (2 * len(TURN_TTFT_MS) * 100):.0%}"


def test_a_failed_session_counts_against_the_sessions_done() -> None:
    row = _row(1, "sessions", _sessions(failed_session=1))
    cells = _line(_text([row]), row.run_id).split()
    assert "1/2" in cells  # one of two sessions lost its last turn
    assert cells[-2] == "1"  # the failed request, in the errors column
