"""Bytes/s and words/s in the summary table: columns only when a row has them, whole numbers,
and the demo's table still one table at 100 columns."""

from __future__ import annotations

from tests.unit.render.test_fit import _run, _text
from tokenbench.compare.summary import SummaryTable


def _summary(**text: float) -> SummaryTable:
    """A demo-sized table: two small models, three loads each, one machine and engine."""
    runs = [_run(n, model, suite="llm.inference.chatbot-short", joules_per_token=None,
                 slo_attainment=None, signer="k", output_throughput_tok_per_s=123.4 * n,
                 ttft_p50_ms=45.6 * n, ttft_p99_ms=98.7 * n,
                 **{k: v * n for k, v in text.items()})
            for model in ("smollm2-135m-instruct", "gemma-3-270m") for n in (1, 2, 3)]  # fmt: skip
    return SummaryTable(runs=runs, loaded=len(runs), skipped=[], suites=1,
                        comparability_mismatches=[], evals=[])  # fmt: skip


def test_bytes_and_words_per_second_are_columns_only_when_measured() -> None:
    old = _text(_summary(), 100)
    assert "Bytes/s" not in old
    assert "Words/s" not in old
    new = _text(_summary(output_bytes_per_s=654.321, output_words_per_s=98.76), 100)
    assert "Bytes/s" in new
    assert "Words/s" in new
    for n in (1, 2, 3):
        assert f"{654.321 * n:,.0f}" in new
        assert f"{98.76 * n:,.1f}" in new
    assert "(continued" not in new  # the demo's table stays one table at 100 columns
    assert max(len(line) for line in new.splitlines()) <= 100
