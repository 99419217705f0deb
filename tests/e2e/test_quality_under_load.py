"""Accuracy against load end to end: a scripted model whose answers change when it is busy is
run at two concurrencies, and `compare --by load`, the table and the report find the change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import bench
from tests.support.eval_runs import custom_data

N = 24


def _tables(tmp: Path) -> tuple[Path, Path]:
    """Right on every question when idle; when 2 or more other streams are in flight, the even
    questions get a wrong answer."""
    right = tmp / "right.json"
    right.write_text(json.dumps({"*": [[f"Question number {i}?", f"a{i}"] for i in range(N)]}))
    busy = tmp / "busy.json"
    busy.write_text(json.dumps({"*": [[f"Question number {i}?", f"changed {i}"]
                                      for i in range(0, N, 2)]}))  # fmt: skip
    return right, busy


def test_answers_that_change_under_load_are_detected(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    right, busy = _tables(tmp_path)
    server = scripted_server_factory("--answers", str(right), "--answers-under-load", str(busy),
                                     "--load-above", "2")  # fmt: skip
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(custom_data(tmp_path, N)), "--scorer", "exact",
                 "--base-url", server.base_url, "--model", "ttft_ms=30;itl_ms=10",
                 "--concurrency", "1,4", "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    compared = bench("compare", str(out), "--by", "load", "--report", "json")
    assert compared.returncode == 0, compared.stderr
    q = json.loads(compared.stdout)["quality"]
    rows = {r["label"]: r for r in q["rows"]}
    assert set(rows) == {"concurrency 1", "concurrency 4"}
    assert rows["concurrency 1"]["accuracy"]["correct"] == N  # never busy one at a time
    (pair,) = q["pairs"]
    assert (pair["a"], pair["b"]) == ("concurrency 1", "concurrency 4")
    changed = N - rows["concurrency 4"]["accuracy"]["correct"]
    # every changed answer is an even question, and wrong; at most the first two ran idle
    assert N // 2 - 2 <= changed <= N // 2
    assert pair["diverged"] == changed
    assert pair["only_a"] == changed
    assert pair["mcnemar_p"] < 0.01
    assert pair["verdict"].startswith("concurrency 1 better than concurrency 4 by")
    table = bench("compare", str(out), "--by", "load")
    assert "Diverged" in table.stdout
    report = tmp_path / "report.html"
    made = bench("report", str(out), "-o", str(report))
    assert made.returncode == 0, made.stderr
    page = report.read_text()
    assert "Quality under load" in page
    assert "load-divergence-0" in page


def test_the_same_answers_at_every_load_are_not_a_difference(
    scripted_server_factory: Any, tmp_path: Path
) -> None:
    right, _ = _tables(tmp_path)
    server = scripted_server_factory("--answers", str(right))
    out = tmp_path / "corpus"
    proc = bench("eval", "custom", "--data", str(custom_data(tmp_path, N)), "--scorer", "exact",
                 "--base-url", server.base_url, "--concurrency", "1,4", "-o", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    q = json.loads(bench("compare", str(out), "--by", "load", "--report", "json").stdout)[
        "quality"]  # fmt: skip
    (pair,) = q["pairs"]
    assert (pair["diverged"], pair["divergence"]) == (0, 0.0)
    assert pair["mcnemar_p"] == 1.0
    assert pair["verdict"].startswith("no significant difference")
