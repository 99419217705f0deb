"""`bench selftest`: tokenbench's own TTFT/ITL error on this host, measured against the reference
server (started as a child process), printed as a budget (p50/p99)."""

from __future__ import annotations

import argparse

from tokenbench.cli.output import stdout_console
from tokenbench.cli.run import run_async
from tokenbench.envelope.schema import ErrorBudget
from tokenbench.loadgen.selftest import SelftestSettings, run_selftest


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number ≥ 1")
    return int(text)


def _positive_ms(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of milliseconds") from None
    if not 0 < value < 60_000:
        raise argparse.ArgumentTypeError(f"{text!r}: give milliseconds above 0, below 60000")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Measure tokenbench's own timing error on this host: its load generator runs against "
        "the reference server (bench reference-server, started here) and every measured TTFT "
        "and inter-token gap is compared with the server's logged write time. Prints the "
        "error budget (p50/p99, ms) and the host's load. Exit 0 when measured."
    )
    p.add_argument("--concurrency", "-c", type=_positive_int, required=True,
                   help="streams open at once")  # fmt: skip
    p.add_argument("--requests", type=_positive_int,
                   help="measured requests (default: 4 per stream, at least 32)")  # fmt: skip
    p.add_argument("--ttft-ms", type=_positive_ms, default=20.0, help="the server's TTFT")
    p.add_argument("--itl-ms", type=_positive_ms, default=5.0, help="the server's gap per token")
    p.add_argument("--tokens", type=_positive_int, default=32, help="tokens per response")


def handle(args: argparse.Namespace) -> int:
    settings = SelftestSettings(args.concurrency, args.requests, args.ttft_ms, args.itl_ms,
                                args.tokens)  # fmt: skip
    budget = run_async(lambda: run_selftest(settings))
    for line in budget_lines(budget):
        stdout_console().print(line, highlight=False, soft_wrap=True)
    return 0


def budget_lines(b: ErrorBudget) -> list[str]:
    """The budget as a few plain lines."""

    def ms(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"

    lines = [
        f"error budget ({b.source}, concurrency {b.concurrency}, {b.requests} requests "
        f"matched, server script {b.scenario})",
        f"  TTFT error  p50 {ms(b.ttft_error_ms_p50)} ms   p99 {ms(b.ttft_error_ms_p99)} ms",
        f"  ITL error   p50 {ms(b.itl_error_ms_p50)} ms   p99 {ms(b.itl_error_ms_p99)} ms",
    ]
    load = b.host_load
    if load is not None:
        avg = "n/a" if not load.load_average else f"{load.load_average[0]:.2f}"
        lines.append(f"  host load   {load.cores} cores, other processes "
                     f"{load.others_cpu_cores:.2f} cores, load average {avg}")  # fmt: skip
        if load.warning:
            lines.append(f"  warning: {load.warning}")
    return lines
