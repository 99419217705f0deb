"""The engine's Prometheus endpoint, scraped on its own connection; the profile's families kept and
parsed by prometheus_client off the event loop. A bad endpoint is a failed reading."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import defaultdict
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from tokenbench.engines.profile import EngineProfile, MetricRole
from tokenbench.telemetry.sampler import Reading

MAX_BODY_BYTES = 4 * 1024 * 1024  # a larger answer is not parsed: the scrape fails, and says so
HISTOGRAMS = frozenset({MetricRole.TTFT_HISTOGRAM, MetricRole.E2E_HISTOGRAM})
# gauges whose label sets (e.g. vLLM's per-engine series) are averaged; every other role is summed
_MEANS = frozenset({MetricRole.KV_CACHE_USAGE, MetricRole.SPEC_ACCEPT_RATE})


# a family's sample names: its own, or one of these added (histograms, summaries, counters)
_SUFFIXES = ("_bucket", "_sum", "_count", "_total")
_SAMPLE_NAME = re.compile(r"[^{\s]+")


def family_names(names: Mapping[MetricRole, tuple[str, ...]]) -> frozenset[str]:
    """The profile's series names and the families they belong to (`x_total` → `x` too: a
    counter's TYPE line names the family without its suffix)."""
    out: set[str] = set()
    for candidates in names.values():
        for name in candidates:
            out.add(name)
            out.update(name.removesuffix(s) for s in _SUFFIXES if name.endswith(s))
    return frozenset(out)


def _named(name: str, families: frozenset[str]) -> bool:
    return name in families or any(
        name.endswith(s) and name[: -len(s)] in families for s in _SUFFIXES
    )


def select_families(text: str, families: frozenset[str]) -> str:
    """Only the lines of `families` (their samples and # HELP / # TYPE lines): an engine
    exports dozens of histograms the profile never reads, and parsing them all is most of a
    scrape's cost (docs/performance.md). A sample's name must match exactly, so a family whose
    name merely starts like a wanted one (`x_cached_total` beside `x_total`) is dropped."""
    prefixes = tuple(families)
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) > 2 and parts[1] in ("HELP", "TYPE") and _named(parts[2], families):
                kept.append(line)
        elif line.startswith(prefixes):  # the cheap test first: most lines fail it
            match = _SAMPLE_NAME.match(line)
            if match is not None and _named(match.group(), families):
                kept.append(line)
    return "\n".join(kept) + "\n" if kept else ""


def parse_metrics(text: str, names: Mapping[MetricRole, tuple[str, ...]]) -> Reading:
    """`parse_text` over the profile's families only (select_families): text outside them is
    neither parsed nor checked. Raises ValueError on bad text within them."""
    return parse_text(select_families(text, family_names(names)), names)


def parse_text(text: str, names: Mapping[MetricRole, tuple[str, ...]]) -> Reading:
    """Each role's value (the first of its names the text exports), histograms as cumulative
    (le, count) buckets plus `<role>_sum` and `<role>_count`; every family in `text` is parsed.
    Raises ValueError on bad text."""
    samples: dict[str, list[float]] = defaultdict(list)
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith("_bucket") and "le" in s.labels:
                buckets[s.name.removesuffix("_bucket")][float(s.labels["le"])] += float(s.value)
            else:
                samples[s.name].append(float(s.value))
    values: dict[str, float] = {}
    hist: dict[str, list[tuple[float, float]]] = {}
    for role, candidates in names.items():
        if role in HISTOGRAMS:
            name = next((n for n in candidates if n in buckets), None)
            if name is not None:
                hist[role.value] = sorted(buckets[name].items())
                for part in ("sum", "count"):
                    if f"{name}_{part}" in samples:
                        values[f"{role.value}_{part}"] = sum(samples[f"{name}_{part}"])
            continue
        name = next((n for n in candidates if n in samples), None)
        if name is not None:
            found = samples[name]
            values[role.value] = sum(found) / len(found) if role in _MEANS else sum(found)
    return Reading(values, hist)


async def fetch(host: str, port: int, path: str, tls: bool, timeout_s: float) -> bytes:
    """GET over HTTP/1.0 on a fresh connection (never a load slot's), the body capped."""
    context = ssl.create_default_context() if tls else None
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            head = f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: text/plain\r\n\r\n"
            writer.write(head.encode("latin-1"))
            await writer.drain()
            chunks: list[bytes] = []
            size = 0
            while size <= MAX_BODY_BYTES + 65536:  # headers and a body past the cap: enough
                more = await reader.read(65536)
                if not more:
                    break
                chunks.append(more)
                size += len(more)
        finally:
            writer.close()
    return b"".join(chunks)


def _body(answer: bytes) -> str:
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the answer is not HTTP")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        code = status[1].decode("latin-1") if len(status) > 1 else "?"
        raise ValueError(f"HTTP {code}")
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; not parsed")
    return body.decode("utf-8", errors="replace")


def _parse_answer(answer: bytes, names: Mapping[MetricRole, tuple[str, ...]]) -> Reading:
    return parse_metrics(_body(answer), names)


class PrometheusSampler:
    """Scrapes `profile.metrics_path` at `interval_s`; each scrape waits at most `timeout_s`."""

    source = "prometheus"

    def __init__(
        self, host: str, port: int, profile: EngineProfile, interval_s: float = 1.0,
        tls: bool = False, timeout_s: float | None = None,
    ) -> None:  # fmt: skip
        self.interval_s = interval_s
        self.timeout_s = timeout_s if timeout_s is not None else min(0.5, interval_s / 2)
        self._where = (host, port, profile.metrics_path or "/metrics", tls)
        self._names = profile.metrics

    async def read(self) -> Reading:
        host, port, path, tls = self._where
        try:
            answer = await fetch(host, port, path, tls, self.timeout_s)
        except TimeoutError:
            return Reading(error=f"no answer within {self.timeout_s:g} s")
        except OSError as exc:
            return Reading(error=f"cannot connect: {exc.strerror or type(exc).__name__}")
        try:
            # in a worker thread: the loop that stamps the load's tokens never waits for a parse
            # (it still shares the GIL, so it waits at most one switch interval at a time)
            reading = await asyncio.to_thread(_parse_answer, answer, self._names)
        except ValueError as exc:
            return Reading(error=f"{path}: {str(exc).splitlines()[0][:120]}")
        if not reading.values and not reading.buckets:
            return Reading(error=f"{path} exports none of the engine's known series")
        return reading
