"""Prompt sources, one per workload kind (synthetic, fixed, the user's file, ShareGPT): each makes
the sweep's calibration once (a preflight request, and how long a prompt must be to reach the
target input length through the server's template); every point then draws its own prompts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tokenbench.digests import file_sha256
from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import GenerationParams, measure, request_body
from tokenbench.errors import ConfigError, EngineError, ServerLost
from tokenbench.records import RequestRecord
from tokenbench.suites.suite import SESSION_KINDS, Suite, WorkloadSpec
from tokenbench.workloads.conversations import (
    Label,
    SessionScript,
    SessionShape,
    session_scripts,
    shared_prefix_prompts,
    trace_labels,
    trace_prompts,
)
from tokenbench.workloads.datasets import load_dataset
from tokenbench.workloads.lengths import Distribution, parse_distribution
from tokenbench.workloads.prompt import Prompt, prompt_id
from tokenbench.workloads.sharegpt import ShareGptSampler
from tokenbench.workloads.synthetic import (
    TokenCounter,
    WordTable,
    server_tokenizer,
    synthetic_prompts,
    synthetic_texts,
    word_table,
)
from tokenbench.workloads.traces import Trace, read_trace
from tokenbench.workloads.user_file import load_prompts_file

_CALIBRATION_TOKENS = 32
WARMUP_OUTPUT_TOKENS = 16  # a trace's or shared prefixes' warmup requests


@dataclass(frozen=True, slots=True)
class LoadedTrace:
    """A trace read for replay, its times divided by the speedup."""

    trace: Trace
    file_name: str
    sha256: str
    speedup: float

    @property
    def offsets_ns(self) -> tuple[int, ...]:
        return tuple(int(r.t_ms * 1e6 / self.speedup) for r in self.trace.requests)


def load_trace(
    path: Path, fmt: str, block_tokens: int | None, speedup: float, limit: int | None
) -> LoadedTrace:
    """Read and check a trace file (every mistake: one line naming the line)."""
    trace = read_trace(path, fmt, block_tokens=block_tokens, limit=limit)
    # streamed: a trace may be up to a GiB
    return LoadedTrace(trace, path.name, file_sha256(path), speedup)


@dataclass(frozen=True, slots=True)
class PromptFile:
    """The user's prompts file (--prompts, --dataset) by name and content digest, so the
    envelope says which prompts were sent; `columns`: --dataset's --column mapping as given."""

    file_name: str
    sha256: str
    columns: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Shape:
    """The workload's seeded distributions, parsed once (a mistake stops the run before the
    server starts): input and output lengths, and a session workload's shape."""

    input_len: Distribution | None = None  # --input-len or the suite's input_len
    output_len: Distribution | None = None
    sessions: SessionShape | None = None

    def texts(self) -> dict[str, str]:
        """The distributions as given, for the envelope."""
        out = {}
        if self.input_len is not None:
            out["input_len"] = self.input_len.text
        if self.output_len is not None:
            out["output_len"] = self.output_len.text
        if self.sessions is not None:
            shape = self.sessions
            out |= {"turns": shape.turns.text, "think_time_s": shape.pause_s.text,
                    "user_len": shape.user_tokens.text, "session_output_len":
                    shape.output_tokens.text}  # fmt: skip
            if shape.tool_tokens is not None:
                out["tool_output_len"] = shape.tool_tokens.text
        return out


