"""`bench run SUITE`: measure a model at each sweep point and write one envelope per point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.status import Status

from tokenbench.cli.config import without_config
from tokenbench.cli.heartbeat import Heartbeat, seconds
from tokenbench.cli.options import (
    add_passthrough_options,
    add_target_options,
    api_key,
    passthrough,
)
from tokenbench.engines.openai import Api
from tokenbench.engines.passthrough import RUN_RECORDED
from tokenbench.envelope.rerun import load_rerun
from tokenbench.envelope.schema import HostLoad, RunPredicate
from tokenbench.errors import ConfigError
from tokenbench.loadgen.control import RunControl
from tokenbench.loadgen.plan import ARRIVALS
from tokenbench.loadgen.search import RateSearch
from tokenbench.loadgen.selftest import SelftestSettings, run_selftest
from tokenbench.loadgen.stages import Stage, parse_stages, ramp_stages
from tokenbench.loadgen.sweep import RunSettings, run_sweep
from tokenbench.metrics.summary import SLO_METRICS
from tokenbench.metrics.validity import (
    DEFAULT_MAX_CANARY_ERROR_MS,
    DEFAULT_MAX_ERROR_RATE,
    DEFAULT_MAX_SCHEDULE_LAG_MS,
    DEFAULT_MAX_TAIL_SHARE,
    ValidityRules,
)
from tokenbench.records import RequestRecord
from tokenbench.suites.suite import Suite, load_suite
from tokenbench.workloads.datasets import parse_columns
from tokenbench.workloads.traces import TRACE_FORMATS

T = TypeVar("T")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Measure a model on a suite; one envelope per sweep point. Without --base-url, "
        "the embedded llama-server serves --model (a bundled name or a .gguf file)."
    )
    p.add_argument(
        "suite", nargs="?", help="built-in suite name (see `bench suites`) or a suite .toml file"
    )
    p.add_argument("--rerun", type=Path, metavar="ENVELOPE",
                   help="run a recorded point again with the settings in its config sidecar "
                   "(flags given here override them)")  # fmt: skip
    p.add_argument("--allow-private", action="store_true",
                   help="accept a base URL from a --rerun file that points at a private, "
                   "link-local or metadata address")  # fmt: skip
    add_target_options(p)
    add_passthrough_options(p)
    p.add_argument("--prompts", type=Path, metavar="FILE.jsonl",
                   help='your own prompts: one {"prompt": ...} or {"messages": [...]} per line, '
                   'optional "max_tokens"')  # fmt: skip
    p.add_argument("--api", choices=[a.value for a in Api], help="chat or completions")
    _add_load_options(p)
    _add_workload_options(p)
    _add_request_options(p)
    _add_validity_options(p)
    _add_repeat_and_scale_out_options(p)
    p.add_argument("--seed", type=int, metavar="N", help="prompt generation seed (default 0)")
    p.add_argument("-o", "--output", default="corpus", metavar="DIR",
                   help="directory for envelopes (default corpus)")  # fmt: skip
    p.add_argument(
        "--no-sign", action="store_true", help="write unsigned envelopes (default: sign)"
    )
    p.add_argument(
        "--store-prompts",
        action="store_true",
        help="keep prompt texts in the prompt manifest (default: only digests and token counts)",
    )


def _add_load_options(p: argparse.ArgumentParser) -> None:
    """The load each point applies: closed or open loop, how many requests, for how long."""
    p.add_argument("--sweep", type=_int_list, metavar="C1,C2",
                   help="concurrency points, e.g. 1,4,16,64")  # fmt: skip
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="a single concurrency point (with --rate: the cap on requests in flight)",
    )
    p.add_argument(
        "--rate",
        type=float,
        metavar="R",
        help="open loop: send R requests/s on a schedule, however the server keeps up",
    )
    p.add_argument(
        "--sweep-rate",
        type=_float_list,
        metavar="R1,R2",
        help="open loop: one point per rate, e.g. 1,2,4",
    )
    p.add_argument(
        "--input-lengths",
        type=_int_list,
        metavar="N1,N2",
        help="a context sweep: one point per input length (default: the suite's, if any)",
    )
    p.add_argument(
        "--warmup-duration",
        type=float,
        metavar="S",
        help="closed loop: keep warming up for S seconds (cycling the warmup prompts)",
    )
    p.add_argument(
        "--cooldown",
        type=float,
        metavar="S",
        help="with --duration: requests starting in the last S seconds run but are not measured",
    )
    p.add_argument(
        "--find-max-rate",
        action="store_true",
        help="search for the highest --rate (from --rate, default 1) whose p99 meets --slo; "
        "every probe is a recorded envelope, at least 5 s (or --duration) and 10 x the last "
        "probe's E2E p50 long; a probe that hits the --concurrency cap fails",
    )
    p.add_argument(
        "--arrival",
        choices=ARRIVALS,
        default="poisson",
        help="open-loop arrivals (default poisson)",
    )
    p.add_argument(
        "--burstiness",
        type=float,
        default=1.0,
        metavar="K",
        help="gamma shape for --arrival gamma: 1 is Poisson, <1 burstier, >1 smoother",
    )


def _add_workload_options(p: argparse.ArgumentParser) -> None:
    """What the requests look like beyond the suite: lengths, a dataset, a trace, load shapes."""
    p.add_argument("--input-len", metavar="DIST",
                   help="synthetic input lengths from a seeded distribution: 512, "
                   "'uniform(256,1024)', 'normal(512,128,min=64,max=2048)', "
                   "'lognormal(512,256)' or 'file(lengths.txt)'")  # fmt: skip
    p.add_argument(
        "--output-len",
        metavar="DIST",
        help="each request's max_tokens from a distribution (same forms)",
    )
    p.add_argument("--dataset", type=Path, metavar="FILE",
                   help="prompts from a JSONL, JSON, CSV or Parquet file (e.g. a local copy of a "
                   "Hugging Face dataset); see --column")  # fmt: skip
    p.add_argument("--column", metavar="FIELD=COL,...",
                   help="which --dataset columns hold the prompt, messages, system and "
                   "max_tokens, e.g. prompt=instruction")  # fmt: skip
    _add_trace_options(p)
    _add_shape_options(p)


def _add_trace_options(p: argparse.ArgumentParser) -> None:
    """A trace replayed at its recorded times."""
    p.add_argument("--trace", type=Path, metavar="FILE",
                   help="replay a trace at its recorded times, open loop (tokenbench JSONL, "
                   "Mooncake JSONL, BurstGPT CSV); see docs/workloads.md")  # fmt: skip
    p.add_argument(
        "--trace-format",
        choices=TRACE_FORMATS,
        default="auto",
        help="the trace's format (default: recognised from its first line)",
    )
    p.add_argument(
        "--trace-speedup",
        type=float,
        default=1.0,
        metavar="X",
        help="replay X times faster than recorded (default 1)",
    )
    p.add_argument(
        "--block-tokens",
        type=int,
        metavar="N",
        help="tokens per hashed prefix block of the trace (default: the format's)",
    )


def _add_shape_options(p: argparse.ArgumentParser) -> None:
    """Load shapes, the prefix cache and sessions."""
    p.add_argument(
        "--stages",
        metavar="SPEC",
        help="load stages run back to back, each its own envelope: "
        "'30s@1rps,60s@4rps' (open loop) or '30s@c2,30s@c8' (closed loop)",
    )
    p.add_argument(
        "--ramp",
        metavar="FROM:TO@TIME",
        help="a ramp as --ramp-steps equal stages, e.g. 1rps:8rps@60s or c1:c16@2m",
    )
    p.add_argument(
        "--ramp-steps", type=int, default=5, metavar="N", help="stages of a --ramp (default 5)"
    )
    p.add_argument("--prefix-cache", choices=["allow", "defeat"],
                   help="let the engine's prefix cache serve shared prompt text, or ask it to "
                   "skip it (default: the suite's; raw-speed suites defeat it)")  # fmt: skip
    p.add_argument(
        "--sessions",
        type=int,
        metavar="N",
        help="conversations per point of a session suite (multi-turn, agentic)",
    )


def _add_request_options(p: argparse.ArgumentParser) -> None:
    """How many requests a point sends, and when one counts as failed."""
    p.add_argument("--requests", type=int, metavar="N",
                   help="measured requests per point (with --duration: a cap, whichever ends "
                   "first)")  # fmt: skip
    p.add_argument("--duration", type=float, metavar="S",
                   help="keep the load up for S seconds (the suite's request count is then no "
                   "cap; --requests N still is)")  # fmt: skip
    p.add_argument(
        "--warmup",
        type=int,
        metavar="N",
        help="warmup requests per point (default: one per slot, at most 256)",
    )
    p.add_argument("--timeout", type=float, metavar="S", help="per-request timeout in seconds")
    p.add_argument(
        "--timeout-idle",
        type=float,
        metavar="S",
        help="a request with no byte for S seconds times out (stalled stream)",
    )
    p.add_argument(
        "--retry",
        type=int,
        default=0,
        metavar="N",
        help="resend a request up to N times after HTTP 429/503, honouring Retry-After",
    )
    p.add_argument(
        "--scrape-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="scrape the engine's Prometheus metrics every S seconds while a point is measured "
        "(default 1)",
    )
    p.add_argument(
        "--no-scrape",
        action="store_true",
        help="do not scrape the engine's metrics (GPU and engine-process telemetry still run)",
    )


def _add_validity_options(p: argparse.ArgumentParser) -> None:
    """When a point's figures count as a valid measurement, and the SLO for goodput."""
    p.add_argument(
        "--max-error-rate",
        type=float,
        default=DEFAULT_MAX_ERROR_RATE,
        metavar="R",
        help="above this fraction of failed requests the run is invalid (default 0.05)",
    )
    p.add_argument(
        "--min-duration",
        type=float,
        metavar="S",
        help="a point measured for less than S seconds is invalid",
    )
    p.add_argument(
        "--slo",
        type=_slo,
        metavar="NAME=MS,...",
        help="per-request limits for goodput, e.g. ttft_ms=500,tpot_ms=50 "
        "(ttft_ms, e2e_ms: from the scheduled send; tpot_ms)",
    )
    p.add_argument("--max-tail-share", type=float, default=DEFAULT_MAX_TAIL_SHARE, metavar="F",
                   help="a run whose last response ends more than this share of the window after "
                   "its last successful one is invalid: stragglers (default 0.2)")  # fmt: skip
    p.add_argument("--max-schedule-lag", type=float, default=DEFAULT_MAX_SCHEDULE_LAG_MS,
                   metavar="MS", help="open loop: a p99 send lag behind the schedule above this "
                   "makes the run invalid (default 250 ms)")  # fmt: skip
    p.add_argument(
        "--min-requests",
        type=int,
        metavar="N",
        help="a point with fewer than N measured requests is invalid",
    )


