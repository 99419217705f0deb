"""A sweep: one `bench run` — engine up, workload built, one measured run per concurrency point,
one envelope each."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from tokenbench.energy.meter import EnergyWindow, Meter, NoMeter, open_meter
from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.models import ResolvedModel
from tokenbench.engines.openai import Api, GenerationParams, measure, request_body
from tokenbench.engines.profiles import profile_or_generic
from tokenbench.envelope import keys
from tokenbench.envelope.build import PointFiles, seal_point
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.hardware import fingerprint
from tokenbench.envelope.io import (
    RecordSink,
    new_ulid,
    safe_name,
    write_json,
)
from tokenbench.envelope.provenance import event_loop_name, software, suite_digest, utc_iso
from tokenbench.envelope.schema import (
    SCHEMA_VERSION,
    Comparability,
    EnergyInfo,
    EngineInfo,
    HardwareInfo,
    LoadInfo,
    Parameters,
    Privacy,
    RepeatInfo,
    RunPredicate,
    SoftwareInfo,
    SuiteInfo,
    TargetInfo,
    WorkloadInfo,
)
from tokenbench.errors import ConfigError, EngineError, ServerLost
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import Plan, closed_loop_plan, open_loop_plan, split
from tokenbench.loadgen.pool import (
    PoolJob,
    ProcessWorker,
    RayWorker,
    WorkerHandle,
    ray_actor_class,
    run_pool,
)
from tokenbench.loadgen.search import RateSearch
from tokenbench.loadgen.worker import LoopLagMonitor, WorkerContext, run_closed_loop
from tokenbench.metrics.stats import distribution
from tokenbench.metrics.validity import ValidityRules
from tokenbench.records import RequestRecord
from tokenbench.session.target import TargetSpec, open_target
from tokenbench.suites.suite import Suite
from tokenbench.workloads.prompt import Prompt, prompt_id
from tokenbench.workloads.sharegpt import ShareGptSampler
from tokenbench.workloads.synthetic import (
    WordTable,
    server_tokenizer,
    synthetic_prompts,
    word_table,
)
from tokenbench.workloads.user_file import load_prompts_file

_CALIBRATION_TOKENS = 32
_CTX_MARGIN = 64


@dataclass(frozen=True, slots=True)
class RunSettings:
    suite: Suite
    output: Path
    model: str | None = None  # bundled name or .gguf path (embedded), or served name (remote)
    base_url: str | None = None  # None: start the embedded llama-server
    engine: str | None = None
    quant: str | None = None
    api: Api | None = None
    sweep: tuple[int, ...] | None = None
    requests: int | None = None
    duration_s: float | None = None
    warmup: int | None = None
    timeout_s: float | None = None
    seed: int = 0
    api_key: str | None = None  # held in memory only: never written, logged or echoed
    threads: int | None = None
    sign: bool = True  # sign each envelope with the local key (created on first use)
    retries: int = 0  # resend after 429/503, honouring Retry-After
    idle_timeout_s: float | None = None  # no byte for this long: the request times out
    rules: ValidityRules = field(default_factory=ValidityRules)
    store_prompts: bool = False  # put prompt texts in the manifest (default: digests and counts)
    prompts_file: Path | None = None  # --prompts FILE.jsonl: the user's own prompts
    slo: dict[str, float] | None = None  # --slo ttft_ms=500,tpot_ms=50
    input_lengths: tuple[int, ...] | None = None  # --input-lengths: overrides the suite's
    warmup_s: float | None = None  # --warmup-duration
    cooldown_s: float | None = None  # --cooldown (needs --duration)
    rates: tuple[float, ...] | None = None  # open loop: one point per request rate
    arrival: str = "poisson"
    burstiness: float = 1.0
    workers: int = 1  # --workers: split each point over this many worker processes/actors
    ray: str | None = None  # --ray auto|ADDRESS: the workers are Ray actors on that cluster
    on_worker_loss: str = "abort"  # or "continue"
    repeat: int = 1  # --repeat: runs of each point, each its own envelope
    interleave: bool = False  # --interleave: points take turns, alternating direction

    def __post_init__(self) -> None:
        """The checks every caller gets, `bench run` and library users alike: a bad value stops
        the run before anything starts, in one line naming the `bench run` flag it comes from."""
        for bad, message in (
            (self.requests is not None and self.requests < 1, "--requests must be at least 1"),
            (self.duration_s is not None and self.duration_s <= 0, "--duration must be positive"),
            (self.timeout_s is not None and self.timeout_s <= 0, "--timeout must be positive"),
            (self.warmup is not None and self.warmup < 0, "--warmup cannot be negative"),
            (self.idle_timeout_s is not None and self.idle_timeout_s <= 0,
             "--timeout-idle must be positive"),
            (self.retries < 0, "--retry cannot be negative"),
            (any(rate <= 0 for rate in self.rates or ()), "--rate must be positive"),
            (self.burstiness <= 0, "--burstiness must be positive"),
            (self.workers < 1, f"--workers must be at least 1, got {self.workers}"),
            (self.repeat < 1, f"--repeat must be at least 1, got {self.repeat}"),
            (self.interleave and self.repeat < 2,
             "--interleave alternates repeats: add --repeat N (N ≥ 2)"),
        ):  # fmt: skip
            if bad:
                raise ConfigError(message)

    @property
    def split(self) -> bool:
        return self.workers > 1 or self.ray is not None

    def worker_factory(self) -> Callable[[int], WorkerHandle]:
        """How each point makes its workers: local processes, or actors on the Ray cluster."""
        if self.ray is None:
            return lambda _i: ProcessWorker()
        actor = ray_actor_class(self.ray)
        return lambda _i: RayWorker(actor)


class Progress(Protocol):
    def phase(self, message: str) -> None: ...
    def note(self, message: str) -> None: ...
    def point_started(self, concurrency: int, total: int) -> None: ...
    def request_done(self, record: RequestRecord) -> None: ...
    def point_finished(self, path: Path, predicate: RunPredicate) -> None: ...


@dataclass(frozen=True, slots=True)
class _Calibration:
    """What every point's prompts are built from: the prompt text length that yields the target
    input length once the server's template is applied."""

    kind: str  # "synthetic", "fixed", "file" (--prompts) or "sharegpt"
    target: int | None  # input tokens per request (synthetic), or as counted (fixed)
    content_tokens: int | None  # tokens of the prompt text alone
    overhead: int | None  # tokens the chat template / BOS adds
    fixed_prompt: str | None
    notes: tuple[str, ...]
    file_prompts: tuple[Prompt, ...] | None = None  # --prompts, or the first ShareGPT draw
    pool: _PromptPool | None = None  # where each point draws its file or ShareGPT prompts
    words: WordTable | None = None  # synthetic: the server's token count of each word

    def for_length(self, target: int) -> _Calibration:
        """The same calibration aimed at another input length (a context-sweep point)."""
        overhead = self.overhead or 0
        notes = self.notes
        if overhead >= target:
            notes = (*notes, f"the template alone takes {overhead} tokens; {target} cannot be met")
        return replace(self, target=target, content_tokens=max(1, target - overhead), notes=notes)


