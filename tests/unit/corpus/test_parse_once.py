"""A loaded run parses its raw sidecar once, however many charts and pairs ask for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.envelopes import write_run_envelope
from tokenbench.corpus import loader
from tokenbench.corpus.selection import load_corpus
from tokenbench.envelope import keys
from tokenbench.records import RequestRecord


def test_records_are_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = RequestRecord(0, 0, 0, False, "p", 0, send_ns=0, first_token_ns=5, chunk_ns=[5],
                        end_ns=9, output_tokens=1, input_tokens=1)  # fmt: skip
    write_run_envelope(tmp_path, [rec])
    (run,) = load_corpus([str(tmp_path)], keys.trusted_keys()).runs
    calls: list[int] = []
    real = loader.read_records

    def counting(data: bytes) -> list[RequestRecord]:
        calls.append(1)
        return real(data)

    monkeypatch.setattr(loader, "read_records", counting)
    first = run.records()
    assert run.records() is first
    assert [r.prompt_id for r in first] == ["p"]
    assert calls == [1]
