"""How far from the truth are measured TTFT and ITL, by stream count?

The scripted SSE server (src/tokenbench/reference/server.py, its own process) logs the monotonic
time of every chunk it writes; on one machine that is the same clock the client reads. For each
request: TTFT error = measured TTFT − (server's first write − client send), i.e. how late the
client noticed the first token; ITL error = each measured gap − the server's gap.

Two clients run against the same server in the same run:
  tokenbench    the project's client (protocol callbacks, stamps on arrival, parses later)
  conventional  asyncio streams, readline per SSE line, json.loads, then the timestamp — the
                structure most published load generators use

With --scrape: does the telemetry scrape disturb the measurement? One run, one reference server
(answering as --engine llama.cpp or vllm, so its GET /metrics is scraped), the real sweep
(`run_sweep`, what `bench run` calls) at each --streams count, in --scrape-rounds interleaved
rounds: each round
measures the point with scraping at --scrape-interval and with --no-scrape, alternating which
goes first. Prints each mode's TTFT/ITL error against the server's log and on − off per round,
with its mean and spread over rounds (docs/performance.md, Scraping overhead).

Usage: python benchmarks/measurement_accuracy.py [--streams 1,16,64,256] [--itl-ms 10]
       python benchmarks/measurement_accuracy.py --scrape --streams 16,64 [--scrape-rounds 6]
           [--engine vllm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

import tokenbench.loadgen.sweep as sweep_module  # noqa: E402
from tokenbench.engines.http import HttpClient, Timeouts  # noqa: E402
from tokenbench.engines.openai import Api, GenerationParams, request_body  # noqa: E402
from tokenbench.engines.profiles import profile  # noqa: E402
from tokenbench.envelope.schema import TELEMETRY_SUFFIX, RunPredicate  # noqa: E402
from tokenbench.loadgen.control import RunControl  # noqa: E402
from tokenbench.loadgen.plan import closed_loop_plan  # noqa: E402
from tokenbench.loadgen.sweep import RunSettings, run_sweep  # noqa: E402
from tokenbench.loadgen.worker import WorkerContext, run_closed_loop  # noqa: E402
from tokenbench.metrics.stats import percentile  # noqa: E402
from tokenbench.records import RequestRecord  # noqa: E402
from tokenbench.suites import load_suite  # noqa: E402
from tokenbench.telemetry.prometheus import (  # noqa: E402
    PrometheusSampler,
    fetch,
    parse_metrics,
    parse_text,
)
from tokenbench.urls import Endpoint  # noqa: E402

SERVER = ROOT / "src" / "tokenbench" / "reference" / "server.py"  # bench reference-server

# (response id, send_ns, [chunk arrival ns]) per request, absolute monotonic ns
Measured = list[tuple[str, int, list[int]]]


async def run_tokenbench(port: int, streams: int, requests: int, scenario: str) -> Measured:
    client = HttpClient(Endpoint.parse(f"http://127.0.0.1:{port}/v1"))
    body = request_body(GenerationParams(Api.CHAT, scenario), "a b c d", 4096)
    anchor = time.perf_counter_ns()
    n = requests + streams  # one (identical) prompt slot per request, warmup included
    plan = closed_loop_plan(n, requests, streams, streams)
    records: list[RequestRecord] = []
    ctx = WorkerContext(0, client, Api.CHAT, [body] * n, ["p"] * n, Timeouts(60.0), anchor,
                        records.append)  # fmt: skip
    try:
        await run_closed_loop(ctx, plan, RunControl())
    finally:
        await client.aclose()
    out: Measured = []
    for r in records:
        if r.warmup or not r.ok or r.send_ns is None or r.response_id is None:
            continue
        out.append((r.response_id, r.send_ns + anchor, [c + anchor for c in r.chunk_ns]))
    return out


async def _conventional_one(port: int, body: bytes) -> tuple[str, int, list[int]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    send_ns = time.perf_counter_ns()
    writer.write(head + body)
    await writer.drain()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    rid = ""
    chunks: list[int] = []
    buf = b""
    while True:
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0:
            break
        buf += (await reader.readexactly(size + 2))[:-2]
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            data = event.removeprefix(b"data: ").strip(b"\r\n")
            if data == b"[DONE]":
                continue
            obj = json.loads(data)
            now = time.perf_counter_ns()
            rid = obj.get("id", rid)
            choices = obj.get("choices") or []
            if choices and choices[0].get("delta", {}).get("content"):
                chunks.append(now)
    writer.close()
    return rid, send_ns, chunks


async def run_conventional(port: int, streams: int, requests: int, scenario: str) -> Measured:
    body = json.dumps(
        {"model": scenario, "messages": [{"role": "user", "content": "a b c d"}],
         "max_tokens": 4096, "stream": True}
    ).encode()  # fmt: skip
    remaining = streams + requests  # first `streams` are warmup
    out: Measured = []
    done = 0

    async def slot() -> None:
        nonlocal remaining, done
        while remaining > 0:
            remaining -= 1
            result = await _conventional_one(port, body)
            done += 1
            if done > streams:
                out.append(result)

    async with asyncio.TaskGroup() as tg:
        for _ in range(streams):
            tg.create_task(slot())
    return out


def start_server(
    log_prefix: Path, cpu: int | None, procs: int = 1, *extra: str
) -> tuple[subprocess.Popen[str], int]:
    """The scripted server logging its chunk times (pinned to `cpu` when given)."""
    prefix = ["taskset", "-c", str(cpu)] if cpu is not None else []
    proc = subprocess.Popen(
        [*prefix, sys.executable, str(SERVER), "--log", str(log_prefix), "--procs", str(procs),
         *extra],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def server_truth(log_prefix: Path) -> dict[str, list[int]]:
    truth: dict[str, list[int]] = {}
    for path in log_prefix.parent.glob(log_prefix.name + ".*"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            truth[entry["id"]] = entry["chunk_ns"]
    return truth


def analyse(measured: Measured, truth: dict[str, list[int]], wall_s: float) -> dict[str, float]:
    ttft_err: list[float] = []
    itl_err: list[float] = []
    itl_true_sum = itl_meas_sum = 0.0
    chunks = 0
    for rid, send_ns, arrivals in measured:
        true = truth[rid]
        assert len(true) == len(arrivals), (rid, len(true), len(arrivals))
        ttft_err.append(((arrivals[0] - send_ns) - (true[0] - send_ns)) / 1e6)
        for i in range(1, len(true)):
            gap_true = (true[i] - true[i - 1]) / 1e6
            gap_meas = (arrivals[i] - arrivals[i - 1]) / 1e6
            itl_err.append(gap_meas - gap_true)
            itl_true_sum += gap_true
            itl_meas_sum += gap_meas
        chunks += len(arrivals)
    ttft_err.sort()
    abs_itl = sorted(abs(e) for e in itl_err)
    return {
        "requests": len(measured),
        "ttft_err_p50_ms": percentile(ttft_err, 50),
        "ttft_err_p99_ms": percentile(ttft_err, 99),
        "ttft_err_mean_ms": statistics.fmean(ttft_err),
        "itl_abs_err_p50_ms": percentile(abs_itl, 50),
        "itl_abs_err_p99_ms": percentile(abs_itl, 99),
        "itl_mean_err_pct": 100.0 * (itl_meas_sum - itl_true_sum) / itl_true_sum,
        "chunks_per_s": chunks / wall_s,
    }


async def measure_point(
    runner: Callable[[int, int, int, str], Awaitable[Measured]],
    streams: int,
    requests: int,
    scenario: str,
    server_cpu: int | None,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        log_prefix = Path(tmp) / "truth"
        proc, port = start_server(log_prefix, server_cpu)
        try:
            t0 = time.perf_counter()
            measured = await runner(port, streams, requests, scenario)
            wall = time.perf_counter() - t0
            await asyncio.sleep(0.2)  # let the server flush its log
            return analyse(measured, server_truth(log_prefix), wall)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()


class _Collect:
    """run_sweep's progress: keeps the records and the envelope's validity warnings."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self.warnings: list[str] = []

    def phase(self, message: str) -> None: ...
    def note(self, message: str) -> None: ...
    def point_started(self, label: str, total: int | None) -> None: ...
    def request_done(self, record: RequestRecord) -> None:
        self.records.append(record)

    def point_finished(self, path: Path, predicate: RunPredicate) -> None:
        self.warnings += predicate.validity.warnings


