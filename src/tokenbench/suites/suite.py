"""Suite schema and loader. Built-in suites live in `suites/data/*.toml`; a path loads a user's."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenbench.engines.openai import Api
from tokenbench.errors import ConfigError, unknown_name

WorkloadKind = Literal["synthetic", "fixed", "sharegpt", "shared_prefix", "multi_turn", "agentic"]
SESSION_KINDS = ("multi_turn", "agentic")  # run as conversations: concurrency counts sessions


class WorkloadSpec(BaseModel):
    """What each request sends. Lengths and times given as text (`"normal(512,128)"`,
    `"uniform(0.5,2)"`) are seeded distributions, parsed where the run is prepared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: WorkloadKind
    prompts: int | None = Field(default=None, ge=1)  # distinct prompts (shared_prefix: K × M)
    input_tokens: int | None = Field(default=None, ge=1)  # synthetic: exact prompt length
    output_tokens: int = Field(ge=1)  # max_tokens of every request (the cap of output_len)
    prompt: str | None = None  # fixed: the one prompt text
    input_len: str | None = None  # a length distribution instead of input_tokens
    output_len: str | None = None  # a distribution of max_tokens (replaces output_tokens)
    prefixes: int | None = Field(default=None, ge=1)  # shared_prefix: K distinct prefixes
    prefix_tokens: int | None = Field(default=None, ge=1)  # shared_prefix: L tokens each
    sessions: int | None = Field(default=None, ge=1)  # multi_turn, agentic: S sessions
    turns: str | None = None  # turns per session: a count or a distribution
    think_time_s: str | None = None  # pause before each later turn (agentic: tool latency)
    system_tokens: int | None = Field(default=None, ge=1)  # agentic: the shared tool prompt
    tool_output_len: str | None = None  # agentic: each later turn's tool result

    @model_validator(mode="after")
    def _check_kind(self) -> WorkloadSpec:
        for bad, why in (
            (self.kind == "synthetic" and self.input_tokens is None and self.input_len is None,
             "a synthetic workload needs input_tokens (or input_len)"),
            (self.kind == "fixed" and not self.prompt, "a fixed workload needs prompt"),
            (self.kind in ("synthetic", "fixed", "sharegpt", "shared_prefix")
             and self.prompts is None, f"a {self.kind} workload needs prompts"),
            (self.kind == "shared_prefix" and (self.prefixes is None or not self.prefix_tokens),
             "a shared_prefix workload needs prefixes and prefix_tokens"),
            (self.kind == "shared_prefix" and self.prefixes and self.prompts
             and self.prompts % self.prefixes, "shared_prefix: prompts must be prefixes × M"),
            (self.kind in SESSION_KINDS and (self.sessions is None or self.turns is None),
             f"a {self.kind} workload needs sessions and turns"),
            (self.kind == "agentic" and (not self.system_tokens or not self.tool_output_len),
             "an agentic workload needs system_tokens and tool_output_len"),
        ):  # fmt: skip
            if bad:
                raise ValueError(why)
        return self

    @property
    def prompt_count(self) -> int:
        """Distinct prompts of a prompt workload (sessions: every session's turns)."""
        return self.prompts or self.sessions or 1


class Suite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    name: str
    description: str
    api: Api | None = None  # None: the model's preferred API (chat for instruct models)
    workload: WorkloadSpec
    temperature: float = 0.0
    ignore_eos: bool = False  # exact output lengths, where the engine supports it
    requests: int | None = Field(default=None, ge=1)  # per sweep point; default: one per prompt
    warmup_requests: int | None = Field(default=None, ge=0)  # default: one per concurrency slot
    sweep: list[int] = Field(default=[1], min_length=1)
    timeout_s: float = Field(default=300.0, gt=0)
    # how `bench summary` shows it
    table: Literal["default", "engine", "context", "cache", "sessions"] = "default"
    # "defeat": every request asks the engine to skip its prefix cache (raw engine speed);
    # "allow": the cache serves what requests share (shared-prefix and session workloads)
    prefix_cache: Literal["defeat", "allow"] = "defeat"
    trace_required: bool = False  # a replay suite: `bench run` needs --trace FILE
    input_lengths: list[int] | None = None  # a context sweep: one point per input length

    @model_validator(mode="after")
    def _check_lengths(self) -> Suite:
        if self.input_lengths is not None:
            if self.workload.kind != "synthetic":
                raise ValueError("input_lengths needs a synthetic workload")
            if not self.input_lengths or any(n < 1 for n in self.input_lengths):
                raise ValueError("input_lengths must be positive token counts")
        return self


def _builtin() -> dict[str, resources.abc.Traversable]:
    folder = resources.files("tokenbench.suites").joinpath("data")
    return {f.name.removesuffix(".toml"): f for f in folder.iterdir() if f.name.endswith(".toml")}


def suite_names() -> list[str]:
    return sorted(_builtin())


def _parse(text: str, origin: str) -> Suite:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"suite {origin} is not valid TOML: {exc}") from None
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"suite {origin}: {where}: {first['msg']}") from None


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite TOML file by path. Raises ConfigError."""
    builtin = _builtin()
    if name_or_path in builtin:
        return _parse(builtin[name_or_path].read_text(encoding="utf-8"), name_or_path)
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise ConfigError(f"suite file {path} does not exist")
        return _parse(path.read_text(encoding="utf-8"), str(path))
    raise unknown_name("suite", name_or_path, builtin)