def _add_repeat_and_scale_out_options(p: argparse.ArgumentParser) -> None:
    """Worker processes or Ray actors per point, and repeated runs of each point."""
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="split each point over N worker processes (or Ray actors with --ray); records "
        "merge into one envelope",
    )
    p.add_argument(
        "--ray",
        metavar="auto|ADDRESS",
        help="run the workers as Ray actors on a Ray cluster (auto: this machine's, or "
        "$RAY_ADDRESS); needs `pip install 'tokenbench[ray]'`",
    )
    p.add_argument(
        "--on-worker-loss",
        choices=["abort", "continue"],
        default="abort",
        help="when a worker dies mid-run: stop the point, or let the others finish (either way "
        "the envelope is partial and lists the lost requests)",
    )
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run each point N times, one envelope each (verdicts need ≥ 2 runs a "
                   "side; 3–5 recommended)")  # fmt: skip
    p.add_argument("--interleave", action="store_true",
                   help="with --repeat: points take turns (1 2 3, 3 2 1, …) so slow drift "
                   "cancels between them")  # fmt: skip
    p.add_argument("--selftest", action="store_true",
                   help="before the sweep, measure the client's own TTFT/ITL error against the "
                   "reference server at the sweep's largest concurrency (bench selftest) and "
                   "record it in every envelope; compare never calls a difference within it "
                   "significant")  # fmt: skip
    p.add_argument("--canary", action="store_true",
                   help="keep one extra stream to a local reference server of known timing open "
                   "through each measured phase (excluded from the metrics): the client's TTFT/ITL "
                   "error under the run's own load, in each envelope")  # fmt: skip
    p.add_argument("--max-canary-error-ms", type=float, default=DEFAULT_MAX_CANARY_ERROR_MS,
                   metavar="MS", help="with --canary: a canary TTFT error p99 above this makes "
                   "the run invalid (default 5 ms)")  # fmt: skip