# Records are relative to the point's monotonic anchor, which only `_measure` knows: its result
# carries it. Wrapped here (the benchmark's one reach inside the sweep) to put records back on
# the absolute clock the server's log uses.
_anchors: list[int] = []
_measure = sweep_module._measure


async def _measure_keeping_anchor(*args: Any, **kwargs: Any) -> Any:
    measured = await _measure(*args, **kwargs)
    _anchors.append(measured.anchor_ns)
    return measured


sweep_module._measure = _measure_keeping_anchor


async def sweep_point(
    base_url: str, streams: int, requests: int, scenario: str, interval_s: float | None,
    out: Path,
) -> tuple[Measured, float, list[str]]:  # fmt: skip
    """One point through run_sweep: its measured requests on the absolute clock, the wall
    time and the envelope's warnings."""
    settings = RunSettings(
        suite=load_suite("llm.inference.chatbot-short"), output=out, base_url=base_url,
        model=scenario, sweep=(streams,), requests=requests, sign=False,
        scrape_interval_s=interval_s,
    )  # fmt: skip
    progress = _Collect()
    t0 = time.perf_counter()
    await run_sweep(settings, progress)
    wall = time.perf_counter() - t0
    anchor = _anchors[-1]
    measured: Measured = [
        (r.response_id, r.send_ns + anchor, [c + anchor for c in r.chunk_ns])
        for r in progress.records
        if r.measured and r.ok and r.send_ns is not None and r.response_id is not None
    ]
    return measured, wall, progress.warnings


