"""Opening and verifying envelopes, one check after another; each failure has its own exit code.

size cap → strict DSSE parse → signature over PAE by a trusted key → exact payloadType →
strict payload JSON (no duplicate keys, no NaN) → _type / predicateType / schema version →
sidecar digests → metrics recomputed from the raw records (an eval's re-scoring, which needs
the eval tasks, is added one layer up in `tokenbench.verification`)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from tokenbench.digests import file_sha256
from tokenbench.envelope import dsse
from tokenbench.envelope.build import stated_figures
from tokenbench.envelope.canonical import StrictJsonError, strict_loads
from tokenbench.envelope.schema import (
    PREDICATE_TYPES,
    RAW_SUFFIX,
    SCHEMA_VERSION,
    STATEMENT_TYPE,
    TELEMETRY_SUFFIX,
    EvalPredicate,
    RunPredicate,
    Statement,
    Subject,
)
from tokenbench.errors import EnvelopeError
from tokenbench.metrics.summary import summarize, summary_inputs
from tokenbench.records import RequestRecord, read_records
from tokenbench.telemetry.sampler import iter_rows

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024

# check → (exit code, what the failure means)
CHECKS: dict[str, tuple[int, str]] = {
    "too_large": (10, "larger than the size cap"),
    "malformed": (11, "not a DSSE envelope"),
    "bad_signature": (12, "no trusted key verifies the signature"),
    "unsigned": (13, "not signed"),
    "payload_type": (14, "wrong payloadType"),
    "payload_json": (15, "payload is not strict JSON"),
    "statement": (16, "not a tokenbench run statement of this schema"),
    "subject_mismatch": (17, "a sidecar file does not match its digest"),
    "data_unverified": (18, "a sidecar file is missing: data unverified"),
    "metrics_mismatch": (19, "metrics do not match the raw records"),
}


class VerifyError(EnvelopeError):
    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.exit_code = CHECKS[check][0]
        super().__init__(f"{CHECKS[check][1]}: {detail}")


@dataclass(frozen=True, slots=True)
class Opened:
    path: Path
    statement: Statement
    signer: str | None  # keyid of the trusted key that verified it; None when unsigned

    @property
    def predicate(self) -> RunPredicate | EvalPredicate:
        return self.statement.predicate


def _dsse_fields(doc: Any) -> tuple[str, bytes, list[tuple[str | None, bytes]]]:
    if not isinstance(doc, dict) or set(doc) != {"payloadType", "payload", "signatures"}:
        raise VerifyError("malformed", "expected exactly payloadType, payload and signatures")
    ptype, payload, sigs = doc["payloadType"], doc["payload"], doc["signatures"]
    if not isinstance(ptype, str) or not isinstance(payload, str) or not isinstance(sigs, list):
        raise VerifyError("malformed", "payloadType and payload must be strings, signatures a list")
    try:
        raw = dsse.unb64(payload)
        signatures = []
        for s in sigs:
            if not isinstance(s, dict) or not isinstance(s.get("sig"), str):
                raise VerifyError("malformed", "each signature needs a base64 'sig'")
            kid = s.get("keyid")
            signatures.append((kid if isinstance(kid, str) else None, dsse.unb64(s["sig"])))
    except ValueError as exc:
        raise VerifyError("malformed", f"bad base64: {exc}") from None
    return ptype, raw, signatures


def open_envelope(
    path: Path, trusted: list[Ed25519PublicKey], require_signature: bool = True
) -> Opened:
    """Run every check up to the statement's schema. Unsigned envelopes pass only when
    `require_signature` is False; a signature no trusted key verifies never passes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise VerifyError("malformed", exc.strerror or str(exc)) from None
    if size > MAX_ENVELOPE_BYTES:
        raise VerifyError("too_large", f"{size} bytes > {MAX_ENVELOPE_BYTES}")
    try:
        doc = strict_loads(path.read_bytes())
    except StrictJsonError as exc:
        raise VerifyError("malformed", str(exc)) from None
    ptype, payload, signatures = _dsse_fields(doc)

    signer: str | None = None
    if signatures:
        verified = dsse.verify(ptype, payload, signatures, trusted)
        if verified is None:
            why = (
                "no trusted key given (pass --key PUB)"
                if not trusted
                else ("the payload or signature was altered, or the signer is not trusted")
            )
            raise VerifyError("bad_signature", why)
        signer = verified.keyid
    elif require_signature:
        raise VerifyError("unsigned", "it was written with --no-sign")

    if ptype != dsse.IN_TOTO_PAYLOAD_TYPE:
        raise VerifyError("payload_type", f"{ptype!r}, expected {dsse.IN_TOTO_PAYLOAD_TYPE!r}")
    try:
        body = strict_loads(payload)
    except StrictJsonError as exc:
        raise VerifyError("payload_json", str(exc)) from None
    if not isinstance(body, dict):
        raise VerifyError("statement", "the payload is not a JSON object")
    if body.get("_type") != STATEMENT_TYPE:
        raise VerifyError("statement", f"_type {body.get('_type')!r}, expected {STATEMENT_TYPE!r}")
    if body.get("predicateType") not in PREDICATE_TYPES.values():
        expected = " or ".join(repr(t) for t in PREDICATE_TYPES.values())
        raise VerifyError(
            "statement", f"predicateType {body.get('predicateType')!r}, expected {expected}"
        )
    predicate = body.get("predicate")
    version = predicate.get("schema_version") if isinstance(predicate, dict) else None
    if version != SCHEMA_VERSION:
        raise VerifyError(
            "statement", f"schema_version {version!r}, this tool reads {SCHEMA_VERSION}"
        )
    try:
        statement = Statement.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise VerifyError("statement", f"{where}: {first['msg']}") from None
    return Opened(path, statement, signer)


