"""`bench eval TASK...`: quality on standard tasks or your own data, measured on your endpoint
at one or more load levels; one signed envelope per task and level, with speed from the same
requests. `bench eval --resume ENVELOPE` finishes an interrupted one."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.console import Console

from tokenbench.cli.config import without_config
from tokenbench.cli.keys import add_trust_option
from tokenbench.cli.options import (
    add_passthrough_options,
    add_target_options,
    api_key,
    passthrough,
)
from tokenbench.cli.output import stdout_console
from tokenbench.cli.run import (
    EXIT_INTERRUPTED,
    RichProgress,
    run_controlled,
)
from tokenbench.engines.passthrough import EVAL_RECORDED, parse_header
from tokenbench.envelope import keys
from tokenbench.envelope.schema import EvalPredicate
from tokenbench.errors import ConfigError
from tokenbench.evals.data import DataSource
from tokenbench.evals.load import Level
from tokenbench.evals.resume import ResumeOptions, resume_settings
from tokenbench.evals.runner import EvalSettings, run_eval
from tokenbench.evals.sandbox import SandboxLimits
from tokenbench.evals.tasks import get_task, task_names
from tokenbench.records import ItemRecord
from tokenbench.session.target import TargetSpec

# Flags that decide what is asked: a resume takes them from the envelope, so none may be given.
_RECORDED = {"tasks": "TASK", "limit": "--limit", "concurrency": "--concurrency", "rate": "--rate",
             "seed": "--seed", "samples": "--samples", "temperature": "--temperature",
             "max_tokens": "--max-tokens", "timeout": "--timeout", "hub_revision": "--hub-revision",
             "scorer": "--scorer", "method": "--method", "sandbox_timeout": "--sandbox-timeout",
             "extra_body": "--extra-body", "engine": "--engine", "quant": "--quant"}  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Ask every item of each task through the chat endpoint, score the answers, "
        "and write one signed envelope per task and load level. Tasks: "
        + ", ".join(task_names()) + "."
    )  # fmt: skip
    p.add_argument("tasks", nargs="*", metavar="TASK", help="task names, e.g. gsm8k mmlu")
    add_target_options(p)
    add_passthrough_options(p)
    p.add_argument("--limit", type=int, metavar="N",
                   help="first N items of each task (MMLU: of each subject)")  # fmt: skip
    p.add_argument("--concurrency", metavar="N[,N...]",
                   help="requests in flight (default 4); a list, e.g. 1,8,32, asks the same items "
                   "at each level, lowest first, one envelope per level")  # fmt: skip
    p.add_argument("--rate", metavar="R[,R...]",
                   help="open loop instead of --concurrency: send R items/s (item i at i/R s), "
                   "whatever is in flight; a list gives one level per rate")  # fmt: skip
    p.add_argument("--seed", type=int, metavar="N",
                   help="sampling seed and option shuffles (default 0; the same at every "
                   "level)")  # fmt: skip
    p.add_argument("--samples", type=int, metavar="N",
                   help="answers per item; N > 1 gives pass@k (temperature 0.8 unless set)",
                   )  # fmt: skip
    p.add_argument("--temperature", type=float, help="default 0 (greedy)")
    p.add_argument("--max-tokens", type=int, help="answer budget (default: the task's own)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="per-request timeout in seconds (default 300)")  # fmt: skip
    p.add_argument("--retry", type=int, default=0, metavar="N", help="resend after HTTP 429/503")
    p.add_argument("--data", type=Path, metavar="PATH",
                   help="local data: a file (one task) or a directory laid out like "
                   "../shared/datasets (default $TOKENBENCH_DATA)")  # fmt: skip
    p.add_argument("--hub-revision", metavar="COMMIT",
                   help="without local data, fetch from the Hugging Face hub at this commit "
                   "(needs the `datasets` package)")  # fmt: skip
    p.add_argument("--scorer", choices=("exact", "contains", "regex", "numeric", "json-schema"),
                   help="custom task: scorer for lines naming none (default exact)")  # fmt: skip
    p.add_argument("--method", choices=("generate", "letter-logprobs"),
                   help="choice tasks: score the generated text (default), or take the likeliest "
                   "option letter among the first token's log-probabilities (the endpoint is "
                   "probed for them first)")  # fmt: skip
    p.add_argument("--allow-code-execution", action="store_true",
                   help="let humaneval run generated code in the sandbox")  # fmt: skip
    p.add_argument("--sandbox-timeout", type=float, metavar="S",
                   help="wall-clock limit per program run (default 10)")  # fmt: skip
    p.add_argument("--resume", type=Path, metavar="ENVELOPE",
                   help="continue an interrupted or partial eval envelope: ask only its "
                   "unanswered items, with the settings it records, into one new "
                   "envelope")  # fmt: skip
    add_trust_option(p)
    p.add_argument("--allow-private", action="store_true",
                   help="with --resume: accept a recorded base URL at a private "
                   "address")  # fmt: skip
    p.add_argument("-o", "--output", metavar="DIR",
                   help="directory for envelopes (default corpus; with --resume, the "
                   "envelope's own)")  # fmt: skip
    p.add_argument("--no-sign", action="store_true", help="write unsigned envelopes")


class EvalRichProgress(RichProgress):
    """A bar per task and level, and a result line per envelope."""

    def task_started(self, task: str, total: int, level: str) -> None:
        self.start_bar(f"{task} at {level}", total)

    def item_done(self, item: ItemRecord) -> None:
        self.request_done(item.request)

    def task_finished(self, path: Path, predicate: EvalPredicate) -> None:
        self.stop_bar()
        m, params = predicate.metrics, predicate.parameters
        primary = m.scores[predicate.task.primary]
        acc = "—" if primary.accuracy is None else f"{primary.accuracy:.1%}"
        ci = (
            ""
            if primary.ci_low is None or primary.ci_high is None
            else f" [{primary.ci_low:.1%}, {primary.ci_high:.1%}]"
        )
        level = Level.recorded(params.concurrency, params.rate_rps)
        self.console.print(
            f"[green]✓[/] {predicate.task.name} ({predicate.task.primary}): {acc}{ci} on "
            f"{m.samples} answers at {level.label}, {m.parse_failures} unparsed, {m.errors} "
            f"failed → {path.name}",
            soft_wrap=True,
        )
        self.host_warning(predicate.host_load)


def _numbers(flag: str, text: str) -> list[float]:
    """A comma list of positive numbers (`1,8,32`), or a one-line error naming the flag."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise ConfigError(f"{flag} {text!r}: write positive numbers separated by commas, "
                          "e.g. 1,8,32")  # fmt: skip
    return values


