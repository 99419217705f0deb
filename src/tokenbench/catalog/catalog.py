"""The model catalog (a TOML data file shipped with tokenbench): published facts, never mixed
with measurements; loaded and validated here."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tokenbench.errors import ConfigError, unknown_name

BENCHMARKS = ("mmlu", "humaneval", "gsm8k", "arc_challenge", "truthfulqa")
# catalog benchmark → the `bench eval` task whose primary score measures it
EVAL_TASKS = {"mmlu": "mmlu", "humaneval": "humaneval", "gsm8k": "gsm8k",
              "arc_challenge": "arc-challenge", "truthfulqa": "truthfulqa-mc1"}  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Architecture(_Strict):
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    attention: Literal["MHA", "GQA", "MQA"]
    sliding_window: int | None = None
    sliding_layers: int | None = None  # layers that keep only the last `sliding_window` tokens
    moe_experts: int | None = None
    moe_active_experts: int | None = None
    # the token embedding (and output matrix, unless tied to it): int4 AWQ/GPTQ keep it at 16 bits
    vocab_size: int | None = Field(default=None, gt=0)
    tied_embeddings: bool = False
    notes: str = ""


class PublishedScore(_Strict):
    value: float  # percent, as the source reports it
    setting: str  # model variant, shots, metric
    source: str


class CatalogModel(_Strict):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    family: str
    params_total_b: float = Field(gt=0)
    params_active_b: float = Field(gt=0)
    context_length: int = Field(gt=0)
    license: str
    license_permissive: bool  # Apache-2.0 / MIT style: commercial use and fine-tuning, no caps
    release_date: dt.date
    languages: list[str]
    specialties: list[str]
    architecture: Architecture
    published: dict[str, PublishedScore] = Field(default_factory=dict)
    bundled: bool = False  # tokenbench ships it (runs here with no download)
    notes: str = ""

    @property
    def names(self) -> set[str]:
        return {self.id.lower(), self.name.lower(), *(a.lower() for a in self.aliases)}

    def is_(self, model_id: str) -> bool:
        """Whether a served or bundled model id names this model (id, name or an alias)."""
        return model_id.lower() in self.names


class Catalog(_Strict):
    model: list[CatalogModel]

    def get(self, name: str) -> CatalogModel:
        found = self.find(name)
        if found is None:
            raise unknown_name("model", name, [m.id for m in self.model])
        return found

    def find(self, name: str) -> CatalogModel | None:
        """By id, name or alias (case-insensitive); None when not catalogued."""
        return next((m for m in self.model if m.is_(name)), None)


def load_catalog(path: Path | None = None) -> Catalog:
    """The shipped catalog, or `path` (the same format)."""
    try:
        if path is None:
            text = resources.files("tokenbench.catalog").joinpath("data/models.toml").read_text()
            where = "the bundled catalog"
        else:
            text, where = path.read_text(encoding="utf-8"), str(path)
        raw = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {loc}: {first['msg']}") from None
    unknown = {k for m in catalog.model for k in m.published} - set(BENCHMARKS)
    if unknown:
        raise ConfigError(f"{where}: unknown benchmark {sorted(unknown)[0]!r}; known: "
                          + ", ".join(BENCHMARKS))  # fmt: skip
    return catalog
