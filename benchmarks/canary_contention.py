"""The canary under contention: `bench run --canary` against the reference server at 16 and 64
streams, with the machine as quiet as it gets and with CPU hogs; prints each run's canary figures
and validity (docs/performance.md, The canary)."""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tokenbench.reference.process import start_reference

HOG = "while True: pass"


def run_point(base_url: str, concurrency: int, duration_s: float, out: Path) -> dict[str, object]:
    """One `bench run --canary` point; the envelope's canary, validity and host load."""
    subprocess.run(
        [sys.executable, "-m", "tokenbench.cli.main", "run", "llm.inference.chatbot-short",
         "--base-url", base_url, "--model", "ttft_ms=20;itl_ms=5;tokens=64", "--canary",
         "--sweep", str(concurrency), "--duration", f"{duration_s:g}", "--output", str(out),
         "--no-sign"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    path = next(
        p for p in out.glob("*.json") if not p.name.endswith((".config.json", ".prompts.json"))
    )
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    predicate = statement["predicate"]
    load = predicate.get("host_load") or {}
    return {"canary": predicate["canary"], "valid": predicate["validity"]["valid"],
            "reasons": predicate["validity"]["reasons"],
            "other_cores": load.get("others_cpu_cores")}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--hogs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_reference(Path(tmp) / "target-log")
        try:
            for r in range(args.rounds):
                for hogged in (False, True):
                    hogs = [subprocess.Popen([sys.executable, "-c", HOG])
                            for _ in range(args.hogs if hogged else 0)]  # fmt: skip
                    try:
                        for c in (16, 64):
                            out = Path(tmp) / f"r{r}-{hogged}-{c}"
                            res = run_point(server.base_url, c, args.duration, out)
                            cn = res["canary"]
                            assert isinstance(cn, dict)
                            print(f"round {r} {'hog' if hogged else 'quiet'} c{c}: requests "
                                  f"{cn['requests']} TTFT err p50/p99 {cn['ttft_error_ms_p50']}/"
                                  f"{cn['ttft_error_ms_p99']} ms ITL err p50/p99 "
                                  f"{cn['itl_error_ms_p50']}/{cn['itl_error_ms_p99']} ms "
                                  f"valid={res['valid']} other_cores={res['other_cores']} "
                                  f"{res['reasons']}", flush=True)  # fmt: skip
                    finally:
                        for h in hogs:
                            h.kill()
                            h.wait()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
