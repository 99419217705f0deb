"""`bench recover DIR`: finish the points a killed run left behind (raw records, no envelope)
as signed envelopes marked `partial`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console

from tokenbench.envelope import keys
from tokenbench.envelope.build import PointFiles, seal_point
from tokenbench.envelope.schema import RAW_SUFFIX, EnergyInfo
from tokenbench.errors import ConfigError
from tokenbench.metrics.validity import ValidityRules

RECOVERED = "recovered by `bench recover`: the tool stopped before finishing this point"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, metavar="DIR", help="the run's --output directory")
    p.add_argument("--no-sign", action="store_true", help="write unsigned envelopes")


def recover(folder: Path, sign: bool) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a directory; pass the run's --output directory")
    orphans = [
        PointFiles.from_raw(raw)
        for raw in sorted(folder.glob(f"*{RAW_SUFFIX}"))
        if not PointFiles.from_raw(raw).envelope.exists()
    ]
    written = []
    for files in orphans:
        if not files.config.is_file() or not files.prompts.is_file():
            raise ConfigError(
                f"cannot recover {files.raw.name}: its config or prompt manifest is missing"
            )
        config = orjson.loads(files.config.read_bytes())
        mtime = datetime.fromtimestamp(files.raw.stat().st_mtime, UTC)
        seal_point(
            files,
            config["run"],
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
        written.append(files.envelope)
    return written


def handle(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    written = recover(args.folder, sign=not args.no_sign)
    for path in written:
        console.print(f"recovered {path} (status partial)", soft_wrap=True)
    if not written:
        console.print(f"nothing to recover in {args.folder}: every raw file has its envelope")
    return 0