class _PromptPool:
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


async def _calibrate(
    suite: Suite,
    client: HttpClient,
    params: GenerationParams,
    seed: int,
    timeout_s: float,
    retries: int = 0,
    prompts_file: Path | None = None,
) -> _Calibration:
    """The calibration before any point; a server lost here fails like one that never answered
    (nothing was measured, exit 2)."""
    try:
        return await _calibrate_prompts(
            suite, client, params, seed, timeout_s, retries, prompts_file
        )
    except ServerLost as exc:
        why = f"{exc} (while calibrating prompt lengths; nothing was measured)"
        raise EngineError(why) from None


async def _calibrate_prompts(
    suite: Suite,
    client: HttpClient,
    params: GenerationParams,
    seed: int,
    timeout_s: float,
    retries: int = 0,
    prompts_file: Path | None = None,
) -> _Calibration:
    spec = suite.workload
    if prompts_file is not None:
        prompts = tuple(await asyncio.to_thread(load_prompts_file, prompts_file))
        await _preflight(client, params, prompts[0], timeout_s, retries)
        note = f"{len(prompts)} prompts from {prompts_file.name}"
        pool = _PromptPool(list(prompts))
        return _Calibration("file", None, None, None, None, (note,), prompts, pool)
    if spec.kind == "sharegpt":
        counter = server_tokenizer(client, params.model)
        sampler = await asyncio.to_thread(
            ShareGptSampler, seed, counter, max_output_tokens=spec.output_tokens
        )
        sampled = await sampler.take(spec.prompts)
        if len(sampled) < spec.prompts:
            raise ConfigError(
                f"only {len(sampled)} ShareGPT conversations fit the length limits; ask for fewer"
            )
        await _preflight(client, params, sampled[0], timeout_s, retries)
        sg_notes = [f"ShareGPT V3 conversations, seed {seed}, drawn afresh for each point"]
        if not sampler.exact:
            sg_notes.append("the server has no /tokenize: lengths were estimated from words")
        return _Calibration("sharegpt", None, None, None, None, tuple(sg_notes), tuple(sampled),
                            _PromptPool(sampled, sampler))  # fmt: skip
    if spec.kind == "fixed":
        assert spec.prompt is not None
        fixed = Prompt(spec.prompt, prompt_id(spec.prompt), None)
        pre = await _preflight(client, params, fixed, timeout_s, retries)
        repeat = (
            "the same prompt repeats and this engine cannot be told to skip its prefix cache; "
            "see cached_input_tokens_total"
        )
        fixed_notes = () if params.disable_prefix_cache else (repeat,)
        return _Calibration("fixed", pre.input_tokens, None, None, spec.prompt, fixed_notes)

    target = spec.input_tokens
    assert target is not None
    counter = server_tokenizer(client, params.model)
    words = await word_table(counter)  # once a sweep: points then assemble prompts locally
    probe = (await synthetic_prompts(1, _CALIBRATION_TOKENS, f"{seed}:calibration", counter))[0]
    pre = await _preflight(client, params, probe, timeout_s, retries)
    if pre.input_tokens is not None and probe.content_tokens is not None:
        overhead: int | None = pre.input_tokens - probe.content_tokens
        notes: tuple[str, ...] = ()
    else:
        overhead = None
        notes = (
            "the server reports no prompt token count or has no /tokenize: "
            "input lengths are approximate",
        )
    cal = _Calibration("synthetic", None, None, overhead, None, notes, words=words)
    return cal.for_length(target)


