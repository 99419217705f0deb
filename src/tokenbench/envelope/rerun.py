"""Re-running a point: the settings it ran with, read back from its resolved-config sidecar."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from tokenbench.envelope.schema import CONFIG_SUFFIX
from tokenbench.errors import ConfigError
from tokenbench.suites.suite import Suite
from tokenbench.urls import check_url_from_file

_MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RerunPlan:
    suite: Suite
    base_url: str | None  # None: the embedded engine again
    model: str | None
    engine: str | None
    quant: str | None
    api: str
    concurrency: int
    requests: int | None  # None: the run was bounded by its duration alone
    warmup: int
    duration_s: float | None
    timeout_s: float
    seed: int


def _config_path(path: Path) -> Path:
    if path.name.endswith(CONFIG_SUFFIX):
        return path
    candidate = path.with_name(path.name.removesuffix(".json") + CONFIG_SUFFIX)
    if not candidate.is_file():
        raise ConfigError(f"{path}: no {CONFIG_SUFFIX} sidecar beside it to re-run from")
    return candidate


def load_rerun(path: Path, allow_private: bool) -> RerunPlan:
    """What to run again, from an envelope (its config sidecar) or the sidecar itself."""
    config_path = _config_path(path)
    if config_path.stat().st_size > _MAX_CONFIG_BYTES:
        raise ConfigError(f"{config_path} is larger than {_MAX_CONFIG_BYTES} bytes")
    try:
        config: dict[str, Any] = orjson.loads(config_path.read_bytes())
        run = config["run"]
        target, load = run["target"], run["parameters"]["load"]
        suite = Suite.model_validate(config["suite"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
        raise ConfigError(f"{config_path} is not a tokenbench run config: {exc}") from None
    model = target["model"]
    if target["engine"]["embedded"]:
        base_url = None
        if model["source"] != "bundled":
            raise ConfigError(
                f"{config_path} ran a local .gguf file ({model.get('file_name')}); "
                "pass --model PATH to re-run it"
            )
    else:
        base_url = target["base_url"]
        check_url_from_file(base_url, allow_private)
    return RerunPlan(
        suite=suite,
        base_url=base_url,
        model=model["model_id"],
        engine=None if target["engine"]["embedded"] else target["engine"]["name"],
        quant=model.get("quant"),
        api=config["request"]["api"],
        concurrency=load["concurrency"],
        requests=load["requests"],
        warmup=load["warmup_requests"],
        duration_s=load["duration_limit_s"],
        timeout_s=load["timeout_s"],
        seed=load["seed"],
    )
