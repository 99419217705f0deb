"""The runs table names each point by its load: a context-sweep point by its input length."""

from __future__ import annotations

from tokenbench.compare.views import RunView
from tokenbench.render.cells import run_cells


def _row(**load: object) -> RunView:
    base: dict[str, object] = dict(
        suite="s", model_id="m", engine="e", quant=None, hardware="h", concurrency=1,
        rate_rps=None, label="m", run_id="r", signed=True, status="complete", valid=True,
        invalid_reasons=[], metrics={}, pareto=False,
    )  # fmt: skip
    return RunView.model_validate({**base, **load})


def test_points_are_named_by_their_load() -> None:
    assert run_cells(_row(concurrency=4), [])[2] == "4"
    assert run_cells(_row(concurrency=64, rate_rps=2.0), [])[2] == "2/s"
    assert run_cells(_row(input_length=1024), [])[2] == "in 1024"
