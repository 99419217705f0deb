"""One `bench eval`: data loaded, engine up, every item asked at each load level, each answer
scored as it arrives and appended to the items sidecar, one signed envelope per task and level
(or one continuing an interrupted envelope, with --resume)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from tokenbench.engines.http import Timeouts
from tokenbench.engines.models import ResolvedModel
from tokenbench.engines.openai import Api, GenerationParams, measure, request_body
from tokenbench.envelope import keys
from tokenbench.envelope.build import host_warnings
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.io import (
    new_ulid,
    safe_name,
    seal,
    statement_payload,
    write_envelope,
    write_json,
)
from tokenbench.envelope.provenance import event_loop_name, software, utc_iso
from tokenbench.envelope.schema import (
    CONFIG_SUFFIX,
    ITEMS_SUFFIX,
    SCHEMA_VERSION,
    DataFileInfo,
    EvalComparability,
    EvalParameters,
    EvalPredicate,
    HardwareInfo,
    HostLoad,
    PassthroughInfo,
    Privacy,
    SandboxInfo,
    TargetInfo,
    TaskInfo,
    TimingInfo,
    Validity,
)
from tokenbench.errors import ConfigError, EngineError
from tokenbench.evals.choice import letter_logprobs
from tokenbench.evals.data import DataSource
from tokenbench.evals.humaneval import HumanEval
from tokenbench.evals.load import Level, closed_loop, open_loop, ordered
from tokenbench.evals.sandbox import SandboxLimits
from tokenbench.evals.task import EvalItem, Judgement, Task, TaskData, TaskOptions
from tokenbench.evals.tasks import get_task
from tokenbench.loadgen.control import RunControl
from tokenbench.metrics.quality import EvalMetrics, summarize_eval
from tokenbench.outputs import output_dir
from tokenbench.records import ItemRecord, RequestRecord, read_items
from tokenbench.session.bench import ctx_per_slot, open_session
from tokenbench.session.host_load import HostLoadWatch
from tokenbench.session.target import OpenTarget, TargetSpec
from tokenbench.workloads.prompt import prompt_id

_SAMPLING_TEMPERATURE = 0.8  # --samples n > 1 without --temperature (Chen et al. used 0.8)
TOP_LOGPROBS = 20  # the most the OpenAI API returns per token
METHODS = ("generate", "letter-logprobs")


@dataclass(frozen=True, slots=True)
class EvalSettings:
    tasks: tuple[str, ...]
    output: Path
    target: TargetSpec
    data: DataSource = field(default_factory=DataSource)
    limit: int | None = None
    levels: tuple[Level, ...] = (Level(concurrency=4),)  # each asks every item; lowest first
    seed: int = 0  # the same at every level: greedy answers compare item by item
    samples: int = 1
    temperature: float | None = None  # default 0 (greedy); 0.8 with --samples > 1
    max_tokens: int | None = None  # default: the task's own
    timeout_s: float = 300.0
    retries: int = 0
    allow_code_execution: bool = False
    scorer: str | None = None
    sign: bool = True
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    method: str = "generate"  # or "letter-logprobs" (choice tasks)
    resume: Resumed | None = None  # --resume: the one task and level of this envelope, continued


@dataclass(frozen=True, slots=True)
class Resumed:
    """An interrupted or partial eval envelope being continued (`evals.resume` opens it)."""

    predicate: EvalPredicate
    rows: bytes  # its items sidecar as written: each line an answered (item, sample)
    answered: frozenset[tuple[str, int]]  # (item_id, sample) of those lines
    # the last time its records hold: the resumed requests are timed on from there, so the
    # pause between the two sessions is no part of the duration and throughput
    offset_ns: int


class EvalProgress(Protocol):
    def phase(self, message: str) -> None: ...
    def note(self, message: str) -> None: ...
    def task_started(self, task: str, total: int, level: str) -> None: ...
    def item_done(self, item: ItemRecord) -> None: ...
    def task_finished(self, path: Path, predicate: EvalPredicate) -> None: ...


@dataclass(frozen=True, slots=True)
class _Prepared:
    task: Task
    data: TaskData
    temperature: float
    max_tokens: int


def prepare(settings: EvalSettings) -> list[_Prepared]:
    """Every task known, allowed and its data loaded, before any engine starts."""
    if settings.samples < 1:
        raise ConfigError("--samples must be at least 1")
    if not settings.levels:
        raise ConfigError("name at least one load level, e.g. --concurrency 1,8")
    if settings.resume is not None and (len(settings.tasks) != 1 or len(settings.levels) != 1):
        raise ConfigError("a resumed eval continues one task at one level")
    if settings.limit is not None and settings.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if settings.temperature is not None and settings.temperature < 0:
        raise ConfigError("--temperature cannot be negative (0 is greedy)")
    if settings.max_tokens is not None and settings.max_tokens < 1:
        raise ConfigError("--max-tokens must be at least 1")
    if settings.timeout_s <= 0:
        raise ConfigError("--timeout must be positive")
    if not settings.tasks:
        raise ConfigError("name at least one task, e.g. `bench eval gsm8k`")
    root = settings.data.root
    if root is not None and root.is_file() and len(set(settings.tasks)) > 1:
        raise ConfigError(
            f"--data {root} is one file, which serves one task; pass a directory laid out like "
            "../shared/datasets for several, or run the tasks one at a time"
        )
    if settings.method not in METHODS:
        raise ConfigError(f"--method {settings.method!r}: choose one of {', '.join(METHODS)}")
    out = []
    for name in dict.fromkeys(settings.tasks):
        task = get_task(name)
        if task.executes_code and not settings.allow_code_execution:
            raise ConfigError(
                f"{name} runs the model's code; pass --allow-code-execution to run it in the "
                "sandbox (own process, no network, CPU/memory/process/file limits, killed at "
                "its wall timeout, scratch directory only)"
            )
        if settings.method not in task.methods:
            raise ConfigError(
                f"{name} is scored from generated text only; drop --method {settings.method}"
            )
        if isinstance(task, HumanEval):
            task.limits = settings.sandbox
        data = task.load(settings.data, TaskOptions(settings.limit, settings.seed, settings.scorer))
        if not data.items:
            raise ConfigError(f"{name}: the data has no items")
        temperature = settings.temperature
        if temperature is None:
            temperature = _SAMPLING_TEMPERATURE if settings.samples > 1 else 0.0
        if settings.samples > 1 and temperature == 0.0:
            raise ConfigError("--samples > 1 with --temperature 0 draws the same answer n times")
        max_tokens = 1 if settings.method == "letter-logprobs" else task.max_tokens
        out.append(_Prepared(task, data, temperature, settings.max_tokens or max_tokens))
    if settings.resume is not None:
        _check_resumable(out[0], settings, settings.resume.predicate)
    return out


def _check_resumable(prep: _Prepared, settings: EvalSettings, old: EvalPredicate) -> None:
    """The resumed answers and the new ones must be of one eval: the same task version, the
    same data (by digest) and settings (the comparability key), and items the data holds."""
    task = prep.task
    if task.version != old.task.version:
        raise ConfigError(f"{task.name}'s prompts or scoring changed since the envelope "
                          f"(version {old.task.version}, now {task.version}); run the eval "
                          "again")  # fmt: skip
    was = [(f.name, f.sha256) for f in old.task.data]
    now = [(f.path.name, f.sha256) for f in prep.data.files]
    if was != now:
        raise ConfigError(f"{task.name}'s data differs from what the envelope was asked with "
                          "(sha256); pass --data PATH to the same files")  # fmt: skip
    if _comparability(prep, _settings_digest(prep, settings)).key != old.comparability.key:
        raise ConfigError("the settings rebuilt from the envelope do not give its comparability "
                          "key; run the eval again instead of resuming it")  # fmt: skip
    ids = {item.item_id for item in prep.data.items}
    assert settings.resume is not None
    if any(item_id not in ids or sample >= settings.samples
           for item_id, sample in settings.resume.answered):  # fmt: skip
        raise ConfigError("the envelope holds answers to items its data does not have; run the "
                          "eval again instead of resuming it")  # fmt: skip


def _ctx_per_slot(prepared: list[_Prepared], model: ResolvedModel) -> int:
    """Room for the longest prompt (≤ 1 token per 2 characters, generous for English) plus its
    answer."""
    longest = max(len(m["content"]) for p in prepared for it in p.data.items for m in it.messages)
    return ctx_per_slot(longest // 2, max(p.max_tokens for p in prepared), model)


@dataclass(frozen=True, slots=True)
class _Run:
    """What every task and level of one `bench eval` shares."""

    settings: EvalSettings
    target: OpenTarget
    hardware: HardwareInfo
    eval_id: str
    signer: keys.Signer
    progress: EvalProgress
    control: RunControl
    engine_pids: frozenset[int]


async def run_eval(
    settings: EvalSettings, progress: EvalProgress, control: RunControl | None = None
) -> list[Path]:
    """Run every task at every load level, lowest level first and every task at a level before
    the next (one engine, kept warm throughout); one signed envelope per task and level, all
    sharing one eval_id. Returns their paths. Once `control` is stopped (Ctrl-C), no new item
    starts; the task in progress is sealed `interrupted` with what was answered, and the rest
    are skipped."""
    control = control or RunControl()
    prepared = prepare(settings)
    levels = ordered(settings.levels)
    output_dir(settings.output, "--output")  # before any server starts
    async with contextlib.AsyncExitStack() as stack:
        session = await open_session(
            stack, replace(settings.target, timeout_s=settings.timeout_s), sign=settings.sign,
            note=progress.note, phase=progress.phase,
            parallel=max(level.slots for level in levels),
            slot_context=lambda m: _ctx_per_slot(prepared, m), energy=False,
        )  # fmt: skip
        target = session.target
        if settings.resume is not None:
            _check_same_model(settings.resume.predicate.target, target.info)
        progress.phase(
            f"probing the chat endpoint, {target.first_response_wait(settings.timeout_s)}"
        )
        await _probe(target, settings.timeout_s, settings.method)
        eval_id = settings.resume.predicate.eval_id if settings.resume else new_ulid()
        run = _Run(settings, target, session.hardware, eval_id, session.signer, progress,
                   control, session.engine_pids)  # fmt: skip
        written = []
        for level in levels:
            for prep in prepared:
                path, predicate = await _run_task(prep, level, run)
                written.append(path)
                progress.task_finished(path, predicate)
                if control.stop.is_set():
                    return written
        return written


def _check_same_model(recorded: TargetInfo, now: TargetInfo) -> None:
    """A resumed eval asks the model the envelope asked: by name, and by file digest when both
    are known."""
    was, got = recorded.model, now.model
    if was.model_id != got.model_id or (was.sha256 and got.sha256 and was.sha256 != got.sha256):
        raise ConfigError(
            f"the envelope asked model {was.model_id!r}, this target serves {got.model_id!r} "
            "(or another file of it); resume against the model the eval began with"
        )


async def _probe(target: OpenTarget, timeout_s: float, method: str) -> None:
    """One tiny chat request: the endpoint answers chat and streams. For letter-logprobs it must
    also return the first token's alternatives with their log-probabilities: an endpoint that
    ignores the request would leave every item unscored, at chance, so it is refused here."""
    params = GenerationParams(
        Api.CHAT, target.model_field, extra_body=target.passthrough.body_fields
    )
    wants = TOP_LOGPROBS if method == "letter-logprobs" else None
    body = request_body(params, "Reply with the letter A.", 4, top_logprobs=wants)
    record = RequestRecord(0, 0, -1, True, "probe", 0)
    logprobs: list[Any] = []
    await measure(target.client, Api.CHAT, body, record, time.perf_counter_ns(), -1,
                  Timeouts(timeout_s), keep_logprobs=logprobs)  # fmt: skip
    if not record.ok:
        raise EngineError(
            f"the endpoint did not answer a chat request ({record.error_kind}: {record.error}); "
            "evals need an OpenAI-compatible /chat/completions endpoint"
        )
    if wants and not _has_top_logprobs(logprobs):
        raise EngineError(
            "the endpoint returns no token log-probabilities (logprobs/top_logprobs), so "
            "--method letter-logprobs would score every item at chance; use --method generate"
        )


def _has_top_logprobs(chunks: list[Any]) -> bool:
    for chunk in chunks:
        content = chunk.get("content") if isinstance(chunk, dict) else None
        if content and isinstance(content[0], dict) and content[0].get("top_logprobs"):
            return True
    return False


def _settings_digest(prep: _Prepared, settings: EvalSettings) -> str:
    fields: dict[str, object] = {
        "temperature": prep.temperature,
        "max_tokens": prep.max_tokens,
        "samples": settings.samples,
        "limit": settings.limit,
        "seed": settings.seed,
        "scorer": settings.scorer,
        "method": settings.method,
    }
    extra = settings.target.passthrough.extra_body
    if extra:  # it changes the answers (thinking off, ...); absent when none: digests hold
        fields["extra_body"] = dict(extra)
    return hashlib.sha256(canonical(fields)).hexdigest()


async def _run_task(prep: _Prepared, level: Level, run: _Run) -> tuple[Path, EvalPredicate]:
    """Ask every item (and sample) of one task at one level — with --resume, those the envelope
    lacks — score each answer as it arrives into the items sidecar, then summarise, sign and
    write the envelope."""
    settings, target, resumed = run.settings, run.target, run.settings.resume
    task = prep.task
    run_id = new_ulid()
    stem = (f"{safe_name(target.info.model.model_id)}__eval-{safe_name(task.name)}"
            f"__{level.tag}__{run_id}")  # fmt: skip
    items_path = settings.output / f"{stem}{ITEMS_SUFFIX}"
    config_path = settings.output / f"{stem}{CONFIG_SUFFIX}"
    settings_digest = _settings_digest(prep, settings)
    soft = await asyncio.to_thread(software, _task_digest(prep, settings_digest),
                                   event_loop_name())  # fmt: skip
    watch = HostLoadWatch(run.engine_pids)  # other work on the host, before and during the task
    await asyncio.to_thread(watch.before)
    items_path.write_bytes(resumed.rows if resumed else b"")  # the answers kept, as written
    wall_anchor_ns, anchor_ns = _anchors(resumed)
    peak = await _answer_all(prep, level, run, items_path, anchor_ns)
    host_load = await asyncio.to_thread(watch.finish)
    finished_ns = wall_anchor_ns + (time.perf_counter_ns() - anchor_ns)
    if resumed is not None:
        finished_ns = time.time_ns()
        peak = max(peak, resumed.predicate.parameters.concurrency)
    items = read_items(items_path.read_bytes())
    metrics = summarize_eval(items, task.variants, task.primary, task.instruction_details,
                             settings.samples)  # fmt: skip
    parameters = _parameters(prep, settings, level, peak)
    _write_config(config_path, _task_info(prep, settings), parameters, target, settings)
    predicate = EvalPredicate(
        run_id=run_id,
        eval_id=run.eval_id,
        status=run.control.status,
        validity=_validity(metrics, run, host_load),
        task=_task_info(prep, settings),
        parameters=parameters,
        target=target.info,
        hardware=run.hardware,
        software=soft,
        timing=TimingInfo(
            started_at=resumed.predicate.timing.started_at if resumed else utc_iso(wall_anchor_ns),
            finished_at=utc_iso(finished_ns),
            wall_anchor_us=wall_anchor_ns // 1000,
        ),
        metrics=metrics,
        comparability=_comparability(prep, settings_digest),
        sandbox=_sandbox(prep, settings, items),
        privacy=Privacy(prompts_stored=False),
        host_load=host_load,
        resumed_from=resumed.predicate.run_id if resumed else None,
    )
    envelope_path = settings.output / f"{stem}.json"
    write_envelope(seal(statement_payload(predicate, [items_path, config_path]),
                        run.signer.key()), envelope_path)  # fmt: skip
    return envelope_path, predicate


def _anchors(resumed: Resumed | None) -> tuple[int, int]:
    """The wall-clock anchor of the records' times and its perf_counter_ns twin. A resumed
    envelope keeps the original's wall anchor, and its new records go on from the kept ones'
    last time: one clock, the pause between the sessions left out (see Resumed)."""
    if resumed is None:
        return time.time_ns(), time.perf_counter_ns()
    wall_anchor_ns = resumed.predicate.timing.wall_anchor_us * 1000
    return wall_anchor_ns, time.perf_counter_ns() - resumed.offset_ns


def _validity(metrics: EvalMetrics, run: _Run, host_load: HostLoad | None) -> Validity:
    """Invalid when stopped early or when a request failed; a resume and a host shared with
    other work are warnings."""
    control, resumed = run.control, run.settings.resume
    reasons = [control.reason] if control.reason else []
    if metrics.errors:
        reasons.append(f"{metrics.errors} of {metrics.samples} requests failed (scored wrong)")
    warnings = host_warnings(host_load)
    if resumed is not None:
        old = resumed.predicate
        warnings.append(
            f"resumed from {old.run_id} ({old.status}, {len(resumed.answered)} answers kept); "
            "the resumed requests are timed from the end of the kept ones, the pause between "
            "the two sessions left out"
        )
        if old.hardware.fingerprint != run.hardware.fingerprint:
            warnings.append("resumed on other hardware: the kept answers' timings are from "
                            "another machine")  # fmt: skip
    return Validity(valid=not reasons, reasons=reasons, warnings=warnings)


def _task_digest(prep: _Prepared, settings_digest: str) -> str:
    """What the software record's suite digest is for an eval: the task, its version and the
    settings it was asked with."""
    task = prep.task
    return hashlib.sha256(f"{task.name}:{task.version}:{settings_digest}".encode()).hexdigest()


def _write_config(
    path: Path,
    task: TaskInfo,
    parameters: EvalParameters,
    target: OpenTarget,
    settings: EvalSettings,
) -> None:
    """The resolved config sidecar; the API key is deliberately absent."""
    write_json(
        path,
        {
            "task": task.model_dump(mode="json"),
            "parameters": parameters.model_dump(mode="json"),
            "target": target.info.model_dump(mode="json"),
            "tasks": list(settings.tasks),
            "data": str(settings.data.root) if settings.data.root else None,
        },
    )


def _task_info(prep: _Prepared, settings: EvalSettings) -> TaskInfo:
    task, data = prep.task, prep.data
    return TaskInfo(
        name=task.name,
        version=task.version,
        method=settings.method,
        variants=list(task.variants),
        primary=task.primary,
        data=[
            DataFileInfo(name=f.path.name, sha256=f.sha256, bytes=f.bytes, source=f.source)
            for f in data.files
        ],
        items_available=data.available,
        items=len(data.items),
        limit=settings.limit,
        notes=data.notes,
    )


def _parameters(
    prep: _Prepared, settings: EvalSettings, level: Level, in_flight: int
) -> EvalParameters:
    record = settings.target.passthrough.record()  # header values redacted
    return EvalParameters(
        temperature=prep.temperature,
        max_tokens=prep.max_tokens,
        samples=settings.samples,
        concurrency=level.concurrency if level.concurrency is not None else in_flight,
        rate_rps=level.rate_rps,
        timeout_s=settings.timeout_s,
        seed=settings.seed,
        scorer=settings.scorer if prep.task.name == "custom" else None,
        passthrough=PassthroughInfo.model_validate(record) if record is not None else None,
    )


def _comparability(prep: _Prepared, settings_digest: str) -> EvalComparability:
    """Evals with equal keys asked the same items of the same data the same way."""
    task = prep.task
    data_digest = hashlib.sha256("".join(f.sha256 for f in prep.data.files).encode()).hexdigest()
    key = canonical([task.name, task.version, data_digest, settings_digest, SCHEMA_VERSION])
    return EvalComparability(
        key=hashlib.sha256(key).hexdigest()[:16],
        task=task.name,
        task_version=task.version,
        data_digest=data_digest,
        settings_digest=settings_digest,
    )


def _sandbox(
    prep: _Prepared, settings: EvalSettings, items: list[ItemRecord]
) -> SandboxInfo | None:
    if not prep.task.executes_code:
        return None
    limits = settings.sandbox
    # per code sample run: whether its sandbox had its own network namespace
    isolated = [bool(it.detail["network_isolated"]) for it in items
                if it.detail and "network_isolated" in it.detail]  # fmt: skip
    return SandboxInfo(
        allowed=True,
        wall_s=limits.wall_s,
        cpu_s=limits.cpu_s,
        memory_bytes=limits.memory_bytes,
        file_bytes=limits.file_bytes,
        network_isolated=all(isolated) if isolated else None,
    )


def _work(prep: _Prepared, samples: int, resumed: Resumed | None) -> list[tuple[int, int]]:
    """(position in the full plan, sample) of every answer still to ask, in plan order: every
    item's samples, item by item; with --resume, those the envelope lacks. The position is
    the request's index, the same as in one uninterrupted run."""
    answered = resumed.answered if resumed else frozenset()
    return [(i * samples + s, s) for i, item in enumerate(prep.data.items)
            for s in range(samples) if (item.item_id, s) not in answered]  # fmt: skip


