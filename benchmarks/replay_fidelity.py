"""Trace replay fidelity: how closely `bench run llm.inference.replay --trace FILE` keeps to the
trace's own send times, at 1, 100 and 1,000 req/s, against the scripted server.

For each rate a seeded tokenbench-format trace is written (Poisson gaps, or constant spacing),
replayed end to end by the CLI (a subprocess, as a user runs it), and read back: the rate the
trace offers, the send rate the client achieved (metrics.send_rate_rps), the schedule lag
(metrics.schedule_lag_ms: send − scheduled, p50 / p99 / max), the share of measured requests
that left more than 1 ms and more than 10 ms late, and the share that left early, before their
scheduled time (from the raw records sidecar, with the smallest lag), and the
envelope's validity (a p99 lag above --max-schedule-lag, 250 ms by default, is invalid).
Requests are tiny (16 new input tokens, 4 output tokens, 1 ms TTFT and ITL) so the client's
timing is what is measured.

Usage: python benchmarks/replay_fidelity.py [--rates 1,100,1000] [--requests 20,500,3000]
                                           [--arrivals poisson,constant] [--seed 0] [--no-pin]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "src" / "tokenbench" / "reference" / "server.py"  # bench reference-server
SCENARIO = "ttft_ms=1;itl_ms=1;tokens=4"
CAP = 2048  # --concurrency: the cap on requests in flight, far above what 1,000 req/s needs
WARMUP = 8


def write_trace(path: Path, rate: float, count: int, arrival: str, seed: int) -> float:
    """A tokenbench trace of `count` independent requests at `rate` req/s on average; returns
    the rate it offers, (n − 1) / span."""
    rng = random.Random(f"replay-fidelity:{arrival}:{rate}:{seed}")
    t, times = 0.0, []
    for _ in range(count):
        times.append(t)
        t += 1000.0 / rate if arrival == "constant" else rng.expovariate(rate) * 1000.0
    lines = [json.dumps({"tokenbench_trace": 1, "block_tokens": 16})]
    lines += [json.dumps({"t_ms": round(x, 3), "new_tokens": 16, "output_tokens": 4})
              for x in times]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return (count - 1) / (times[-1] / 1000.0)


def _predicate(envelope: Path) -> dict[str, Any]:
    doc = json.loads(envelope.read_text())
    return json.loads(base64.b64decode(doc["payload"]))["predicate"]  # type: ignore[no-any-return]


def replay(port: int, trace: Path, out: Path, pin: list[str]) -> dict[str, Any]:
    """Run the replay suite on `trace`; the figures of its one envelope."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
           "TOKENBENCH_CONFIG_DIR": str(out / "config")}  # fmt: skip
    cmd = [*pin, sys.executable, "-m", "tokenbench.cli.main", "run", "llm.inference.replay",
           "--trace", str(trace), "--base-url", f"http://127.0.0.1:{port}/v1",
           "--model", SCENARIO, "--concurrency", str(CAP), "--warmup", str(WARMUP),
           "--no-sign", "--output", str(out / "runs")]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    wall = time.monotonic() - started
    envelopes = [p for p in (out / "runs").glob("*.json")
                 if not p.name.endswith((".config.json", ".prompts.json"))]  # fmt: skip
    if done.returncode not in (0, 1) or len(envelopes) != 1:  # 1: written, but invalid
        raise RuntimeError(f"bench run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    pred = _predicate(envelopes[0])
    late = []
    sidecar = envelopes[0].with_name(envelopes[0].name[: -len(".json")] + ".records.jsonl")
    for line in sidecar.read_text().splitlines():
        r = json.loads(line)
        if r["warmup"] or r.get("cooldown") or r["send_ns"] is None:
            continue
        late.append((r["send_ns"] - r["scheduled_ns"]) / 1e6)
    m, v = pred["metrics"], pred["validity"]
    lag = m["schedule_lag_ms"] or {}
    return {
        "sent": len(late),
        "achieved": m["send_rate_rps"],
        "lag_p50": lag.get("p50"),
        "lag_p99": lag.get("p99"),
        "lag_max": lag.get("max"),
        "lag_min": lag.get("min"),
        "over_1ms": sum(x > 1 for x in late) / len(late) if late else None,
        "over_10ms": sum(x > 10 for x in late) / len(late) if late else None,
        "early": sum(x < 0 for x in late) / len(late) if late else None,
        "failed": m["requests_failed"],
        "valid": v["valid"],
        "reasons": v["reasons"],
        "wall_s": wall,
    }


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} ms"


def _share(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rates", default="1,100,1000")
    p.add_argument("--requests", default="20,500,3000", help="requests per rate, in order")
    p.add_argument("--arrivals", default="poisson,constant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-pin", action="store_true", help="let client and server share cores")
    args = p.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    counts = [int(n) for n in args.requests.split(",")]
    if len(counts) != len(rates):
        p.error("--requests needs one count per rate")
    pinned = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    server_pin, client_pin = (
        (["taskset", "-c", "1"], ["taskset", "-c", "0"]) if pinned else ([], [])
    )
    server = subprocess.Popen([*server_pin, sys.executable, str(SERVER)], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)  # fmt: skip
    assert server.stdout is not None
    port = int(server.stdout.readline())
    rows = []
    work = Path(tempfile.mkdtemp(prefix="replay-fidelity-"))
    try:
        for arrival in args.arrivals.split(","):
            for rate, count in zip(rates, counts, strict=True):
                out = work / f"{arrival}-{rate:g}"
                out.mkdir()
                trace = out / "trace.jsonl"
                offered = write_trace(trace, rate, count, arrival, args.seed)
                row = replay(port, trace, out, client_pin)
                rows.append({"arrival": arrival, "rate": rate, "count": count,
                             "offered": offered, **row})  # fmt: skip
                print(f"{arrival} {rate:g} req/s: done in {row['wall_s']:.1f} s", file=sys.stderr)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"scripted server `{SCENARIO}`, --concurrency {CAP}, --warmup {WARMUP}, seed "
        f"{args.seed}; client on CPU 0 and server on CPU 1: {pinned}\n"
    )
    print("| arrivals | trace req/s | requests | offered req/s | achieved send req/s | lag p50 | "
          "lag p99 | lag max | > 1 ms late | > 10 ms late | early (min lag) | valid |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        valid = "yes" if r["valid"] else "no: " + "; ".join(r["reasons"])
        print(f"| {r['arrival']} | {r['rate']:,g} | {r['sent']:,} | {r['offered']:,.2f} | "
              f"{r['achieved']:,.2f} | {_ms(r['lag_p50'])} | {_ms(r['lag_p99'])} | "
              f"{_ms(r['lag_max'])} | {_share(r['over_1ms'])} | {_share(r['over_10ms'])} | "
              f"{_share(r['early'])} ({_ms(r['lag_min'])}) | {valid} |")  # fmt: skip


if __name__ == "__main__":
    main()
