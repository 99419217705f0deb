"""A sweep: one `bench run` — engine up, workload built, one measured run per concurrency point,
one envelope each."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from tokenbench.energy.meter import EnergyWindow, Meter
from tokenbench.engines.http import HttpClient, Timeouts
from tokenbench.engines.openai import Api, GenerationParams, request_body
from tokenbench.engines.passthrough import RUN_RECORDED, Passthrough, check_recorded
from tokenbench.engines.profiles import profile_or_generic
from tokenbench.envelope.build import PointFiles, seal_point
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.io import RecordSink, new_ulid, safe_name, write_json
from tokenbench.envelope.provenance import event_loop_name, software, suite_digest, utc_iso
from tokenbench.envelope.schema import (
    SCHEMA_VERSION,
    Comparability,
    EnergyInfo,
    EngineInfo,
    ErrorBudget,
    HardwareInfo,
    LoadInfo,
    Parameters,
    Privacy,
    PromptFileInfo,
    RunDraft,
    RunPredicate,
    ScaleOutInfo,
    ScrapeInfo,
    SoftwareInfo,
    StageInfo,
    SuiteInfo,
    TimingInfo,
    TokenCheck,
    TraceInfo,
    WorkerInfo,
    WorkloadInfo,
)
from tokenbench.errors import ConfigError, ServerLost
from tokenbench.loadgen.canary import Canary, CanaryStream
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import Plan, closed_loop_plan, open_loop_plan, split, trace_plan
from tokenbench.loadgen.points import (
    FixedPoints,
    LoadPoint,
    Point,
    PointSource,
    SearchPoints,
    fixed_points,
)
from tokenbench.loadgen.pool import (
    PoolJob,
    PoolResult,
    ProcessWorker,
    RayWorker,
    WorkerHandle,
    ray_actor_class,
    run_pool,
)
from tokenbench.loadgen.search import RateSearch
from tokenbench.loadgen.sessions import SessionPlan, run_sessions
from tokenbench.loadgen.stages import Stage
from tokenbench.loadgen.worker import LoopLagMonitor, WorkerContext, run_closed_loop
from tokenbench.metrics.stats import distribution
from tokenbench.metrics.validity import ValidityRules
from tokenbench.outputs import output_dir
from tokenbench.records import RequestRecord
from tokenbench.session.bench import BenchSession, ctx_per_slot, open_session
from tokenbench.session.host_load import HostLoadWatch
from tokenbench.session.target import TargetSpec
from tokenbench.suites.suite import SESSION_KINDS, Suite
from tokenbench.telemetry.prometheus import PrometheusSampler
from tokenbench.telemetry.recorder import Recorder, local_samplers, recording
from tokenbench.telemetry.sampler import Sampler
from tokenbench.workloads.conversations import SessionScript
from tokenbench.workloads.prompt import Prompt, prompt_id
from tokenbench.workloads.sources import (
    Calibration,
    LoadedTrace,
    calibrate,
    load_trace,
    point_prompts,
    point_sessions,
    trace_work,
    warmup_prompts,
    workload_shape,
)
from tokenbench.workloads.synthetic import server_tokenizer


@dataclass(frozen=True, slots=True)
class RunSettings:
    suite: Suite
    output: Path
    error_budget: ErrorBudget | None = None  # --selftest: measured before the sweep
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
    config_file: str | None = None  # the config file whose defaults applied (cli/config.py)
    passthrough: Passthrough = field(default_factory=Passthrough)  # --extra-body, --header
    input_len: str | None = None  # --input-len: a seeded length distribution (synthetic)
    output_len: str | None = None  # --output-len: each request's max_tokens from a distribution
    trace: Path | None = None  # --trace FILE: replay its requests at their recorded times
    trace_format: str = "auto"
    trace_speedup: float = 1.0  # --trace-speedup: recorded times divided by this
    block_tokens: int | None = None  # --block-tokens: a trace's prefix block size
    stages: tuple[Stage, ...] | None = None  # --stages / --ramp: back-to-back stages
    prefix_cache: Literal["suite", "allow", "defeat"] = "suite"  # --prefix-cache
    sessions: int | None = None  # --sessions: conversations per point (session workloads)
    dataset: Path | None = None  # --dataset FILE: prompts from JSONL/JSON/CSV/Parquet
    dataset_columns: dict[str, str] | None = None  # --column prompt=instruction,…
    scrape_interval_s: float | None = 1.0  # --scrape-interval; None: --no-scrape
    canary: bool = False  # --canary: one stream to a local reference server, timing the client

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
            (self.burstiness != 1.0 and self.arrival != "gamma",
             "--burstiness shapes gamma arrivals only: add --arrival gamma"),
            (self.workers < 1, f"--workers must be at least 1, got {self.workers}"),
            (self.repeat < 1, f"--repeat must be at least 1, got {self.repeat}"),
            (self.interleave and self.repeat < 2,
             "--interleave alternates repeats: add --repeat N (N ≥ 2)"),
            (self.prompts_file is not None and self.prompts_file.is_dir(),
             f"--prompts {self.prompts_file} is a directory; name a JSONL file of prompts"),
            (self.trace_speedup <= 0, "--trace-speedup must be positive"),
            (self.sessions is not None and self.sessions < 1, "--sessions must be at least 1"),
            (self.scrape_interval_s is not None and self.scrape_interval_s <= 0,
             "--scrape-interval must be positive"),
        ):  # fmt: skip
            if bad:
                raise ConfigError(message)
        check_recorded(self.passthrough.extra_body, RUN_RECORDED, "bench run")
        self._check_workload()

    def _check_workload(self) -> None:
        """Workload flags that cannot go together; the distributions parse (or say why)."""
        kind = self.suite.workload.kind
        sessions = kind in SESSION_KINDS
        for bad, message in (
            (sessions and self.split, f"the {kind} workload runs its sessions from one "
             "process; drop --workers / --ray"),
            (sessions and bool(self.rates), f"the {kind} workload is closed loop over sessions "
             "(--concurrency counts sessions); drop --rate"),
            (self.sessions is not None and not sessions,
             "--sessions sets a session workload's conversations; this suite has none"),
            (self.suite.trace_required and self.trace is None,
             f"the {self.suite.name} suite replays a trace: add --trace FILE"),
            (self.dataset is not None and (sessions or self.prompts_file is not None),
             "--dataset replaces the suite's prompts; drop --prompts (or pick a prompt suite)"),
            (self.dataset is not None and not self.dataset.is_file(),
             f"--dataset {self.dataset} is not a file; name a JSONL, JSON, CSV or Parquet file"),
            (self.trace is not None and (self.prompts_file is not None or sessions),
             "--trace replaces the suite's prompts; drop --prompts (or pick a prompt suite)"),
            (self.trace is not None and bool(self.rates or self.stages),
             "--trace sends at the trace's own times; drop --rate / --stages"),
            (self.trace is not None and not self.trace.is_file(),
             f"--trace {self.trace} is not a file; name a trace (JSONL or CSV)"),
            (self.stages is not None and bool(self.rates or self.input_lengths),
             "--stages sets each stage's load; drop --rate / --sweep-rate / --input-lengths"),
            (self.stages is not None and self.duration_s is not None,
             "--stages sets each stage's length; drop --duration"),
            (self.stages is not None and self.requests is not None,
             "--stages bounds each stage by its length; drop --requests"),
            (sessions and any(st.rate_rps is not None for st in self.stages or ()),
             f"the {kind} workload is closed loop over sessions: give --stages as "
             "concurrencies (e.g. 30s@c2)"),
            (sessions and self.requests is not None,
             f"the {kind} workload counts sessions: use --sessions N instead of --requests"),
            (self.output_len is not None and (kind in ("fixed", "sharegpt") or self.trace
             is not None or self.prompts_file is not None or self.dataset is not None),
             "--output-len shapes generated prompts; these prompts bring their own lengths"),
            (self.input_len is not None and (self.trace is not None
             or self.prompts_file is not None or self.dataset is not None),
             "--input-len shapes generated prompts; drop it with --trace, --prompts or "
             "--dataset"),
        ):  # fmt: skip
            if bad:
                raise ConfigError(message)
        workload_shape(self.suite.workload, self.input_len, self.output_len)

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
    # label: "concurrency 4", "2 req/s", "input 1024 tokens"; total: None when bounded by time
    def point_started(self, label: str, total: int | None) -> None: ...
    def request_done(self, record: RequestRecord) -> None: ...
    def point_finished(self, path: Path, predicate: RunPredicate) -> None: ...


@dataclass(frozen=True, slots=True)
class _Sweep:
    """What every point of one `bench run` shares once the target is open."""

    settings: RunSettings
    session: BenchSession
    params: GenerationParams
    calibration: Calibration
    timeout_s: float
    sweep_id: str
    suite_info: SuiteInfo
    software: SoftwareInfo
    comparability: Comparability
    context: int | None  # the embedded model's context window, when known
    canary: Canary | None = None  # --canary: the reference server the points' canaries talk to

    @property
    def client(self) -> HttpClient:
        return self.session.target.client


def _points(
    settings: RunSettings, search: RateSearch | None, sweep_id: str
) -> tuple[PointSource, int, tuple[int, ...] | None]:
    """Where the points come from; also the most requests in flight at once (the embedded
    server's slots) and a context sweep's input lengths."""
    if search is not None and settings.rates:
        raise ConfigError("--find-max-rate chooses the rates itself; drop --sweep-rate")
    if search is not None and settings.repeat > 1:
        raise ConfigError("--find-max-rate probes each rate once; drop --repeat")
    suite = settings.suite
    lengths = settings.input_lengths or (
        tuple(suite.input_lengths) if suite.input_lengths else None
    )
    points: list[Point]
    if settings.stages:
        stages = _stage_points(settings, sweep_id)
        return FixedPoints(stages), max(p.concurrency for p in stages), None
    if settings.trace is not None:  # one point: the trace's own times; --concurrency caps
        sweep = settings.sweep or (TRACE_CAP,)
        points = [(sweep[0], None, None)]
    elif settings.rates:  # open loop: --concurrency is the cap on requests in flight
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
    if search is not None:
        cap = settings.sweep[0] if settings.sweep else 64
        points_source = SearchPoints(search, cap, settings.requests, settings.duration_s)
        return points_source, max(sweep), lengths
    return fixed_points(points, settings.repeat, settings.interleave, sweep_id), max(sweep), lengths


TRACE_CAP = 64  # a replayed trace's default cap on requests in flight (the embedded server's slots)


def _stage_points(settings: RunSettings, sweep_id: str) -> list[LoadPoint]:
    """One point per stage, run back to back; only the first warms up."""
    stages = settings.stages or ()
    cap = settings.sweep[0] if settings.sweep else 64
    out = []
    for i, st in enumerate(stages):
        info = StageInfo(group=sweep_id, index=i, count=len(stages), duration_s=st.duration_s,
                         level=st.level)  # fmt: skip
        conc = st.concurrency or cap
        out.append(LoadPoint(conc, st.rate_rps, duration_s=st.duration_s, stage=info,
                             start_s=st.start_s))  # fmt: skip
    return out


def _longest_input(
    settings: RunSettings, lengths: tuple[int, ...] | None, trace: LoadedTrace | None
) -> int:
    """The longest prompt a point may send, for the embedded server's context per slot."""
    spec = settings.suite.workload
    if lengths:
        return max(lengths)
    if trace is not None:  # blocks joined by spaces may take a token more each
        inputs = trace.trace.input_tokens
        return max(inputs) + max(len(r.blocks) for r in trace.trace.requests) + 64
    if spec.kind in SESSION_KINDS:
        return 8192  # a history grows long: the model's own window caps this
    if spec.kind == "shared_prefix":
        return (spec.prefix_tokens or 0) + 4 * (spec.input_tokens or 64)
    if settings.input_len is not None or spec.input_len is not None:
        return 4096
    return spec.input_tokens or 1024


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
    output_dir(settings.output, "--output")  # before any server starts
    sweep_id = new_ulid()
    source, parallel, lengths = _points(settings, search, sweep_id)
    suite = settings.suite
    trace = None
    if settings.trace is not None:  # read (and checked) before any server starts
        trace = await asyncio.to_thread(load_trace, settings.trace, settings.trace_format,
                                        settings.block_tokens, settings.trace_speedup,
                                        settings.requests)  # fmt: skip
    longest = _longest_input(settings, lengths, trace)
    async with contextlib.AsyncExitStack() as stack:
        session = await open_session(
            stack,
            TargetSpec(settings.model, settings.base_url, settings.api_key, settings.engine,
                       settings.quant, settings.output, settings.threads, settings.timeout_s,
                       settings.passthrough),
            sign=settings.sign, note=progress.note, phase=progress.phase, parallel=parallel,
            slot_context=lambda m: ctx_per_slot(longest, suite.workload.output_tokens, m),
            meter=meter,
        )  # fmt: skip
        sweep = await _prepare(settings, session, sweep_id, progress, trace)
        sweep = await _with_canary(stack, sweep, progress)
        written: list[Path] = []
        first_stage: float | None = None
        while not control.stop.is_set() and (point := source.next_point()) is not None:
            first_stage = await _wait_for_window(point, first_stage, control)
            done = await _point(sweep, point, control, progress)
            if done is not None:
                written.append(done[0])
            source.record(point, done[1] if done else None)
        return written


async def _with_canary(
    stack: contextlib.AsyncExitStack, sweep: _Sweep, progress: Progress
) -> _Sweep:
    """--canary: start the reference server the points' canary streams talk to; it stops with
    the run."""
    if not sweep.settings.canary:
        return sweep
    workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tokenbench-canary-"))
    canary = await asyncio.to_thread(Canary.start, Path(workdir))
    stack.callback(canary.stop)
    progress.note(f"canary: one extra stream per point to the reference server at "
                  f"{canary.server.base_url} (excluded from the metrics)")  # fmt: skip
    return replace(sweep, canary=canary)


async def _wait_for_window(
    point: LoadPoint, first: float | None, control: RunControl
) -> float | None:
    """--stages windows: a stage that starts after a gap waits for its start (measured from
    the first stage's); returns the first stage's start on the monotonic clock."""
    if point.stage is None:
        return first
    now = time.monotonic()
    if first is None:
        return now - (point.start_s or 0.0)
    if point.start_s is not None and (wait := first + point.start_s - now) > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(control.stop.wait(), wait)
    return first


async def _prepare(
    settings: RunSettings, session: BenchSession, sweep_id: str, progress: Progress,
    trace: LoadedTrace | None = None,
) -> _Sweep:  # fmt: skip
    """What the target's engine is asked for on every request, the prompts' calibration, and
    the sweep's provenance."""
    suite, target = settings.suite, session.target
    resolved = target.resolved
    api = settings.api or suite.api or (resolved.preferred_api if resolved else Api.CHAT)
    engine = profile_or_generic(target.identity.name)
    ignore_eos = suite.ignore_eos and engine.honours_ignore_eos
    policy = suite.prefix_cache if settings.prefix_cache == "suite" else settings.prefix_cache
    # skipped only when asked to, and the engine has a switch for it
    disable_prefix_cache = policy == "defeat" and bool(engine.prefix_cache_off)
    if settings.prefix_cache == "defeat" and not engine.prefix_cache_off:
        progress.note(f"{engine.name} has no request field to skip its prefix cache: "
                      "--prefix-cache defeat cannot be sent (switch the cache off when starting "
                      "the server); the envelope records the cache as allowed")  # fmt: skip
    params = GenerationParams(
        api, target.model_field, suite.temperature, ignore_eos, settings.seed,
        disable_prefix_cache=disable_prefix_cache,
        extras=tuple(engine.request_extras(disable_prefix_cache).items()),
        extra_body=settings.passthrough.body_fields,
    )  # fmt: skip
    timeout_s = settings.timeout_s or suite.timeout_s
    progress.phase(f"calibrating prompt lengths, {target.first_response_wait(timeout_s)}")
    calibration = await calibrate(
        suite, target.client, params, settings.seed, timeout_s, settings.retries,
        settings.prompts_file,
        workload_shape(suite.workload, settings.input_len, settings.output_len),
        (settings.dataset, settings.dataset_columns) if settings.dataset else None,
    )  # fmt: skip
    if trace is not None:
        calibration = replace(calibration, kind="trace", trace=trace)
    soft = await asyncio.to_thread(software, suite_digest(suite), event_loop_name())
    suite_info = SuiteInfo(
        name=suite.name, api=api.value, temperature=suite.temperature,
        max_tokens=suite.workload.output_tokens, ignore_eos_requested=suite.ignore_eos,
        ignore_eos_sent=ignore_eos, prefix_cache_disabled=params.disable_prefix_cache,
        table=suite.table,
    )  # fmt: skip
    return _Sweep(
        settings, session, params, calibration, timeout_s, sweep_id, suite_info, soft,
        comparability(session.hardware, target.info.engine, soft.suite_digest),
        resolved.gguf.context_length if resolved else None,
    )  # fmt: skip


async def _point(
    sweep: _Sweep, point: LoadPoint, control: RunControl, progress: Progress
) -> tuple[Path, RunPredicate] | None:
    """One point, or None when a context-sweep length does not fit the model's window."""
    calibration = sweep.calibration
    length = point.input_length
    if length is not None:
        output = sweep.settings.suite.workload.output_tokens
        if sweep.context and length + output > sweep.context:
            progress.note(
                f"skipping input length {length}: with {output} output tokens it exceeds the "
                f"model's context window ({sweep.context})"
            )
            return None
        calibration = calibration.for_length(length)
    return await _run_point(sweep, point, calibration, control, progress)


def comparability(hardware: HardwareInfo, engine: EngineInfo, suite_digest: str) -> Comparability:
    parts = {
        "hardware_fingerprint": hardware.fingerprint,
        "engine": f"{engine.name} {engine.version or 'unknown'}",
        "suite_digest": suite_digest,
        "schema_version": SCHEMA_VERSION,
    }
    key = hashlib.sha256(canonical(parts)).hexdigest()[:16]
    return Comparability(key=key, **parts)


# The default warmup is one request per slot, at most this many: `--sweep 100000` must not send
# 100,000 warmup requests. --warmup N or --warmup-duration S choose otherwise.
DEFAULT_WARMUP_MAX = 256
# Distinct prompts built for a point, at most: a longer run cycles through them, so a run bounded
# by time costs the same memory and start-up however long it lasts (~13 kB and ~0.7 ms each).
PROMPT_POOL_MAX = 2048


@dataclass(frozen=True, slots=True)
class _PointWork:
    """A point ready to send: its prompts, request bodies and plan."""

    prompts: list[Prompt]
    notes: list[str]
    bodies: list[bytes]
    plan: Plan
    requests: int | None  # None: bounded by the duration alone
    warmup: int
    warmup_capped_at: int | None = None
    sessions: SessionPlan | None = None  # a session workload: what is run instead of the plan


@dataclass(frozen=True, slots=True)
class _Bounds:
    """What ends a point: a request count, a duration, or whichever comes first."""

    requests: int | None
    duration_s: float | None
    warmup: int
    warmup_capped_at: int | None


def _bounds(settings: RunSettings, point: LoadPoint, calibration: Calibration) -> _Bounds:
    """--duration keeps the load up for that long: the suite's request count is then no cap,
    only --requests is (whichever ends first). A rate-search probe brings its own duration."""
    suite = settings.suite
    duration = point.duration_s or settings.duration_s
    if point.duration_s is not None:
        requests = None  # a probe's minimum request count is folded into its duration
    elif settings.requests is not None or duration is None:
        requests = (
            settings.requests
            or suite.requests
            or (len(calibration.file_prompts) if calibration.file_prompts
                else suite.workload.prompt_count)
        )  # fmt: skip
    else:
        requests = None
    capped = None
    if point.stage is not None and point.stage.index > 0:
        warmup = 0  # the stage before it left the server warm
    elif settings.warmup is not None:
        warmup = settings.warmup
    elif suite.warmup_requests is not None:
        warmup = suite.warmup_requests
    else:
        open_loop = point.rate_rps is not None or calibration.trace is not None  # a trace too
        warmup = min(point.concurrency, 4) if open_loop else point.concurrency
        if warmup > DEFAULT_WARMUP_MAX and settings.warmup_s is None:
            warmup = capped = DEFAULT_WARMUP_MAX
    return _Bounds(requests, duration, warmup, capped)


def _plan(settings: RunSettings, point: LoadPoint, b: _Bounds, prompts: int) -> Plan:
    if point.rate_rps is None:
        return closed_loop_plan(
            prompts, b.requests, b.warmup, point.concurrency, b.duration_s,
            settings.warmup_s, settings.cooldown_s,
        )  # fmt: skip
    return open_loop_plan(
        prompts, b.requests, b.warmup, point.rate_rps, settings.arrival,
        settings.burstiness, settings.seed, point.concurrency, b.duration_s,
    )  # fmt: skip


def _prompt_count(settings: RunSettings, point: LoadPoint, b: _Bounds) -> int:
    """One prompt per request up to PROMPT_POOL_MAX; an open loop bounded by time needs as many
    as its schedule sends within the duration."""
    needed = b.requests
    if needed is None and point.rate_rps is not None:
        needed = _plan(settings, point, b, 1).scheduled_requests(PROMPT_POOL_MAX)
    if needed is None:
        return PROMPT_POOL_MAX
    return max(1, min(b.warmup + needed, PROMPT_POOL_MAX))


def _cycle_note(work_prompts: int, plan: Plan, cache_disabled: bool) -> list[str]:
    if plan.measured_count is not None and plan.warmup_count + plan.measured_count <= work_prompts:
        return []
    cache = (
        "the engine was told not to use its prefix cache"
        if cache_disabled
        else "this engine cannot be told to skip its prefix cache, so repeats may be served "
        "from it; see cached_input_tokens_total"
    )
    return [f"{work_prompts} distinct prompts, cycled: a request past them re-sends one ({cache})"]


async def _build(
    sweep: _Sweep, point: LoadPoint, calibration: Calibration, progress: Progress
) -> _PointWork:
    bounds = _bounds(sweep.settings, point, calibration)
    if bounds.warmup_capped_at is not None:
        progress.note(
            f"warmup capped at {bounds.warmup_capped_at} requests (the default is one per slot, "
            f"at most {DEFAULT_WARMUP_MAX}); --warmup N or --warmup-duration S to choose"
        )
    progress.phase(f"building prompts for {point.name}")
    builder: Callable[[_Sweep, LoadPoint, Calibration, _Bounds], Awaitable[_PointWork]]
    if calibration.shape.sessions is not None:
        builder = _build_sessions
    elif calibration.trace is not None or calibration.kind == "shared_prefix":
        builder = _build_apart
    else:
        builder = _build_prompts
    try:
        work = await builder(sweep, point, calibration, bounds)
    except ServerLost as exc:  # nothing of this point was sent: no envelope to write
        raise ServerLost(
            f"{exc} (while building the prompts of point {point.name}; nothing of it was measured)"
        ) from None
    return replace(work, warmup_capped_at=bounds.warmup_capped_at)


async def _build_prompts(
    sweep: _Sweep, point: LoadPoint, calibration: Calibration, bounds: _Bounds
) -> _PointWork:
    """Independent prompts, one per request as far as the source lasts."""
    settings = sweep.settings
    count = _prompt_count(settings, point, bounds)
    if bounds.requests is None and calibration.file_prompts:  # time-bound: cycle what is drawn
        count = min(count, len(calibration.file_prompts))
    prompts, notes = await point_prompts(calibration, count, f"{settings.seed}:{point.name}",
                                         sweep.client, sweep.params)  # fmt: skip
    bodies = _bodies(sweep, prompts)
    plan = _plan(settings, point, bounds, len(bodies))
    # a fixed prompt repeats by design; a file or ShareGPT pool notes its own repeats
    if calibration.fixed_prompt is None and not (calibration.pool is not None and notes):
        notes = _cycle_note(len(bodies), plan, sweep.params.disable_prefix_cache)
    return _PointWork(prompts, notes, bodies, plan, bounds.requests, bounds.warmup)


def _bodies(sweep: _Sweep, prompts: list[Prompt]) -> list[bytes]:
    default = sweep.settings.suite.workload.output_tokens
    return [request_body(sweep.params, p.text, p.max_tokens or default, p.messages)
            for p in prompts]  # fmt: skip


async def _build_apart(
    sweep: _Sweep, point: LoadPoint, cal: Calibration, bounds: _Bounds
) -> _PointWork:
    """A trace, or shared-prefix prompts: warmup on prompts of its own, so warming up does not
    fill the prefix cache the measured requests are meant to find empty."""
    namespace = f"{sweep.settings.seed}:{point.name}"
    warm = await warmup_prompts(cal, bounds.warmup, namespace, sweep.client, sweep.params)
    warm = warm[: bounds.warmup]
    notes: list[str] = []
    if cal.trace is not None:
        measured, labels = await trace_work(cal, namespace, sweep.client, sweep.params)
        prompts = warm + measured
        plan = trace_plan(len(prompts), bounds.warmup, cal.trace.offsets_ns, labels,
                          point.concurrency, bounds.duration_s)  # fmt: skip
        notes += list(cal.trace.trace.notes)
        return _PointWork(prompts, notes, _bodies(sweep, prompts), plan, len(measured),
                          bounds.warmup)  # fmt: skip
    requests = bounds.requests or (cal.spec.prompt_count if cal.spec else 1)
    measured, _ = await point_prompts(cal, requests, namespace, sweep.client, sweep.params)
    prompts = warm + measured
    plan = replace(_plan(sweep.settings, point, bounds, len(prompts)), measured_apart=True)
    if bounds.requests is not None and bounds.requests > len(measured):
        notes.append(f"{len(measured)} shared-prefix prompts for {bounds.requests} requests: "
                     "prompts repeat")  # fmt: skip
    return _PointWork(prompts, notes, _bodies(sweep, prompts), plan, bounds.requests,
                      bounds.warmup)  # fmt: skip


async def _build_sessions(
    sweep: _Sweep, point: LoadPoint, cal: Calibration, bounds: _Bounds
) -> _PointWork:
    """A session workload's scripts for this point (its own text), warmup sessions of one
    turn each first; the nominal plan describes the load for the envelope."""
    namespace = f"{sweep.settings.seed}:{point.name}"
    spec = sweep.settings.suite.workload
    count = sweep.settings.sessions or spec.sessions or 1
    scripts = await point_sessions(cal, namespace, sweep.client, sweep.params, 0, count)
    warm: list[SessionScript] = []
    if bounds.warmup:
        warm = await point_sessions(cal, f"{namespace}:warmup", sweep.client, sweep.params,
                                    count, bounds.warmup)  # fmt: skip
        warm = [replace(w, turns=w.turns[:1]) for w in warm]
    sessions = SessionPlan(point.concurrency, tuple(warm), tuple(scripts), bounds.duration_s)
    turns = [Prompt(t.text, prompt_id(t.text), None, max_tokens=t.max_tokens)
             for script in (*warm, *scripts) for t in script.turns]  # fmt: skip
    plan = closed_loop_plan(max(len(turns), 1), sessions.requests, len(warm), point.concurrency,
                            bounds.duration_s)  # fmt: skip
    return _PointWork(turns, [], [], plan, sessions.requests, len(warm), sessions=sessions)


def _draft(
    sweep: _Sweep, point: LoadPoint, calibration: Calibration, work: _PointWork,
    run_id: str, wall_anchor_ns: int,
) -> RunDraft:  # fmt: skip
    """The predicate as far as it is known before the point's first request."""
    settings = sweep.settings
    load = _load_info(sweep, point, calibration, work)
    workload = _workload_info(calibration, work)
    started = utc_iso(wall_anchor_ns)
    return RunDraft(
        run_id=run_id,
        sweep_id=sweep.sweep_id,
        parameters=Parameters(
            suite=sweep.suite_info,
            load=load,
            workload=workload,
            slo=settings.slo,
            passthrough=sweep.session.target.passthrough_info,
        ),
        target=sweep.session.target.info,
        hardware=sweep.session.hardware,
        software=sweep.software,
        timing=TimingInfo(
            started_at=started, finished_at=started, wall_anchor_us=wall_anchor_ns // 1000
        ),
        comparability=sweep.comparability,
        privacy=Privacy(prompts_stored=settings.store_prompts),
        repeat=point.repeat,
        scrape=_scrape(sweep),
    )


def _load_info(
    sweep: _Sweep, point: LoadPoint, calibration: Calibration, work: _PointWork
) -> LoadInfo:
    """How the point's load is offered: closed loop at a concurrency, or open loop at a rate."""
    settings, rate = sweep.settings, work.plan.rate_rps
    schedule = work.plan.schedule
    return LoadInfo(
        mode="open_loop" if rate is not None else "closed_loop",
        rate_rps=rate,
        arrival=schedule.arrival if schedule is not None else None,
        burstiness=settings.burstiness if rate is not None and not calibration.trace else None,
        concurrency=point.concurrency,
        requests=work.requests,
        warmup_requests=work.warmup,
        duration_limit_s=work.plan.duration_s,
        timeout_s=sweep.timeout_s,
        workers=settings.workers,
        seed=settings.seed,
        offered_rate_rps=work.plan.offered_rate_rps,
        cooldown_s=settings.cooldown_s if rate is None else None,
        warmup_capped_at=work.warmup_capped_at,
        input_length=point.input_length,
        stage=point.stage,
    )


def _workload_info(calibration: Calibration, work: _PointWork) -> WorkloadInfo:
    """What the point sends: the prompts' kind, target length and the shapes they were drawn by."""
    return WorkloadInfo(
        kind=calibration.kind,
        prompts=len(work.prompts),
        input_tokens_target=calibration.target,
        template_overhead_tokens=calibration.overhead,
        input_tokens_exact=None,
        notes=[*calibration.notes, *work.notes],
        distributions=calibration.shape.texts(),
        sessions=len(work.sessions.sessions) if work.sessions else None,
        trace=_trace_info(calibration, work),
        prompt_file=PromptFileInfo(**asdict(calibration.prompt_file))
        if calibration.prompt_file
        else None,
    )


def _trace_info(cal: Calibration, work: _PointWork) -> TraceInfo | None:
    loaded = cal.trace
    if loaded is None:
        return None
    offsets = loaded.offsets_ns
    return TraceInfo(file_name=loaded.file_name, sha256=loaded.sha256,
                     format=loaded.trace.format, requests=len(offsets),
                     block_tokens=loaded.trace.block_tokens, speedup=loaded.speedup,
                     span_s=(offsets[-1] - offsets[0]) / 1e9)  # fmt: skip


async def _run_point(
    sweep: _Sweep,
    point: LoadPoint,
    calibration: Calibration,
    control: RunControl,
    progress: Progress,
) -> tuple[Path, RunPredicate]:
    """Build the point, write its config and prompt manifest, measure it, seal its envelope."""
    settings = sweep.settings
    work = await _build(sweep, point, calibration, progress)
    run_id = new_ulid()
    model_id = sweep.session.target.info.model.model_id
    stem = f"{safe_name(model_id)}__{safe_name(settings.suite.name)}__{point.name}__{run_id}"
    files = PointFiles(settings.output, stem)
    wall_anchor_ns = time.time_ns()
    draft = _draft(sweep, point, calibration, work, run_id, wall_anchor_ns)
    # Written before the first request, so a killed run can be finished by `bench recover`.
    write_json(files.config, _resolved_config(settings, draft, sweep.params))
    write_json(files.prompts, {"prompts": [_manifest_entry(p, settings.store_prompts)
                                           for p in work.prompts]})  # fmt: skip
    watch = HostLoadWatch(sweep.session.engine_pids)  # other work on the host, before and during
    await asyncio.to_thread(watch.before)
    measured = await _measure(sweep, point, work, files, wall_anchor_ns, control, progress)
    host_load = await asyncio.to_thread(watch.finish)
    draft = _with_bound(draft, _bounded_by(work.plan, measured.sent_measured, control))
    finished_ns = wall_anchor_ns + (time.perf_counter_ns() - measured.anchor_ns)
    token_check = (
        None
        if control.status == "partial"  # the server is gone, or a worker: nothing to ask
        else await _token_check(measured.samples, sweep.client, sweep.params.model)
    )
    predicate = seal_point(
        files,
        draft,
        status=control.status,
        finished_at=utc_iso(finished_ns),
        energy=measured.energy,
        rules=settings.rules,
        loop_lag_p99_ms=measured.lag_p99_ms,
        extra_reasons=[
            *([control.reason] if control.reason else []),
            *_cap_reasons(work.plan, measured.cap_held),
        ],
        key=sweep.session.signer.key(),
        token_check=token_check,
        scale_out=measured.scale_out,
        host_load=host_load,
        error_budget=settings.error_budget,
        canary=measured.canary,
    )
    progress.point_finished(files.envelope, predicate)
    return files.envelope, predicate


def _bounded_by(plan: Plan, sent_measured: int, control: RunControl) -> _Bound | None:
    """What ended the measured phase: every planned request sent, or the duration (a stopped
    run: neither)."""
    if control.status != "complete":
        return None
    if plan.duration_s is None:
        return "requests"
    if plan.measured_count is None:
        return "duration"
    return "requests" if sent_measured >= plan.measured_count else "duration"


_Bound = Literal["requests", "duration"]


def _with_bound(draft: RunDraft, bounded_by: _Bound | None) -> RunDraft:
    load = draft.parameters.load.model_copy(update={"bounded_by": bounded_by})
    parameters = draft.parameters.model_copy(update={"load": load})
    return draft.model_copy(update={"parameters": parameters})


def _cap_reasons(plan: Plan, held: int) -> list[str]:
    """Open loop: a request that waited for a free slot under the in-flight cap left late, so
    the server was not offered the rate: the run (and a rate-search probe) fails."""
    if plan.rate_rps is None or not held:
        return []
    return [
        f"the in-flight cap was reached ({held} requests waited for one of the "
        f"{plan.concurrency} slots, --concurrency): the offered rate was not sustained; "
        "raise --concurrency or lower the rate"
    ]


@dataclass(frozen=True, slots=True)
class _Measured:
    anchor_ns: int  # the point's monotonic anchor
    samples: list[tuple[RequestRecord, list[str]]]  # outputs kept for the token check
    lag_p99_ms: float | None
    energy: EnergyInfo
    scale_out: ScaleOutInfo | None
    sent_measured: int  # measured-phase requests sent (cooldown included)
    cap_held: int  # open loop: measured requests the in-flight cap held back
    canary: ErrorBudget | None = None  # --canary: the client's timing error under this load


def _announce(point: LoadPoint, work: _PointWork, progress: Progress) -> None:
    total = work.plan.scheduled_requests(2**62)
    progress.point_started(point.label, None if total is None else total + work.warmup)


def _records_clock(split_run: bool, anchor_ns: int, wall_anchor_ns: int) -> Callable[[], int]:
    """A split run's records are on the coordinator's wall-clock timeline, else on this
    process's monotonic one."""
    if split_run:
        return lambda: time.time_ns() - wall_anchor_ns
    return lambda: time.perf_counter_ns() - anchor_ns


async def _measure(
    sweep: _Sweep,
    point: LoadPoint,
    work: _PointWork,
    files: PointFiles,
    wall_anchor_ns: int,
    control: RunControl,
    progress: Progress,
) -> _Measured:
    """Send the plan, in this process or split over workers, every record appended to the raw
    sidecar as it ends; the energy window spans the measured phase."""
    settings = sweep.settings
    sink = RecordSink(files.raw)
    sent_measured = 0

    def on_record(record: RequestRecord) -> None:
        nonlocal sent_measured
        sink(record)
        sent_measured += not record.warmup
        progress.request_done(record)

    anchor_ns = time.perf_counter_ns()
    clock = _records_clock(settings.split, anchor_ns, wall_anchor_ns)
    recorder = Recorder(_samplers(sweep), files.telemetry, clock)  # this process scrapes
    canary = _canary_stream(sweep, anchor_ns, sink, wall_anchor_ns)  # starts with the window
    window = _MeasuredWindow(sweep.session.meter, clock, _fixed_window_s(work.plan),
                             _on_start(recorder, canary))  # fmt: skip
    timeouts = Timeouts(sweep.timeout_s, idle_s=settings.idle_timeout_s)
    prompt_ids = [p.prompt_id for p in work.prompts]
    _announce(point, work, progress)
    scale_out: ScaleOutInfo | None = None
    try:
        async with recording(recorder):  # the telemetry series, over the measured phase
            if settings.split:
                job = PoolJob(sweep.client.endpoint.url, settings.api_key, sweep.params.api,
                              work.bodies, prompt_ids, timeouts, settings.retries,
                              wall_anchor_ns, settings.passthrough.headers)  # fmt: skip
                shares = split(work.plan, settings.workers)
                pooled = await run_pool(
                    settings.worker_factory(), shares, job, control, on_record, window.start,
                    settings.on_worker_loss,
                )  # fmt: skip
                samples, lag_p99, cap_held = pooled.samples, pooled.lag_p99_ms, pooled.cap_held
                scale_out = _scale_out(settings, pooled)
            else:
                ctx = WorkerContext(
                    worker_id=0, client=sweep.client, api=sweep.params.api, bodies=work.bodies,
                    prompt_ids=prompt_ids, timeouts=timeouts, anchor_ns=anchor_ns,
                    on_record=on_record, retries=settings.retries, output_samples=[],
                )  # fmt: skip
                samples, lag_p99, cap_held = await _run_here(ctx, work, sweep.params, control,
                                                             window)  # fmt: skip
    finally:
        if canary is not None:
            await canary.stop()
        sink.close()
    energy = window.finish(sweep.session.idle_watts)
    budget = None if canary is None else await canary.budget(point.concurrency)
    return _Measured(anchor_ns, samples, lag_p99, energy, scale_out, sent_measured, cap_held,
                     budget)  # fmt: skip


def _canary_stream(
    sweep: _Sweep, anchor_ns: int, sink: RecordSink, wall_anchor_ns: int
) -> CanaryStream | None:
    """--canary: the point's stream, in this process (a split run's coordinator), its records in
    the point's sidecar on the records' timeline."""
    if sweep.canary is None:
        return None
    return sweep.canary.stream(anchor_ns, sink, wall_anchor_ns if sweep.settings.split else None)


def _on_start(recorder: Recorder, canary: CanaryStream | None) -> Callable[[], None]:
    """What starts with the measured phase: the telemetry's start readings, the canary."""
    if canary is None:
        return recorder.start

    def start() -> None:
        recorder.start()
        canary.start()

    return start


async def _run_here(
    ctx: WorkerContext, work: _PointWork, params: GenerationParams, control: RunControl,
    window: _MeasuredWindow,
) -> tuple[list[tuple[RequestRecord, list[str]]], float | None, int]:  # fmt: skip
    """The plan (or the sessions) sent from this process: the kept outputs, the event loop's
    lag p99, and the requests the open-loop cap held back."""
    lag = LoopLagMonitor()
    if work.sessions is not None:
        await run_sessions(ctx, params, work.sessions, control, window.start, lag)
    else:
        await run_closed_loop(ctx, work.plan, control, on_measured_start=window.start, lag=lag)
    lag_dist = distribution(lag.lags_ms)
    assert ctx.output_samples is not None
    return ctx.output_samples, lag_dist.p99 if lag_dist else None, ctx.cap.held


def _scale_out(settings: RunSettings, pooled: PoolResult) -> ScaleOutInfo:
    return ScaleOutInfo(
        runtime="ray" if settings.ray else "process",
        on_worker_loss="continue" if settings.on_worker_loss == "continue" else "abort",
        workers=[
            WorkerInfo(**{k: v for k, v in asdict(w).items() if k != "anchor_mono_ns"})
            for w in pooled.workers
        ],
        lost_requests=pooled.lost_requests,
    )


def _scrape(sweep: _Sweep) -> ScrapeInfo:
    """Whether each point scrapes the engine's Prometheus endpoint, and why not: recorded so
    an envelope without a server series says why (--no-scrape, or no endpoint known)."""
    interval = sweep.settings.scrape_interval_s
    engine = sweep.session.target.info.engine.name
    profile = profile_or_generic(engine)
    if interval is None:
        return ScrapeInfo(interval_s=None, reason="--no-scrape")
    if not profile.metrics_path or not profile.metrics:
        # the generic profile is named "unknown": the recorded engine name says more
        return ScrapeInfo(interval_s=None, reason=(
            f"the engine profile for {engine} names no /metrics endpoint"))  # fmt: skip
    return ScrapeInfo(interval_s=interval)


def _samplers(sweep: _Sweep) -> list[Sampler]:
    """The telemetry of a point: the engine's Prometheus endpoint (unless --no-scrape or its
    profile knows none), and for an engine on this host its processes and GPUs."""
    interval = _scrape(sweep).interval_s
    target = sweep.session.target
    endpoint = sweep.client.endpoint
    samplers: list[Sampler] = []
    if interval is not None:
        profile = profile_or_generic(target.info.engine.name)
        samplers.append(PrometheusSampler(endpoint.host, endpoint.port, profile, interval,
                                          tls=endpoint.scheme == "https"))  # fmt: skip
    pids = sweep.session.engine_pids
    return samplers + local_samplers(pids, gpus=bool(pids) or target.server is not None)


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

    __slots__ = ("_clock", "_fixed_s", "_meter", "_on_start", "_timer", "end_ns", "reading",
                 "start_ns")  # fmt: skip

    def __init__(
        self, meter: Meter, clock: Callable[[], int], fixed_s: float | None,
        on_start: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self._meter = meter
        self._on_start = on_start  # the telemetry recorder's start readings
        self._clock = clock
        self._fixed_s = fixed_s
        self._timer: asyncio.TimerHandle | None = None
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.reading: EnergyWindow | None = None

    def start(self) -> None:
        self._meter.start()
        self.start_ns = self._clock()
        if self._on_start is not None:
            self._on_start()
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
) -> TokenCheck | None:
    """Re-tokenize a sample of outputs with the server's own tokenizer and compare with usage."""
    # A tool call's tokens (name, JSON framing) are not in the answer text: left out.
    usable = [
        (r, "".join(t))
        for r, t in samples
        if r.tokens_from_usage and r.output_tokens and r.finish_reason != "tool_calls"
    ]
    if not usable:
        return None
    counter = server_tokenizer(client, model)
    diffs = []
    for record, text in usable:
        try:
            n = await counter(text)
        except ServerLost:
            return TokenCheck(sampled=len(usable), tokenized=0, mismatches=0, max_abs_diff=0,
                              note="the server could not be reached for the check")  # fmt: skip
        if n is None:
            return TokenCheck(sampled=len(usable), tokenized=0, mismatches=0, max_abs_diff=0,
                              note="the server has no /tokenize")  # fmt: skip
        diffs.append(abs(n - (record.output_tokens or 0)))
    mismatches = sum(1 for d in diffs if d)
    note = (
        "re-tokenizing text can differ from generation by a token at boundaries"
        if mismatches else None
    )  # fmt: skip
    return TokenCheck(sampled=len(usable), tokenized=len(diffs), mismatches=mismatches,
                      max_abs_diff=max(diffs), note=note)  # fmt: skip


def _manifest_entry(prompt: Prompt, store_text: bool) -> dict[str, object]:
    entry: dict[str, object] = {
        "prompt_id": prompt.prompt_id,
        "content_tokens": prompt.content_tokens,
    }
    if store_text:
        entry["text"] = prompt.text
    return entry


def _resolved_config(
    settings: RunSettings, draft: RunDraft, params: GenerationParams
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
            "passthrough": settings.passthrough.record(),  # header values redacted
        },
        "api_key_given": settings.api_key is not None,
        "config_file": settings.config_file,  # its values are in the settings above
        "validity_rules": asdict(settings.rules),
        "run": draft.model_dump(mode="json"),
    }