def workload_shape(
    spec: WorkloadSpec, input_len: str | None = None, output_len: str | None = None
) -> Shape:
    """The suite's distributions, `--input-len` / `--output-len` replacing its own."""
    inputs = _dist(input_len, "--input-len") or _dist(spec.input_len, "workload.input_len")
    outputs = _dist(output_len, "--output-len") or _dist(spec.output_len, "workload.output_len")
    if inputs is not None and spec.kind not in ("synthetic", "shared_prefix", *SESSION_KINDS):
        raise ConfigError(f"--input-len shapes generated prompts; the {spec.kind} workload "
                          "brings its own lengths")  # fmt: skip
    sessions = None
    if spec.kind in SESSION_KINDS:
        fixed_in = str(spec.input_tokens or 64)
        sessions = SessionShape(
            sessions=spec.sessions or 1,
            turns=_need(spec.turns, "workload.turns"),
            user_tokens=inputs or parse_distribution(fixed_in, "workload.input_tokens"),
            output_tokens=outputs or parse_distribution(str(spec.output_tokens),
                                                        "workload.output_tokens"),
            pause_s=parse_distribution(spec.think_time_s or "0", "workload.think_time_s",
                                       integer=False, minimum=0),
            system_tokens=spec.system_tokens or 0,
            tool_tokens=_dist(spec.tool_output_len, "workload.tool_output_len"),
        )  # fmt: skip
    return Shape(inputs, outputs, sessions)


def _dist(text: str | None, flag: str) -> Distribution | None:
    return None if text is None else parse_distribution(text, flag)


def _need(text: str | None, flag: str) -> Distribution:
    assert text is not None  # the suite's validator requires it
    return parse_distribution(text, flag)


@dataclass(frozen=True, slots=True)
class Calibration:
    """What every point's prompts are built from: the prompt text length that yields the target
    input length once the server's template is applied."""

    kind: str  # "synthetic", "fixed", "file" (--prompts) or "sharegpt"
    target: int | None  # input tokens per request (synthetic), or as counted (fixed)
    content_tokens: int | None  # tokens of the prompt text alone
    overhead: int | None  # tokens the chat template / BOS adds
    fixed_prompt: str | None
    notes: tuple[str, ...]
    file_prompts: tuple[Prompt, ...] | None = None  # --prompts, or the first ShareGPT draw
    pool: PromptPool | None = None  # where each point draws its file or ShareGPT prompts
    words: WordTable | None = None  # synthetic: the server's token count of each word
    shape: Shape = Shape()
    spec: WorkloadSpec | None = None  # the suite's workload, for kinds that build their own
    trace: LoadedTrace | None = None  # --trace: the requests to replay
    prompt_file: PromptFile | None = None  # --prompts or --dataset
    # what seeds the draws of lengths, turns and pauses: the run's seed alone, so every point
    # (and repeat) of a sweep sends the same shape; only the words differ between points
    shape_seed: str = "0:shape"

    def for_length(self, target: int) -> Calibration:
        """The same calibration aimed at another input length (a context-sweep point)."""
        overhead = self.overhead or 0
        notes = self.notes
        if overhead >= target:
            notes = (*notes, f"the template alone takes {overhead} tokens; {target} cannot be met")
        return replace(self, target=target, content_tokens=max(1, target - overhead), notes=notes)


class PromptPool:
    """File and ShareGPT prompts, drawn in order across the points of a sweep: a point never
    re-sends a prompt an earlier point sent, which a prefix-caching engine would serve from its
    cache. ShareGPT draws more conversations as needed; when the source runs out, the pool starts
    over and the point's notes say so."""

    __slots__ = ("_drawn", "_next", "_sampler")

    def __init__(self, first: list[Prompt], sampler: ShareGptSampler | None = None) -> None:
        self._drawn = list(first)
        self._sampler = sampler
        self._next = 0

    async def take(self, count: int, cache_disabled: bool) -> tuple[list[Prompt], list[str]]:
        """The next `count` prompts (all of them, cycled by the plan, when the source has
        fewer), and notes on any reuse."""
        missing = self._next + count - len(self._drawn)
        if missing > 0 and self._sampler is not None:
            self._drawn += await self._sampler.take(missing)
        notes = []
        if self._next and self._next + count > len(self._drawn):
            self._next = 0
            cache = (
                "the engine was told not to use its prefix cache"
                if cache_disabled
                else "this engine cannot be told to skip its prefix cache, so repeats may be "
                "served from it; see cached_input_tokens_total"
            )
            notes.append(
                f"the {len(self._drawn)} prompts ran out: this point re-sends prompts an earlier "
                f"point sent ({cache})"
            )
        chosen = self._drawn[self._next : self._next + count]
        self._next += len(chosen)
        if len(chosen) < count:
            notes.append(
                f"{len(chosen)} prompts for {count} requests: prompts repeat, and an "
                "engine's prefix cache may serve the repeats"
            )
        return chosen, notes


