"""An envelope sealed with telemetry before the cooldown and queue rules keeps verifying. The
fixture was written by 80d1685 (stop 21's code) against the reference server imitating
llama.cpp with --capacity 1 (requests queued), with --duration 3 --cooldown 1, and signed by
the key beside it: that code counted only measured requests against the engine's counters,
so its reconciliation warned, and today's rules would state other figures."""

from __future__ import annotations

from pathlib import Path

from tests.support.envelopes import envelope_paths
from tokenbench.envelope import keys
from tokenbench.envelope.schema import RunPredicate
from tokenbench.metrics.reconcile import sidecar_figures
from tokenbench.records import iter_records
from tokenbench.telemetry.sampler import read_rows
from tokenbench.verification import verify_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "envelopes-telemetry-80d1685"


def test_an_envelope_sealed_before_the_cooldown_rule_verifies_by_its_own_rules() -> None:
    (path,) = envelope_paths(FIXTURES)
    opened = verify_file(path, [keys.load_public(FIXTURES / "signer.pub.pem")])
    predicate = opened.predicate
    assert isinstance(predicate, RunPredicate)
    assert predicate.scrape is None  # sealed before the scrape was recorded
    assert predicate.parameters.load.cooldown_s == 1
    assert predicate.server is not None
    assert predicate.server.requests_waiting_max is not None
    assert predicate.server.requests_waiting_max > 0
    rec = predicate.reconciliation
    assert rec is not None
    tokens = {f.figure: f for f in rec.figures}
    # the first rules' figures, as stated: measured requests only, the cooldown's left out
    assert tokens["generation_tokens"].client < tokens["generation_tokens"].server
    assert not tokens["generation_tokens"].within


def test_todays_rules_on_the_same_series_find_the_counters_agree() -> None:
    (path,) = envelope_paths(FIXTURES)
    stem = path.name.removesuffix(".json")
    rows = read_rows(FIXTURES / f"{stem}.telemetry.jsonl")
    records = list(iter_records(FIXTURES / f"{stem}.records.jsonl"))
    assert any(r.cooldown for r in records)
    figures = sidecar_figures(rows, records, "llama.cpp", None)
    assert figures.reconciliation is not None
    got = {f.figure: f for f in figures.reconciliation.figures}
    assert got["generation_tokens"].within  # the cooldown's requests now counted
    assert got["prompt_tokens"].within
    assert figures.warnings() == []
