"""Engine profiles: each recognises its own marker and no other's, reads full versions, builds its
tokenize body, parses its timings and names its metrics; detection over the registry."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import pytest

from tokenbench.engines.detect import EngineIdentity, detect
from tokenbench.engines.http import ConnectFailed, HttpClient
from tokenbench.engines.llama_server import LlamaServer
from tokenbench.engines.openai import Api, GenerationParams, request_body
from tokenbench.engines.profile import (
    TIMING_OUTPUT_MS,
    TIMING_OUTPUT_TOKENS,
    EngineProfile,
    MetricRole,
    Probe,
)
from tokenbench.engines.profiles import (
    GENERIC,
    KNOWN_TOKENIZERS,
    PROFILES,
    TIMINGS_PARSERS,
    detectable,
    hosted_by,
    profile,
    profile_or_generic,
    tokenizers,
)
from tokenbench.errors import ConfigError, EngineError
from tokenbench.workloads.synthetic import server_tokenizer

# Each engine's marker answers, as the real servers give them (trimmed), with version strings
# long enough that cutting them would show.
MARKERS: dict[str, tuple[dict[Probe, Any], str]] = {
    "llama.cpp": (
        {Probe("/props"): {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 4,
                           "build_info": "b7642-3f4a1c2d"}},
        "b7642-3f4a1c2d",
    ),
    "vllm": (
        {
            Probe("/version"): {"version": "0.11.1rc2.dev117+g4a2d8e1f.cu128"},
            Probe("/models", api=True): {"object": "list",
                                         "data": [{"id": "m", "owned_by": "vllm"}]},
        },
        "0.11.1rc2.dev117+g4a2d8e1f.cu128",
    ),
    "sglang": (
        {Probe("/get_server_info"): {"model_path": "Qwen/Qwen3-8B", "tp_size": 1,
                                     "version": "0.5.4.post1"}},
        "0.5.4.post1",
    ),
    "tgi": (
        {Probe("/info"): {"model_id": "bigscience/bloom-560m", "router": "text-generation-router",
                          "version": "3.3.6-dev0", "max_input_tokens": 4095}},
        "3.3.6-dev0",
    ),
    "ollama": ({Probe("/api/version"): {"version": "0.12.10-rc1"}}, "0.12.10-rc1"),
}  # fmt: skip


def _answers(raw: dict[Probe, Any]) -> dict[Probe, bytes]:
    return {p: v if isinstance(v, bytes) else orjson.dumps(v) for p, v in raw.items()}


@pytest.mark.parametrize("engine", sorted(MARKERS))
def test_profile_recognises_its_own_marker_with_the_full_version(engine: str) -> None:
    raw, version = MARKERS[engine]
    found = profile(engine).recognise(_answers(raw))
    assert found is not None
    assert found.version == version


@pytest.mark.parametrize("engine", sorted(MARKERS))
@pytest.mark.parametrize("other", sorted(MARKERS))
def test_profile_rejects_other_engines_markers(engine: str, other: str) -> None:
    if engine == other:
        return
    assert profile(engine).recognise(_answers(MARKERS[other][0])) is None


def test_every_detectable_profile_has_a_marker_fixture() -> None:
    probed = {p.name for p in detectable() if p.probes}
    assert probed == set(MARKERS)


def test_bare_version_is_not_vllm() -> None:
    bare = _answers({Probe("/version"): {"version": "1.2.3"}})
    assert profile("vllm").recognise(bare) is None
    found = GENERIC.recognise(bare)
    assert found is not None
    assert found.version == "1.2.3"
    # /models without owned_by vllm and /metrics without vllm: series are no evidence either
    other = _answers({
        Probe("/version"): {"version": "1.2.3"},
        Probe("/models", api=True): {"data": [{"id": "m", "owned_by": "someone"}]},
        Probe("/metrics"): b"# TYPE http_requests_total counter\nhttp_requests_total 3\n",
    })  # fmt: skip
    assert profile("vllm").recognise(other) is None


def test_vllm_recognised_by_its_metrics_alone() -> None:
    answers = _answers({
        Probe("/version"): {"version": "0.6.3.post1"},
        Probe("/metrics"): b"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0\n",
    })  # fmt: skip
    found = profile("vllm").recognise(answers)
    assert found is not None
    assert found.version == "0.6.3.post1"


def test_llamacpp_needs_its_own_settings_beside_build_info() -> None:
    assert profile("llama.cpp").recognise(_answers({Probe("/props"): {"build_info": "b1"}})) is None
    scripted = _answers({Probe("/props"): {"total_slots": 4, "build_info": "b0-scripted"}})
    found = profile("llama.cpp").recognise(scripted)
    assert found is not None
    assert found.version == "b0-scripted"
    assert found.props is not None
    assert found.props["total_slots"] == 4


def test_tgi_needs_router_fields_beside_model_id() -> None:
    info = _answers({Probe("/info"): {"model_id": "m", "version": "1"}})
    assert profile("tgi").recognise(info) is None


def test_tokenize_bodies_and_counts() -> None:
    (llama,) = profile("llama.cpp").tokenizers
    assert (llama.path, llama.body("a b", "m")) == (
        "/tokenize",
        {"content": "a b", "add_special": False},
    )
    assert llama.count({"tokens": [1, 2]}) == 2
    assert llama.count({"error": "x"}) is None
    for name in ("vllm", "sglang"):
        (tok,) = profile(name).tokenizers
        assert (tok.path, tok.body("a b", "m")) == ("/tokenize", {"prompt": "a b", "model": "m"})
        assert tok.count({"count": 3, "tokens": [1, 2, 3], "max_model_len": 8}) == 3
        assert tok.count({"tokens": [1]}) == 1
    for name in ("tgi", "ollama", "hosted"):
        assert profile(name).tokenizers == ()
        assert tokenizers(name) == ()


def test_unknown_servers_try_every_known_tokenize_shape_once() -> None:
    shapes = [t.body("x", "m") for t in KNOWN_TOKENIZERS]
    assert shapes == [{"content": "x", "add_special": False}, {"prompt": "x", "model": "m"}]
    assert tokenizers("unknown") == KNOWN_TOKENIZERS
    assert tokenizers("trt-llm") == KNOWN_TOKENIZERS  # a name given with --engine


def test_llamacpp_timings_parser_keeps_the_normalised_keys() -> None:
    event = {"choices": [], "timings": {"prompt_n": 25, "prompt_ms": 114.4, "predicted_n": 4,
                                        "predicted_ms": 58.9, "note": "x"}}  # fmt: skip
    parsed = profile("llama.cpp").timings(event)  # type: ignore[misc]
    assert parsed == {"prompt_n": 25.0, "prompt_ms": 114.4, "predicted_n": 4.0,
                      "predicted_ms": 58.9}  # fmt: skip
    assert parsed[TIMING_OUTPUT_MS] / parsed[TIMING_OUTPUT_TOKENS] == pytest.approx(14.725)
    assert profile("llama.cpp").timings({"choices": []}) is None  # type: ignore[misc]
    assert profile("llama.cpp").timings in TIMINGS_PARSERS


@pytest.mark.parametrize("name", PROFILES.names())
def test_metric_names_are_the_engines_own(name: str) -> None:
    p = profile(name)
    prefix = {"llama.cpp": "llamacpp:", "vllm": "vllm:", "sglang": "sglang:", "tgi": "tgi_"}
    for role, names in p.metrics.items():
        assert isinstance(role, MetricRole)
        assert names
        assert all(re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", n) for n in names)
        assert all(n.startswith(prefix.get(name, "")) for n in names)
    assert bool(p.metrics) == (p.metrics_path is not None)


def test_metric_lookup() -> None:
    vllm = profile("vllm")
    assert vllm.metric(MetricRole.KV_CACHE_USAGE)[0] == "vllm:kv_cache_usage_perc"
    assert profile("llama.cpp").metric(MetricRole.REQUESTS_WAITING) == (
        "llamacpp:requests_deferred",
    )
    assert profile("ollama").metric(MetricRole.REQUESTS_RUNNING) == ()


def test_request_extras_reach_the_body() -> None:
    llama = profile("llama.cpp")
    assert llama.request_extras(True) == {"cache_prompt": False}
    assert llama.request_extras(False) == {}
    assert profile("vllm").request_extras(True) == {}
    params = GenerationParams(
        Api.CHAT, "m", disable_prefix_cache=True, extras=tuple(llama.request_extras(True).items())
    )
    assert orjson.loads(request_body(params, "hi", 3))["cache_prompt"] is False
    assert "cache_prompt" not in orjson.loads(request_body(GenerationParams(Api.CHAT, "m"), "", 1))


def test_ignore_eos_engines() -> None:
    for name in ("llama.cpp", "vllm", "sglang"):
        assert profile(name).honours_ignore_eos
    for name in ("tgi", "ollama", "hosted", "unknown"):
        assert not profile(name).honours_ignore_eos


def test_lookup_names() -> None:
    with pytest.raises(ConfigError, match="did you mean 'vllm'"):
        profile("vlm")
    assert profile_or_generic("vlm") is GENERIC
    assert profile_or_generic("tgi").name == "tgi"


def test_hosted_apis_are_known_by_host() -> None:
    assert hosted_by("api.openai.com") is profile("hosted")
    assert hosted_by("myres.openai.azure.com") is profile("hosted")
    assert hosted_by("notapi.openai.com.evil.example") is None
    assert hosted_by("127.0.0.1") is None


def test_llamacpp_profile_names_its_managed_server() -> None:
    assert profile("llama.cpp").managed is LlamaServer
    assert all(p.managed is None for p in PROFILES.values() if p.name != "llama.cpp")


def test_a_profile_needs_only_a_name() -> None:
    bare = EngineProfile(name="new-engine")
    assert bare.recognise({}) is None
    assert bare.request_extras(True) == {}
    assert bare.metric(MetricRole.E2E_HISTOGRAM) == ()


# detect() over the registry, against a fake client that answers from a table.


@dataclass
class _Reply:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Endpoint:
    host: str
    url: str

    def api_path(self, path: str) -> str:
        return "/v1" + path


@dataclass
class _FakeClient:
    url: str
    routes: dict[str, Any]
    asked: list[str] = field(default_factory=list)
    down: bool = False

    @property
    def endpoint(self) -> _Endpoint:
        return _Endpoint(self.url.split("/")[2].split(":")[0], self.url)

    async def request(
        self,
        method: str,
        path: str,
        payload: object | None = None,
        timeout_s: float = 30.0,
        slot: int = -1,
    ) -> _Reply:
        self.asked.append(path)
        if self.down:
            raise ConnectFailed(f"cannot connect to {self.url}")
        if path not in self.routes:
            return _Reply(404, b'{"error": "not found"}')
        value = self.routes[path]
        return _Reply(200, value if isinstance(value, bytes) else orjson.dumps(value))


def _detect(fake: _FakeClient, named: str | None = None) -> EngineIdentity:
    return asyncio.run(detect(cast(HttpClient, fake), named))


def _routes(engine: str) -> dict[str, Any]:
    raw, _ = MARKERS[engine]
    return {("/v1" + p.path if p.api else p.path): v for p, v in raw.items()}


@pytest.mark.parametrize("engine", sorted(MARKERS))
def test_detect_names_each_engine_with_its_full_version(engine: str) -> None:
    ident = _detect(_FakeClient("http://127.0.0.1:8000/v1", _routes(engine)))
    assert (ident.name, ident.version, ident.detected) == (engine, MARKERS[engine][1], True)


def test_detect_bare_version_server_is_unknown_with_its_version() -> None:
    fake = _FakeClient("http://127.0.0.1:8000/v1", {"/version": {"version": "2025.11.3-beta+x"}})
    ident = _detect(fake)
    assert (ident.name, ident.version, ident.detected) == ("unknown", "2025.11.3-beta+x", False)
    assert fake.asked.count("/version") == 1  # asked once, shared by vLLM's probe and the fallback


def test_detect_skips_a_profiles_other_probes_when_its_first_fails() -> None:
    fake = _FakeClient("http://127.0.0.1:8000/v1", {})
    assert _detect(fake).name == "unknown"
    assert "/metrics" not in fake.asked  # vLLM's /version failed: its evidence is not fetched


def test_detect_hosted_api_sends_no_probe() -> None:
    fake = _FakeClient("https://api.openai.com/v1", {})
    ident = _detect(fake)
    assert (ident.name, ident.detected) == ("hosted", True)
    assert fake.asked == []


def test_detect_named_engine() -> None:
    fake = _FakeClient("http://127.0.0.1:8000/v1", _routes("tgi"))
    assert _detect(fake, "tgi") == EngineIdentity("tgi", "3.3.6-dev0", True)
    fake = _FakeClient("http://127.0.0.1:8000/v1", {"/v1/models": {"data": []}})
    assert _detect(fake, "my-engine") == EngineIdentity("my-engine", None, False)
    assert fake.asked == ["/v1/models"]


def test_detect_unreachable_raises_engine_error() -> None:
    with pytest.raises(EngineError, match="cannot connect"):
        _detect(_FakeClient("http://127.0.0.1:8000/v1", {}, down=True))


@dataclass
class _TokenizeClient:
    """Answers /tokenize in one engine's shape only, refusing the others' bodies."""

    accepts: str  # the body key it understands: "content" (llama.cpp) or "prompt" (vLLM)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def request(
        self,
        method: str,
        path: str,
        payload: object | None = None,
        timeout_s: float = 30.0,
        slot: int = -1,
    ) -> _Reply:
        assert isinstance(payload, dict)
        self.bodies.append(payload)
        if path != "/tokenize" or self.accepts not in payload:
            return _Reply(400, b'{"error": "bad body"}')
        words = str(payload[self.accepts]).split()
        return _Reply(200, orjson.dumps({"tokens": list(range(len(words)))}))


@pytest.mark.parametrize(("accepts", "engine"), [("content", "llama.cpp"), ("prompt", "vllm")])
def test_server_tokenizer_asks_the_profiles(accepts: str, engine: str) -> None:
    # An unknown server: every known shape in turn, until one answers.
    fake = _TokenizeClient(accepts)
    count = server_tokenizer(cast(HttpClient, fake), "m")
    assert asyncio.run(count("one two three")) == 3
    # The engine's own profile: its shape alone.
    fake = _TokenizeClient(accepts)
    count = server_tokenizer(cast(HttpClient, fake), "m", tokenizers(engine))
    assert asyncio.run(count("one two")) == 2
    assert len(fake.bodies) == 1


def test_server_tokenizer_without_an_endpoint_sends_nothing() -> None:
    fake = _TokenizeClient("content")
    count = server_tokenizer(cast(HttpClient, fake), "m", tokenizers("hosted"))
    assert asyncio.run(count("one")) is None
    assert fake.bodies == []


def test_llamacpp_unknown_build_is_no_version() -> None:
    """Issue 15 (8): a source build reports "b0-unknown" (build 0, commit unknown); that is not
    a version, so none is recorded, and the build string stays in the props as given."""
    answers = _answers({Probe("/props"): {"total_slots": 4, "build_info": "b0-unknown"}})
    found = profile("llama.cpp").recognise(answers)
    assert found is not None
    assert found.version is None
    assert found.props is not None
    assert found.props["build_info"] == "b0-unknown"


@dataclass
class _SilentClient(_FakeClient):
    """Accepts connections and never answers: every request runs into its timeout."""

    timeouts: list[float] = field(default_factory=list)

    async def request(
        self,
        method: str,
        path: str,
        payload: object | None = None,
        timeout_s: float = 30.0,
        slot: int = -1,
    ) -> _Reply:
        self.asked.append(path)
        self.timeouts.append(timeout_s)
        raise TimeoutError


@pytest.mark.parametrize("named", [None, "vllm", "my-engine"])
def test_detect_stops_at_the_first_probe_a_silent_server_never_answers(named: str | None) -> None:
    """Issue 15 (7): each engine's probe used to wait its 5 s in turn (38 s in all) before the
    run even started; a server that has answered nothing by the first timeout is not answering."""
    fake = _SilentClient("http://127.0.0.1:8000/v1", {})
    with pytest.raises(EngineError, match=r"sent no answer to GET \S+ within 2 s"):
        asyncio.run(detect(cast(HttpClient, fake), named, timeout_s=2.0))
    assert len(fake.asked) == 1
    assert fake.timeouts == [2.0]


@pytest.mark.parametrize(("timeout", "waited"), [(2.0, 2.0), (300.0, 30.0)])
def test_server_tokenizer_waits_no_longer_than_the_timeout(timeout: float, waited: float) -> None:
    """Issue 15 (7): calibration's /tokenize waited 30 s on a stuck server whatever --timeout
    said; it now waits at most --timeout (and at most 30 s)."""
    fake = _SilentClient("http://127.0.0.1:8000/v1", {})
    count = server_tokenizer(cast(HttpClient, fake), "m", timeout_s=timeout)
    assert asyncio.run(count("one")) is None  # no answer: counted as a server without /tokenize
    assert fake.timeouts == [waited]