async def _answer_all(
    prep: _Prepared, level: Level, run: _Run, items_path: Path, anchor_ns: int
) -> int:
    """Send the level's work (a closed or an open loop); each answer is scored and appended to
    the sidecar as it arrives, so Ctrl-C keeps every answered item. Returns the most requests
    that were in flight at once."""
    settings, task, control = run.settings, prep.task, run.control
    work = _work(prep, settings.samples, settings.resume)
    run.progress.task_started(task.name, len(work), level.label)
    sandboxes = asyncio.Semaphore(max(1, (os.cpu_count() or 2) - 1))

    with items_path.open("ab") as sink:

        async def answer(position: int, slot: int, scheduled_ns: int) -> None:
            index, sample = work[position]
            item = prep.data.items[index // settings.samples]
            reply = await _ask(item, sample, index, slot, scheduled_ns, prep, run, anchor_ns)
            judgement = await _judge(task, item, reply, sandboxes, settings.method)
            row = ItemRecord(
                task=task.name, item_id=item.item_id, sample=sample, subject=item.subject,
                expected=item.expected, meta=item.meta, output=reply.output,
                parsed=judgement.parsed, correct=judgement.correct, detail=judgement.detail,
                request=reply.request, reasoning=reply.reasoning,
            )  # fmt: skip
            sink.write(row.to_json() + b"\n")
            sink.flush()
            run.progress.item_done(row)

        if level.rate_rps is not None:
            return await open_loop(len(work), level.rate_rps, answer, control.stop)
        return await closed_loop(len(work), level.slots, answer, control.stop)


@dataclass(slots=True)
class _Answer:
    request: RequestRecord
    output: str | None  # the answer (content) alone: what the scorer reads
    logprobs: list[Any]
    reasoning: str | None = None  # a reasoning model's chain of thought, stored, never scored


async def _ask(
    item: EvalItem,
    sample: int,
    index: int,
    slot: int,
    scheduled_ns: int,
    prep: _Prepared,
    run: _Run,
    anchor_ns: int,
) -> _Answer:
    settings, target = run.settings, run.target
    params = GenerationParams(
        Api.CHAT, target.model_field, prep.temperature, seed=settings.seed + sample,
        extra_body=target.passthrough.body_fields,
    )  # fmt: skip
    wants = TOP_LOGPROBS if settings.method == "letter-logprobs" else None
    body = request_body(params, "", prep.max_tokens, item.messages, top_logprobs=wants)
    pid = prompt_id(canonical(item.messages).decode())
    record = RequestRecord(index, 0, slot, False, pid, scheduled_ns - anchor_ns)
    text: list[str] = []
    thinking: list[str] = []
    logprobs: list[Any] = []
    await measure(
        target.client, Api.CHAT, body, record, anchor_ns, slot, Timeouts(settings.timeout_s),
        retries=settings.retries, keep_text=text, keep_logprobs=logprobs, keep_reasoning=thinking,
    )  # fmt: skip
    if not record.ok:
        return _Answer(record, None, logprobs)
    return _Answer(record, "".join(text), logprobs, "".join(thinking) or None)


async def _judge(
    task: Task, item: EvalItem, answer: _Answer, sandboxes: asyncio.Semaphore, method: str
) -> Judgement:
    if answer.output is None:  # a failed request: a recorded, wrong answer
        return Judgement({v: None for v in task.variants}, {v: False for v in task.variants})
    if method == "letter-logprobs":
        found = letter_logprobs(answer.logprobs)
        judged = task.score_letter_logprobs(found, item.expected, item.meta)
        return Judgement(judged.parsed, judged.correct, {"letter_logprobs": found})
    if task.executes_code:
        async with sandboxes:
            return await asyncio.to_thread(task.score, answer.output, item.expected, item.meta)
    return task.score(answer.output, item.expected, item.meta)
