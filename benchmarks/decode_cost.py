"""Per-read cost of the client's hot path after the arrival stamp: `_Connection.process`
(de-framing a chunked SSE read and handing its body on), with no socket and no event parsing.

Each response is a head then `--reads` reads of one chunk-framed chat event, then the last chunk;
the figure is the time per read, median (and 10th percentile) over `--responses` responses.

Usage: python benchmarks/decode_cost.py [--reads 64] [--responses 3000] [--src DIR ...]
  --src: source trees to compare (default: this checkout's src/), e.g. an older commit's
  `git archive` unpacked; each runs in its own process, pinned to CPU 0 where taskset exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tokenbench.engines import http  # in a child: the tree under test, from its PYTHONPATH

ROOT = Path(__file__).resolve().parents[1]

EVENT = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}\n\n'
)
FRAME = f"{len(EVENT):x}\r\n".encode() + EVENT + b"\r\n"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


class _NullTransport(asyncio.Transport):
    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


async def _measure(reads: int, responses: int) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    conn = http._Connection(http.ReadQueue())
    conn.connection_made(_NullTransport())
    per_read: list[float] = []
    for _ in range(responses):
        conn.start(b"", loop, lambda now, data: None)
        conn.process(0, HEAD)
        t0 = time.perf_counter_ns()
        for i in range(reads):
            conn.process(i, FRAME)
        conn.process(reads, b"0\r\n\r\n")
        per_read.append((time.perf_counter_ns() - t0) / (reads + 1))
    per_read.sort()
    return statistics.median(per_read), per_read[len(per_read) // 10]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reads", type=int, default=64)
    p.add_argument("--responses", type=int, default=3000)
    p.add_argument("--src", nargs="*", type=Path, default=None)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        median, p10 = asyncio.run(_measure(args.reads, args.responses))
        print(f"{median:.0f} {p10:.0f}")
        return
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    for src in args.src or [ROOT / "src"]:
        env = dict(os.environ, PYTHONPATH=str(src.resolve()))
        out = subprocess.run(
            [*pin, sys.executable, __file__, "--child", "--reads", str(args.reads),
             "--responses", str(args.responses)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        print(f"{src}: {out[0]} ns per read (median), {out[1]} ns (p10)")


if __name__ == "__main__":
    main()
