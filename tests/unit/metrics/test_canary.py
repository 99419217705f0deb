"""--canary records: kept in the raw data, in no figure; the canary's validity rule."""

from __future__ import annotations

import orjson
import pytest

from tokenbench.errors import ConfigError
from tokenbench.metrics.summary import summarize
from tokenbench.metrics.timeline import client_timeline
from tokenbench.metrics.validity import ValidityRules, canary_reasons
from tokenbench.records import RequestRecord, read_records

MS = 1_000_000


def _record(index: int, *, canary: bool = False, warmup: bool = False) -> RequestRecord:
    send = index * 10 * MS
    first = send + 20 * MS
    chunks = [first + k * 5 * MS for k in range(8)]
    return RequestRecord(index=index, worker=0, slot=0, warmup=warmup, prompt_id="p",
                         scheduled_ns=send, send_ns=send, first_token_ns=first, chunk_ns=chunks,
                         end_ns=chunks[-1], input_tokens=4, output_tokens=8,
                         tokens_from_usage=True, finish_reason="stop", canary=canary)  # fmt: skip


def test_canary_records_are_in_no_metric() -> None:
    measured = [_record(i) for i in range(4)]
    canaries = [_record(10 + i, canary=True) for i in range(3)]
    warm = [_record(20, warmup=True)]
    alone = summarize(warm + measured)
    mixed = summarize(warm + canaries[:1] + measured + canaries[1:])
    assert mixed.model_dump() == alone.model_dump()
    assert mixed.requests_total == 5
    assert mixed.warmup_requests == 1
    assert mixed.requests_measured == 4
    assert not canaries[0].measured


def test_canary_records_are_not_on_the_timeline() -> None:
    series = client_timeline([_record(i, canary=True) for i in range(3)])
    assert series == []


def test_old_sidecars_load_and_plain_records_are_written_as_before() -> None:
    plain = _record(0)
    assert b"canary" not in plain.to_json()
    row = orjson.loads(plain.to_json())
    assert read_records(orjson.dumps(row) + b"\n")[0].canary is False
    back = read_records(_record(1, canary=True).to_json() + b"\n")[0]
    assert back.canary
    assert not back.measured


def test_a_late_canary_makes_the_run_invalid() -> None:
    rules = ValidityRules(max_canary_error_ms=5.0)
    assert canary_reasons(None, rules) == []
    assert canary_reasons(4.9, rules) == []
    (reason,) = canary_reasons(7.25, rules)
    assert "7.2 ms" in reason
    assert "--max-canary-error-ms" in reason


def test_the_canary_limit_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="--max-canary-error-ms"):
        ValidityRules(max_canary_error_ms=0)
