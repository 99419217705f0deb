"""Turning a finished (or killed) sweep point into a signed envelope: the raw records, the draft
predicate written to the config sidecar before the run, and what the end of the run adds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel

from tokenbench.envelope.io import seal, statement_payload, write_envelope
from tokenbench.envelope.schema import (
    CONFIG_SUFFIX,
    PROMPTS_SUFFIX,
    RAW_SUFFIX,
    TELEMETRY_SUFFIX,
    EnergyInfo,
    ErrorBudget,
    HostLoad,
    RunDraft,
    RunPredicate,
    ScaleOutInfo,
    ScrapeInfo,
    TokenCheck,
    Validity,
)
from tokenbench.metrics.reconcile import SidecarFigures, sidecar_figures
from tokenbench.metrics.summary import summarize, summary_inputs
from tokenbench.metrics.validity import ValidityRules, canary_reasons, validity_reasons
from tokenbench.records import RequestRecord, iter_records
from tokenbench.telemetry.sampler import Row, read_rows


@dataclass(frozen=True, slots=True)
class PointFiles:
    folder: Path
    stem: str

    @property
    def raw(self) -> Path:
        return self.folder / f"{self.stem}{RAW_SUFFIX}"

    @property
    def config(self) -> Path:
        return self.folder / f"{self.stem}{CONFIG_SUFFIX}"

    @property
    def prompts(self) -> Path:
        return self.folder / f"{self.stem}{PROMPTS_SUFFIX}"

    @property
    def telemetry(self) -> Path:
        return self.folder / f"{self.stem}{TELEMETRY_SUFFIX}"

    @property
    def envelope(self) -> Path:
        return self.folder / f"{self.stem}.json"

    @classmethod
    def from_raw(cls, raw: Path) -> PointFiles:
        return cls(raw.parent, raw.name.removesuffix(RAW_SUFFIX))


def _exact_inputs(raw: Path, target: int | None, synthetic: bool) -> bool | None:
    if not synthetic:
        return None
    seen = False
    for r in iter_records(raw):
        if not r.measured or not r.ok:
            continue
        seen = True
        if r.input_tokens != target:
            return False
    return True if seen else None


def host_warnings(host_load: HostLoad | None) -> list[str]:
    """A host whose cores other work shared: a warning, not a reason. The requests were timed
    correctly; what they measured is this engine on a shared machine (docs/metrics.md)."""
    return [host_load.warning] if host_load is not None and host_load.warning else []


def stated_figures(rows: Sequence[Row], records: Sequence[RequestRecord], engine: str,
                   energy: EnergyInfo, scrape: ScrapeInfo | None) -> SidecarFigures:  # fmt: skip
    """The sidecar figures from what the envelope states beside them (the energy counter's
    window, why nothing was scraped): sealing and `bench verify` compute them alike. An
    envelope without `scrape` was sealed before the cooldown and queue rules: its figures are
    recomputed by the rules it was sealed under, so it keeps verifying."""
    first = scrape is None
    return sidecar_figures(rows, records, engine, energy.energy_j,
                           window_ns=None if first else energy.fixed_window_ns,
                           not_scraped=scrape.not_scraped if scrape else None,
                           first_rules=first)  # fmt: skip


def point_telemetry(files: PointFiles, engine: str, energy: EnergyInfo,
                    scrape: ScrapeInfo | None) -> SidecarFigures:  # fmt: skip
    """The telemetry sidecar's summaries and reconciliation. Without a sidecar (nothing was
    sampled) only an unscraped server's summary, and per-request server timings, remain."""
    rows = read_rows(files.telemetry) if files.telemetry.is_file() else []
    return stated_figures(rows, list(iter_records(files.raw)), engine, energy, scrape)


def seal_point(
    files: PointFiles,
    draft: RunDraft,
    *,
    status: Literal["complete", "partial", "interrupted"],
    finished_at: str,
    energy: EnergyInfo,
    rules: ValidityRules,
    loop_lag_p99_ms: float | None,
    extra_reasons: list[str],
    key: Ed25519PrivateKey | None,
    token_check: TokenCheck | None = None,
    scale_out: ScaleOutInfo | None = None,
    host_load: HostLoad | None = None,
    error_budget: ErrorBudget | None = None,
    canary: ErrorBudget | None = None,
) -> RunPredicate:
    """Summarise the raw records (streamed), judge validity, sign, write the envelope."""
    doc = {**draft.model_dump(mode="json"), "energy": energy.model_dump(mode="json")}
    metrics = summarize(iter_records(files.raw), **summary_inputs(doc))
    reasons = [
        *extra_reasons,
        *validity_reasons(metrics, rules, loop_lag_p99_ms, draft.parameters.load.rate_rps),
        *canary_reasons(canary.ttft_error_ms_p99 if canary else None, rules),
    ]
    workload = draft.parameters.workload
    exact = _exact_inputs(files.raw, workload.input_tokens_target, workload.kind == "synthetic")
    sidecar = point_telemetry(files, draft.target.engine.name, energy, draft.scrape)
    predicate = RunPredicate.model_validate(
        {
            **draft.model_dump(),
            "status": status,
            "validity": Validity(
                valid=not reasons,
                reasons=reasons,
                warnings=[*host_warnings(host_load), *sidecar.warnings()],
            ).model_dump(),
            "parameters": {
                **draft.parameters.model_dump(),
                "workload": {**workload.model_dump(), "input_tokens_exact": exact},
            },
            "timing": {**draft.timing.model_dump(), "finished_at": finished_at},
            "metrics": metrics.model_dump(),
            "energy": energy.model_dump(),
            "token_check": token_check.model_dump() if token_check else None,
            "scale_out": scale_out.model_dump() if scale_out else None,
            "host_load": host_load.model_dump() if host_load else None,
            **({"error_budget": error_budget.model_dump()} if error_budget else {}),
            **({"canary": canary.model_dump()} if canary else {}),
            **{k: v.model_dump() for k, v in _sidecar_fields(sidecar).items()},
        }
    )
    subjects = [files.raw, files.config, files.prompts]
    payload = statement_payload(
        predicate, subjects + ([files.telemetry] if files.telemetry.is_file() else [])
    )
    write_envelope(seal(payload, key), files.envelope)
    return predicate


def _sidecar_fields(sidecar: SidecarFigures) -> dict[str, BaseModel]:
    """The predicate's optional telemetry fields that have a value (absent ones stay unset, so
    an envelope without a sidecar reads as one from before it existed)."""
    fields = {"server": sidecar.server, "telemetry": sidecar.telemetry,
              "reconciliation": sidecar.reconciliation}  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}
