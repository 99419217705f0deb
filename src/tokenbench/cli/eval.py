"""`bench eval TASK...`: quality on standard tasks or your own data, measured on your endpoint;
one signed envelope per task, with speed from the same requests."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

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
from tokenbench.envelope.schema import EvalPredicate
from tokenbench.evals.data import DataSource
from tokenbench.evals.runner import EvalSettings, run_eval
from tokenbench.evals.sandbox import SandboxLimits
from tokenbench.evals.tasks import get_task, task_names
from tokenbench.records import ItemRecord
from tokenbench.session.target import TargetSpec


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Ask every item of each task through the chat endpoint, score the answers, "
        "and write one signed envelope per task. Tasks: " + ", ".join(task_names()) + "."
    )
    p.add_argument("tasks", nargs="+", metavar="TASK", help="task names, e.g. gsm8k mmlu")
    add_target_options(p)
    add_passthrough_options(p)
    p.add_argument("--limit", type=int, metavar="N",
                   help="first N items of each task (MMLU: of each subject)")  # fmt: skip
    p.add_argument("--concurrency", type=int, default=4, metavar="N",
                   help="requests in flight (default 4)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="sampling seed and option shuffles")  # fmt: skip
    p.add_argument("--samples", type=int, default=1, metavar="N",
                   help="answers per item; N > 1 gives pass@k (temperature 0.8 unless set)",
                   )  # fmt: skip
    p.add_argument("--temperature", type=float, help="default 0 (greedy)")
    p.add_argument("--max-tokens", type=int, help="answer budget (default: the task's own)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
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
    p.add_argument("--method", choices=("generate", "letter-logprobs"), default="generate",
                   help="choice tasks: score the generated text (default), or take the likeliest "
                   "option letter among the first token's log-probabilities (the endpoint is "
                   "probed for them first)")  # fmt: skip
    p.add_argument("--allow-code-execution", action="store_true",
                   help="let humaneval run generated code in the sandbox")  # fmt: skip
    p.add_argument("--sandbox-timeout", type=float, default=10.0, metavar="S",
                   help="wall-clock limit per program run (default 10)")  # fmt: skip
    p.add_argument("-o", "--output", default="corpus", metavar="DIR",
                   help="directory for envelopes (default corpus)")  # fmt: skip
    p.add_argument("--no-sign", action="store_true", help="write unsigned envelopes")


class EvalRichProgress(RichProgress):
    """A bar per task and a result line per envelope."""

    def task_started(self, task: str, total: int) -> None:
        self.start_bar(f"{task:<14}", total)

    def item_done(self, item: ItemRecord) -> None:
        self.request_done(item.request)

    def task_finished(self, path: Path, predicate: EvalPredicate) -> None:
        self.stop_bar()
        m = predicate.metrics
        primary = m.scores[predicate.task.primary]
        acc = "—" if primary.accuracy is None else f"{primary.accuracy:.1%}"
        ci = (
            ""
            if primary.ci_low is None or primary.ci_high is None
            else f" [{primary.ci_low:.1%}, {primary.ci_high:.1%}]"
        )
        self.console.print(
            f"[green]✓[/] {predicate.task.name} ({predicate.task.primary}): {acc}{ci} on "
            f"{m.samples} answers, {m.parse_failures} unparsed, {m.errors} failed → {path.name}",
            soft_wrap=True,
        )
        self.host_warning(predicate.host_load)


def _settings(args: argparse.Namespace) -> EvalSettings:
    for name in args.tasks:
        get_task(name)  # unknown names fail here, with close matches
    output = Path(args.output)
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
            passthrough=passthrough(args),
        ),
        data=DataSource.from_flag(args.data, output / "hub-data", args.hub_revision),
        limit=args.limit,
        concurrency=args.concurrency,
        seed=args.seed,
        samples=args.samples,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        timeout_s=args.timeout,
        retries=args.retry,
        allow_code_execution=args.allow_code_execution,
        scorer=args.scorer,
        method=args.method,
        sign=not args.no_sign,
        sandbox=SandboxLimits(wall_s=args.sandbox_timeout, cpu_s=max(1, int(args.sandbox_timeout))),
    )


def handle(args: argparse.Namespace) -> int:
    settings = _settings(args)
    progress = EvalRichProgress(Console(stderr=True, highlight=False))
    paths, control = run_controlled(lambda control: run_eval(settings, progress, control), progress)
    stdout_console().print(f"{len(paths)} eval envelopes written to {settings.output}")
    return EXIT_INTERRUPTED if control.status == "interrupted" else 0
