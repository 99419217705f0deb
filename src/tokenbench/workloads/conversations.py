"""Workloads whose requests share text on purpose: shared-prefix prompts, multi-turn and agentic
sessions (seeded scripts the session runner plays, history growing turn by turn), and a trace's
requests built from its hashed prefix blocks. All text is seeded synthetic words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenbench.workloads.lengths import Distribution
from tokenbench.workloads.prompt import Prompt, prompt_id
from tokenbench.workloads.synthetic import TokenCounter, WordTable, synthetic_texts
from tokenbench.workloads.traces import Trace

TOOL_RESULT = "Tool result:"  # what starts each later turn of an agentic session
AGENT_SYSTEM = "You are an agent. You can call these tools:"


@dataclass(frozen=True, slots=True)
class Turn:
    text: str  # the new message of this turn: the user's, or a tool's result
    max_tokens: int
    pause_s: float = 0.0  # before this turn, from the end of the previous answer


@dataclass(frozen=True, slots=True)
class SessionScript:
    session: int
    turns: tuple[Turn, ...]
    system: str | None = None  # a system prompt every turn starts with (an agent's tools)


async def shared_prefix_prompts(
    prefixes: int, prefix_tokens: int, suffix_tokens: Sequence[int], namespace: str,
    counter: TokenCounter, table: WordTable | None,
) -> list[Prompt]:  # fmt: skip
    """K prefixes of L tokens, each followed by its share of the distinct suffixes: prefix k
    serves requests k·M … k·M + M − 1 (M = suffixes / K), in that order."""
    heads = await synthetic_texts([prefix_tokens] * prefixes, f"{namespace}:prefix", counter,
                                  table)  # fmt: skip
    tails = await synthetic_texts(suffix_tokens, f"{namespace}:suffix", counter, table)
    per = len(tails) // prefixes
    out = []
    for i, tail in enumerate(tails):
        head = heads[min(i // per, prefixes - 1)]
        text = f"{head.text}\n\n{tail.text}"
        known = head.content_tokens is not None and tail.content_tokens is not None
        tokens = (head.content_tokens or 0) + (tail.content_tokens or 0) if known else None
        out.append(Prompt(text, prompt_id(text), tokens))
    return out


@dataclass(frozen=True, slots=True)
class SessionShape:
    """The seeded shape of a session workload: how many turns, how long each message and
    answer, and how long the user thinks (or the tool runs) between turns."""

    sessions: int
    turns: Distribution
    user_tokens: Distribution  # the first message (multi-turn: every user message)
    output_tokens: Distribution
    pause_s: Distribution  # think time, or tool latency
    system_tokens: int = 0  # agentic: the shared tool-definition prompt
    tool_tokens: Distribution | None = None  # agentic: each later turn's tool result


async def session_scripts(
    shape: SessionShape, namespace: str, counter: TokenCounter, table: WordTable | None,
    first: int = 0, shape_seed: str | None = None,
) -> list[SessionScript]:  # fmt: skip
    """Sessions `first` … `first + shape.sessions − 1`: their text seeded by `namespace`, their
    shape (turns, lengths, pauses) by `shape_seed` (default: the namespace), so the points of a
    sweep can send the same shape in fresh words. With `tool_tokens` (agentic) every session
    shares one system prompt and its later turns are tool results; otherwise every turn is a
    user message."""
    seed = shape_seed or namespace
    turns = shape.turns.sample_int(shape.sessions, f"{seed}:turns")
    total = sum(turns)
    lengths = shape.user_tokens.sample_int(total, f"{seed}:user")
    if shape.tool_tokens is not None:
        tool = shape.tool_tokens.sample_int(total, f"{seed}:tool")
        starts = {sum(turns[:i]) for i in range(len(turns))}
        lengths = [n if j in starts else tool[j] for j, n in enumerate(lengths)]
    texts = await synthetic_texts(lengths, f"{namespace}:text", counter, table)
    outputs = shape.output_tokens.sample_int(total, f"{seed}:output")
    pauses = shape.pause_s.sample(total, f"{seed}:pause")
    system = None
    if shape.system_tokens:
        (tools,) = await synthetic_texts([shape.system_tokens], f"{namespace}:system", counter,
                                         table)  # fmt: skip
        system = f"{AGENT_SYSTEM} {tools.text}"
    scripts, j = [], 0
    for s, count in enumerate(turns):
        session_turns = []
        for k in range(count):
            text = texts[j].text
            if k and shape.tool_tokens is not None:
                text = f"{TOOL_RESULT} {text}"
            session_turns.append(Turn(text, outputs[j], pauses[j] if k else 0.0))
            j += 1
        scripts.append(SessionScript(first + s, tuple(session_turns), system))
    return scripts


async def trace_prompts(
    trace: Trace, namespace: str, counter: TokenCounter, table: WordTable | None
) -> list[Prompt]:
    """One prompt per trace request: its blocks' texts (equal block ids, equal text, so the
    engine's prefix cache sees what the trace's engine saw) and then its new tokens."""
    ids = sorted({b for r in trace.requests for b in r.blocks})
    texts = await synthetic_texts([trace.block_tokens] * len(ids), f"{namespace}:blocks",
                                  counter, table)  # fmt: skip
    block_text = {b: t.text for b, t in zip(ids, texts, strict=True)}
    fresh = [r.new_tokens for r in trace.requests]
    news = await synthetic_texts([n for n in fresh if n], f"{namespace}:new", counter, table)
    out, k = [], 0
    for r in trace.requests:
        parts = [block_text[b] for b in r.blocks]
        if r.new_tokens:
            parts.append(news[k].text)
            k += 1
        text = " ".join(parts)
        out.append(Prompt(text, prompt_id(text), None, max_tokens=r.output_tokens))
    return out


Label = tuple[int | None, int | None, int | None]  # (session, turn, the session's turns)


def trace_labels(trace: Trace) -> tuple[Label, ...]:
    """(session number, turn, turns of that session in the trace) of each request; sessions
    numbered by first appearance."""
    numbers: dict[str, int] = {}
    turns: dict[str, int] = {}
    for r in trace.requests:
        if r.session is not None:
            numbers.setdefault(r.session, len(numbers))
            turns[r.session] = turns.get(r.session, 0) + 1
    return tuple(
        (None, None, None) if r.session is None else (numbers[r.session], r.turn, turns[r.session])
        for r in trace.requests
    )
