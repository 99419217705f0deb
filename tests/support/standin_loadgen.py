"""A stand-in load generator for `bench conformance` tests (stdlib only, run as a program):
N streaming chat requests at concurrency C, its own TTFT/ITL measurement plus a known TTFT
bias, written as `vllm bench serve --save-result` JSON.

Usage: standin_loadgen.py URL MODEL CONCURRENCY REQUESTS OUTPUT [--bias-ms B]
       [--mode ok|fail|no-result|garbage]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit


def one(url: str, model: str) -> tuple[float, list[float], int]:
    """TTFT (ms), the gaps between content chunks (ms) and the chunk count of one request."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi there"}],
                       "max_tokens": 1000, "stream": True})  # fmt: skip
    send = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    stamps: list[float] = []
    while line := resp.readline():
        if not line.startswith(b"data: {"):
            continue
        now = time.perf_counter()
        choices = json.loads(line[6:]).get("choices") or []
        if choices and choices[0].get("delta", {}).get("content"):
            stamps.append(now)
    conn.close()
    gaps = [(b - a) * 1e3 for a, b in itertools.pairwise(stamps)]
    return (stamps[0] - send) * 1e3, gaps, len(stamps)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("url", "model", "concurrency", "requests", "output"):
        p.add_argument(name)
    p.add_argument("--bias-ms", type=float, default=0.0)
    p.add_argument("--mode", default="ok", choices=["ok", "fail", "no-result", "garbage"])
    args = p.parse_args()
    if args.mode == "fail":
        print("starting up", file=sys.stderr)
        print("error: cannot reach the model server", file=sys.stderr)
        return 3
    remaining = int(args.requests)
    lock = threading.Lock()
    results: list[tuple[float, list[float], int]] = []

    def worker() -> None:
        nonlocal remaining
        while True:
            with lock:
                if remaining == 0:
                    return
                remaining -= 1
            result = one(args.url, args.model)
            with lock:
                results.append(result)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(int(args.concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duration = time.perf_counter() - start
    if args.mode == "no-result":
        return 0
    ttfts = [r[0] + args.bias_ms for r in results]
    itls = [g for r in results for g in r[1]]
    out = {"completed": len(results), "duration": duration,
           "mean_ttft_ms": statistics.fmean(ttfts), "median_ttft_ms": statistics.median(ttfts),
           "p99_ttft_ms": p99(ttfts), "mean_itl_ms": statistics.fmean(itls),
           "median_itl_ms": statistics.median(itls), "p99_itl_ms": p99(itls),
           "output_throughput": sum(r[2] for r in results) / duration}  # fmt: skip
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("{not json" if args.mode == "garbage" else json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