async def _preflight(
    client: HttpClient, params: GenerationParams, prompt: Prompt, timeout_s: float, retries: int
) -> RequestRecord:
    """One short request before measuring: proves the endpoint serves the model, and reports the
    prompt tokens the server counted. A server-side refusal stops the run with its message."""
    record = RequestRecord(0, 0, -2, True, prompt.prompt_id, 0)
    body = request_body(params, prompt.text, 1, prompt.messages)
    # No idle limit: a first request may wait out a model load or a long prefill.
    await measure(client, params.api, body, record, 0, -2, Timeouts(timeout_s), retries)
    if record.error_kind is not None:
        raise EngineError(
            f"{client.endpoint.url} refused the first request: {record.error or record.error_kind}"
        )
    return record


@dataclass(frozen=True, slots=True)
class _Ask:
    """What a source needs to calibrate against the server."""

    spec: WorkloadSpec
    client: HttpClient
    params: GenerationParams
    seed: int
    timeout_s: float
    retries: int

    async def preflight(self, prompt: Prompt) -> RequestRecord:
        return await _preflight(self.client, self.params, prompt, self.timeout_s, self.retries)


async def calibrate(
    suite: Suite,
    client: HttpClient,
    params: GenerationParams,
    seed: int,
    timeout_s: float,
    retries: int = 0,
    prompts_file: Path | None = None,
    shape: Shape | None = None,
    dataset: tuple[Path, dict[str, str] | None] | None = None,
) -> Calibration:
    """The calibration before any point, by the workload's source (`--prompts` replaces the
    suite's own); a server lost here fails like one that never answered (nothing was measured,
    exit 2)."""
    ask = _Ask(suite.workload, client, params, seed, timeout_s, retries)
    try:
        if prompts_file is not None:
            return await _file_source(ask, prompts_file)
        if dataset is not None:
            return await _file_source(ask, dataset[0], dataset[1] or {})
        cal = await _SOURCES[suite.workload.kind](ask)
        return replace(cal, shape=shape or Shape(), spec=suite.workload,
                       shape_seed=f"{seed}:shape")  # fmt: skip
    except ServerLost as exc:
        why = f"{exc} (while calibrating prompt lengths; nothing was measured)"
        raise EngineError(why) from None


async def _file_source(ask: _Ask, path: Path, columns: dict[str, str] | None = None) -> Calibration:
    """--prompts FILE, or --dataset FILE with its --column mapping: the user's prompts, drawn in
    order across the points."""
    if columns is None:
        prompts = tuple(await asyncio.to_thread(load_prompts_file, path))
    else:
        prompts = tuple(await asyncio.to_thread(load_dataset, path, columns))
    await ask.preflight(prompts[0])
    note = f"{len(prompts)} prompts from {path.name}"
    source = PromptFile(path.name, await asyncio.to_thread(file_sha256, path), columns)
    return Calibration("file", None, None, None, None, (note,), prompts, PromptPool(list(prompts)),
                       prompt_file=source)  # fmt: skip


async def _sharegpt_source(ask: _Ask) -> Calibration:
    """Real conversations, seeded, drawn afresh for each point as far as they last."""
    spec = ask.spec
    counter = server_tokenizer(ask.client, ask.params.model, timeout_s=ask.timeout_s)
    sampler = await asyncio.to_thread(
        ShareGptSampler, ask.seed, counter, max_output_tokens=spec.output_tokens
    )
    sampled = await sampler.take_first(spec.prompt_count)
    await ask.preflight(sampled[0])
    notes = [f"ShareGPT V3 conversations, seed {ask.seed}, drawn afresh for each point"]
    if not sampler.exact:
        notes.append("the server has no /tokenize: lengths were estimated from words")
    return Calibration("sharegpt", None, None, None, None, tuple(notes), tuple(sampled),
                       PromptPool(sampled, sampler))  # fmt: skip


