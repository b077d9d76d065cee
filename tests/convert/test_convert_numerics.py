"""The converter's number conversions against torch, exhaustively where the domain is small."""

from __future__ import annotations

import numpy as np
import torch
from exaone_convert.architectures import llama3_rope_factors
from exaone_convert.convert import bf16_bits_to_f16, f32_to_bf16_bits, to_f32


def test_bf16_to_f16_fast_path_equals_torch_on_every_bf16_value():
    bits = np.arange(1 << 16, dtype=np.uint16)
    ours = bf16_bits_to_f16(bits)
    ref = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16).to(torch.float16).numpy()
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(ours), nan)
    assert np.array_equal(ours[~nan].view(np.uint16), ref[~nan].view(np.uint16))


def test_bf16_bits_to_f32_is_exact():
    bits = np.arange(1 << 16, dtype=np.uint16)
    ref = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16).to(torch.float32).numpy()
    ours = to_f32(bits, "BF16")
    nan = np.isnan(ref)
    assert np.array_equal(ours[~nan].view(np.uint32), ref[~nan].view(np.uint32))


def test_f32_to_bf16_rounds_like_torch():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(100_000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 100_000),
                        np.array([0.0, -0.0, np.inf, -np.inf, 3.0e38], np.float32)]).astype(np.float32)
    ref = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(f32_to_bf16_bits(x), ref)


def test_llama3_rope_factors_reproduce_transformers_inv_freq():
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    rope = {"rope_type": "llama3", "rope_theta": 1_000_000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    config = LlamaConfig(hidden_size=2560, num_attention_heads=32, head_dim=80, rope_parameters=rope)
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    base = 1.0 / (rope["rope_theta"] ** (np.arange(0, 80, 2, dtype=np.float32) / 80))
    # llama.cpp divides each base frequency by its factor
    np.testing.assert_allclose(base / llama3_rope_factors(80, rope), scaled.numpy(), rtol=1e-6)
