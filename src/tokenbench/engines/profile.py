"""Engine profile: everything tokenbench knows about one serving engine, as one frozen value.

Each engine's profile lives in its own module under `engines/profiles/`; docs/engines.md shows one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import orjson

from tokenbench.engines.managed import ServerFactory

# Normalised server-timings keys (RequestRecord.server_timings). They are llama.cpp's own names:
# records written before profiles existed carry them, and `bench verify` recomputes from them.
TIMING_OUTPUT_MS = "predicted_ms"  # the engine's time generating the output tokens
TIMING_OUTPUT_TOKENS = "predicted_n"  # the output tokens it generated in that time


class MetricRole(StrEnum):
    """What a Prometheus series means to tokenbench, whatever the engine calls it."""

    KV_CACHE_USAGE = "kv_cache_usage"  # gauge, 0-1
    REQUESTS_RUNNING = "requests_running"  # gauge
    REQUESTS_WAITING = "requests_waiting"  # gauge
    TTFT_HISTOGRAM = "ttft_histogram"  # histogram, seconds
    E2E_HISTOGRAM = "e2e_histogram"  # histogram, seconds
    PROMPT_TOKENS_TOTAL = "prompt_tokens_total"  # counter
    GENERATION_TOKENS_TOTAL = "generation_tokens_total"  # counter
    PREEMPTIONS_TOTAL = "preemptions_total"  # counter
    PREFIX_CACHE_HITS = "prefix_cache_hits"  # counter, tokens
    PREFIX_CACHE_QUERIES = "prefix_cache_queries"  # counter, tokens
    SPEC_ACCEPTED = "spec_accepted"  # counter, draft tokens accepted
    SPEC_DRAFTED = "spec_drafted"  # counter, draft tokens proposed
    # gauge, 0-1: accepted / drafted over the engine's last logged batch, for an engine that
    # exports no counters (SGLang); 0 until speculative decoding has drafted
    SPEC_ACCEPT_RATE = "spec_accept_rate"


@dataclass(frozen=True, slots=True)
class Probe:
    """A GET that may identify an engine: at the server root, or under the API base (`/v1`)."""

    path: str
    api: bool = False  # True: relative to the base URL's path (e.g. "/models" → "/v1/models")


# Probe → body of its 200 answer; a probe that failed or was not 200 is absent.
Answers = Mapping[Probe, bytes]


@dataclass(frozen=True, slots=True)
class Detection:
    """What a recogniser found: the engine's version string as it gave it, in full."""

    version: str | None
    props: Mapping[str, Any] | None = None  # llama.cpp /props (slots, model path, template)


@dataclass(frozen=True, slots=True)
class Tokenizer:
    """A server's tokenize endpoint: where to POST, the body, and how to read the count."""

    path: str  # at the server root
    body: Callable[[str, str | None], dict[str, Any]]  # (text, served model) → JSON body
    count: Callable[[Any], int | None]  # parsed JSON answer → token count, None if unreadable


def token_count(answer: Any) -> int | None:
    """A tokenize answer's count: `count` where the server gives it (vLLM, SGLang), else the
    length of its `tokens` list (llama.cpp); None when it is neither."""
    if not isinstance(answer, dict):
        return None
    if isinstance(answer.get("count"), int):
        return int(answer["count"])
    tokens = answer.get("tokens")
    return len(tokens) if isinstance(tokens, list) else None


def _no_detection(answers: Answers) -> Detection | None:
    return None


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """One engine. Only `name` is required: an engine nothing is known about behaves like the
    generic OpenAI-compatible server."""

    name: str  # as recorded in envelopes: "llama.cpp", "vllm", ...
    # Probes in order; the first must answer 200 or the rest are not sent (they cost requests).
    probes: tuple[Probe, ...] = ()
    # Recognises the engine by its OWN marker in the answers; a generic reply is not enough.
    recognise: Callable[[Answers], Detection | None] = _no_detection
    hosts: tuple[str, ...] = ()  # hosted APIs: known by their host name, never probed
    honours_ignore_eos: bool = False  # accepts `ignore_eos` in the OpenAI-compatible API
    # Request fields that make the engine skip its prefix cache for that request ({} = no switch).
    prefix_cache_off: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    tokenizers: tuple[Tokenizer, ...] = ()  # tried in order; () = the server cannot tokenize
    # Stream event → normalised server timings (TIMING_* keys), None when the event has none.
    timings: Callable[[Mapping[str, Any]], dict[str, float] | None] | None = None
    metrics_path: str | None = None  # Prometheus text endpoint at the server root
    # Role → the engine's series names, preferred first (engines rename series across versions).
    metrics: Mapping[MetricRole, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # its prompt-token counter leaves out the prompt tokens served from its cache (llama.cpp)
    prompt_tokens_exclude_cached: bool = False
    managed: ServerFactory | None = None  # how tokenbench starts this engine itself, if it can

    def metric(self, role: MetricRole) -> tuple[str, ...]:
        """The engine's names for `role`, preferred first; () when it does not export it."""
        return self.metrics.get(role, ())

    def request_extras(self, disable_prefix_cache: bool) -> dict[str, Any]:
        """Engine-specific request body fields for a run."""
        return dict(self.prefix_cache_off) if disable_prefix_cache else {}


def json_object(body: bytes | None) -> dict[str, Any] | None:
    """A probe answer as a JSON object; None when absent or anything else."""
    if body is None:
        return None
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def version_text(value: object) -> str | None:
    """A version as the engine gave it, in full: never cut, never re-formatted."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """A read-only view, for the mappings a profile holds."""
    return MappingProxyType(dict(mapping))