def _slo(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in SLO_METRICS:
            raise argparse.ArgumentTypeError(
                f"{part!r}: expected NAME=MS with NAME one of {', '.join(SLO_METRICS)}"
            )
        try:
            limit = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: {value!r} is not a number") from None
        if limit <= 0:
            raise argparse.ArgumentTypeError(f"{part!r}: the limit must be positive")
        out[name] = limit
    return out


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 0.5,1,2"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every rate must be positive")
    return values


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers, e.g. 1,4,16"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every point must be an integer ≥ 1")
    return values


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop where available (lower per-callback overhead → tighter timing)."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - non-Linux fallback
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(factory())


class RichProgress:
    """Progress on stderr: phases as lines, a bar per sweep point, a line per envelope. Without a
    terminal (logs, CI) a plain line every `heartbeat_s` while a phase or a point lasts."""

    def __init__(self, console: Console, heartbeat_s: float | None = None) -> None:
        self.console = console
        self._bar: Progress | None = None
        self._task: Any = None
        self._status: Status | None = None
        self._beat = Heartbeat(console, heartbeat_s)
        self._counts = [0, 0]  # requests done, of which failed: read by the heartbeat thread

    def note(self, message: str) -> None:
        """A line that stays: something the user should know (e.g. where a key was created)."""
        self.console.print(f"[dim]note:[/] {message}", soft_wrap=True)

    def phase(self, message: str) -> None:
        """A transient status line: shown on a terminal while it lasts, never left in logs, so
        an error that follows is the only line the user sees."""
        if not self.console.is_terminal:  # silent unless it lasts: then say what it waits for
            self._beat.start(lambda s: f"still {message} ({seconds(s)})")
            return
        if self._status is None:
            self._status = self.console.status(message)
            self._status.start()
        else:
            self._status.update(message)

    def _end_phase(self) -> None:
        self._beat.stop()
        if self._status is not None:
            self._status.stop()
            self._status = None

    def close(self) -> None:
        self._end_phase()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def point_started(self, label: str, total: int | None) -> None:
        self.start_bar(label, total)

    def start_bar(self, label: str, total: int | None) -> None:
        self._end_phase()
        self._follow(label.strip(), total)
        self._bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[errors]} errors"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._bar.add_task("requests", total=total, errors=0)
        self._bar.start()

    def _follow(self, label: str, total: int | None) -> None:
        """Without a terminal the bar is invisible: its numbers go to a line every interval."""
        self._counts = counts = [0, 0]
        if self.console.is_terminal:
            return
        of = f"/{total}" if total is not None else ""
        self._beat.start(lambda s: f"{label}: {counts[0]}{of} requests done, {counts[1]} errors, "
                                   f"{seconds(s)} elapsed")  # fmt: skip

    def request_done(self, record: RequestRecord) -> None:
        self._counts[0] += 1
        self._counts[1] += 0 if record.ok else 1
        if self._bar is not None:
            errors = 0 if record.ok else 1
            fields = self._bar.tasks[0].fields
            self._bar.update(self._task, advance=1, errors=fields["errors"] + errors)

    def stop_bar(self) -> None:
        self._beat.stop()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def point_finished(self, path: Path, predicate: RunPredicate) -> None:
        self.stop_bar()
        m = predicate.metrics
        tput = f"{m.output_throughput_tok_per_s:,.1f}" if m.output_throughput_tok_per_s else "—"
        ttft = f"{m.ttft_ms.p50:,.1f}" if m.ttft_ms else "—"
        e2e = f"{m.e2e_ms.p50 / 1000:,.2f}" if m.e2e_ms else "—"
        valid = predicate.validity.valid
        self.console.print(
            f"{'[green]✓[/]' if valid else '[red]✗ invalid[/]'} "
            f"{predicate.parameters.load.label}: {tput} tok/s, "
            f"TTFT p50 {ttft} ms, E2E p50 {e2e} s, "
            f"{m.requests_ok} ok / {m.requests_failed} failed → {path.name}",
            soft_wrap=True,
        )
        if not valid:  # what makes it invalid, where the reader is looking
            reasons = "; ".join(predicate.validity.reasons)
            self.console.print(f"  [red]why:[/] {escape(reasons)}", soft_wrap=True)
        self.host_warning(predicate.host_load)

    def host_warning(self, host: HostLoad | None) -> None:
        """Under a result line: the point (or task) shared its cores with other work."""
        if host is not None and host.warning:
            self.console.print(f"[yellow]warning:[/] {escape(host.warning)}; the envelope "
                               "records it", soft_wrap=True)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What a --rerun envelope recorded, for the flags not given again; empty for a fresh run."""

    model: str | None = None
    base_url: str | None = None
    engine: str | None = None
    quant: str | None = None
    api: Api | None = None
    sweep: tuple[int, ...] | None = None
    requests: int | None = None
    duration_s: float | None = None
    warmup: int | None = None
    timeout_s: float | None = None
    seed: int = 0

    @classmethod
    def load(cls, args: argparse.Namespace) -> tuple[Suite, _Recorded]:
        """The suite to run, and what a --rerun envelope recorded besides."""
        if args.rerun is None:
            if args.suite is None:
                raise ConfigError("name a suite (see `bench suites`) or pass --rerun ENVELOPE")
            return load_suite(args.suite), cls()
        if args.suite is not None:
            raise ConfigError("--rerun takes the suite from the envelope; do not name one too")
        plan = load_rerun(args.rerun, args.allow_private)
        recorded = cls(plan.model, plan.base_url, plan.engine, plan.quant, Api(plan.api),
                       (plan.concurrency,), plan.requests, plan.duration_s, plan.warmup,
                       plan.timeout_s, plan.seed)  # fmt: skip
        return plan.suite, recorded


def _given(flag: T | None, recorded: T) -> T:
    return recorded if flag is None else flag


def _check_flag_combinations(args: argparse.Namespace) -> None:
    """Checks only the command line can make: which flags were given together. The values
    themselves are checked by RunSettings and ValidityRules, for library callers too."""
    if args.sweep and args.concurrency:
        raise ConfigError("pass --sweep or --concurrency, not both")
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if args.rate is not None and args.sweep_rate:
        raise ConfigError("pass --rate or --sweep-rate, not both")
    if (args.rate is not None or args.sweep_rate) and args.sweep:
        raise ConfigError("--sweep is closed loop; with --rate use --concurrency for the cap")
    if args.stages and args.ramp:
        raise ConfigError("pass --stages or --ramp, not both")
    if args.dataset is not None and args.prompts is not None:
        raise ConfigError("pass --dataset or --prompts, not both")
    if args.column and args.dataset is None:
        raise ConfigError("--column maps the columns of a --dataset file; add --dataset FILE")


def _stages(args: argparse.Namespace) -> tuple[Stage, ...] | None:
    if args.stages:
        return parse_stages(args.stages)
    if args.ramp:
        return ramp_stages(args.ramp, args.ramp_steps)
    return None


def _rules(args: argparse.Namespace) -> ValidityRules:
    """The thresholds a point must meet to be valid (--max-error-rate and kin)."""
    return ValidityRules(max_error_rate=args.max_error_rate, min_duration_s=args.min_duration,
                         min_requests=args.min_requests, max_tail_share=args.max_tail_share,
                         max_schedule_lag_ms=args.max_schedule_lag,
                         max_canary_error_ms=args.max_canary_error_ms)  # fmt: skip


def _settings(args: argparse.Namespace) -> RunSettings:
    """The flags as RunSettings; with --rerun, flags given on the command line win over what the
    envelope recorded, and what it recorded wins over the config file."""
    _check_flag_combinations(args)
    if args.rerun is not None:
        args = without_config(args, ("model", "base_url", "engine", "quant"))
    suite, rec = _Recorded.load(args)
    sweep = args.sweep or ((args.concurrency,) if args.concurrency else None)
    rules = _rules(args)  # first, so its refusals still come before those of the flags below
    return RunSettings(
        suite=suite,
        output=Path(args.output),
        model=args.model or rec.model,
        base_url=args.base_url or rec.base_url,
        engine=args.engine or rec.engine,
        quant=args.quant or rec.quant,
        api=Api(args.api) if args.api else rec.api,
        sweep=sweep or rec.sweep,
        requests=_given(args.requests, rec.requests),
        duration_s=_given(args.duration, rec.duration_s),
        warmup=_given(args.warmup, rec.warmup),
        timeout_s=_given(args.timeout, rec.timeout_s),
        seed=_given(args.seed, rec.seed),
        api_key=api_key(args),
        threads=args.threads,
        sign=not args.no_sign,
        store_prompts=args.store_prompts,
        retries=args.retry,
        prompts_file=args.prompts,
        slo=args.slo,
        input_lengths=args.input_lengths,
        warmup_s=args.warmup_duration,
        cooldown_s=args.cooldown,
        rates=args.sweep_rate or ((args.rate,) if args.rate is not None else None),
        arrival=args.arrival,
        burstiness=args.burstiness,
        idle_timeout_s=args.timeout_idle,
        workers=args.workers,
        ray=args.ray,
        on_worker_loss=args.on_worker_loss,
        repeat=args.repeat,
        interleave=args.interleave,
        rules=rules,
        config_file=getattr(args, "config_file", None),
        input_len=args.input_len,
        output_len=args.output_len,
        dataset=args.dataset,
        dataset_columns=parse_columns(args.column) if args.column else None,
        trace=args.trace,
        trace_format=args.trace_format,
        trace_speedup=args.trace_speedup,
        block_tokens=args.block_tokens,
        stages=_stages(args),
        prefix_cache=args.prefix_cache or "suite",
        sessions=args.sessions,
        passthrough=passthrough(args, RUN_RECORDED, "bench run"),
        scrape_interval_s=None if args.no_scrape else args.scrape_interval,
        canary=args.canary,
    )


EXIT_PARTIAL = 4  # the server became unreachable: what was measured is kept, marked partial
EXIT_INTERRUPTED = 130


async def with_sigint(
    work: Coroutine[Any, Any, T], progress: RichProgress, control: RunControl
) -> T:
    """Ctrl-C once: stop starting requests, let in-flight ones drain, write the envelope marked
    `interrupted`. Ctrl-C twice: exit 130 at once (records already on disk stay intact; an
    embedded llama-server dies with us)."""
    loop = asyncio.get_running_loop()
    presses = 0

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            progress.console.print(
                f"stopping: draining in-flight requests (up to {control.drain_s:g} s) and "
                "writing the envelope; Ctrl-C again to quit now"
            )
            control.interrupt()
        else:
            os._exit(EXIT_INTERRUPTED)

    with contextlib.suppress(NotImplementedError, RuntimeError):  # non-Unix loops
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return await work
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def run_controlled(
    work: Callable[[RunControl], Coroutine[Any, Any, T]], progress: RichProgress
) -> tuple[T, RunControl]:
    """Run `work` on its own event loop, Ctrl-C handled (see with_sigint); the progress display
    is closed however it ends. The RunControl is made inside the loop, which it belongs to."""
    controls: list[RunControl] = []

    async def main() -> T:
        controls.append(RunControl())
        return await with_sigint(work(controls[0]), progress, controls[0])

    try:
        return run_async(main), controls[0]
    finally:
        progress.close()


def _rate_search(
    args: argparse.Namespace, settings: RunSettings
) -> tuple[RunSettings, RateSearch | None]:
    """With --find-max-rate the search chooses the rates, starting from --rate."""
    if not args.find_max_rate:
        return settings, None
    if not settings.slo:
        raise ConfigError("--find-max-rate needs --slo, e.g. --slo ttft_ms=500")
    search = RateSearch(settings.slo, start_rps=args.rate or 1.0)
    return replace(settings, rates=None), search


def handle(args: argparse.Namespace) -> int:
    settings, search = _rate_search(args, _settings(args))
    progress = RichProgress(Console(stderr=True, highlight=False))
    settings = _with_selftest(args, settings, progress.console)
    paths, control = run_controlled(
        lambda control: run_sweep(settings, progress, control=control, search=search), progress
    )
    return _render(progress.console, f"{len(paths)} envelopes written to {settings.output}",
                   search, control)  # fmt: skip


def _with_selftest(
    args: argparse.Namespace, settings: RunSettings, console: Console
) -> RunSettings:
    """--selftest: the client's error budget at the sweep's largest concurrency, measured on
    this host before the sweep, for every envelope."""
    if not args.selftest:
        return settings
    concurrency = max(settings.sweep or settings.suite.sweep)
    budget = run_async(lambda: run_selftest(SelftestSettings(concurrency)))
    console.print(
        f"selftest at concurrency {concurrency}: TTFT error p99 {budget.ttft_error_ms_p99} ms, "
        f"ITL error p99 {budget.itl_error_ms_p99} ms"
    )
    return replace(settings, error_budget=budget)


def _render(console: Console, written: str, search: RateSearch | None, control: RunControl) -> int:
    console.print(written)
    if search is not None:
        for rate, ok, why in search.probes:
            console.print(f"  probe {rate:g} req/s: {'pass' if ok else 'fail'} ({why})")
        Console(highlight=False).print(search.answer())
    if control.status == "interrupted":
        return EXIT_INTERRUPTED
    if control.status == "partial":
        console.print(
            f"[red]error:[/] {control.reason}; the envelope is marked partial", soft_wrap=True
        )
        return EXIT_PARTIAL
    return 0