def _levels(args: argparse.Namespace) -> tuple[Level, ...]:
    if args.concurrency is not None and args.rate is not None:
        raise ConfigError("pass --concurrency (closed loop) or --rate (open loop), not both")
    if args.rate is not None:
        return tuple(Level(None, r) for r in _numbers("--rate", args.rate))
    if args.concurrency is None:
        return (Level(4),)
    counts = _numbers("--concurrency", args.concurrency)
    if not all(c.is_integer() for c in counts):
        raise ConfigError(f"--concurrency {args.concurrency!r}: write whole numbers, e.g. 1,8,32")
    return tuple(Level(int(c)) for c in counts)


def _settings(args: argparse.Namespace) -> EvalSettings:
    if not args.tasks:
        raise ConfigError("name at least one task, e.g. `bench eval gsm8k`, or pass --resume "
                          "ENVELOPE")  # fmt: skip
    for name in args.tasks:
        get_task(name)  # unknown names fail here, with close matches
    levels = _levels(args)
    output = Path(args.output or "corpus")
    sandbox_s = 10.0 if args.sandbox_timeout is None else args.sandbox_timeout
    return EvalSettings(
        tasks=tuple(args.tasks),
        output=output,
        target=TargetSpec(
            args.model,
            args.base_url,
            api_key(args),
            args.engine,
            args.quant,
            output,
            args.threads,
            passthrough=passthrough(args, EVAL_RECORDED, "bench eval"),
        ),
        data=DataSource.from_flag(args.data, output / "hub-data", args.hub_revision),
        limit=args.limit,
        levels=levels,
        seed=0 if args.seed is None else args.seed,
        samples=1 if args.samples is None else args.samples,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout_s=300.0 if args.timeout is None else args.timeout,
        retries=args.retry,
        allow_code_execution=args.allow_code_execution,
        scorer=args.scorer,
        method=args.method or "generate",
        sign=not args.no_sign,
        sandbox=SandboxLimits(wall_s=sandbox_s, cpu_s=max(1, int(sandbox_s))),
    )


def _resume_settings(args: argparse.Namespace) -> EvalSettings:
    """--resume: the envelope decides what is asked; the command line only how to reach the
    target and where the files are. The envelope's record wins over the config file."""
    args = without_config(args, ("model", "base_url", "engine", "quant", "data", "output"))
    given = [flag for dest, flag in _RECORDED.items() if getattr(args, dest) not in (None, [])]
    if given:
        raise ConfigError(f"--resume takes {', '.join(given)} from the envelope; drop "
                          f"{'them' if len(given) > 1 else 'it'}")  # fmt: skip
    options = ResumeOptions(
        base_url=args.base_url,
        model=args.model,
        api_key=api_key(args),
        headers=tuple(parse_header(h) for h in args.header),
        data=args.data,
        output=Path(args.output) if args.output else None,
        threads=args.threads,
        retries=args.retry,
        allow_code_execution=args.allow_code_execution,
        allow_private=args.allow_private,
        sign=not args.no_sign,
    )
    return resume_settings(args.resume, keys.trusted_keys(args.key), options)


def handle(args: argparse.Namespace) -> int:
    settings = _resume_settings(args) if args.resume is not None else _settings(args)
    progress = EvalRichProgress(Console(stderr=True, highlight=False))
    paths, control = run_controlled(lambda control: run_eval(settings, progress, control), progress)
    stdout_console().print(f"{len(paths)} eval envelopes written to {settings.output}")
    return EXIT_INTERRUPTED if control.status == "interrupted" else 0
