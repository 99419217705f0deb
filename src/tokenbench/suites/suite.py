"""Suite schema and loader. Built-in suites live in `suites/data/*.toml`; a path loads a user's."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenbench.engines.openai import Api
from tokenbench.errors import ConfigError, unknown_name


class WorkloadSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["synthetic", "fixed", "sharegpt"]
    prompts: int = Field(ge=1)  # distinct prompts
    input_tokens: int | None = Field(default=None, ge=1)  # synthetic: exact prompt length
    output_tokens: int = Field(ge=1)  # max_tokens of every request
    prompt: str | None = None  # fixed: the one prompt text

    @model_validator(mode="after")
    def _check_kind(self) -> WorkloadSpec:
        if self.kind == "synthetic" and self.input_tokens is None:
            raise ValueError("a synthetic workload needs input_tokens")
        if self.kind == "fixed" and not self.prompt:
            raise ValueError("a fixed workload needs prompt")
        return self


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
    table: Literal["default", "engine", "context"] = "default"  # how `bench summary` shows it
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
