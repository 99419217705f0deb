"""Resuming an eval (`bench eval --resume`): an interrupted or partial envelope verified, its
settings rebuilt from what it records, its answers kept, and only the unanswered items asked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tokenbench.engines.passthrough import REDACTED, Passthrough
from tokenbench.envelope.schema import CONFIG_SUFFIX, ITEMS_SUFFIX, EvalPredicate
from tokenbench.envelope.verify import Opened, VerifyError, check_subjects, open_envelope, sidecar
from tokenbench.errors import ConfigError
from tokenbench.evals.data import DataSource
from tokenbench.evals.load import Level
from tokenbench.evals.runner import EvalSettings, Resumed
from tokenbench.evals.sandbox import SandboxLimits
from tokenbench.records import ItemRecord, read_items
from tokenbench.session.target import TargetSpec
from tokenbench.urls import check_url_from_file


@dataclass(frozen=True, slots=True)
class ResumeOptions:
    """What a resume may still be told: how to reach the target and where the files are, never
    what is asked (that comes from the envelope)."""

    base_url: str | None = None  # the server again (else the recorded one)
    model: str | None = None  # a local .gguf again (a bundled model is re-opened by its id)
    api_key: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # recorded headers whose values were redacted
    data: Path | None = None  # the data moved: where it is now (its digest must match)
    output: Path | None = None  # default: beside the envelope
    threads: int | None = None
    retries: int = 0
    allow_code_execution: bool = False
    allow_private: bool = False  # a recorded base URL at a private address
    sign: bool = True


def resume_settings(
    path: Path, trusted: list[Ed25519PublicKey], options: ResumeOptions
) -> EvalSettings:
    """The settings that continue the eval envelope at `path`: it must verify (signature and
    sidecar digests) and be interrupted or partial. The data's digest and the comparability key
    are checked against the envelope's when the data is loaded (`runner.prepare`)."""
    opened = _open(path, trusted, require_signature=options.sign)
    predicate = opened.predicate
    assert isinstance(predicate, EvalPredicate)
    if predicate.status == "complete":
        raise ConfigError(f"{path.name} is complete: every item was answered, so there is "
                          "nothing to resume")  # fmt: skip
    task, params = predicate.task, predicate.parameters
    output = options.output or path.parent
    box = predicate.sandbox
    sandbox = (SandboxLimits(box.wall_s, box.cpu_s, box.memory_bytes, box.file_bytes)
               if box is not None else SandboxLimits())  # fmt: skip
    return EvalSettings(
        tasks=(task.name,),
        output=output,
        target=_target(path.name, predicate, options, output),
        data=_data(path, opened, options.data, output),
        limit=task.limit,
        levels=(Level.recorded(params.concurrency, params.rate_rps),),
        seed=params.seed,
        samples=params.samples,
        temperature=params.temperature,
        max_tokens=params.max_tokens,
        timeout_s=params.timeout_s,
        retries=options.retries,
        allow_code_execution=options.allow_code_execution,
        scorer=params.scorer,
        sign=options.sign,
        sandbox=sandbox,
        method=task.method,
        resume=_resumed(opened, predicate),
    )


def _open(path: Path, trusted: list[Ed25519PublicKey], require_signature: bool) -> Opened:
    """The envelope, verified as `bench verify` does up to the sidecar digests."""
    if not path.is_file():
        raise ConfigError(f"--resume {path}: no such file; name an eval envelope (.json)")
    try:
        opened = open_envelope(path, trusted, require_signature=require_signature)
        check_subjects(opened)
    except VerifyError as exc:
        raise ConfigError(f"cannot resume {path.name}: {exc}; resume only an envelope that "
                          "`bench verify` accepts") from None  # fmt: skip
    if not isinstance(opened.predicate, EvalPredicate):
        raise ConfigError(f"{path.name} is a run envelope, not an eval; `bench run --rerun` "
                          "runs a point again")  # fmt: skip
    return opened