async def _point_prompts(
    cal: _Calibration,
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
    assert cal.content_tokens is not None
    counter = server_tokenizer(client, model)
    prompts = await synthetic_prompts(count, cal.content_tokens, namespace, counter, cal.words)
    misses = sum(1 for p in prompts if p.content_tokens != cal.content_tokens)
    notes = (
        [f"{misses} of {count} prompts could not be tokenized to exactly "
         f"{cal.content_tokens} content tokens"]
        if misses
        else []
    )  # fmt: skip
    return prompts, notes


def _ctx_per_slot(suite: Suite, model: ResolvedModel, longest_input: int | None = None) -> int:
    spec = suite.workload
    need = (longest_input or spec.input_tokens or 1024) + spec.output_tokens + _CTX_MARGIN
    if model.gguf.context_length:
        need = min(need, model.gguf.context_length)
    return need


async def run_sweep(
    settings: RunSettings,
    progress: Progress,
    meter: Meter | None = None,
    control: RunControl | None = None,
    search: RateSearch | None = None,
) -> list[Path]:
    """Run every sweep point and write one signed envelope per point; returns their paths.
    `meter` replaces the automatic choice of energy meter (tests inject a fake NVML one);
    `control` lets the caller stop the run (Ctrl-C). A stopped point is written with its
    status (`interrupted`, or `partial` when the server vanished) and later points are skipped."""
    control = control or RunControl()
    if search is not None and settings.rates:
        raise ConfigError("--find-max-rate chooses the rates itself; drop --sweep-rate")
    if search is not None and settings.repeat > 1:
        raise ConfigError("--find-max-rate probes each rate once; drop --repeat")
    suite = settings.suite
    lengths = settings.input_lengths or (
        tuple(suite.input_lengths) if suite.input_lengths else None
    )
    points: list[tuple[int, float | None, int | None]]
    if settings.rates:  # open loop: --concurrency is the cap on requests in flight
        sweep = settings.sweep or (64,)
        points = [(sweep[0], r, None) for r in settings.rates]
    elif lengths:  # a context sweep: batch 1 (or --concurrency), one point per input length
        sweep = settings.sweep or (1,)
        points = [(sweep[0], None, n) for n in lengths]
    else:
        sweep = settings.sweep or tuple(suite.sweep)
        points = [(c, None, None) for c in sweep]
    if any(c < 1 for c in sweep):
        raise ConfigError("every --sweep point must be a concurrency of at least 1")
    timeout_s = settings.timeout_s or suite.timeout_s

    signer = keys.Signer(settings.sign, progress.note)

    async with contextlib.AsyncExitStack() as stack:
        target = await open_target(
            stack,
            TargetSpec(
                settings.model,
                settings.base_url,
                settings.api_key,
                settings.engine,
                settings.quant,
                settings.output,
                settings.threads,
            ),
            parallel=max(sweep),
            ctx_per_slot=lambda m: _ctx_per_slot(suite, m, max(lengths) if lengths else None),
            phase=progress.phase,
        )
        client, identity, resolved = target.client, target.identity, target.resolved
        server, model_field = target.server, target.model_field
        api = settings.api or suite.api or (resolved.preferred_api if resolved else Api.CHAT)
        engine = profile_or_generic(identity.name)
        ignore_eos = suite.ignore_eos and engine.honours_ignore_eos
        disable_prefix_cache = bool(engine.prefix_cache_off)  # when the engine has a switch
        params = GenerationParams(
            api,
            model_field,
            suite.temperature,
            ignore_eos,
            settings.seed,
            disable_prefix_cache=disable_prefix_cache,
            extras=tuple(engine.request_extras(disable_prefix_cache).items()),
        )

        progress.phase("calibrating prompt lengths")
        calibration = await _calibrate(
            suite, client, params, settings.seed, timeout_s, settings.retries,
            settings.prompts_file,
        )  # fmt: skip

        if meter is None:
            meter = _local_meter(client.endpoint.host, embedded=server is not None)
        idle_watts = await asyncio.to_thread(meter.idle_watts, 1.0)

        hardware = await asyncio.to_thread(fingerprint)
        soft = await asyncio.to_thread(software, suite_digest(suite), event_loop_name())
        engine_info = target.info.engine
        suite_info = SuiteInfo(
            name=suite.name,
            api=api.value,
            temperature=suite.temperature,
            max_tokens=suite.workload.output_tokens,
            ignore_eos_requested=suite.ignore_eos,
            ignore_eos_sent=ignore_eos,
            prefix_cache_disabled=params.disable_prefix_cache,
            table=suite.table,
        )
        common = _Common(
            sweep_id=new_ulid(),
            suite_info=suite_info,
            target=target.info,
            hardware=hardware,
            software=soft,
            comparability=comparability(hardware, engine_info, soft.suite_digest),
            signer=signer,
            idle_watts=idle_watts,
        )
        written: list[Path] = []

        context = resolved.gguf.context_length if resolved else None

        async def point(
            concurrency: int,
            rate: float | None,
            length: int | None = None,
            repeat: RepeatInfo | None = None,
        ) -> RunPredicate | None:
            point_cal = calibration
            if length is not None:
                if context and length + suite.workload.output_tokens > context:
                    progress.note(
                        f"skipping input length {length}: with {suite.workload.output_tokens} "
                        f"output tokens it exceeds the model's context window ({context})"
                    )
                    return None
                point_cal = calibration.for_length(length)
            path, predicate = await _run_point(
                settings=settings,
                concurrency=concurrency,
                rate=rate,
                input_length=length,
                repeat=repeat,
                client=client,
                params=params,
                calibration=point_cal,
                timeout_s=timeout_s,
                common=common,
                meter=meter,
                control=control,
                progress=progress,
            )
            written.append(path)
            return predicate

        if search is not None:
            cap = settings.sweep[0] if settings.sweep else 64
            while (rate := search.next_rate()) is not None and not control.stop.is_set():
                probe = await point(cap, rate)
                assert probe is not None
                search.record(rate, probe)
            return written
        for index, (concurrency, rate, length) in repeat_order(points, settings):
            info = None
            if settings.repeat > 1:
                group = f"{common.sweep_id}:{concurrency}:{rate}:{length}"
                info = RepeatInfo(group=group, index=index, count=settings.repeat,
                                  interleaved=settings.interleave)  # fmt: skip
            await point(concurrency, rate, length, info)
            if control.stop.is_set():
                break
        return written


Point = tuple[int, float | None, int | None]


def repeat_order(points: list[Point], settings: RunSettings) -> list[tuple[int, Point]]:
    """(repeat index, point) in the order they run. Back to back by default; with
    `--interleave` every point runs once per round, the direction alternating each round
    (1 2 3, 3 2 1, 1 2 3 …), so a slow drift of the server or host cancels between points."""
    if settings.repeat < 1:
        raise ConfigError(f"--repeat must be at least 1, got {settings.repeat}")
    if not settings.interleave:
        return [(i, p) for p in points for i in range(settings.repeat)]
    order = []
    for i in range(settings.repeat):
        order += [(i, p) for p in (points if i % 2 == 0 else points[::-1])]
    return order


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_meter(host: str, embedded: bool) -> Meter:
    """NVML counters measure this machine's GPUs: meaningful only for an engine running here."""
    if not (embedded or _is_local(host)):
        return NoMeter("the engine runs on another host; energy is read only for a local engine")
    return open_meter()


def comparability(hardware: HardwareInfo, engine: EngineInfo, suite_digest: str) -> Comparability:
    parts = {
        "hardware_fingerprint": hardware.fingerprint,
        "engine": f"{engine.name} {engine.version or 'unknown'}",
        "suite_digest": suite_digest,
        "schema_version": SCHEMA_VERSION,
    }
    key = hashlib.sha256(canonical(parts)).hexdigest()[:16]
    return Comparability(key=key, **parts)


@dataclass(frozen=True, slots=True)
class _Common:
    """What every point of a sweep shares."""

    sweep_id: str
    suite_info: SuiteInfo
    target: TargetInfo
    hardware: HardwareInfo
    software: SoftwareInfo
    comparability: Comparability
    signer: keys.Signer
    idle_watts: float | None


async def _run_point(
    *,
    settings: RunSettings,
    concurrency: int,
    rate: float | None,
    input_length: int | None,
    repeat: RepeatInfo | None,
    client: HttpClient,
    params: GenerationParams,
    calibration: _Calibration,
    timeout_s: float,
    common: _Common,
    meter: Meter,
    control: RunControl,
    progress: Progress,
) -> tuple[Path, RunPredicate]:
    suite = settings.suite
    requests = (
        settings.requests
        or suite.requests
        or (len(calibration.file_prompts) if calibration.file_prompts else suite.workload.prompts)
    )
    warmup = (
        settings.warmup
        if settings.warmup is not None
        else suite.warmup_requests
        if suite.warmup_requests is not None
        else min(concurrency, 4)
        if rate is not None
        else concurrency
    )
    point = f"r{rate:g}" if rate is not None else f"c{concurrency}"
    if input_length is not None:
        point = f"in{input_length}-{point}"
    if repeat is not None:  # its own file and its own prompts (the namespace below)
        point = f"{point}-rep{repeat.index}"
    progress.phase(f"building prompts for {point}")
    try:
        prompts, prompt_notes = await _point_prompts(
            calibration, warmup + requests, f"{settings.seed}:{point}", client, params
        )
    except ServerLost as exc:  # nothing of this point was sent: no envelope to write
        raise ServerLost(
            f"{exc} (while building the prompts of point {point}; nothing of it was measured)"
        ) from None
    bodies = [
        request_body(params, p.text, p.max_tokens or suite.workload.output_tokens, p.messages)
        for p in prompts
    ]
    if rate is None:
        plan = closed_loop_plan(
            len(bodies), requests, warmup, concurrency, settings.duration_s,
            settings.warmup_s, settings.cooldown_s,
        )  # fmt: skip
    else:
        plan = open_loop_plan(
            len(bodies), requests, warmup, rate, settings.arrival, settings.burstiness,
            settings.seed, concurrency, settings.duration_s,
        )  # fmt: skip
    run_id = new_ulid()
    model_id = common.target.model.model_id
    files = PointFiles(
        settings.output, f"{safe_name(model_id)}__{safe_name(suite.name)}__{point}__{run_id}"
    )
    load = LoadInfo(
        mode="open_loop" if rate is not None else "closed_loop",
        rate_rps=rate,
        arrival=settings.arrival if rate is not None else None,
        burstiness=settings.burstiness if rate is not None else None,
        concurrency=concurrency,
        requests=requests,
        warmup_requests=warmup,
        duration_limit_s=settings.duration_s,
        timeout_s=timeout_s,
        workers=settings.workers,
        seed=settings.seed,
        offered_rate_rps=plan.offered_rate_rps,
        cooldown_s=settings.cooldown_s if rate is None else None,
    )
    workload = WorkloadInfo(
        kind=calibration.kind,
        prompts=len(prompts),
        input_tokens_target=calibration.target,
        template_overhead_tokens=calibration.overhead,
        input_tokens_exact=None,
        notes=[*calibration.notes, *prompt_notes],
    )
    wall_anchor_ns = time.time_ns()
    draft = _draft(common, run_id, load, workload, wall_anchor_ns, settings.store_prompts)
    draft["parameters"]["slo"] = settings.slo
    draft["repeat"] = repeat.model_dump(mode="json") if repeat is not None else None
    # Written before the first request, so a killed run can be finished by `bench recover`.
    write_json(files.config, _resolved_config(settings, draft, params))
    write_json(
        files.prompts,
        {"prompts": [_manifest_entry(p, settings.store_prompts) for p in prompts]},
    )
    sink = RecordSink(files.raw)

    def on_record(record: RequestRecord) -> None:
        sink(record)
        progress.request_done(record)

    anchor_ns = time.perf_counter_ns()
    # a split run's records are on the coordinator's wall-clock timeline, else on this monotonic one
    window = _MeasuredWindow(
        meter,
        (lambda: time.time_ns() - wall_anchor_ns)
        if settings.split
        else (lambda: time.perf_counter_ns() - anchor_ns),
        _fixed_window_s(plan),
    )
    timeouts = Timeouts(timeout_s, idle_s=settings.idle_timeout_s)
    prompt_ids = [p.prompt_id for p in prompts]
    progress.point_started(concurrency, len(plan.requests))
    scale_out: dict[str, Any] | None = None
    if settings.split:
        try:
            pooled = await run_pool(
                settings.worker_factory(),
                split(plan, settings.workers),
                PoolJob(client.endpoint.url, settings.api_key, params.api, bodies, prompt_ids,
                        timeouts, settings.retries, wall_anchor_ns),
                control, on_record, window.start, settings.on_worker_loss,
            )  # fmt: skip
        finally:
            sink.close()
        samples, lag_p99 = pooled.samples, pooled.lag_p99_ms
        scale_out = {
            "runtime": "ray" if settings.ray else "process",
            "on_worker_loss": settings.on_worker_loss,
            "workers": [
                {k: v for k, v in asdict(w).items() if k != "anchor_mono_ns"}
                for w in pooled.workers
            ],
            "lost_requests": pooled.lost_requests,
        }
    else:
        samples = []
        ctx = WorkerContext(
            worker_id=0,
            client=client,
            api=params.api,
            bodies=bodies,
            prompt_ids=prompt_ids,
            timeouts=timeouts,
            anchor_ns=anchor_ns,
            on_record=on_record,
            retries=settings.retries,
            output_samples=samples,
        )
        lag = LoopLagMonitor()
        try:
            await run_closed_loop(ctx, plan, control, on_measured_start=window.start, lag=lag)
        finally:
            sink.close()
        lag_dist = distribution(lag.lags_ms)
        lag_p99 = lag_dist.p99 if lag_dist else None
    energy = window.finish(common.idle_watts)
    finished_ns = wall_anchor_ns + (time.perf_counter_ns() - anchor_ns)
    token_check = (
        None
        if control.status == "partial"  # the server is gone, or a worker: nothing to ask
        else await _token_check(samples, client, params.model)
    )
    predicate = seal_point(
        files,
        draft,
        status=control.status,
        finished_at=utc_iso(finished_ns),
        energy=energy,
        rules=settings.rules,
        loop_lag_p99_ms=lag_p99,
        extra_reasons=[control.reason] if control.reason else [],
        key=common.signer.key(),
        token_check=token_check,
        scale_out=scale_out,
    )
    progress.point_finished(files.envelope, predicate)
    return files.envelope, predicate


def _fixed_window_s(plan: Plan) -> float | None:
    """--cooldown (closed loop): the measured window is fixed, from the measured phase's start
    to the cooldown's, whatever requests are still running then."""
    if plan.rate_rps is not None or not plan.cooldown_s or not plan.duration_s:
        return None
    return plan.duration_s - plan.cooldown_s


class _MeasuredWindow:
    """The energy counter's window, timed on the records' clock. With a fixed length (--cooldown)
    the counter is read when the cooldown starts, and throughput and J/tok count the tokens that
    arrived in that same window; otherwise it spans the run and the bounds are not stated."""

    __slots__ = ("_clock", "_fixed_s", "_meter", "_timer", "end_ns", "reading", "start_ns")

    def __init__(self, meter: Meter, clock: Callable[[], int], fixed_s: float | None) -> None:
        self._meter = meter
        self._clock = clock
        self._fixed_s = fixed_s
        self._timer: asyncio.TimerHandle | None = None
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.reading: EnergyWindow | None = None

    def start(self) -> None:
        self._meter.start()
        self.start_ns = self._clock()
        if self._fixed_s is not None:
            self._timer = asyncio.get_running_loop().call_later(self._fixed_s, self._stop)

    def _stop(self) -> None:
        if self.reading is None:
            self.reading = self._meter.stop()
            self.end_ns = self._clock()

    def finish(self, idle_watts: float | None) -> EnergyInfo:
        """Stop (unless the fixed window already has) and describe the window."""
        if self._timer is not None:
            self._timer.cancel()
        self._stop()
        w = self.reading
        assert w is not None
        fixed = self._fixed_s is not None and self.start_ns is not None
        return EnergyInfo(
            method=w.method, scope=w.scope, window_s=w.window_s, energy_j=w.energy_j,
            idle_watts=idle_watts, reason=w.reason,
            window_start_ns=self.start_ns if fixed else None,
            window_end_ns=self.end_ns if fixed else None,
        )  # fmt: skip


async def _token_check(
    samples: list[tuple[RequestRecord, list[str]]], client: HttpClient, model: str | None
) -> dict[str, Any] | None:
    """Re-tokenize a sample of outputs with the server's own tokenizer and compare with usage."""
    usable = [(r, "".join(t)) for r, t in samples if r.tokens_from_usage and r.output_tokens]
    if not usable:
        return None
    counter = server_tokenizer(client, model)
    diffs = []
    for record, text in usable:
        try:
            n = await counter(text)
        except ServerLost:
            return {"sampled": len(usable), "tokenized": 0, "mismatches": 0, "max_abs_diff": 0,
                    "note": "the server could not be reached for the check"}  # fmt: skip
        if n is None:
            return {"sampled": len(usable), "tokenized": 0, "mismatches": 0, "max_abs_diff": 0,
                    "note": "the server has no /tokenize"}  # fmt: skip
        diffs.append(abs(n - (record.output_tokens or 0)))
    mismatches = sum(1 for d in diffs if d)
    note = (
        "re-tokenizing text can differ from generation by a token at boundaries"
        if mismatches else None
    )  # fmt: skip
    return {"sampled": len(usable), "tokenized": len(diffs), "mismatches": mismatches,
            "max_abs_diff": max(diffs), "note": note}  # fmt: skip


def _draft(
    common: _Common,
    run_id: str,
    load: LoadInfo,
    workload: WorkloadInfo,
    wall_anchor_ns: int,
    store_prompts: bool,
) -> dict[str, Any]:
    """The predicate as far as it is known before the run (JSON form)."""
    return {
        "run_id": run_id,
        "sweep_id": common.sweep_id,
        "parameters": Parameters(suite=common.suite_info, load=load, workload=workload).model_dump(
            mode="json"
        ),
        "target": common.target.model_dump(mode="json"),
        "hardware": common.hardware.model_dump(mode="json"),
        "software": common.software.model_dump(mode="json"),
        "timing": {
            "started_at": utc_iso(wall_anchor_ns),
            "finished_at": utc_iso(wall_anchor_ns),
            "wall_anchor_us": wall_anchor_ns // 1000,
        },
        "comparability": common.comparability.model_dump(mode="json"),
        "privacy": Privacy(prompts_stored=store_prompts).model_dump(mode="json"),
    }


def _manifest_entry(prompt: Prompt, store_text: bool) -> dict[str, object]:
    entry: dict[str, object] = {
        "prompt_id": prompt.prompt_id,
        "content_tokens": prompt.content_tokens,
    }
    if store_text:
        entry["text"] = prompt.text
    return entry


def _resolved_config(
    settings: RunSettings, draft: dict[str, Any], params: GenerationParams
) -> dict[str, object]:
    """Everything needed to re-run this point (the suite as loaded, the request parameters
    sent) and to finish it if the tool is killed (`run`: the draft predicate, the validity
    rules). The API key is deliberately absent."""
    return {
        "suite": settings.suite.model_dump(mode="json"),
        "request": {
            "api": params.api.value,
            "model": params.model,
            "temperature": params.temperature,
            "max_tokens": settings.suite.workload.output_tokens,
            "ignore_eos": params.ignore_eos,
            "cache_prompt": False if params.disable_prefix_cache else None,
            "seed": params.seed,
            "stream_options": {"include_usage": True},
        },
        "api_key_given": settings.api_key is not None,
        "validity_rules": asdict(settings.rules),
        "run": draft,
    }
