"""The error budget: client stamps matched to the server's log by response id."""

from __future__ import annotations

from tokenbench.loadgen.selftest import error_budget, timing_errors_ms
from tokenbench.records import RequestRecord


def _rec(rid: str, chunks: list[int]) -> RequestRecord:
    return RequestRecord(index=0, worker=0, slot=0, warmup=False, prompt_id="p", scheduled_ns=0,
                         send_ns=0, chunk_ns=chunks, response_id=rid)  # fmt: skip


def test_errors_are_client_minus_server_by_id() -> None:
    anchor = 1_000_000_000
    truth = {"a": {"chunk_ns": [anchor + 10_000_000, anchor + 15_000_000]},
             "b": {"chunk_ns": [anchor + 1]}}  # fmt: skip
    records = [_rec("a", [10_500_000, 16_000_000]), _rec("b", [1, 2]), _rec("c", [5])]
    ttft, itl, matched = timing_errors_ms(records, anchor, truth)
    assert matched == 1  # b's chunks differ in number, c was never logged
    assert ttft == [0.5]
    assert itl == [0.5]
    budget = error_budget(records, anchor, truth, source="canary", concurrency=3, scenario="s")
    assert budget.ttft_error_ms_p99 == 0.5
    assert budget.requests == 1


def test_no_match_gives_no_figures() -> None:
    budget = error_budget([], 0, {}, source="selftest", concurrency=1, scenario="s")
    assert budget.ttft_error_ms_p50 is None
    assert budget.itl_error_ms_p99 is None