def good_scrapes(out: Path) -> int:
    """Telemetry rows that read the server's /metrics (scrape failures are rows with an error)."""
    scrapes = 0
    for path in out.rglob(f"*{TELEMETRY_SUFFIX}"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            scrapes += row["source"] == "prometheus" and "error" not in row
    return scrapes


def _parse_ms(parse: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        parse()
        out.append(1e3 * (time.perf_counter() - t0))
    return out


async def _loop_stall_ms(scrape: Callable[[], Awaitable[object]], n: int) -> float:
    """The longest the event loop went without running a 1 ms ticker while `scrape` ran n
    times: how long a token's stamp could have waited behind a scrape."""
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        while not done:
            t0 = time.perf_counter()  # not loop.time(): uvloop's counts whole milliseconds
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - t0 - 0.001)

    ticker = asyncio.create_task(tick())
    for _ in range(n):
        await scrape()
    done = True
    await ticker
    return 1e3 * worst


async def scrape_cost(port: int, engine: str, n: int = 300) -> dict[str, float]:
    """What one scrape costs the client's process: CPU per scrape (connect, GET, read, parse);
    the parse alone, of the profile's families (parse_metrics) and of the whole text as before
    the filter (parse_text); and the longest loop stall, with the sampler's read (the parse in a
    thread) and with the old way (the whole text parsed on the loop)."""
    prof = profile(engine)
    sampler = PrometheusSampler("127.0.0.1", port, prof)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        assert (await sampler.read()).error is None
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    answer = await fetch("127.0.0.1", port, "/metrics", False, 1.0)
    text = answer.partition(b"\r\n\r\n")[2].decode()
    filtered = _parse_ms(lambda: parse_metrics(text, prof.metrics), n)
    whole = _parse_ms(lambda: parse_text(text, prof.metrics), n)

    async def old_way() -> None:
        body = await fetch("127.0.0.1", port, "/metrics", False, 1.0)
        parse_text(body.partition(b"\r\n\r\n")[2].decode(), prof.metrics)

    return {"body_bytes": len(text), "cpu_ms_per_scrape": 1e3 * cpu / n,
            "wall_ms_per_scrape": 1e3 * wall / n,
            "parse_ms_p50": statistics.median(filtered), "parse_ms_max": max(filtered),
            "parse_whole_ms_p50": statistics.median(whole), "parse_whole_ms_max": max(whole),
            "stall_ms_max": await _loop_stall_ms(sampler.read, n // 3),
            "stall_old_ms_max": await _loop_stall_ms(old_way, n // 3)}  # fmt: skip


SCRAPE_FIGURES = ("ttft_err_p50_ms", "ttft_err_p99_ms", "itl_abs_err_p50_ms", "itl_abs_err_p99_ms")


def scrape_overhead(args: argparse.Namespace, scenario: str, server_cpu: int | None) -> None:
    """Scrape on vs off, interleaved rounds at each stream count, against one server."""
    streams_list = [int(s) for s in args.streams.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("TOKENBENCH_CONFIG_DIR", str(Path(tmp) / "config"))
        log_prefix = Path(tmp) / "truth"
        proc, port = start_server(log_prefix, server_cpu, 1, "--engine", args.engine,
                                  "--metrics", "live")  # fmt: skip
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            cost = uvloop.run(scrape_cost(port, args.engine))
            for rnd in range(args.scrape_rounds):
                for streams in streams_list:
                    order = (True, False) if rnd % 2 == 0 else (False, True)
                    for on in order:
                        out = Path(tmp) / f"r{rnd}-c{streams}-{'on' if on else 'off'}"
                        interval = args.scrape_interval if on else None
                        point = sweep_point(base_url, streams, streams * args.rounds,
                                            scenario, interval, out)  # fmt: skip
                        measured, wall, warnings = uvloop.run(point)
                        time.sleep(0.2)  # let the server flush its log
                        result = analyse(measured, server_truth(log_prefix), wall)
                        scrapes = good_scrapes(out)
                        rows.append({"round": rnd, "streams": streams, "scrape": on,
                                     "scrapes": scrapes, "warnings": warnings,
                                     **result})  # fmt: skip
                        print(f"done: round {rnd} {streams} streams scrape "
                              f"{'on' if on else 'off'}: {scrapes} scrapes, TTFT err p50/p99 "
                              f"{result['ttft_err_p50_ms']:.3f}/{result['ttft_err_p99_ms']:.3f}"
                              f" ms", file=sys.stderr, flush=True)  # fmt: skip
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
    if args.json:
        print(json.dumps({"scrape_cost": cost, "rounds": rows}, indent=2))
        return
    if rows:  # --scrape-rounds 0: one scrape's cost alone
        _scrape_table(rows, streams_list, args)
    print(f"\none scrape of {args.engine}'s {cost['body_bytes']} B /metrics, alone (300 in a "
          f"row, client pinned as above): {cost['cpu_ms_per_scrape']:.3f} ms of client CPU, "
          f"{cost['wall_ms_per_scrape']:.3f} ms wall; parsing the profile's families p50 "
          f"{cost['parse_ms_p50']:.3f} ms, max {cost['parse_ms_max']:.3f} ms; the whole text "
          f"(before the filter) p50 {cost['parse_whole_ms_p50']:.3f} ms, max "
          f"{cost['parse_whole_ms_max']:.3f} ms; longest loop stall (1 ms ticker, 100 scrapes) "
          f"{cost['stall_ms_max']:.3f} ms with the parse in a thread, "
          f"{cost['stall_old_ms_max']:.3f} ms with the whole text parsed on the loop; load "
          f"average at start {args.load_at_start}")  # fmt: skip


def _scrape_table(rows: list[dict[str, Any]], streams_list: list[int],
                  args: argparse.Namespace) -> None:  # fmt: skip
    print(
        f"scenario: TTFT {args.ttft_ms:g} ms, ITL {args.itl_ms:g} ms, {args.tokens} tokens; "
        f"{args.rounds} requests per stream per point; scrape every {args.scrape_interval:g} s "
        f"vs --no-scrape; {args.scrape_rounds} interleaved rounds; load average at start "
        f"{args.load_at_start}\n"
    )
    print("| streams | scrape | requests/point | scrapes/point | TTFT err p50 | TTFT err p99 | "
          "ITL |err| p50 | ITL |err| p99 |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for streams in streams_list:
        for on in (False, True):
            sel = [r for r in rows if r["streams"] == streams and r["scrape"] == on]
            cells = " | ".join(f"{statistics.median(r[f] for r in sel):.3f} ms"
                               for f in SCRAPE_FIGURES)  # fmt: skip
            print(f"| {streams} | {'on' if on else 'off'} | "
                  f"{statistics.median(r['requests'] for r in sel):.0f} | "
                  f"{statistics.median(r['scrapes'] for r in sel):.0f} | {cells} |")  # fmt: skip
    print("\n(medians over rounds)\n\non − off, per round paired; mean ± SD [min, max] over "
          "rounds:\n")  # fmt: skip
    print("| streams | TTFT err p50 | TTFT err p99 | ITL |err| p50 | ITL |err| p99 |")
    print("|---:|---:|---:|---:|---:|")
    for streams in streams_list:
        diff_cells: list[str] = []
        for f in SCRAPE_FIGURES:
            diffs: list[float] = []
            for rnd in range(args.scrape_rounds):
                pair = {r["scrape"]: r[f] for r in rows
                        if r["round"] == rnd and r["streams"] == streams}  # fmt: skip
                diffs.append(pair[True] - pair[False])
            sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
            diff_cells.append(f"{statistics.fmean(diffs):+.3f} ± {sd:.3f} "
                              f"[{min(diffs):+.3f}, {max(diffs):+.3f}] ms")  # fmt: skip
        print(f"| {streams} | " + " | ".join(diff_cells) + " |")
    shared = sum(any(w.startswith("the run shared its cores") for w in r["warnings"])
                 for r in rows)  # fmt: skip
    print(f"\nhost-load warning (other work on the cores) on {shared} of {len(rows)} points")
    others = sorted({w for r in rows for w in r["warnings"]
                     if not w.startswith("the run shared its cores")})  # fmt: skip
    print("other envelope warnings: " + ("; ".join(others) if others else "none"))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--streams", default="1,16,64,256")
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=10.0)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="requests per stream")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--scrape",
        action="store_true",
        help="scrape on vs off through run_sweep (see above) instead of the clients",
    )
    p.add_argument("--scrape-rounds", type=int, default=6)
    p.add_argument("--scrape-interval", type=float, default=1.0, help="seconds, when on")
    p.add_argument(
        "--engine",
        default="llama.cpp",
        choices=["llama.cpp", "vllm"],
        help="--scrape: whose /metrics the reference server answers (vllm: ~44 KB, 14 histograms)",
    )
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place client and server (default: client on CPU 0, server on CPU 1)",
    )
    return p


def _client_table(rows: list[dict[str, Any]], args: argparse.Namespace, pinned: bool) -> None:
    """The two clients' errors against the server's truth, one Markdown row per point."""
    print(
        f"scenario: TTFT {args.ttft_ms:g} ms, ITL {args.itl_ms:g} ms, {args.tokens} tokens; "
        f"{os.cpu_count()} CPUs; server and client in separate processes"
        f"{', pinned to CPUs 1 and 0' if pinned else ', placed by the OS'}\n"
    )
    print(
        "| streams | client | requests | chunks/s | TTFT err p50 | TTFT err p99 | "
        "ITL |err| p50 | ITL |err| p99 | mean ITL err |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['streams']} | {r['client']} | {r['requests']} | {r['chunks_per_s']:,.0f} | "
            f"{r['ttft_err_p50_ms']:.3f} ms | {r['ttft_err_p99_ms']:.3f} ms | "
            f"{r['itl_abs_err_p50_ms']:.3f} ms | {r['itl_abs_err_p99_ms']:.3f} ms | "
            f"{r['itl_mean_err_pct']:+.2f}% |"
        )


def main() -> None:
    args = _parser().parse_args()
    pinned = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    server_cpu = 1 if pinned else None
    if pinned:
        os.sched_setaffinity(0, {0})
    scenario = f"ttft_ms={args.ttft_ms};itl_ms={args.itl_ms};tokens={args.tokens}"
    if args.scrape:
        args.load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
        scrape_overhead(args, scenario, server_cpu)
        return
    rows: list[dict[str, Any]] = []
    for streams in [int(s) for s in args.streams.split(",")]:
        requests = max(streams * args.rounds, 20)
        for name, runner in (("tokenbench", run_tokenbench), ("conventional", run_conventional)):
            result = uvloop.run(measure_point(runner, streams, requests, scenario, server_cpu))
            rows.append({"client": name, "streams": streams, **result})
            print(f"done: {name} at {streams} streams", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _client_table(rows, args, pinned)


if __name__ == "__main__":
    main()
