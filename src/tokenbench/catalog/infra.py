"""The infrastructure calculator: weight memory at a quantization, KV-cache memory per token and
in total (from layers, KV heads and head size: GQA matters), and which common GPUs fit it.

weights = quantized parameters × bits per weight ÷ 8 + embedding parameters × embedding bits ÷ 8
  (int4 AWQ/GPTQ leave the token embedding and the output matrix at 16 bits; GGUF figures are
  whole-file averages that already include them)
KV bytes per token = 2 (K and V) × layers × KV heads × head dim × bytes per KV element
KV per sequence = Σ over layers of (tokens it keeps) × 2 × KV heads × head dim × bytes;
  a sliding-window layer keeps min(context, window) tokens
total = weights + KV per sequence × concurrency; a GPU fits it when total ≤ 90% of its memory
  (the rest is left for activations, the CUDA context and the engine's own buffers)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tokenbench.catalog.catalog import CatalogModel
from tokenbench.errors import ConfigError

GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class QuantScheme:
    name: str  # as `bench infra` prints it (GGUF names in llama.cpp's upper case)
    bits_per_weight: float  # average over the quantized weights, scales and zero points included
    embeddings_16bit: bool  # token embedding and output matrix left unquantized


# Whole-file bits per weight that llama.cpp's own table reports for Llama-3.1-8B
# (ggml-org/llama.cpp, tools/quantize/README.md, "Quantization" table, commit 311c2c9f): these
# averages include llama.cpp's choice of type for the embedding and output tensors, so no
# embedding correction is added on top. Q3_K_M is from the same README's earlier Llama-2-7B
# table. The legacy block types are exact from their ggml block layouts (ggml-common.h): Q4_0 is
# 32 4-bit weights + an fp16 scale = 18 bytes per 32 (4.5 bpw), Q4_1 adds an fp16 minimum (5.0),
# Q5_0 / Q5_1 add 4 bytes of high bits (5.5 / 6.0), Q8_0 is 32 bytes + an fp16 scale (8.5).
_GGUF_BPW = {
    "IQ1_S": 2.0042, "IQ1_M": 2.1460, "IQ2_XXS": 2.3824, "IQ2_XS": 2.5882, "IQ2_S": 2.7403,
    "IQ2_M": 2.9294, "IQ3_XXS": 3.2548, "IQ3_XS": 3.4977, "IQ3_S": 3.6606, "IQ3_M": 3.7628,
    "IQ4_XS": 4.4597, "IQ4_NL": 4.6818, "Q2_K_S": 2.9697, "Q2_K": 3.1593, "Q3_K_S": 3.6429,
    "Q3_K_M": 3.91, "Q3_K_L": 4.2979, "Q4_K_S": 4.6672, "Q4_K_M": 4.8944, "Q5_K_S": 5.5704,
    "Q5_K_M": 5.7036, "Q6_K": 6.5633, "Q4_0": 4.5, "Q4_1": 5.0, "Q5_0": 5.5, "Q5_1": 6.0,
    "Q8_0": 8.5,
}  # fmt: skip
# int4 AWQ / GPTQ at group size 128: 4-bit weights plus a 16-bit scale and a 16-bit zero point
# per group of 128 (4 + 32 / 128 = 4.25 bpw); both leave embed_tokens and lm_head at fp16.
INT4_GROUPED_BPW = 4 + 32 / 128
_SCHEMES = (
    QuantScheme("fp32", 32, False), QuantScheme("fp16", 16, False), QuantScheme("bf16", 16, False),
    QuantScheme("fp8", 8, False), QuantScheme("int8", 8, False),
    QuantScheme("int4", INT4_GROUPED_BPW, True), QuantScheme("awq", INT4_GROUPED_BPW, True),
    QuantScheme("gptq", INT4_GROUPED_BPW, True),
    QuantScheme("F32", 32, False), QuantScheme("F16", 16, False),
    *(QuantScheme(name, bpw, False) for name, bpw in _GGUF_BPW.items()),
)  # fmt: skip
QUANTS = {s.name.lower(): s for s in _SCHEMES}  # case-insensitive: `run --quant` names it freely
KV_BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0}
USABLE_SHARE = 0.9


def quant_scheme(name: str) -> QuantScheme:
    """The scheme a quantization name means, in any case (Q4_K_M, q4_k_m, INT4)."""
    scheme = QUANTS.get(name.strip().lower())
    if scheme is None:
        raise ConfigError(f"--quant {name!r}: choose one of {', '.join(QUANTS)} (any case)")
    return scheme


def embedding_params(model: CatalogModel) -> float:
    """Parameters of the token embedding and the output matrix (one matrix when tied); 0 when
    the catalog does not give the vocabulary size."""
    a = model.architecture
    if a.vocab_size is None:
        return 0.0
    return float(a.vocab_size * a.hidden_size * (1 if a.tied_embeddings else 2))


def weights_bytes(model: CatalogModel, scheme: QuantScheme) -> float:
    params = model.params_total_b * 1e9
    if not scheme.embeddings_16bit:
        return params * scheme.bits_per_weight / 8
    embed = min(embedding_params(model), params)
    return (params - embed) * scheme.bits_per_weight / 8 + embed * 16 / 8


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    memory_gib: float


GPUS = (
    Gpu("NVIDIA T4", 16), Gpu("NVIDIA L4", 24), Gpu("NVIDIA A10G", 24),
    Gpu("NVIDIA RTX 4090", 24), Gpu("NVIDIA A100 40GB", 40), Gpu("NVIDIA L40S", 48),
    Gpu("NVIDIA A100 80GB", 80), Gpu("NVIDIA H100 80GB", 80), Gpu("NVIDIA H200", 141),
    Gpu("NVIDIA B200", 180), Gpu("AMD MI300X", 192),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GpuFit:
    gpu: Gpu
    gpus_needed: int  # tensor-parallel copies of this GPU to hold it (1: fits on one)
    max_concurrency_one_gpu: int  # sequences of this context one GPU holds beside the weights


@dataclass(frozen=True, slots=True)
class InfraEstimate:
    model: CatalogModel
    quant: str
    kv_dtype: str
    context: int
    concurrency: int
    bits_per_weight: float  # of the quantized weights
    embedding_params_16bit: float  # parameters kept at 16 bits beside them (0: none)
    weights_bytes: float
    kv_bytes_per_token: float  # every layer, full attention
    kv_bytes_per_sequence: float  # at `context`, sliding windows applied
    kv_total_bytes: float
    total_bytes: float
    fits: list[GpuFit]

    @property
    def gib(self) -> dict[str, float]:
        return {
            "weights": self.weights_bytes / GIB,
            "kv_per_sequence": self.kv_bytes_per_sequence / GIB,
            "kv_total": self.kv_total_bytes / GIB,
            "total": self.total_bytes / GIB,
        }


def kv_bytes_per_token(model: CatalogModel, kv_dtype: str = "fp16") -> float:
    a = model.architecture
    return 2 * a.layers * a.kv_heads * a.head_dim * KV_BYTES[kv_dtype]


def kv_bytes_per_sequence(model: CatalogModel, context: int, kv_dtype: str = "fp16") -> float:
    a = model.architecture
    per_layer_token = 2 * a.kv_heads * a.head_dim * KV_BYTES[kv_dtype]
    if a.sliding_window:  # no layer count given: every layer slides (Mistral 7B v0.1)
        sliding = a.layers if a.sliding_layers is None else a.sliding_layers
        window = min(context, a.sliding_window)
    else:
        sliding, window = 0, context
    tokens = (a.layers - sliding) * context + sliding * window
    return tokens * per_layer_token


def estimate(
    model: CatalogModel,
    quant: str = "fp16",
    context: int | None = None,
    concurrency: int = 1,
    kv_dtype: str = "fp16",
) -> InfraEstimate:
    scheme = quant_scheme(quant)
    if kv_dtype not in KV_BYTES:
        raise ConfigError(f"--kv-dtype {kv_dtype!r}: choose one of {', '.join(KV_BYTES)}")
    context = model.context_length if context is None else context
    if context < 1 or concurrency < 1:
        raise ConfigError("--context and --concurrency must be at least 1")
    if context > model.context_length:
        raise ConfigError(
            f"--context {context} exceeds {model.name}'s context length ({model.context_length})"
        )
    weights = weights_bytes(model, scheme)
    embed_16bit = embedding_params(model) if scheme.embeddings_16bit else 0.0
    per_seq = kv_bytes_per_sequence(model, context, kv_dtype)
    kv_total = per_seq * concurrency
    total = weights + kv_total
    fits = []
    for gpu in GPUS:
        usable = gpu.memory_gib * GIB * USABLE_SHARE
        needed = max(1, math.ceil(total / usable))
        room = usable - weights
        fits.append(GpuFit(gpu, needed, max(0, int(room // per_seq)) if room > 0 else 0))
    per_token = kv_bytes_per_token(model, kv_dtype)
    return InfraEstimate(model, scheme.name, kv_dtype, context, concurrency,
                         scheme.bits_per_weight, embed_16bit, weights, per_token, per_seq,
                         kv_total, total, fits)  # fmt: skip