async def _fixed_source(ask: _Ask) -> Calibration:
    """One prompt for every request (single-prompt suites), its length as the server counts it."""
    text = ask.spec.prompt
    assert text is not None
    pre = await ask.preflight(Prompt(text, prompt_id(text), None))
    repeat = (
        "the same prompt repeats and this engine cannot be told to skip its prefix cache; "
        "see cached_input_tokens_total"
    )
    notes = () if ask.params.disable_prefix_cache else (repeat,)
    return Calibration("fixed", pre.input_tokens, None, None, text, notes)


async def _synthetic_source(ask: _Ask) -> Calibration:
    """Exact-length synthetic prompts: the template's overhead measured once by a preflight,
    the server's token count of each filler word read once, prompts assembled locally."""
    target = ask.spec.input_tokens
    assert target is not None
    counter = server_tokenizer(ask.client, ask.params.model, timeout_s=ask.timeout_s)
    words = await word_table(counter)  # once a sweep: points then assemble prompts locally
    probe = (await synthetic_prompts(1, _CALIBRATION_TOKENS, f"{ask.seed}:calibration", counter))[0]
    pre = await ask.preflight(probe)
    if pre.input_tokens is not None and probe.content_tokens is not None:
        overhead: int | None = pre.input_tokens - probe.content_tokens
        notes: tuple[str, ...] = ()
    else:
        overhead = None
        notes = (
            "the server reports no prompt token count or has no /tokenize: "
            "input lengths are approximate",
        )
    cal = Calibration("synthetic", None, None, overhead, None, notes, words=words)
    return cal.for_length(target)


async def _built_source(ask: _Ask) -> Calibration:
    """Shared-prefix prompts and session scripts: synthetic text, so the synthetic calibration
    (word table, template overhead), with the kind they build."""
    spec = ask.spec
    probe = replace(ask, spec=spec.model_copy(update={"kind": "synthetic", "input_tokens": 32}))
    cal = await _synthetic_source(probe)
    return replace(cal, kind=spec.kind, target=None)


# A workload kind → its source; a new kind is one function here and its suite field.
_SOURCES: dict[str, Callable[[_Ask], Awaitable[Calibration]]] = {
    "synthetic": _synthetic_source,
    "fixed": _fixed_source,
    "sharegpt": _sharegpt_source,
    "shared_prefix": _built_source,
    "multi_turn": _built_source,
    "agentic": _built_source,
}


async def point_prompts(
    cal: Calibration,
    count: int,
    namespace: str,
    client: HttpClient,
    params: GenerationParams,
) -> tuple[list[Prompt], list[str]]:
    """The prompts of one sweep point: every request its own prompt (synthetic; file and
    ShareGPT prompts as far as the source lasts), so no request is served from a prefix cache
    filled by another, in this point or an earlier one."""
    model = params.model
    if cal.pool is not None:
        return await cal.pool.take(count, params.disable_prefix_cache)
    if cal.fixed_prompt is not None:
        return [Prompt(cal.fixed_prompt, prompt_id(cal.fixed_prompt), None)], []
    counter = server_tokenizer(client, model)
    if cal.kind == "shared_prefix":
        return await _shared_prefix(cal, count, namespace, counter), []
    if cal.shape.input_len is not None:
        return await _shaped(cal, count, namespace, counter), []
    assert cal.content_tokens is not None
    prompts = await synthetic_prompts(count, cal.content_tokens, namespace, counter, cal.words)
    prompts = _with_output_lengths(cal, prompts)
    misses = sum(1 for p in prompts if p.content_tokens != cal.content_tokens)
    notes = (
        [f"{misses} of {count} prompts could not be tokenized to exactly "
         f"{cal.content_tokens} content tokens"]
        if misses
        else []
    )  # fmt: skip
    return prompts, notes