def check_subjects(opened: Opened) -> None:
    """Recompute each sidecar's digest; missing files → data unverified, after the rest."""
    missing = []
    for subject in opened.statement.subject:
        file = opened.path.parent / subject.name
        if not file.is_file():
            missing.append(subject.name)
            continue
        if file_sha256(file) != subject.digest.get("sha256"):
            raise VerifyError("subject_mismatch", subject.name)
    if missing:
        raise VerifyError("data_unverified", ", ".join(missing))


# Open maps: an envelope states the keys its tool knew; a later tool may recompute more (a new
# metric, the reason a new metric is null), which the envelope never claimed.
_OPEN_MAPS = frozenset({"distributions", "unmeasured"})


def differing_fields(stated: dict[str, Any], again: dict[str, Any]) -> list[str]:
    """The stated figures the recomputation does not reproduce."""
    out = []
    for k in stated:
        recomputed = again.get(k)
        if k in _OPEN_MAPS and isinstance(stated[k], dict) and isinstance(recomputed, dict):
            recomputed = {name: recomputed.get(name) for name in stated[k]}
        if not _close(stated[k], recomputed):
            out.append(k)
    return sorted(out)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return False
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def subject(opened: Opened, suffix: str) -> Subject | None:
    """The subject (sidecar name and digest) the statement names with this role suffix."""
    return next((s for s in opened.statement.subject if s.name.endswith(suffix)), None)


def sidecar(opened: Opened, suffix: str) -> Path | None:
    """The sidecar the statement names with this role suffix, beside the envelope."""
    found = subject(opened, suffix)
    return None if found is None else opened.path.parent / found.name


def check_metrics(opened: Opened) -> None:
    """Recompute a run's figures from its raw request records. (An eval's are recomputed by
    scoring every stored answer again, which needs the eval tasks: `tokenbench.verification`.)"""
    predicate = opened.predicate
    if isinstance(predicate, EvalPredicate):
        raise TypeError("eval envelopes are re-scored by tokenbench.verification.verify_file")
    raw = sidecar(opened, RAW_SUFFIX)
    if raw is None:
        raise VerifyError("metrics_mismatch", "no raw-records subject to recompute from")
    records = read_records(raw.read_bytes())
    recomputed = summarize(records, **summary_inputs(predicate))
    # Only the figures the envelope states: one written before a figure existed lacks it.
    differing = differing_fields(predicate.metrics.model_dump(mode="json", exclude_unset=True),
                                 recomputed.model_dump(mode="json"))  # fmt: skip
    if differing:
        raise VerifyError("metrics_mismatch", ", ".join(differing))
    check_telemetry(opened, predicate, records)


def check_telemetry(opened: Opened, predicate: RunPredicate, records: list[RequestRecord]) -> None:
    """Recompute the server-metrics and telemetry summaries and the reconciliation from the
    telemetry sidecar (an envelope that states none has nothing to recompute)."""
    dumped = predicate.model_dump(mode="json", include={"server", "telemetry", "reconciliation"})
    stated = {k: v for k, v in dumped.items() if v is not None}
    if not stated:
        return
    # without a sidecar (nothing sampled) an unscraped server and server timings still recompute
    path = sidecar(opened, TELEMETRY_SUFFIX)
    rows = [] if path is None else list(iter_rows(path.read_bytes()))
    figures = stated_figures(rows, records, predicate.target.engine.name, predicate.energy,
                             predicate.scrape)  # fmt: skip
    again = {k: v.model_dump(mode="json") for k in stated
             if (v := getattr(figures, k)) is not None}  # fmt: skip
    differing = [f"{k}.{f}" for k in stated for f in differing_fields(stated[k], again.get(k, {}))]
    if differing or set(again) != set(stated):
        why = ", ".join(differing) or "telemetry summaries"
        raise VerifyError(
            "metrics_mismatch", why if path else f"{why} (no telemetry subject to recompute from)"
        )
