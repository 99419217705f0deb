"""What a load generator reports about one run, the truth it is checked against, and the errors
between them: the common shape every result-file parser returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tokenbench.errors import TokenbenchError

# How a tool defines ITL: each gap between consecutive chunks (vLLM), or each request's mean gap
# (last token − first token) / (tokens − 1) (GuideLLM, AIPerf). Its p50/p99 differ between them.
ItlKind = Literal["gap", "request"]


class ToolFailed(TokenbenchError):
    """The load generator could not be started, exited non-zero, or ran past --timeout."""

    exit_code = 5


class ResultUnreadable(TokenbenchError):
    """The load generator wrote no result file, or one its parser cannot read."""

    exit_code = 6


@dataclass(frozen=True)
class Stat:
    """A latency's mean and, where reported, its median and 99th percentile (ms)."""

    mean: float | None
    p50: float | None = None
    p99: float | None = None


@dataclass(frozen=True)
class Figures:
    """TTFT, ITL (in `itl_kind`'s definition) and output throughput over one set of requests."""

    requests: int | None
    ttft_ms: Stat
    itl_ms: Stat
    itl_kind: ItlKind
    output_tok_per_s: float | None


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def stat_error(reported: Stat, truth: Stat) -> Stat:
    """Reported minus true, for each figure the tool reported."""
    return Stat(
        _minus(reported.mean, truth.mean),
        _minus(reported.p50, truth.p50),
        _minus(reported.p99, truth.p99),
    )


@dataclass(frozen=True)
class Score:
    """One client's figures, the truth over the same requests, and the errors (reported − true;
    throughput as a percentage of the true figure)."""

    client: str
    reported: Figures
    truth: Figures
    ttft_err_ms: Stat
    itl_err_ms: Stat
    throughput_err_pct: float | None


def score(client: str, reported: Figures, truth: Figures) -> Score:
    tput = None
    if reported.output_tok_per_s is not None and truth.output_tok_per_s:
        tput = 100.0 * (reported.output_tok_per_s - truth.output_tok_per_s) / truth.output_tok_per_s
    return Score(
        client,
        reported,
        truth,
        stat_error(reported.ttft_ms, truth.ttft_ms),
        stat_error(reported.itl_ms, truth.itl_ms),
        tput,
    )