def _with_output_lengths(cal: Calibration, prompts: list[Prompt]) -> list[Prompt]:
    """Each prompt's max_tokens drawn from --output-len, when given."""
    if cal.shape.output_len is None:
        return prompts
    caps = cal.shape.output_len.sample_int(len(prompts), f"{cal.shape_seed}:output")
    return [replace(p, max_tokens=n) for p, n in zip(prompts, caps, strict=True)]


async def _shaped(cal: Calibration, count: int, namespace: str, counter: TokenCounter
                  ) -> list[Prompt]:  # fmt: skip
    """Synthetic prompts whose input lengths (template included) follow --input-len."""
    assert cal.shape.input_len is not None
    overhead = cal.overhead or 0
    lengths = cal.shape.input_len.sample_int(count, f"{cal.shape_seed}:input")
    content = [max(1, n - overhead) for n in lengths]
    prompts = await synthetic_texts(content, namespace, counter, cal.words)
    return _with_output_lengths(cal, prompts)


async def _shared_prefix(cal: Calibration, count: int, namespace: str, counter: TokenCounter
                         ) -> list[Prompt]:  # fmt: skip
    """The point's K prefixes, each shared by M requests with their own suffixes; the prompts
    cycle when the point sends more requests than K × M."""
    spec = cal.spec
    assert spec is not None
    assert spec.prefixes
    assert spec.prefix_tokens
    total = spec.prompt_count
    suffix = cal.shape.input_len or parse_distribution(str(spec.input_tokens or 32),
                                                        "workload.input_tokens")  # fmt: skip
    lengths = suffix.sample_int(total, f"{cal.shape_seed}:suffix")
    prompts = await shared_prefix_prompts(spec.prefixes, spec.prefix_tokens, lengths, namespace,
                                          counter, cal.words)  # fmt: skip
    return _with_output_lengths(cal, prompts[: max(count, 1)])


async def point_sessions(
    cal: Calibration, namespace: str, client: HttpClient, params: GenerationParams,
    first: int = 0, sessions: int | None = None,
) -> list[SessionScript]:  # fmt: skip
    """The session scripts of one point (its own text, so no point reuses another's cache)."""
    shape = cal.shape.sessions
    assert shape is not None
    if sessions is not None:
        shape = replace(shape, sessions=sessions)
    counter = server_tokenizer(client, params.model)
    shape_seed = cal.shape_seed if first == 0 else f"{cal.shape_seed}:{first}"
    return await session_scripts(shape, namespace, counter, cal.words, first, shape_seed)


async def warmup_prompts(
    cal: Calibration, count: int, namespace: str, client: HttpClient, params: GenerationParams
) -> list[Prompt]:
    """Warmup prompts that share nothing with the measured ones (a shared-prefix point's or a
    trace's), so warming up does not fill the cache the measurement reads."""
    counter = server_tokenizer(client, params.model)
    prompts = await synthetic_prompts(max(count, 1), 32, f"{namespace}:warmup", counter, cal.words)
    # short answers: warming up needs the server busy, not the trace's longest outputs
    return [replace(p, max_tokens=WARMUP_OUTPUT_TOKENS) for p in prompts]


async def trace_work(
    cal: Calibration, namespace: str, client: HttpClient, params: GenerationParams
) -> tuple[list[Prompt], tuple[Label, ...]]:
    """The trace's prompts (blocks as shared text, new tokens as fresh text) and their
    (session, turn) labels."""
    assert cal.trace is not None
    counter = server_tokenizer(client, params.model)
    words = cal.words if cal.words is not None else await word_table(counter)
    prompts = await trace_prompts(cal.trace.trace, namespace, counter, words)
    return prompts, trace_labels(cal.trace.trace)
