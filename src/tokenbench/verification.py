"""Verifying an envelope end to end: signature, format, sidecar digests, then its figures
recomputed — a run's from its raw records, an eval's by scoring every stored answer again."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tokenbench.envelope.schema import ITEMS_SUFFIX, EvalPredicate
from tokenbench.envelope.verify import (
    Opened,
    VerifyError,
    check_metrics,
    check_subjects,
    open_envelope,
    sidecar,
)
from tokenbench.evals.rescore import rescore_check


def check_eval_metrics(opened: Opened) -> None:
    """Score every stored answer again (code execution results are taken as stored)."""
    predicate = opened.predicate
    assert isinstance(predicate, EvalPredicate)
    items = sidecar(opened, ITEMS_SUFFIX)
    if items is None:
        raise VerifyError("metrics_mismatch", "no items subject to recompute from")
    differing = rescore_check(predicate, items.read_bytes())
    if differing:
        raise VerifyError("metrics_mismatch", ", ".join(differing))


def verify_file(path: Path, trusted: list[Ed25519PublicKey]) -> Opened:
    """Every check, in order. Raises VerifyError with the check's exit code."""
    opened = open_envelope(path, trusted, require_signature=True)
    check_subjects(opened)
    if isinstance(opened.predicate, EvalPredicate):
        check_eval_metrics(opened)
    else:
        check_metrics(opened)
    return opened
