"""Corpus scale: generate N distinct signed run envelopes (each with its raw-records sidecar, as
`bench run` writes them) and time `bench index`, `bench summary`, `bench compare` and `bench
query` over 1k, 10k and 100k of them. Usage: python benchmarks/corpus_scale.py --help"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tokenbench import __version__
from tokenbench.envelope import keys
from tokenbench.envelope.canonical import canonical
from tokenbench.envelope.hardware import fingerprint
from tokenbench.envelope.io import seal, statement_payload
from tokenbench.envelope.provenance import software, utc_iso
from tokenbench.envelope.schema import (
    PREDICATE_TYPE,
    RAW_SUFFIX,
    STATEMENT_TYPE,
    EngineInfo,
    RunPredicate,
)
from tokenbench.loadgen.sweep import comparability
from tokenbench.metrics.summary import summarize
from tokenbench.records import ErrorKind, RequestRecord
from tokenbench.verification import verify_file

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("llama-3.1-8b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct-v0.3",
          "gemma-2-9b-it", "phi-3.5-mini-instruct", "llama-3.2-3b-instruct",
          "qwen2.5-14b-instruct", "deepseek-r1-distill-qwen-7b")  # fmt: skip
MODEL_SPEED = (1.0, 0.95, 1.05, 1.2, 0.8, 0.6, 1.6, 1.1)  # time scale per model: higher, slower
POINTS = (1, 2, 4, 8, 16, 32, 64, 128)  # one sweep: these concurrency points, in this order
SUITE = "llm.inference.chatbot-short"
ENERGY_REASON = "the engine runs on another host; energy is read only for a local engine"
POOL = 16  # distinct record lists per concurrency point
JITTERS = 4  # time scales per (list, point, model): 16 × 8 × 8 × 4 distinct sidecars in all
WARMUP = 2
INPUT_TOKENS = 128
MAX_TOKENS = 16
SWEEPS_PER_DIR = 16  # a folder holds 16 sweeps × 8 points: 128 envelopes, 256 files
INVALID_EVERY = 50  # about 2% of the runs are invalid
EPOCH_NS = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp()) * 10**9  # runs span a year from it
SPAN_NS = 365 * 86_400 * 10**9
PARALLEL_FROM = 2000  # fewer envelopes than this are written in this process
PROCESSES = 2
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# the predicate's parts that differ from run to run (the rest is the template's, canonical once)
_PER_RUN = frozenset(("run_id", "sweep_id", "validity", "parameters", "target", "timing",
                      "metrics"))  # fmt: skip
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(RequestRecord))

BENCH = (sys.executable, "-m", "tokenbench.cli.main")
# `bench compare` over two models ({m0}, {m1}: MODELS[0], MODELS[1]), as --where spells "any of
# several"; the weekly query casts started_at, which envelopes state as an ISO 8601 string
COMPARE_ARGS = ("compare", "{dir}", "--where", "model={m0},{m1}", "--report", "json")
QUERY_SQL = ("SELECT model_id, date_trunc('week', started_ts) AS week, "
             "median(ttft_p50_ms) FROM runs GROUP BY ALL ORDER BY ALL")  # fmt: skip
# (step, size) → the most seconds it may take
GOALS = {("index, 1% new envelopes", 10_000): 2.0,
         ("summary --report json (index up to date)", 100_000): 2.0}  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class _Variant:
    """One distinct raw-records sidecar and what its envelope states about it."""

    raw: bytes
    sha256: str
    metrics: bytes  # canonical JSON
    duration_ns: int
    measured: int


def _hash(*parts: object) -> int:
    """A 128-bit number from the parts (stable across processes, unlike hash())."""
    text = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "big")


def _ulid(wall_ns: int, bits: int) -> str:
    """A ULID as new_ulid() spells it: the millisecond `wall_ns` falls in, then 80 bits."""
    value = (wall_ns // 1_000_000) << 80 | bits & ((1 << 80) - 1)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def _records(seed: int, pool: int, point: int) -> list[RequestRecord]:
    """A plausible closed-loop run at `point` in flight (at most 8 slots); every fifth pool
    has one request that failed with HTTP 503."""
    rng = random.Random(f"corpus-scale:{seed}:{pool}:{point}")
    slots, total = min(point, 8), WARMUP + 8 + pool % 7
    slower = 1.0 + 0.12 * math.log2(point)  # a busier server answers each request later
    free, out = [0] * slots, list[RequestRecord]()
    for i in range(total):
        slot = min(range(slots), key=free.__getitem__)
        sched = free[slot]
        send = sched + rng.randint(50_000, 400_000)
        first = send + int(rng.uniform(25e6, 90e6) * slower)
        sent = RequestRecord(index=i, worker=0, slot=slot, warmup=i < WARMUP,
                             prompt_id=f"{_hash(seed, pool, point, i) >> 64:016x}",
                             scheduled_ns=sched, send_ns=send)  # fmt: skip
        if pool % 5 == 4 and i == total - 3:
            record = dataclasses.replace(sent, end_ns=first, http_status=503,
                                         error_kind=ErrorKind.HTTP, error="HTTP 503")  # fmt: skip
        else:
            tokens = rng.randint(8, MAX_TOKENS)
            chunks = [first]
            for _ in range(tokens - 1):
                chunks.append(chunks[-1] + int(rng.uniform(8e6, 20e6) * slower))
            record = dataclasses.replace(
                sent, first_token_ns=chunks[0], chunk_ns=chunks,
                end_ns=chunks[-1] + rng.randint(100_000, 900_000), input_tokens=INPUT_TOKENS,
                output_tokens=tokens, tokens_from_usage=True, http_status=200,
                response_id=f"chatcmpl-{_hash(seed, pool, point, i, 'r') >> 96:08x}",
                finish_reason="length" if tokens == MAX_TOKENS else "stop",
            )  # fmt: skip
        out.append(record)
        free[slot] = record.end_ns or send
    return out


def _scaled(records: list[RequestRecord], factor: float) -> list[RequestRecord]:
    """The same run with every time on the records' clock stretched by `factor`."""

    def s(ns: int | None) -> int | None:
        return None if ns is None else round(ns * factor)

    out = [
        dataclasses.replace(r, scheduled_ns=round(r.scheduled_ns * factor), send_ns=s(r.send_ns),
                            first_token_ns=s(r.first_token_ns), end_ns=s(r.end_ns),
                            chunk_ns=[round(c * factor) for c in r.chunk_ns])
        for r in records
    ]  # fmt: skip
    return out


