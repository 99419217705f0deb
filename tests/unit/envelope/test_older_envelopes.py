"""Envelopes written by an earlier tokenbench keep verifying and loading. The fixtures were
written by the commit that landed before this session's changes (9428321: closed loop, open
loop, --cooldown, and a custom eval) and signed by the key beside them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import bench
from tests.support.envelopes import envelope_paths
from tokenbench.compare.comparison import compare
from tokenbench.corpus.selection import load_corpus
from tokenbench.envelope import keys
from tokenbench.envelope.schema import EvalPredicate, RunPredicate
from tokenbench.verification import verify_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "envelopes-v2-2026-11-30"
SIGNER = FIXTURES / "signer.pub.pem"


@pytest.mark.parametrize("path", envelope_paths(FIXTURES), ids=lambda p: p.name[-40:])
def test_each_older_envelope_verifies_today(path: Path) -> None:
    opened = verify_file(path, [keys.load_public(SIGNER)])  # signature, sidecars, figures
    assert opened.signer is not None
    assert isinstance(opened.predicate, RunPredicate | EvalPredicate)


def test_older_envelopes_load_and_compare() -> None:
    # read in place, so never through an index: that would be written into the fixtures
    corpus = load_corpus([str(FIXTURES)], [keys.load_public(SIGNER)], use_index=False)
    assert corpus.skipped == []
    assert (len(corpus.runs), len(corpus.evals)) == (3, 1)
    modes = {r.predicate.parameters.load.mode for r in corpus.runs}
    assert modes == {"closed_loop", "open_loop"}
    assert all(r.predicate.metrics.definitions == 1 for r in corpus.runs)
    result = compare(corpus, force=True)
    assert len(result.rows) == 3


def test_bench_verify_accepts_them_with_the_signers_key() -> None:
    proc = bench("verify", str(FIXTURES), "--key", str(SIGNER))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK") == 4
