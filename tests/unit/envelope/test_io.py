from __future__ import annotations

import re
import time
from pathlib import Path

from tokenbench.digests import file_sha256
from tokenbench.envelope.io import RecordSink, new_ulid, safe_name
from tokenbench.records import ErrorKind, RequestRecord, read_records


def test_ulids_are_unique_sortable_crockford() -> None:
    first = new_ulid()
    time.sleep(0.002)
    ids = [new_ulid() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)
    assert all(first < i for i in ids)


def test_safe_name() -> None:
    assert safe_name("meta-llama/Llama 3.1:8b") == "meta-llama-Llama-3.1-8b"
    assert safe_name("///") == "run"


def test_sink_streams_records_and_reader_tolerates_a_truncated_tail(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    sink = RecordSink(path)
    for i in range(3):
        sink(RequestRecord(i, 0, 0, False, "p", i, error_kind=ErrorKind.HTTP if i == 1 else None))
    assert sink.count == 3
    # Flushed as written: readable before close (a killed run keeps its records).
    assert len(read_records(path.read_bytes())) == 3
    sink.close()
    with path.open("ab") as f:
        f.write(b'{"index": 3, "wor')  # a writer killed mid-line
    records = read_records(path.read_bytes())
    assert [r.index for r in records] == [0, 1, 2]
    assert records[1].error_kind is ErrorKind.HTTP
    assert len(file_sha256(path)) == 64
