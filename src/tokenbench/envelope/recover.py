"""Finishing what a killed run left behind: points with raw records on disk but no envelope
(the tool stopped before sealing them) are sealed from their records as envelopes marked
`partial`, with the time of the last record as their end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from tokenbench.envelope import keys
from tokenbench.envelope.build import PointFiles, seal_point
from tokenbench.envelope.schema import RAW_SUFFIX, EnergyInfo, RunDraft
from tokenbench.errors import ConfigError
from tokenbench.metrics.validity import ValidityRules

RECOVERED = "recovered by `bench recover`: the tool stopped before finishing this point"


def orphans(folder: Path) -> list[PointFiles]:
    """The points in a run's output directory whose raw records have no envelope."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a directory; pass the run's --output directory")
    points = (PointFiles.from_raw(raw) for raw in sorted(folder.glob(f"*{RAW_SUFFIX}")))
    return [files for files in points if not files.envelope.exists()]


def recover_point(files: PointFiles, sign: bool) -> Path:
    """Seal one orphaned point from its records, config and prompt manifest; its envelope."""
    if not files.config.is_file() or not files.prompts.is_file():
        raise ConfigError(
            f"cannot recover {files.raw.name}: its config or prompt manifest is missing"
        )
    config = orjson.loads(files.config.read_bytes())
    mtime = datetime.fromtimestamp(files.raw.stat().st_mtime, UTC)
    seal_point(
        files,
        RunDraft.model_validate(config["run"]),
        status="partial",
        finished_at=mtime.isoformat().replace("+00:00", "Z"),
        energy=EnergyInfo(
            method="none",
            scope=None,
            window_s=None,
            energy_j=None,
            idle_watts=None,
            reason="no energy reading: the run did not finish",
        ),
        rules=ValidityRules(**config["validity_rules"]),
        loop_lag_p99_ms=None,
        extra_reasons=[RECOVERED],
        key=keys.load_or_create()[0] if sign else None,
    )
    return files.envelope


def recover(folder: Path, sign: bool) -> list[Path]:
    """Every orphaned point in `folder` sealed as a partial envelope; the envelopes written."""
    return [recover_point(files, sign) for files in orphans(folder)]
