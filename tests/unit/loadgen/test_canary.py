"""The canary stream's records: moved onto a split run's timeline whole."""

from __future__ import annotations

from tokenbench.loadgen.canary import CANARY_SCENARIO, shifted
from tokenbench.records import RequestRecord


def test_shifted_moves_every_time_and_nothing_else() -> None:
    record = RequestRecord(index=3, worker=0, slot=0, warmup=False, prompt_id="canary",
                           scheduled_ns=10, send_ns=11, first_token_ns=20, chunk_ns=[20, 25],
                           end_ns=26, response_id="r", canary=True)  # fmt: skip
    moved = shifted(record, 1000)
    assert (moved.scheduled_ns, moved.send_ns, moved.first_token_ns, moved.end_ns) == (
        1010,
        1011,
        1020,
        1026,
    )
    assert moved.chunk_ns == [1020, 1025]
    assert moved.first_content_ns is None
    assert (moved.response_id, moved.canary, moved.index) == ("r", True, 3)
    assert record.chunk_ns == [20, 25]  # the original stays on its own timeline


def test_the_canary_has_fixed_timing() -> None:
    assert CANARY_SCENARIO == "ttft_ms=20;itl_ms=5;tokens=64"
