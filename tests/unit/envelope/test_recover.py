"""`bench recover`'s library half: which points a killed run left unsealed, and the one-line
refusals (the sealing itself: tests/e2e/test_reliability.py, test_sigkill_then_recover)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenbench.envelope.build import PointFiles
from tokenbench.envelope.recover import orphans, recover
from tokenbench.envelope.schema import RAW_SUFFIX
from tokenbench.errors import ConfigError


def test_only_points_without_an_envelope_are_orphans(tmp_path: Path) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}{RAW_SUFFIX}").write_text("")
    (tmp_path / "a.json").write_text("{}")  # point a was sealed
    assert orphans(tmp_path) == [PointFiles(tmp_path, "b")]
    (tmp_path / "b.json").write_text("{}")
    assert recover(tmp_path, sign=False) == []


def test_a_missing_folder_or_sidecar_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        recover(tmp_path / "nope", sign=False)
    (tmp_path / f"x{RAW_SUFFIX}").write_text("")
    with pytest.raises(ConfigError, match="config or prompt manifest is missing"):
        recover(tmp_path, sign=False)
