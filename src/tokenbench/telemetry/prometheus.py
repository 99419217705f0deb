"""The engine's Prometheus endpoint, scraped on its own connection and parsed by
prometheus_client; series named by the profile's roles. A bad endpoint is a failed reading."""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from tokenbench.engines.profile import EngineProfile, MetricRole
from tokenbench.telemetry.sampler import Reading

MAX_BODY_BYTES = 4 * 1024 * 1024  # a larger answer is not parsed: the scrape fails, and says so
HISTOGRAMS = frozenset({MetricRole.TTFT_HISTOGRAM, MetricRole.E2E_HISTOGRAM})
# gauges whose label sets (e.g. vLLM's per-engine series) are averaged; every other role is summed
_MEANS = frozenset({MetricRole.KV_CACHE_USAGE})


def parse_metrics(text: str, names: Mapping[MetricRole, tuple[str, ...]]) -> Reading:
    """Each role's value (the first of its names the text exports), histograms as cumulative
    (le, count) buckets plus `<role>_sum` and `<role>_count`. Raises ValueError on bad text."""
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
            reading = parse_metrics(_body(answer), self._names)
        except ValueError as exc:
            return Reading(error=f"{path}: {str(exc).splitlines()[0][:120]}")
        if not reading.values and not reading.buckets:
            return Reading(error=f"{path} exports none of the engine's known series")
        return reading
