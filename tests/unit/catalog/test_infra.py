"""Weight memory at realistic bits per weight: GGUF types at llama.cpp's own whole-file figures,
int4 AWQ/GPTQ with scales and zero points and 16-bit embeddings, names in any case."""

from __future__ import annotations

import pytest

from tokenbench.catalog.catalog import load_catalog
from tokenbench.catalog.infra import (
    INT4_GROUPED_BPW,
    QUANTS,
    embedding_params,
    estimate,
    quant_scheme,
)
from tokenbench.engines.gguf import FILE_TYPES
from tokenbench.errors import ConfigError

CATALOG = load_catalog()
LLAMA = CATALOG.get("llama-3.1-8b-instruct")


def test_int4_counts_scales_and_keeps_untied_embeddings_at_16_bits() -> None:
    a = LLAMA.architecture
    embed = a.vocab_size * a.hidden_size * 2  # type: ignore[operator]  # input and output matrix
    assert embedding_params(LLAMA) == embed
    params = LLAMA.params_total_b * 1e9
    expected = (params - embed) * INT4_GROUPED_BPW / 8 + embed * 2
    e = estimate(LLAMA, "int4")
    assert e.weights_bytes == pytest.approx(expected)
    assert e.embedding_params_16bit == embed
    assert e.weights_bytes > params / 2  # the old 0.5 bytes per parameter was too low
    # a group of 128 weights carries a 16-bit scale and a 16-bit zero point
    assert INT4_GROUPED_BPW == 4 + (16 + 16) / 128
    for alias in ("awq", "GPTQ", "INT4"):
        assert estimate(LLAMA, alias).weights_bytes == e.weights_bytes


def test_tied_embeddings_are_one_matrix() -> None:
    smol = CATALOG.get("smollm2-135m-instruct")
    a = smol.architecture
    assert a.tied_embeddings
    assert embedding_params(smol) == a.vocab_size * a.hidden_size  # type: ignore[operator]


@pytest.mark.parametrize("name", ["Q4_K_M", "q4_k_m", "Q4_0", "q8_0", "Q6_K", "Q5_K_M", "Q4_1"])
def test_gguf_types_use_their_whole_file_bits_per_weight(name: str) -> None:
    scheme = quant_scheme(name)
    assert scheme.name == name.upper()
    assert not scheme.embeddings_16bit  # llama.cpp's averages already include those tensors
    e = estimate(LLAMA, name)
    assert e.quant == name.upper()
    assert e.weights_bytes == pytest.approx(LLAMA.params_total_b * 1e9 * scheme.bits_per_weight / 8)


def test_gguf_bits_per_weight_order_and_block_layouts() -> None:
    bpw = {n: quant_scheme(n).bits_per_weight for n in ("Q4_0", "Q4_1", "Q4_K_M", "Q5_K_M",
                                                         "Q6_K", "Q8_0", "fp16")}  # fmt: skip
    # legacy blocks: 32 weights + one (Q4_0, Q8_0) or two (Q4_1) fp16 values
    assert bpw["Q4_0"] == (32 * 4 + 16) / 32
    assert bpw["Q4_1"] == (32 * 4 + 2 * 16) / 32
    assert bpw["Q8_0"] == (32 * 8 + 16) / 32
    assert bpw["Q4_0"] < bpw["Q4_K_M"] < bpw["Q4_1"] < bpw["Q5_K_M"] < bpw["Q6_K"] < bpw["Q8_0"]
    assert bpw["Q8_0"] < bpw["fp16"]


def test_every_common_gguf_file_type_is_known() -> None:
    """The quant `bench run` records from a GGUF header is one `bench infra` accepts."""
    common = ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S",
              "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K",
              "IQ4_XS")  # fmt: skip
    for name in common:
        assert name in FILE_TYPES.values()
        assert name.lower() in QUANTS


def test_unknown_quant_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"--quant 'int3'.*any case"):
        estimate(LLAMA, "int3")
