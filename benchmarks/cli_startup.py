"""CLI start-up: how long `bench --help` (and a few other answers that need no work) take in a
fresh interpreter, as a user typing them meets them.

Each repetition starts a new Python process (`python -m tokenbench.cli.main ARGS`, what the
`bench` script runs), so nothing is imported beforehand; the operating system's file cache is
warm after the first repetition, which is what a user running the tool twice meets too. Reports
median, min and max wall time per command line; asserts nothing.

Usage: python benchmarks/cli_startup.py [--repeat 15] [--src DIR]
  --src: the source tree to run (default: this checkout's src/), e.g. an older commit's
  (`git archive COMMIT src | tar -x -C /tmp/old`), to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINES = (("--help",), (), ("run", "--help"), ("--version",))


def time_once(src: Path, args: tuple[str, ...]) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per command line")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="source tree to time")
    args = parser.parse_args()
    time_once(args.src, ("--help",))  # fills the file cache and writes .pyc files
    print(f"{'command':<22} {'median s':>9} {'min s':>7} {'max s':>7}  ({args.repeat} runs each)")
    for line in LINES:
        times = [time_once(args.src, line) for _ in range(args.repeat)]
        label = " ".join(("bench", *line))
        print(f"{label:<22} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")


if __name__ == "__main__":
    main()
