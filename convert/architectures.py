"""EXAONE 3.x (``exaone``) and EXAONE 4.0 (``exaone4``) as data.

Tensor names come from gguf-py's ``TensorNameMap`` (it already knows both checkpoints' names);
what it lacks lives here: which config field feeds which GGUF key, the expected tensor shapes, the
tokenizer's pre-tokenizer name, and what llama.cpp can run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gguf
import numpy as np
from gguf import MODEL_TENSOR, Keys

from .errors import ConversionError

# GGUF key -> candidate config fields (first present wins) and the GGUF value type.
HParam = tuple[tuple[str, ...], type]


@dataclass(frozen=True)
class Architecture:
    model_type: str
    gguf_arch: gguf.MODEL_ARCH
    hf_classes: tuple[str, ...]
    tokenizer_pre: str
    hparams: Mapping[str, HParam]
    activation_field: str
    # llama.cpp 0.3.36 enables sliding-window attention only for these layer counts (EXAONE 4.0 32B).
    swa_layer_counts: frozenset[int] = frozenset()

    @property
    def name(self) -> str:
        return gguf.MODEL_ARCH_NAMES[self.gguf_arch]


_COMMON: dict[str, HParam] = {
    Keys.LLM.CONTEXT_LENGTH: (("max_position_embeddings",), int),
    Keys.LLM.EMBEDDING_LENGTH: (("hidden_size",), int),
    Keys.LLM.FEED_FORWARD_LENGTH: (("intermediate_size",), int),
    Keys.Attention.HEAD_COUNT: (("num_attention_heads",), int),
    Keys.Attention.HEAD_COUNT_KV: (("num_key_value_heads", "num_attention_heads"), int),
}

ARCHITECTURES: dict[str, Architecture] = {
    a.model_type: a
    for a in (
        Architecture(
            model_type="exaone",
            gguf_arch=gguf.MODEL_ARCH.EXAONE,
            hf_classes=("ExaoneForCausalLM",),
            tokenizer_pre="exaone",
            hparams={
                **_COMMON,
                Keys.LLM.BLOCK_COUNT: (("num_layers",), int),
                Keys.Attention.LAYERNORM_RMS_EPS: (("layer_norm_epsilon",), float),
            },
            activation_field="activation_function",
        ),
        Architecture(
            model_type="exaone4",
            gguf_arch=gguf.MODEL_ARCH.EXAONE4,
            hf_classes=("Exaone4ForCausalLM",),
            tokenizer_pre="exaone4",
            hparams={
                **_COMMON,
                Keys.LLM.BLOCK_COUNT: (("num_hidden_layers",), int),
                Keys.Attention.LAYERNORM_RMS_EPS: (("rms_norm_eps",), float),
            },
            activation_field="hidden_act",
            swa_layer_counts=frozenset({64}),
        ),
    )
}

# Expected tensor shapes (numpy order: rows, cols) in symbolic dimensions.
TENSOR_SHAPES: Mapping[MODEL_TENSOR, tuple[str, ...]] = {
    MODEL_TENSOR.TOKEN_EMBD: ("vocab", "hidden"),
    MODEL_TENSOR.OUTPUT: ("vocab", "hidden"),
    MODEL_TENSOR.OUTPUT_NORM: ("hidden",),
    MODEL_TENSOR.ATTN_NORM: ("hidden",),
    MODEL_TENSOR.ATTN_Q: ("q_dim", "hidden"),
    MODEL_TENSOR.ATTN_K: ("kv_dim", "hidden"),
    MODEL_TENSOR.ATTN_V: ("kv_dim", "hidden"),
    MODEL_TENSOR.ATTN_OUT: ("hidden", "q_dim"),
    MODEL_TENSOR.ATTN_Q_NORM: ("head_dim",),
    MODEL_TENSOR.ATTN_K_NORM: ("head_dim",),
    MODEL_TENSOR.ATTN_POST_NORM: ("hidden",),
    MODEL_TENSOR.FFN_NORM: ("hidden",),
    MODEL_TENSOR.FFN_GATE: ("ffn", "hidden"),
    MODEL_TENSOR.FFN_UP: ("ffn", "hidden"),
    MODEL_TENSOR.FFN_DOWN: ("hidden", "ffn"),
    MODEL_TENSOR.FFN_POST_NORM: ("hidden",),
}
# Tensors an architecture may list but a checkpoint does not carry (we generate or skip them).
NOT_FROM_CHECKPOINT = frozenset({MODEL_TENSOR.ROPE_FREQS, MODEL_TENSOR.ATTN_ROT_EMBD})

SUPPORTED_ACTIVATIONS = frozenset({"silu"})
SUPPORTED_ROPE_TYPES = frozenset({"default", "llama3"})


def detect_architecture(config: Mapping[str, Any]) -> Architecture:
    model_type = config.get("model_type")
    if model_type in ARCHITECTURES:
        return ARCHITECTURES[model_type]
    for arch in ARCHITECTURES.values():
        if any(c in arch.hf_classes for c in config.get("architectures") or []):
            return arch
    supported = ", ".join(f"{a.model_type} ({a.hf_classes[0]})" for a in ARCHITECTURES.values())
    raise ConversionError(
        f"unsupported model_type {model_type!r} in config.json; this tool converts EXAONE only: {supported}"
    )


def config_value(config: Mapping[str, Any], fields: tuple[str, ...], kind: type, *, what: str) -> Any:
    for name in fields:
        value = config.get(name)
        if value is not None:
            try:
                return kind(value)
            except (TypeError, ValueError):
                raise ConversionError(
                    f"config.json field {name!r} should be {kind.__name__}, got {value!r}; fix config.json"
                ) from None
    raise ConversionError(f"config.json lacks {fields[0]!r} (needed for {what}); re-download the checkpoint")


@dataclass(frozen=True)
class ModelShape:
    n_layers: int
    hidden: int
    n_head: int
    n_head_kv: int
    head_dim: int
    ffn: int
    vocab: int

    def dims(self) -> dict[str, int]:
        return {
            "hidden": self.hidden, "vocab": self.vocab, "ffn": self.ffn, "head_dim": self.head_dim,
            "q_dim": self.n_head * self.head_dim, "kv_dim": self.n_head_kv * self.head_dim,
        }


def model_shape(arch: Architecture, config: Mapping[str, Any]) -> ModelShape:
    hp = arch.hparams
    get = lambda key: config_value(config, hp[key][0], hp[key][1], what=key.format(arch=arch.name))  # noqa: E731
    hidden, n_head = get(Keys.LLM.EMBEDDING_LENGTH), get(Keys.Attention.HEAD_COUNT)
    head_dim = int(config.get("head_dim") or hidden // n_head)
    return ModelShape(
        n_layers=get(Keys.LLM.BLOCK_COUNT), hidden=hidden, n_head=n_head,
        n_head_kv=get(Keys.Attention.HEAD_COUNT_KV), head_dim=head_dim,
        ffn=get(Keys.LLM.FEED_FORWARD_LENGTH),
        vocab=config_value(config, ("vocab_size",), int, what="the vocabulary size"),
    )


def rope_parameters(config: Mapping[str, Any]) -> dict[str, Any]:
    """RoPE settings from either spelling: legacy ``rope_theta`` + ``rope_scaling``, or ``rope_parameters``."""
    params: dict[str, Any] = {}
    for key in ("rope_scaling", "rope_parameters"):
        value = config.get(key)
        if isinstance(value, dict):
            # transformers 5 may nest per layer type ({"full_attention": {...}}).
            value = value.get("full_attention", value) if "rope_type" not in value else value
            params.update(value)
    if "rope_theta" in config:
        params.setdefault("rope_theta", config["rope_theta"])
    params.setdefault("rope_theta", 10000.0)
    params["rope_type"] = params.get("rope_type") or params.get("type") or "default"
    return params


def llama3_rope_factors(head_dim: int, rope: Mapping[str, Any]) -> np.ndarray:
    """Per-frequency divisors for llama3 scaling (llama.cpp's ``rope_freqs`` tensor), length head_dim/2."""
    base = float(rope["rope_theta"])
    factor = float(rope.get("factor", 8.0))
    low = float(rope.get("low_freq_factor", 1.0))
    high = float(rope.get("high_freq_factor", 4.0))
    old_ctx = float(rope.get("original_max_position_embeddings", 8192))
    if low == high:
        raise ConversionError("rope_scaling has low_freq_factor == high_freq_factor; fix config.json")
    inv_freq = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    wavelen = 2 * math.pi / inv_freq.astype(np.float64)
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    smooth = (old_ctx / wavelen - low) / (high - low)
    factors = np.where(
        wavelen < high_wavelen, 1.0,
        np.where(wavelen > low_wavelen, factor, 1.0 / ((1 - smooth) / factor + smooth)),
    )
    return factors.astype(np.float32)


def sliding_window_layers(config: Mapping[str, Any], n_layers: int) -> list[bool] | None:
    """Which layers use sliding-window attention, as transformers decides; None when none do."""
    if config.get("sliding_window") is None:
        return None
    layer_types = config.get("layer_types")
    if layer_types is not None:
        if len(layer_types) != n_layers:
            raise ConversionError(
                f"config.json layer_types has {len(layer_types)} entries for {n_layers} layers; fix config.json"
            )
        pattern = [t == "sliding_attention" for t in layer_types]
    else:
        spec = config.get("sliding_window_pattern", 4)
        if isinstance(spec, str):
            pattern = [spec[i % len(spec)] == "L" for i in range(n_layers)]
            pattern[-1] = False
        else:
            pattern = [(i + 1) % int(spec) != 0 for i in range(n_layers)] if spec else [False] * n_layers
    return pattern if any(pattern) else None