def _resumed(opened: Opened, predicate: EvalPredicate) -> Resumed:
    items_path = sidecar(opened, ITEMS_SUFFIX)
    if items_path is None:
        raise ConfigError(f"cannot resume {opened.path.name}: it names no items sidecar")
    rows = items_path.read_bytes()
    if rows and not rows.endswith(b"\n"):
        rows += b"\n"
    items = read_items(rows)
    answered = frozenset((it.item_id, it.sample) for it in items)
    return Resumed(predicate, rows, answered, max((_last_ns(it) for it in items), default=0))


def _last_ns(item: ItemRecord) -> int:
    r = item.request
    return max(t for t in (r.scheduled_ns, r.send_ns, r.end_ns, *r.chunk_ns) if t is not None)


def _target(
    name: str, predicate: EvalPredicate, options: ResumeOptions, output: Path
) -> TargetSpec:
    """The target the envelope asked: the embedded engine with the same model, or the recorded
    server (or --base-url); the model's identity is checked once it is open."""
    target, model = predicate.target, predicate.target.model
    if options.model and model.source != "file":
        raise ConfigError(f"{name} asked {model.model_id!r}, which a resume asks again; drop "
                          "--model")  # fmt: skip
    if target.engine.embedded:
        if options.base_url:
            raise ConfigError(f"{name} was answered by the embedded engine; drop --base-url to "
                              "resume it there")  # fmt: skip
        served = model.model_id if model.source == "bundled" else options.model
        if served is None:
            raise ConfigError(f"{name} asked a local model file ({model.file_name}); pass "
                              "--model PATH to that file again")  # fmt: skip
        base_url, engine = None, None
    else:
        base_url = options.base_url or target.base_url
        if not options.base_url:
            check_url_from_file(base_url, options.allow_private)
        served = model.model_id
        engine = None if target.engine.detected else target.engine.name  # named: named again
    return TargetSpec(served, base_url, options.api_key, engine, model.quant,
                      output, options.threads,
                      passthrough=_passthrough(name, predicate, options.headers))  # fmt: skip


def _passthrough(
    name: str, predicate: EvalPredicate, given: tuple[tuple[str, str], ...]
) -> Passthrough:
    """The recorded extra body and headers; a header recorded as redacted must be given again."""
    recorded = predicate.parameters.passthrough
    if recorded is None:
        return Passthrough({}, given)
    headers = dict(given)
    lowered = {n.lower() for n in headers}
    for header, value in recorded.headers.items():
        if header.lower() in lowered:
            continue
        if value == REDACTED:
            raise ConfigError(f"{name} sent a {header} header whose value was not recorded; "
                              f"pass --header '{header}: VALUE' again")  # fmt: skip
        headers[header] = value
    return Passthrough(dict(recorded.extra_body), tuple(headers.items()))


def _data(path: Path, opened: Opened, override: Path | None, output: Path) -> DataSource:
    """Where the task's data is: --data, else the recorded path, else the package or the hub
    at the recorded revision (its digest is checked once loaded)."""
    predicate = opened.predicate
    assert isinstance(predicate, EvalPredicate)
    revision = next((f.source.rpartition("@")[2] for f in predicate.task.data
                     if f.source.startswith("hf:")), None)  # fmt: skip
    cache = output / "hub-data"
    if override is not None:
        return DataSource.from_flag(override, cache, revision)
    recorded = _config(path, opened).get("data")
    if not isinstance(recorded, str):
        return DataSource(None, cache, revision)
    root = Path(recorded)
    if not root.exists():
        raise ConfigError(f"the data {path.name} was asked with ({root}) is not there now; pass "
                          "--data PATH to where it is")  # fmt: skip
    return DataSource(root, cache, revision)


def _config(path: Path, opened: Opened) -> dict[str, Any]:
    config_path = sidecar(opened, CONFIG_SUFFIX)
    if config_path is None:
        raise ConfigError(f"cannot resume {path.name}: it names no {CONFIG_SUFFIX} sidecar")
    try:
        config = orjson.loads(config_path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{config_path.name} is not JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{config_path.name} is not an eval config (a JSON object)")
    return config
