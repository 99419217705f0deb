"""Workloads whose requests share text on purpose: shared-prefix prompts, session scripts, a
trace's prompts from its prefix blocks; the suite fields that describe them and the refusals of
their distributions. Token counts come from a fake tokenizer: one token per whitespace word."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from tokenbench.errors import ConfigError
from tokenbench.suites import load_suite
from tokenbench.suites.suite import WorkloadSpec
from tokenbench.workloads.conversations import (
    AGENT_SYSTEM,
    TOOL_RESULT,
    SessionScript,
    SessionShape,
    session_scripts,
    shared_prefix_prompts,
    trace_labels,
    trace_prompts,
)
from tokenbench.workloads.lengths import parse_distribution
from tokenbench.workloads.sources import workload_shape
from tokenbench.workloads.synthetic import WordTable, word_table
from tokenbench.workloads.traces import Trace, TraceRequest


async def words(text: str) -> int:
    """The fake tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def _table() -> WordTable:
    table = asyncio.run(word_table(words))
    assert table is not None
    return table


@pytest.mark.parametrize("table", [None, "built"])
def test_shared_prefix_prompts_share_k_prefixes(table: str | None) -> None:
    k, m, prefix_tokens = 3, 4, 20
    suffixes = [5 + i % 3 for i in range(k * m)]
    prompts = asyncio.run(shared_prefix_prompts(k, prefix_tokens, suffixes, "ns", words,
                                                _table() if table else None))  # fmt: skip
    assert len(prompts) == k * m
    heads = [p.text.split("\n\n")[0] for p in prompts]
    tails = [p.text.split("\n\n")[1] for p in prompts]
    for i, head in enumerate(heads):  # prefix j serves requests j·M … j·M + M − 1
        assert head == heads[(i // m) * m]
        assert len(head.split()) == prefix_tokens
    assert len(set(heads)) == k
    assert len(set(tails)) == k * m  # every request has its own suffix
    assert [len(t.split()) for t in tails] == suffixes
    assert [p.content_tokens for p in prompts] == [prefix_tokens + n for n in suffixes]
    assert len({p.prompt_id for p in prompts}) == k * m


def test_shared_prefix_prompts_are_seeded_by_namespace() -> None:
    def make(namespace: str) -> list[str]:
        made = asyncio.run(shared_prefix_prompts(2, 8, [4] * 4, namespace, words, None))
        return [p.text for p in made]

    assert make("a") == make("a")
    assert make("a") != make("b")


def _shape(agentic: bool, sessions: int = 4) -> SessionShape:
    return SessionShape(
        sessions=sessions,
        turns=parse_distribution("uniform(2,5)", "turns"),
        user_tokens=parse_distribution("uniform(6,12)", "user"),
        output_tokens=parse_distribution("uniform(3,9)", "out"),
        pause_s=parse_distribution("uniform(0.5,1.5)", "pause", integer=False, minimum=0),
        system_tokens=30 if agentic else 0,
        tool_tokens=parse_distribution("uniform(15,20)", "tool") if agentic else None,
    )


def _scripts(agentic: bool, namespace: str = "ns", first: int = 0) -> list[SessionScript]:
    return asyncio.run(session_scripts(_shape(agentic), namespace, words, None, first))


@pytest.mark.parametrize("agentic", [False, True])
def test_session_scripts_are_seeded(agentic: bool) -> None:
    assert _scripts(agentic) == _scripts(agentic)
    assert _scripts(agentic) != _scripts(agentic, "other")


@pytest.mark.parametrize("agentic", [False, True])
def test_session_shapes_turns_lengths_and_pauses(agentic: bool) -> None:
    scripts = _scripts(agentic, first=10)
    assert [s.session for s in scripts] == [10, 11, 12, 13]
    for script in scripts:
        assert 2 <= len(script.turns) <= 5
        assert script.turns[0].pause_s == 0.0  # a session starts at once
        assert all(0.5 <= t.pause_s <= 1.5 for t in script.turns[1:])
        assert all(3 <= t.max_tokens <= 9 for t in script.turns)
        assert 6 <= len(script.turns[0].text.split()) <= 12


def test_multi_turn_sessions_are_user_messages() -> None:
    for script in _scripts(False):
        assert script.system is None
        assert not any(t.text.startswith(TOOL_RESULT) for t in script.turns)
    texts = [t.text for s in _scripts(False) for t in s.turns]
    assert len(set(texts)) == len(texts)  # no two turns repeat (no cache hit but the history)


def test_agentic_sessions_share_a_tool_prompt_and_answer_with_tool_results() -> None:
    scripts = _scripts(True)
    systems = {s.system for s in scripts}
    assert len(systems) == 1
    (system,) = systems
    assert system is not None
    assert system.startswith(AGENT_SYSTEM)
    assert len(system.removeprefix(AGENT_SYSTEM).split()) == 30
    for script in scripts:
        assert not script.turns[0].text.startswith(TOOL_RESULT)
        for turn in script.turns[1:]:
            assert turn.text.startswith(TOOL_RESULT)
            assert 15 <= len(turn.text.removeprefix(TOOL_RESULT).split()) <= 20


BLOCK = 8


def _trace() -> Trace:
    def req(t: float, session: str | None, turn: int | None, blocks: tuple[int, ...], new: int,
            out: int) -> TraceRequest:  # fmt: skip
        return TraceRequest(t, session, turn, blocks, new, out, None, 1)

    return Trace("tokenbench", BLOCK, (
        req(0, "b", 0, (0, 1), 5, 7),
        req(10, "a", 0, (3,), 4, 9),
        req(20, "b", 1, (0, 1, 2), 0, 11),
        req(30, None, None, (), 6, 2),
    ), ())  # fmt: skip


def test_trace_prompts_share_text_where_blocks_are_equal() -> None:
    trace = _trace()
    prompts = asyncio.run(trace_prompts(trace, "ns", words, None))
    assert [p.max_tokens for p in prompts] == [r.output_tokens for r in trace.requests]
    assert [len(p.text.split()) for p in prompts] == trace.input_tokens
    first, other, later, fresh = (p.text.split() for p in prompts)
    shared = 2 * BLOCK  # blocks 0 and 1
    assert later[:shared] == first[:shared]
    assert later[shared : shared + 5] != first[shared:]  # block 2 is not request 0's new text
    assert other[:BLOCK] != first[:BLOCK]  # block 3 is its own text
    assert fresh[:BLOCK] != first[:BLOCK]
    assert asyncio.run(trace_prompts(trace, "ns", words, None)) == prompts


def test_trace_labels_number_sessions_by_first_appearance() -> None:
    # (session, turn, turns of that session in the trace)
    assert trace_labels(_trace()) == ((0, 0, 2), (1, 0, 1), (0, 1, 2), (None, None, None))


@pytest.mark.parametrize(
    ("fields", "words_"),
    [
        ({"kind": "synthetic", "input_tokens": 8}, "needs prompts"),
        ({"kind": "shared_prefix", "prompts": 8, "prefix_tokens": 64},
         "needs prefixes and prefix_tokens"),
        ({"kind": "shared_prefix", "prompts": 8, "prefixes": 3, "prefix_tokens": 64},
         "prefixes × M"),
        ({"kind": "multi_turn", "sessions": 2}, "needs sessions and turns"),
        ({"kind": "multi_turn", "turns": "4"}, "needs sessions and turns"),
        ({"kind": "agentic", "sessions": 2, "turns": "3", "tool_output_len": "50"},
         "needs system_tokens and tool_output_len"),
        ({"kind": "agentic", "sessions": 2, "turns": "3", "system_tokens": 64},
         "needs system_tokens and tool_output_len"),
        ({"kind": "multi_turn", "sessions": 0, "turns": "3"}, "greater than or equal to 1"),
    ],
)  # fmt: skip
def test_workload_spec_refusals(fields: dict[str, object], words_: str) -> None:
    with pytest.raises(ValidationError, match=words_):
        WorkloadSpec.model_validate({"output_tokens": 16, **fields})


def test_new_kinds_validate_and_count_their_prompts() -> None:
    shared = WorkloadSpec(kind="shared_prefix", prompts=8, prefixes=2, prefix_tokens=64,
                          output_tokens=16)  # fmt: skip
    assert shared.prompt_count == 8
    chat = WorkloadSpec(kind="multi_turn", sessions=3, turns="uniform(2,4)", output_tokens=16)
    assert chat.prompt_count == 3


def test_a_bad_session_suite_file_is_one_line(tmp_path: Path) -> None:
    suite = tmp_path / "chat.toml"
    suite.write_text('name = "chat"\ndescription = "d"\nprefix_cache = "allow"\n[workload]\n'
                     'kind = "multi_turn"\nsessions = 2\noutput_tokens = 8\n')  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_suite(str(suite))
    assert "needs sessions and turns" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "name",
    ["llm.inference.shared-prefix", "llm.inference.multi-turn", "llm.inference.agentic",
     "llm.inference.replay"],
)  # fmt: skip
def test_builtin_workload_suites_load_and_allow_the_cache(name: str) -> None:
    suite = load_suite(name)
    assert suite.prefix_cache == "allow"
    assert suite.trace_required == (name == "llm.inference.replay")
    workload_shape(suite.workload)  # their distributions parse


def test_workload_shape_reads_suite_and_flag_distributions() -> None:
    spec = load_suite("llm.inference.agentic").workload
    shape = workload_shape(spec, output_len="uniform(2,4)")
    assert shape.sessions is not None
    assert shape.sessions.system_tokens == spec.system_tokens
    assert shape.sessions.tool_tokens is not None
    assert shape.texts()["output_len"] == shape.sessions.output_tokens.text
    assert all(2 <= n <= 4 for n in shape.sessions.output_tokens.sample_int(50, "s"))
    synthetic = load_suite("llm.inference.chatbot-short").workload
    assert workload_shape(synthetic).sessions is None
    assert workload_shape(synthetic, input_len="uniform(10,20)").input_len is not None


def test_input_len_on_a_sharegpt_suite_is_refused() -> None:
    spec = WorkloadSpec(kind="sharegpt", prompts=4, output_tokens=16)
    with pytest.raises(ConfigError, match="--input-len shapes generated prompts"):
        workload_shape(spec, input_len="uniform(10,20)")
    workload_shape(spec, output_len="8")  # --output-len is fine


@pytest.mark.parametrize(
    ("input_len", "output_len", "flag"),
    [
        ("normal(10,1,min=100,max=50)", None, "--input-len"),
        ("banana", None, "--input-len"),
        (None, "uniform(5)", "--output-len"),
        (None, "-3", "--output-len"),
    ],
)
def test_bad_distributions_name_their_flag(
    input_len: str | None, output_len: str | None, flag: str
) -> None:
    spec = load_suite("llm.inference.chatbot-short").workload
    with pytest.raises(ConfigError) as info:
        workload_shape(spec, input_len, output_len)
    assert str(info.value).startswith(flag)
    assert "\n" not in str(info.value)


def test_a_bad_suite_distribution_names_its_field() -> None:
    spec = WorkloadSpec(kind="multi_turn", sessions=2, turns="sometimes", output_tokens=8)
    with pytest.raises(ConfigError, match=r"workload\.turns"):
        workload_shape(spec)


@pytest.mark.parametrize("agentic", [False, True])
def test_points_share_a_shape_seed_but_not_their_text(agentic: bool) -> None:
    """Two points of a sweep: the same turns, lengths and pauses; different words."""

    def scripts(namespace: str) -> list[SessionScript]:
        return asyncio.run(session_scripts(_shape(agentic), namespace, words, None, 0, "seed"))

    c1, c4 = scripts("0:c1"), scripts("0:c4")
    assert [[(t.max_tokens, t.pause_s) for t in s.turns] for s in c1] == [
        [(t.max_tokens, t.pause_s) for t in s.turns] for s in c4
    ]
    assert [len(t.text.split()) for s in c1 for t in s.turns] == [
        len(t.text.split()) for s in c4 for t in s.turns
    ]
    assert [t.text for s in c1 for t in s.turns] != [t.text for s in c4 for t in s.turns]
