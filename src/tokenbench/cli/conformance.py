"""`bench conformance -- CMD …`: score another load generator's TTFT/ITL/throughput against the
reference server's logged truth, beside tokenbench's own error in the same invocation."""

from __future__ import annotations

import argparse

from tokenbench.conformance.figures import Score, Stat
from tokenbench.conformance.runner import (
    DEFAULT_SCENARIO,
    ConformanceResult,
    ConformanceSettings,
    run_conformance,
)

EPILOG = """\
placeholders in CMD: {url} (http://127.0.0.1:PORT, no /v1), {model} (the scenario),
{concurrency}, {requests}, {output} (a result file path in a temp dir), {output_dir}.
exit status: 0 scored; 2 bad flags or unknown --tool; 5 the tool could not run, exited
non-zero (its last stderr line is shown) or ran past --timeout; 6 no result file, or one its
parser cannot read.
example: bench conformance --tool vllm -- vllm bench serve --base-url {url} --model {model}
  --max-concurrency {concurrency} --num-prompts {requests} --save-result
  --result-dir {output_dir} --result-filename result.json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Run a load generator's command line against the reference server (started on "
        "127.0.0.1), read its result file, and print its TTFT/ITL/throughput error (reported − "
        "the server's truth over the same requests) next to tokenbench's own error."
    )
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--tool", metavar="NAME", help="result format: guidellm, vllm or aiperf (default: from CMD)"
    )
    p.add_argument(
        "--concurrency", type=int, default=4, metavar="C", help="streams at once (default 4)"
    )
    p.add_argument(
        "--requests", type=int, default=32, metavar="N", help="measured requests (default 32)"
    )
    p.add_argument("--scenario", default=DEFAULT_SCENARIO,
                   metavar="S", help=f"the reference server's scenario, sent as the model (default "
                        f"{DEFAULT_SCENARIO!r})")  # fmt: skip
    p.add_argument("--timeout", type=float, default=600.0,
                   metavar="SECONDS", help="seconds the tool may run (default 600)")  # fmt: skip
    p.add_argument("tool_command", nargs=argparse.REMAINDER, metavar="-- CMD …",
                   help="the load generator's command line")  # fmt: skip


def handle(args: argparse.Namespace) -> int:
    command = list(args.tool_command)
    if command and command[0] == "--":
        command = command[1:]
    settings = ConformanceSettings(tuple(command), args.tool, args.scenario, args.concurrency,
                                   args.requests, args.timeout)  # fmt: skip
    render(run_conformance(settings))
    return 0


def _ms(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _cells(stat: Stat) -> list[str]:
    return [_ms(stat.mean), _ms(stat.p50), _ms(stat.p99)]


def _row(s: Score) -> list[str]:
    tput = "—" if s.throughput_err_pct is None else f"{s.throughput_err_pct:+.2f}%"
    return [s.client, str(s.truth.requests), *_cells(s.ttft_err_ms), s.reported.itl_kind,
            *_cells(s.itl_err_ms), tput]  # fmt: skip


def render(result: ConformanceResult) -> None:
    from rich.table import Table

    from tokenbench.cli.output import stdout_console

    st = result.settings
    console = stdout_console()
    console.print(f"{result.tool} against the reference server: scenario {st.scenario!r}, "
                  f"concurrency {st.concurrency}, {st.requests} requests "
                  f"(result file {result.result_file})", highlight=False)  # fmt: skip
    table = Table(title="error = reported − server truth over the same requests (ms)",
                  title_justify="left", box=None)  # fmt: skip
    for name in ("client", "requests", "TTFT mean", "TTFT p50", "TTFT p99", "ITL def",
                 "ITL mean", "ITL p50", "ITL p99", "tok/s err"):  # fmt: skip
        left = name in ("client", "ITL def")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    for s in result.scores:
        table.add_row(*_row(s))
    console.print(table)
    truth = ", ".join(
        f"{s.client}: TTFT {_ms(s.truth.ttft_ms.mean, False)} ms, ITL "
        f"{_ms(s.truth.itl_ms.mean, False)} ms, "
        f"{s.truth.output_tok_per_s or 0:.1f} tok/s"
        for s in result.scores
    )
    console.print(f"truth (means): {truth}", highlight=False)
    console.print("ITL def: gap = each gap between chunks; request = each request's "
                  "(last − first token) / (tokens − 1). — : the tool does not report it.",
                  highlight=False)  # fmt: skip