def _line(record: RequestRecord) -> bytes:
    """record.to_json(), byte for byte, without asdict()'s deep copy (a third of the time it
    takes to make a sidecar); the first record of each sidecar is checked against it."""
    row = {name: getattr(record, name) for name in _RECORD_FIELDS}
    if not record.canary:
        del row["canary"]
    return orjson.dumps(row)


def template() -> dict[str, Any]:
    """A whole run predicate as `bench run` dumps it (every field, defaults included), with this
    host's hardware and software; the generator changes a few fields per envelope."""
    hardware = fingerprint()
    engine = EngineInfo(name="vllm", version="0.6.3", detected=True, embedded=False)
    suite_digest = hashlib.sha256(canonical({"suite": SUITE})).hexdigest()
    body = {
        "run_id": _ulid(EPOCH_NS, 0), "sweep_id": _ulid(EPOCH_NS, 0), "status": "complete",
        "validity": {"valid": True, "reasons": []},
        "parameters": {
            "suite": {"name": SUITE, "api": "chat", "temperature": 0.0, "max_tokens": MAX_TOKENS,
                      "ignore_eos_requested": False, "ignore_eos_sent": False,
                      "prefix_cache_disabled": False},
            "load": {"concurrency": 1, "requests": 1, "warmup_requests": WARMUP,
                     "duration_limit_s": None, "timeout_s": 600.0, "seed": 0,
                     "bounded_by": "requests"},
            "workload": {"kind": "synthetic", "prompts": 1, "input_tokens_target": INPUT_TOKENS,
                         "template_overhead_tokens": None, "input_tokens_exact": True},
        },
        "target": {"base_url": "http://10.0.0.7:8000/v1", "engine": engine.model_dump(),
                   "model": {"model_id": MODELS[0], "source": "remote"}},
        "hardware": hardware.model_dump(),
        "software": software(suite_digest, "uvloop").model_dump(),
        "timing": {"started_at": utc_iso(EPOCH_NS), "finished_at": utc_iso(EPOCH_NS),
                   "wall_anchor_us": EPOCH_NS // 1000},
        "metrics": summarize([], energy_reason=ENERGY_REASON).model_dump(),
        "energy": {"method": "none", "scope": None, "window_s": None, "energy_j": None,
                   "idle_watts": None, "reason": ENERGY_REASON},
        "comparability": comparability(hardware, engine, suite_digest).model_dump(),
        "privacy": {"prompts_stored": False},
    }  # fmt: skip
    return RunPredicate.model_validate(body).model_dump(mode="json")


class _Maker:
    """Writes envelope `i` of a corpus; sidecars are made once per variant and reused."""

    def __init__(self, base: dict[str, Any], seed: int) -> None:
        self.base, self.seed = base, seed
        self.key, _ = keys.load_or_create()
        # what every run states alike is made canonical once, and spliced into each payload
        self.fixed = {k: canonical(v) for k, v in base.items() if k not in _PER_RUN}
        self.stubs = {k: canonical(_stub(k)) for k in (*self.fixed, "metrics")}
        self.variants: dict[tuple[int, int, int, int], _Variant] = {}
        self.folders: set[Path] = set()

    def variant(self, pool: int, k: int, m: int, jitter: int) -> _Variant:
        found = self.variants.get((pool, k, m, jitter))
        if found is None:
            factor = MODEL_SPEED[m] * (0.94 + 0.04 * jitter)
            records = _scaled(_records(self.seed, pool, POINTS[k]), factor)
            raw = b"".join(_line(r) + b"\n" for r in records)
            assert _line(records[0]) == records[0].to_json(), "RequestRecord.to_json() changed"
            metrics = summarize(records, energy_reason=ENERGY_REASON)
            duration_ns = round((metrics.duration_s or 0.0) * 1e9)
            found = _Variant(raw, hashlib.sha256(raw).hexdigest(),
                             canonical(metrics.model_dump(mode="json")), duration_ns,
                             metrics.requests_measured)  # fmt: skip
            self.variants[(pool, k, m, jitter)] = found
        return found

    def write(self, root: Path, i: int) -> Path:
        m, j = i % len(MODELS), i // len(MODELS)  # j: the model's own count
        k, sweep = j % len(POINTS), j // len(POINTS)
        model, point = MODELS[m], POINTS[k]
        folder = root / model / f"sweep-{sweep // SWEEPS_PER_DIR:04d}"
        if folder not in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
            self.folders.add(folder)
        h = _hash(self.seed, "run", i)
        v = self.variant(h % POOL, k, m, (h >> 8) % JITTERS)
        sweep_ns = EPOCH_NS + _hash(self.seed, "sweep", m, sweep) % SPAN_NS
        started = sweep_ns + k * 120 * 10**9 + (h >> 16) % 10**10  # points ~2 min apart
        stem = f"{model}__c{point}__{i}"
        raw = folder / f"{stem}{RAW_SUFFIX}"
        raw.write_bytes(v.raw)
        pred: dict[str, Any] = {part: _stub(part) for part in self.stubs}
        pred.update(_predicate(self.base, v, model, point, started))
        pred["run_id"] = _ulid(started, h >> 48)
        pred["sweep_id"] = _ulid(sweep_ns, _hash(self.seed, "sweep-id", m, sweep))
        if (h >> 40) % INVALID_EVERY == 0:
            lag = 25.0 + (h >> 24) % 400 / 10
            why = (
                f"the client was saturated: event-loop lag p99 {lag:.1f} ms (limit 25 ms); "
                "latencies would include client delay — use fewer streams or more workers"
            )
            pred["validity"] = {**pred["validity"], "valid": False, "reasons": [why]}
        statement = {"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "predicate": pred,
                     "subject": [{"name": raw.name, "digest": {"sha256": v.sha256}}]}  # fmt: skip
        payload = canonical(statement)
        for part, value in (*self.fixed.items(), ("metrics", v.metrics)):
            payload = payload.replace(self.stubs[part], value, 1)
        path = folder / f"{stem}.json"  # write_envelope()'s bytes, without its temporary file
        path.write_bytes(orjson.dumps(seal(payload, self.key), option=orjson.OPT_INDENT_2) + b"\n")
        return path


def _stub(key: str) -> str:
    """Stands in for a part spliced in later (no real value is a string like it)."""
    return f"@@{key}@@"


def _predicate(
    base: dict[str, Any], v: _Variant, model: str, point: int, started: int
) -> dict[str, Any]:
    """The parts of the predicate that differ from run to run (copies of the template's
    nested parts: the template itself is shared)."""
    params, target = base["parameters"], base["target"]
    finished = started + v.duration_ns + 400_000_000  # the run outlasts its measured window
    load = {**params["load"], "concurrency": point, "requests": v.measured}
    workload = {**params["workload"], "prompts": v.measured + WARMUP}
    timing = {"started_at": utc_iso(started), "finished_at": utc_iso(finished),
              "wall_anchor_us": started // 1000}  # fmt: skip
    return {
        "validity": base["validity"],
        "parameters": {**params, "load": load, "workload": workload},
        "target": {**target, "model": {**target["model"], "model_id": model}},
        "timing": timing,
    }


_WORKER: _Maker | None = None


def _init_worker(base: dict[str, Any], seed: int) -> None:
    global _WORKER
    _WORKER = _Maker(base, seed)


def _write_range(job: tuple[str, int, int]) -> list[str]:
    root, first, stop = job
    assert _WORKER is not None
    return [str(_WORKER.write(Path(root), i)) for i in range(first, stop)]


def generate(root: Path, n: int, seed: int = 0, start: int = 0) -> list[Path]:
    """Write envelopes start … start + n - 1 under `root` (2 processes from PARALLEL_FROM on);
    a later call with start = the earlier n adds new, distinct ones. Returns them in order."""
    keys.load_or_create()  # created here once, if missing, not by two workers at once
    base = template()
    if n < PARALLEL_FROM:
        maker = _Maker(base, seed)
        return [maker.write(root, i) for i in range(start, start + n)]
    step = max(500, -(-n // (8 * PROCESSES)))
    jobs = [(str(root), a, min(a + step, start + n)) for a in range(start, start + n, step)]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(PROCESSES, initializer=_init_worker, initargs=(base, seed)) as pool:
        done = pool.map(_write_range, jobs, chunksize=1)
    return [Path(p) for chunk in done for p in chunk]


def check_sample(paths: list[Path], count: int = 20) -> None:
    """`bench verify`'s checks (signature, schema, sidecar digest, metrics recomputed from the
    records) on a spread of the envelopes, and that each payload is byte for byte what
    statement_payload() makes of its predicate. Raises on the first difference."""
    trusted = keys.trusted_keys()
    for path in paths[:: max(1, len(paths) // count)]:
        opened = verify_file(path, trusted)
        raw = path.with_name(path.name.removesuffix(".json") + RAW_SUFFIX)
        doc = json.loads(path.read_bytes())
        expected = statement_payload(RunPredicate.model_validate(opened.predicate), [raw])
        if seal(expected, None)["payload"] != doc["payload"]:
            raise AssertionError(f"{path}: the payload is not what statement_payload() writes")


@dataclasses.dataclass
class Step:
    size: int  # envelopes generated before the step
    step: str
    seconds: float
    ok: bool = True
    note: str = ""


def bench(args: list[str]) -> tuple[float, bool]:
    """Run `bench ARGS` in a fresh interpreter on this checkout's src/: (wall seconds,
    succeeded). A failure's stderr is printed and the harness goes on."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    try:
        done = subprocess.run([*BENCH, *args], capture_output=True, text=True, timeout=3600,
                              env=env, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        print(f"bench {' '.join(args)}: timed out after 3600 s", file=sys.stderr)
        return time.perf_counter() - started, False
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(f"bench {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}",
              file=sys.stderr)  # fmt: skip
    return seconds, done.returncode == 0


def _timed(n: int, label: str, args: list[str]) -> Step:
    seconds, ok = bench(args)
    goal = GOALS.get((label, n))
    met = "met" if ok and goal is not None and seconds <= goal else "not met"
    note = "" if goal is None else f"goal ≤ {goal:g} s: {met}"
    print(f"{n:,}: {label}: {seconds:.2f} s{'' if ok else ' (failed)'}", file=sys.stderr)
    return Step(n, label, seconds, ok, note)


def _generated(n: int, label: str, folder: Path, count: int, seed: int, start: int) -> Step:
    started = time.perf_counter()
    paths = generate(folder, count, seed, start)
    seconds = time.perf_counter() - started
    check_sample(paths)
    print(f"{n:,}: {label}: {seconds:.2f} s", file=sys.stderr)
    return Step(n, label, seconds, note=f"{count / seconds:,.0f} envelopes/s")


def measure(folder: Path, n: int, seed: int) -> list[Step]:
    """Generate n envelopes in `folder`, then time each command over them."""
    d = str(folder)
    steps = [_generated(n, f"generate {n:,} envelopes", folder, n, seed, 0)]
    steps.append(_timed(n, "index, cold", ["index", d]))
    steps.append(_timed(n, "index, nothing changed", ["index", d]))
    added = max(1, n // 100)
    steps.append(_generated(n, f"generate {added:,} more (1%)", folder, added, seed, n))
    steps.append(_timed(n, "index, 1% new envelopes", ["index", d]))
    summary = ["summary", d, "--report", "json"]
    steps.append(_timed(n, "summary --report json (index up to date)", summary))
    if n <= 10_000:
        steps.append(_timed(n, "summary --report json --no-index", [*summary, "--no-index"]))
    compare = [a.format(dir=d, m0=MODELS[0], m1=MODELS[1]) for a in COMPARE_ARGS]
    steps.append(_timed(n, "compare, two models --report json", compare))
    steps.append(_timed(n, "query: weekly median TTFT per model",
                        ["query", d, QUERY_SQL, "--report", "json"]))  # fmt: skip
    return steps


def report(steps: list[Step], sizes: list[int]) -> None:
    """The markdown table, then each goal's verdict (or why it was not measured)."""
    print("| envelopes | step | seconds | result | note |")
    print("|---:|---|---:|---|---|")
    for s in steps:
        print(f"| {s.size:,} | {s.step} | {s.seconds:.2f} | {'ok' if s.ok else 'failed'} | "
              f"{s.note} |")  # fmt: skip
    print()
    for (label, n), limit in GOALS.items():
        found = [s for s in steps if s.step == label and s.size == n]
        verdict = found[0].note if found else "not measured (size not run)"
        print(f"- {label} over {n:,} envelopes, ≤ {limit:g} s: {verdict}")
    rates = [s for s in steps if s.step.startswith("generate") and s.size in sizes]
    for s in rates:
        print(f"- generator ({PROCESSES} processes from {PARALLEL_FROM:,} on): {s.step}: "
              f"{s.seconds:.1f} s, {s.note}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes, comma-separated")
    p.add_argument("--root", type=Path, help="where the corpora go (default: a new /tmp folder)")
    p.add_argument("--keep", action="store_true", help="keep the generated corpora")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    root = args.root or Path(tempfile.mkdtemp(prefix="corpus-scale-", dir="/tmp"))
    steps: list[Step] = []
    try:
        for n in sizes:
            folder = root / f"n{n}"
            if folder.exists() and any(folder.iterdir()):
                p.error(f"{folder} is not empty: the cold index would not be cold")
            steps += measure(folder, n, args.seed)
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if args.root is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"tokenbench {__version__}; {len(MODELS)} models × {len(POINTS)} concurrency points; "
          f"corpora under {root}{'' if args.keep else ' (removed)'}\n")  # fmt: skip
    report(steps, sizes)
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "goals": [
            {"step": label, "size": n, "seconds": limit} for (label, n), limit in GOALS.items()],
            "steps": [dataclasses.asdict(s) for s in steps]}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
