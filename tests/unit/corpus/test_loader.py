from __future__ import annotations

from pathlib import Path

import pytest

from tokenbench.corpus import load_corpus
from tokenbench.envelope.verify import MAX_ENVELOPE_BYTES
from tokenbench.errors import ConfigError


def test_nothing_matching_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_corpus([str(tmp_path / "none-*.json")], [])


def test_invalid_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{")
    (tmp_path / "b.json").write_text(
        '{"payloadType": "x", "payload": "", "signatures": [], "x": 1}'
    )
    (tmp_path / "dup.json").write_text('{"payloadType": "a", "payloadType": "b"}')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "c.json").write_text("[]")
    (sub / "notes.txt").write_text("not considered")
    (sub / "run.config.json").write_text("{}")  # sidecars are not envelopes
    (sub / "run.prompts.json").write_text("{}")
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_ENVELOPE_BYTES + 1)
    corpus = load_corpus([str(tmp_path), str(tmp_path / "a.json")], [])  # duplicates once
    assert corpus.runs == []
    reasons = {p.name: why for p, why in corpus.skipped}
    assert set(reasons) == {"a.json", "b.json", "c.json", "big.json", "dup.json"}
    assert "size cap" in reasons["big.json"]
    assert "duplicate key" in reasons["dup.json"]
    assert "not a DSSE envelope" in reasons["b.json"]
