"""Views dump to the published JSON key names: aliases, flattened pairs, excluded table data."""

from __future__ import annotations

import orjson

from tokenbench.compare.quality import QualityComparison, QualityPair, QualityRow
from tokenbench.metrics.quality import paired_difference, wilson
from tokenbench.render.json import to_json


def _quality() -> QualityComparison:
    row = QualityRow(
        task="mmlu", label="a", variant="letter", accuracy=wilson(3, 4),
        parse_failure_rate=0.0, output_tokens_mean=2.0, throughput_tok_per_s=10.0,
        throughput_at="concurrency 1", usd_per_mtok=1.5, pareto=True, eval_path="a.json",
    )  # fmt: skip
    difference = paired_difference([True, False], [True, True])
    pair = QualityPair(task="mmlu", a="a", b="b", verdict="no significant difference",
                       failed_a=1, difference=difference)  # fmt: skip
    return QualityComparison(rows=[row], pairs=[pair], notes=["n"])


def test_quality_dumps_with_the_published_keys() -> None:
    doc = orjson.loads(to_json(_quality()))
    assert list(doc) == ["rows", "pairs", "notes"]
    row = doc["rows"][0]
    assert row["self_host_usd_per_mtok_output"] == 1.5
    assert "usd_per_mtok" not in row
    assert list(row["accuracy"]) == ["correct", "total", "accuracy", "ci_low", "ci_high"]
    pair = doc["pairs"][0]
    # the difference's fields sit beside the pair's own, not under "difference"
    assert list(pair)[:6] == ["task", "a", "b", "verdict", "failed_requests_a",
                              "failed_requests_b"]  # fmt: skip
    assert {"items", "only_a", "only_b", "difference", "mcnemar_p"} <= set(pair)
    assert pair["failed_requests_a"] == 1
    assert isinstance(pair["difference"], float)
