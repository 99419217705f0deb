"""Time to the first request: how long `bench run` prepares a point before its first request
leaves, at 1k, 10k and 100k requests (one synthetic prompt per request), against the scripted
server (whose /tokenize answers at once, so what is measured is the client's preparation).

The scripted server logs each stream with its receive time on the monotonic clock this script
also reads (one machine). For each size: launch → the preflight request (start-up, detection,
calibration), and preflight → the point's first request (prompt preparation). The run is then
killed: only its start is of interest.

Usage: python benchmarks/first_request.py [--sizes 1000,10000,100000] [--src DIR] [--timeout 600]
  --src: the source tree to run (default: this checkout's src/), e.g. an older commit's, to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "src" / "tokenbench" / "reference" / "server.py"  # bench reference-server
SUITE = "llm.inference.chatbot-short"  # 128 input tokens per prompt


def _streams(log_prefix: Path) -> list[int]:
    """Receive times (ns) of the streams the server has logged, in order."""
    times = []
    for path in log_prefix.parent.glob(log_prefix.name + ".*"):
        for line in path.read_text().splitlines():
            if line.strip():
                times.append(int(json.loads(line)["recv_ns"]))
    return sorted(times)


def first_request(port: int, log_prefix: Path, src: Path, size: int, timeout_s: float) -> dict:
    """Launch a run of `size` requests; seconds to its preflight and on to its first request."""
    out = Path(tempfile.mkdtemp(prefix="first-request-"))
    env = {**os.environ, "PYTHONPATH": str(src), "TOKENBENCH_CONFIG_DIR": str(out / "config")}
    seen = len(_streams(log_prefix))
    launched = time.perf_counter_ns()
    run = subprocess.Popen(
        [sys.executable, "-m", "tokenbench.cli.main", "run", SUITE, "--base-url",
         f"http://127.0.0.1:{port}/v1", "--model", "ttft_ms=1;itl_ms=1;tokens=4",
         "--concurrency", "1", "--warmup", "1", "--requests", str(size), "--no-sign",
         "--output", str(out / "runs")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout_s
    try:
        while len(times := _streams(log_prefix)[seen:]) < 2:
            if run.poll() is not None:
                raise RuntimeError(f"bench ended early: {run.stderr.read() if run.stderr else ''}")
            if time.monotonic() > deadline:
                return {"size": size, "preflight_s": None, "prepare_s": None}
            time.sleep(0.01)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    preflight, first = times[0], times[1]
    return {
        "size": size,
        "preflight_s": (preflight - launched) / 1e9,
        "prepare_s": (first - preflight) / 1e9,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--src", type=Path, default=ROOT / "src")
    p.add_argument("--timeout", type=float, default=600.0)
    args = p.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="first-request-server-"))
    log_prefix = log_dir / "log"
    server = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", "--log",
                               str(log_prefix)], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    assert server.stdout is not None
    port = int(server.stdout.readline())
    rows = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(first_request(port, log_prefix, args.src.resolve(), size, args.timeout))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    print(f"{SUITE} (128 input tokens), scripted server, source {args.src}\n")
    print("| requests | launch → preflight | preflight → first request | launch → first request |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        if r["prepare_s"] is None:
            print(f"| {r['size']:,} | — | over {args.timeout:g} s | over {args.timeout:g} s |")
            continue
        total = r["preflight_s"] + r["prepare_s"]
        print(f"| {r['size']:,} | {r['preflight_s']:.2f} s | {r['prepare_s']:.2f} s | "
              f"{total:.2f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
