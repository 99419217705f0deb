"""Engine detection: probe the endpoints that identify vLLM, SGLang, TGI, llama.cpp and Ollama."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tokenbench.engines.http import ConnectFailed, HttpClient
from tokenbench.errors import EngineError


@dataclass(frozen=True, slots=True)
class EngineIdentity:
    name: str  # "vllm", "sglang", "tgi", "llama.cpp", "ollama" or "unknown"
    version: str | None
    detected: bool  # False when the user named the engine and no probe confirmed it
    props: dict[str, Any] | None = None  # llama.cpp /props (slots, model path, template)


# (engine, path, predicate over the JSON body, version key). Most specific first: several servers
# answer a generic /version.
_PROBES: list[tuple[str, str, str, str]] = [
    ("sglang", "/get_server_info", "version", "version"),
    ("llama.cpp", "/props", "total_slots", "build_info"),
    ("tgi", "/info", "model_id", "version"),
    ("ollama", "/api/version", "version", "version"),
    ("vllm", "/version", "version", "version"),
]

# Engines that honour `ignore_eos` in the OpenAI-compatible API.
IGNORE_EOS_ENGINES = frozenset({"llama.cpp", "vllm", "sglang"})
# Engines that accept a per-request switch to skip their prompt cache (llama.cpp: cache_prompt).
PREFIX_CACHE_SWITCH_ENGINES = frozenset({"llama.cpp"})


async def _probe(client: HttpClient, path: str) -> dict[str, Any] | None:
    try:
        resp = await client.request("GET", path, timeout_s=5.0, slot=-1)
    except ConnectFailed:
        raise
    except (TimeoutError, OSError):
        return None
    if resp.status != 200:
        return None
    try:
        body = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


async def detect(client: HttpClient, named: str | None = None) -> EngineIdentity:
    """Identify the engine behind `client`. Raises EngineError if the server is unreachable.

    With `named`, only that engine's probe runs (for its version); the name is kept either way.
    """
    probes = [p for p in _PROBES if named is None or p[0] == named]
    try:
        for engine, path, marker, version_key in probes:
            body = await _probe(client, path)
            if body is not None and marker in body:
                version = body.get(version_key)
                return EngineIdentity(
                    name=engine,
                    version=str(version) if version is not None else None,
                    detected=True,
                    props=body if engine == "llama.cpp" else None,
                )
        if named is not None:
            # Still prove the server is there before a run starts.
            await client.request("GET", client.endpoint.api_path("/models"), timeout_s=5.0, slot=-1)
    except ConnectFailed as exc:
        raise EngineError(str(exc)) from None
    except TimeoutError:
        raise EngineError(f"{client.endpoint.url} did not answer within 5 s") from None
    return EngineIdentity(name=named or "unknown", version=None, detected=False)
