"""Trace files for replay: the tokenbench format, Mooncake and BurstGPT imports, refusals."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenbench.errors import ConfigError
from tokenbench.workloads.traces import Trace, TraceRequest, read_trace, write_trace

FIXTURES = Path(__file__).parents[2] / "fixtures" / "traces"


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _refused(path: Path, fmt: str = "auto") -> str:
    with pytest.raises(ConfigError) as info:
        read_trace(path, fmt)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- the fixtures ------------------------------------------------------------------------------


def test_agentic_fixture_sessions_grow_turn_by_turn() -> None:
    trace = read_trace(FIXTURES / "agentic_small.jsonl")
    assert trace.format == "tokenbench"
    assert trace.block_tokens == 64
    assert len(trace.requests) == 12
    sessions: dict[str, list[TraceRequest]] = {}
    for r in trace.requests:
        assert r.session is not None
        sessions.setdefault(r.session, []).append(r)
    assert sorted(sessions) == ["agent-0", "agent-1", "agent-2"]
    for turns in sessions.values():
        assert [r.turn for r in turns] == [0, 1, 2, 3]
        for before, after in itertools.pairwise(turns):
            assert after.blocks[: len(before.blocks)] == before.blocks  # the history is resent
            assert len(after.blocks) > len(before.blocks)
            assert after.tool_ms is not None
        assert turns[0].tool_ms is None
    assert trace.input_tokens[0] == 4 * 64 + 20
    assert trace.requests[0].line == 2  # after the header line


def test_mooncake_fixture() -> None:
    trace = read_trace(FIXTURES / "mooncake_small.jsonl")
    assert trace.format == "mooncake"
    assert trace.block_tokens == 512
    assert len(trace.requests) == 20
    first = trace.requests[0]
    assert first.t_ms == 0  # shifted from the file's 381
    assert trace.requests[1].t_ms == 505 - 381
    assert first.session is None
    assert first.blocks == (0, 1, 2, 3, 4, 5, 1000, 1001)
    assert first.new_tokens == 0
    assert first.output_tokens == 50
    # conversations resend their prefix: a later request starts with an earlier one's blocks
    assert trace.requests[3].blocks[:8] == first.blocks
    assert any("rounded up here to 512 tokens" in n for n in trace.notes)
    assert trace.input_tokens[0] == 8 * 512


def test_burstgpt_fixture_skips_the_failed_row() -> None:
    trace = read_trace(FIXTURES / "burstgpt_small.csv")
    assert trace.format == "burstgpt"
    assert len(trace.requests) == 19
    assert trace.notes == ("skipped 1 row(s) with 0 response tokens (failed in the log)",)
    assert trace.requests[0].t_ms == 0
    assert trace.requests[1].t_ms == pytest.approx((50.7 - 33.9) * 1000)
    assert trace.requests[0].new_tokens == 178
    assert trace.requests[0].output_tokens == 783
    assert trace.requests[0].blocks == ()
    assert trace.requests[0].line == 2
    assert 9 not in [r.line for r in trace.requests]  # the failed row


def test_limit_keeps_the_first_requests() -> None:
    for name in ("agentic_small.jsonl", "mooncake_small.jsonl", "burstgpt_small.csv"):
        trace = read_trace(FIXTURES / name, limit=5)
        assert len(trace.requests) == 5
        assert trace.requests == read_trace(FIXTURES / name).requests[:5]


def test_explicit_formats_and_block_tokens() -> None:
    trace = read_trace(FIXTURES / "mooncake_small.jsonl", "mooncake", block_tokens=256)
    assert trace.block_tokens == 256
    agentic = read_trace(FIXTURES / "agentic_small.jsonl", "tokenbench", block_tokens=32)
    assert agentic.block_tokens == 32
    assert agentic.notes == ("block_tokens 32 given; the file says 64",)


# -- tokenbench format refusals ------------------------------------------------------------------

_OK = {"t_ms": 0, "new_tokens": 5, "output_tokens": 3}


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([_OK, {**_OK, "t_ms": 300}, {**_OK, "t_ms": 120}],
         "line 3: t_ms 120 is before line 2's 300; sort the trace by time"),
        ([_OK, {**_OK, "colour": "red"}], "line 2: unknown field 'colour'"),
        ([_OK, "{not json"], "line 2: not JSON"),
        ([_OK, "[1, 2]"], "line 2: expected a JSON object"),
        ([{"new_tokens": 5, "output_tokens": 3}], "line 1: the required field 't_ms' is missing"),
        ([{"t_ms": 0, "new_tokens": 5}], "line 1: the required field 'output_tokens' is missing"),
        ([{**_OK, "t_ms": -1}], "line 1: t_ms must be a number ≥ 0"),
        ([{**_OK, "t_ms": "0"}], "line 1: t_ms must be a number ≥ 0, not '0'"),
        ([{**_OK, "output_tokens": 0}], "line 1: output_tokens must be a whole number ≥ 1"),
        ([{**_OK, "output_tokens": 2.5}], "line 1: output_tokens must be a whole number ≥ 1"),
        ([{**_OK, "new_tokens": -1}], "line 1: new_tokens must be a whole number ≥ 0"),
        ([{**_OK, "blocks": [1, -2]}], "line 1: blocks must be a list of whole numbers ≥ 0"),
        ([{**_OK, "blocks": "ab"}], "line 1: blocks must be a list"),
        ([{**_OK, "tool_ms": -5}], "line 1: tool_ms must be a number ≥ 0"),
        ([{"t_ms": 0, "output_tokens": 3}], "line 1: the input is empty"),
        ([{**_OK, "turn": 0}], "line 1: turn without a session"),
        ([{**_OK, "session": "a"}], "line 1: session 'a' needs a turn"),
        ([{**_OK, "session": 7, "turn": 0}], "line 1: session must be a non-empty string"),
        ([{**_OK, "session": "a", "turn": 0}, {**_OK, "session": "a", "turn": 2}],
         "line 2: missing session turns: session 'a' turn 2 comes before its turn 1"),
        ([{**_OK, "session": "a", "turn": 1}], "line 1: missing session turns"),
        ([{**_OK, "session": "a", "turn": 0}, {**_OK, "session": "a", "turn": 0}],
         "line 2: session 'a' turn 0 appears twice"),
        ([{"tokenbench_trace": 2}, _OK], "line 1: tokenbench_trace version 2 is not 1"),
        ([{"tokenbench_trace": 1, "block_tokens": 0}, _OK], "line 1: block_tokens must be"),
        ([{"tokenbench_trace": 1, "blocks": 3}, _OK], "line 1: unknown header field 'blocks'"),
        ([_OK, {"tokenbench_trace": 1}], "line 2: unknown field 'tokenbench_trace'"),
        ([{"tokenbench_trace": 1}], "has no requests"),
    ],
)  # fmt: skip
def test_tokenbench_refusals_name_the_line(tmp_path: Path, rows: list[Any], needle: str) -> None:
    path = _write(tmp_path / "t.jsonl", rows)
    message = _refused(path, "tokenbench")
    assert needle in message
    assert str(path) in message


def test_a_header_sets_block_tokens_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.jsonl", [{"tokenbench_trace": 1, "block_tokens": 16}, "", _OK])
    trace = read_trace(path)
    assert trace.block_tokens == 16
    assert trace.requests[0].line == 3
    assert read_trace(_write(tmp_path / "u.jsonl", [{**_OK, "blocks": [1]}])).block_tokens == 64


# -- Mooncake and BurstGPT refusals ------------------------------------------------------------

_MC = {"timestamp": 10, "input_length": 700, "output_length": 20, "hash_ids": [1, 2]}


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([_MC, {**_MC, "timestamp": 5}], "line 2: timestamp 5 is before line 1's 10; sort"),
        ([_MC, {k: v for k, v in _MC.items() if k != "output_length"}],
         "line 2: the Mooncake field 'output_length' is missing"),
        ([{**_MC, "hash_ids": [1, "x"]}], "line 1: hash_ids must be a list"),
        ([{**_MC, "input_length": 0}], "line 1: input_length must be a whole number ≥ 1"),
        ([{**_MC, "output_length": 0}], "line 1: output_length must be a whole number ≥ 1"),
        ([_MC, "{"], "line 2: not JSON"),
        ([_MC, {**_MC, "session_id": 3}], "line 2: unknown Mooncake field 'session_id'"),
    ],
)  # fmt: skip
def test_mooncake_refusals_name_the_line(tmp_path: Path, rows: list[Any], needle: str) -> None:
    assert needle in _refused(_write(tmp_path / "m.jsonl", rows), "mooncake")


def test_mooncake_partial_last_blocks_are_noted_and_tokens_split(tmp_path: Path) -> None:
    rows = [{**_MC, "input_length": 1200}, {**_MC, "timestamp": 20}]
    trace = read_trace(_write(tmp_path / "m.jsonl", rows))
    assert trace.requests[0].new_tokens == 1200 - 2 * 512
    assert trace.notes == (
        "1 of 2 requests' hash_ids cover more than input_length: Mooncake's last block is "
        "partial, and is rounded up here to 512 tokens",
    )


_BURST_HEADER = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        (["Timestamp,Model,Request tokens,Total tokens,Log Type"],
         "line 1: the BurstGPT column 'Response tokens' is missing"),
        ([_BURST_HEADER, "5,GPT-4,10,20,30,API log", "4,GPT-4,10,20,30,API log"],
         "line 3: Timestamp 4 is before line 2's 5; sort the trace by time"),
        ([_BURST_HEADER, "x,GPT-4,10,20,30,API log"], "line 2: Timestamp must be a number"),
        ([_BURST_HEADER, "1,GPT-4,ten,20,30,API log"], "line 2: Request tokens must be a whole"),
        ([_BURST_HEADER, "1,GPT-4,10,-2,30,API log"], "line 2: Response tokens must be a whole"),
        ([_BURST_HEADER, "1,GPT-4,10,20"], "line 2: 4 fields, the header has 6"),
        ([_BURST_HEADER + ",Region", "1,GPT-4,10,20,30,API log,eu"],
         "line 1: unknown BurstGPT column 'Region'"),
        ([_BURST_HEADER, "1,GPT-4,10,0,10,API log"], "has no requests"),
    ],
)  # fmt: skip
def test_burstgpt_refusals_name_the_line(tmp_path: Path, lines: list[str], needle: str) -> None:
    assert needle in _refused(_write(tmp_path / "b.csv", lines), "burstgpt")


def test_burstgpt_rows_without_input_are_skipped_with_a_note(tmp_path: Path) -> None:
    lines = [_BURST_HEADER, "1.5,GPT-4,0,20,20,API log", "", "2,GPT-4,5,20,25,API log"]
    trace = read_trace(_write(tmp_path / "b.csv", lines))
    assert [r.line for r in trace.requests] == [4]
    assert trace.notes == ("skipped 1 row(s) with 0 request tokens",)


def test_burstgpt_that_is_not_csv(tmp_path: Path) -> None:
    huge = "x" * 200_000  # over the csv module's field limit
    assert "b.csv line 2: not valid CSV" in _refused(
        _write(tmp_path / "b.csv", [_BURST_HEADER, huge])
    )
    (tmp_path / "c.csv").write_bytes(_BURST_HEADER.encode() + b"\n\xff\xfe,1\n")
    assert "not UTF-8" in _refused(tmp_path / "c.csv", "burstgpt")


# -- detection and arguments ---------------------------------------------------------------------


def test_auto_detection_refuses_unknown_content(tmp_path: Path) -> None:
    message = _refused(_write(tmp_path / "x.jsonl", [{"time": 1}]))
    assert "tokenbench, mooncake, burstgpt" in message
    assert "--trace-format" in message
    assert "cannot tell" in _refused(_write(tmp_path / "e.jsonl", []))


def test_argument_refusals(tmp_path: Path) -> None:
    path = FIXTURES / "agentic_small.jsonl"
    with pytest.raises(ConfigError, match="--trace-format 'sharegpt': unknown"):
        read_trace(path, "sharegpt")
    with pytest.raises(ConfigError, match="limit must be at least 1"):
        read_trace(path, limit=0)
    with pytest.raises(ConfigError, match="block_tokens 0"):
        read_trace(path, block_tokens=0)
    with pytest.raises(ConfigError, match="No such file"):
        read_trace(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="is a directory"):
        read_trace(tmp_path)


# -- properties --------------------------------------------------------------------------------


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    block_tokens = draw(st.integers(1, 1024))
    n = draw(st.integers(1, 25))
    gaps = draw(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=n, max_size=n))
    t, turns, requests = 0.0, {}, []
    for i, gap in enumerate(gaps):
        t += 0 if i == 0 else gap
        session = draw(st.none() | st.sampled_from(["a", "b", "ç"]))
        turn = None
        if session is not None:
            turn = turns.get(session, 0)
            turns[session] = turn + 1
        blocks = tuple(draw(st.lists(st.integers(0, 2**40), max_size=6)))
        new_tokens = draw(st.integers(0 if blocks else 1, 10**6))
        tool_ms = draw(st.none() | st.floats(0, 1e6, allow_nan=False))
        output = draw(st.integers(1, 10**5))
        requests.append(
            TraceRequest(t, session, turn, blocks, new_tokens, output, tool_ms, line=i + 2)
        )
    return Trace("tokenbench", block_tokens, tuple(requests), ())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(traces())
def test_written_traces_read_back_equal(tmp_path: Path, trace: Trace) -> None:
    path = tmp_path / "t.jsonl"
    write_trace(trace, path)
    assert read_trace(path) == trace
    assert read_trace(path, "tokenbench") == trace


_garbage_line = st.one_of(
    st.text(max_size=60),
    st.dictionaries(
        st.sampled_from(["t_ms", "session", "turn", "blocks", "new_tokens", "output_tokens",
                         "tool_ms", "timestamp", "input_length", "output_length", "hash_ids"]),
        st.one_of(st.none(), st.booleans(), st.integers(-5, 2**70), st.floats(),
                  st.text(max_size=4), st.lists(st.integers(-2, 5), max_size=3)),
    ).map(lambda d: json.dumps(d)),
)  # fmt: skip


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(_garbage_line, min_size=1, max_size=5),
    st.sampled_from(["auto", "tokenbench", "mooncake", "burstgpt"]),
)
def test_garbage_gives_a_config_error_never_another_exception(
    tmp_path: Path, lines: list[str], fmt: str
) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    message = ""
    try:
        trace = read_trace(path, fmt)
        assert trace.requests
        assert trace.requests[0].t_ms == 0
    except ConfigError as exc:
        message = str(exc)
    assert "\n" not in message


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300), st.sampled_from(["auto", "tokenbench", "mooncake", "burstgpt"]))
def test_binary_garbage_gives_a_config_error(tmp_path: Path, data: bytes, fmt: str) -> None:
    path = tmp_path / "g.bin"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        read_trace(path, fmt)
