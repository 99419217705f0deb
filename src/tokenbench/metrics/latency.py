"""Per-request latency metrics. Each returns None when the request cannot define it."""

from __future__ import annotations

from tokenbench.records import RequestRecord

_NS_PER_MS = 1_000_000


def ttft_ms(r: RequestRecord) -> float | None:
    """Time to first token: send → first chunk carrying generated output."""
    if r.send_ns is None or r.first_token_ns is None:
        return None
    return (r.first_token_ns - r.send_ns) / _NS_PER_MS


def ttfat_ms(r: RequestRecord) -> float | None:
    """Time to first answer token: send → first chunk carrying answer content (or a tool call).
    For a reasoning model this adds the thinking time that TTFT leaves out; None when no answer
    content arrived (e.g. cut off while still reasoning)."""
    if r.send_ns is None or r.first_content_ns is None:
        return None
    return (r.first_content_ns - r.send_ns) / _NS_PER_MS


def e2e_ms(r: RequestRecord) -> float | None:
    """End-to-end latency: send → last byte of the response."""
    if r.send_ns is None or r.end_ns is None:
        return None
    return (r.end_ns - r.send_ns) / _NS_PER_MS


def tpot_ms(r: RequestRecord) -> float | None:
    """Time per output token after the first: (E2E − TTFT) / (N − 1); undefined for N < 2."""
    ttft = ttft_ms(r)
    e2e = e2e_ms(r)
    n = r.output_tokens
    if ttft is None or e2e is None or n is None or n < 2:
        return None
    return (e2e - ttft) / (n - 1)


def chunk_token_counts(r: RequestRecord) -> tuple[list[float], bool]:
    """Tokens carried by each output chunk, and whether that split is exact.

    Exact when the server reported per-chunk counts, or when the usage total equals the chunk count
    (one token per chunk). Otherwise the tokens after the first chunk are spread evenly over the
    later chunks, and the split is flagged approximate.
    """
    c = len(r.chunk_ns)
    if r.chunk_tokens is not None and len(r.chunk_tokens) == c:
        return [float(t) for t in r.chunk_tokens], True
    n = r.output_tokens
    if n is None or not r.tokens_from_usage:
        # Without usage the count *is* the chunk count: one token per chunk, unverified.
        return [1.0] * c, False
    if n == c:
        return [1.0] * c, True
    if c < 2:
        return [float(n)] * c, True
    rest = (n - 1) / (c - 1) if n >= c else 1.0
    return [1.0] + [rest] * (c - 1), False


def tokens_between(r: RequestRecord, start_ns: int, end_ns: int) -> float:
    """Output tokens whose chunks arrived in [start_ns, end_ns] (a fixed throughput window)."""
    tokens, _ = chunk_token_counts(r)
    return sum(k for t, k in zip(r.chunk_ns, tokens, strict=True) if start_ns <= t <= end_ns)


def itl_ms(r: RequestRecord) -> list[float]:
    """Inter-token latencies: each gap between consecutive output chunks after the first,
    divided by the tokens in the later chunk."""
    if len(r.chunk_ns) < 2:
        return []
    tokens, _ = chunk_token_counts(r)
    out: list[float] = []
    prev = r.chunk_ns[0]
    for t, k in zip(r.chunk_ns[1:], tokens[1:], strict=True):
        gap = (t - prev) / _NS_PER_MS
        prev = t
        out.append(gap / k if k > 0 else gap)
    return out


def schedule_lag_ms(r: RequestRecord) -> float | None:
    """How late the request left against its scheduled send time (client-side queueing)."""
    if r.send_ns is None:
        return None
    return (r.send_ns - r.scheduled_ns) / _NS_PER_MS


def ttft_from_schedule_ms(r: RequestRecord) -> float | None:
    """Scheduled send → first token: what a user arriving on schedule waited, queueing included."""
    if r.first_token_ns is None:
        return None
    return (r.first_token_ns - r.scheduled_ns) / _NS_PER_MS


def e2e_from_schedule_ms(r: RequestRecord) -> float | None:
    """Scheduled send → last byte."""
    if r.end_ns is None:
        return None
    return (r.end_ns - r.scheduled_ns) / _NS_PER_MS


def prefill_tok_per_s(r: RequestRecord) -> float | None:
    """Input tokens / TTFT: the prefill rate as a client sees it (queueing included)."""
    ttft = ttft_ms(r)
    if ttft is None or ttft <= 0 or not r.input_tokens:
        return None
    return r.input_tokens / (ttft / 1000)
