"""The infrastructure calculator: weight memory at a quantization, KV-cache memory per token and
in total (from layers, KV heads and head size: GQA matters), and which common GPUs fit it.

weights = parameters × bytes per parameter
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
BYTES_PER_PARAM = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
KV_BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0}
USABLE_SHARE = 0.9


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
    if quant not in BYTES_PER_PARAM:
        raise ConfigError(f"--quant {quant!r}: choose one of {', '.join(BYTES_PER_PARAM)}")
    if kv_dtype not in KV_BYTES:
        raise ConfigError(f"--kv-dtype {kv_dtype!r}: choose one of {', '.join(KV_BYTES)}")
    context = context or model.context_length
    if context < 1 or concurrency < 1:
        raise ConfigError("--context and --concurrency must be at least 1")
    if context > model.context_length:
        raise ConfigError(
            f"--context {context} exceeds {model.name}'s context length ({model.context_length})"
        )
    weights = model.params_total_b * 1e9 * BYTES_PER_PARAM[quant]
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
    return InfraEstimate(model, quant, kv_dtype, context, concurrency, weights, per_token,
                         per_seq, kv_total, total, fits)  # fmt: skip
