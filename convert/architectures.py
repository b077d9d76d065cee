"""The EXAONE family table's converter side: which config field feeds which GGUF key, tensor shapes, and
what llama.cpp can run.

Family facts (model types, classes, pre-tokenizer, layer counts llama.cpp runs right) come from
``families.py``; tensor names come from gguf-py's ``TensorNameMap`` (it knows every EXAONE
checkpoint's names); what both lack lives here.
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
from .families import FAMILIES, Family, family_for_model_type

# GGUF key -> candidate config fields (first present wins) and the GGUF value type.
HParam = tuple[tuple[str, ...], type]
_GGUF_ARCHES: Mapping[str, gguf.MODEL_ARCH] = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}


@dataclass(frozen=True)
class Architecture:
    family: Family
    model_type: str
    gguf_arch: gguf.MODEL_ARCH
    hf_classes: tuple[str, ...]
    tokenizer_pre: str
    hparams: Mapping[str, HParam]
    activation_field: str
    # Layer counts (MTP layers not counted) for which llama.cpp 0.3.36 runs sliding-window attention.
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
# Mixture-of-experts keys (exaone-moe); the shared experts' width and the gating function are derived.
_MOE: dict[str, HParam] = {
    Keys.LLM.EXPERT_COUNT: (("num_experts",), int),
    Keys.LLM.EXPERT_USED_COUNT: (("num_experts_per_tok",), int),
    Keys.LLM.EXPERT_FEED_FORWARD_LENGTH: (("moe_intermediate_size",), int),
    Keys.LLM.EXPERT_SHARED_COUNT: (("num_shared_experts",), int),
    Keys.LLM.EXPERT_WEIGHTS_SCALE: (("routed_scaling_factor",), float),
    Keys.LLM.EXPERT_WEIGHTS_NORM: (("norm_topk_prob",), bool),
    Keys.LLM.LEADING_DENSE_BLOCK_COUNT: (("first_k_dense_replace",), int),
}


def _hparams(fam: Family) -> dict[str, HParam]:
    keys = fam.config_keys
    out = {**_COMMON, Keys.LLM.BLOCK_COUNT: (keys["layers"], int),
           Keys.Attention.LAYERNORM_RMS_EPS: (keys["rms_eps"], float)}
    return {**out, **_MOE} if fam.moe else out


def _architecture(fam: Family, model_type: str) -> Architecture:
    return Architecture(
        family=fam, model_type=model_type, gguf_arch=_GGUF_ARCHES[fam.gguf_arch], hf_classes=fam.hf_classes,
        tokenizer_pre=fam.tokenizer_pre, hparams=_hparams(fam), activation_field=fam.config_keys["activation"][0],
        swa_layer_counts=fam.swa.layer_counts,
    )


# One converter row per HF model type (EXAONE 3.5 and Deep share ``exaone``: the first family row wins).
ARCHITECTURES: dict[str, Architecture] = {}
for _fam in FAMILIES:
    for _model_type in _fam.model_types:
        ARCHITECTURES.setdefault(_model_type, _architecture(_fam, _model_type))

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
    # mixture of experts (exaone-moe)
    MODEL_TENSOR.FFN_GATE_INP: ("n_expert", "hidden"),
    MODEL_TENSOR.FFN_GATE_EXP: ("n_expert", "moe_ffn", "hidden"),
    MODEL_TENSOR.FFN_UP_EXP: ("n_expert", "moe_ffn", "hidden"),
    MODEL_TENSOR.FFN_DOWN_EXP: ("n_expert", "hidden", "moe_ffn"),
    MODEL_TENSOR.FFN_GATE_SHEXP: ("shexp_ffn", "hidden"),
    MODEL_TENSOR.FFN_UP_SHEXP: ("shexp_ffn", "hidden"),
    MODEL_TENSOR.FFN_DOWN_SHEXP: ("hidden", "shexp_ffn"),
    MODEL_TENSOR.FFN_EXP_PROBS_B: ("n_expert",),
    # multi-token prediction (kept for a later llama.cpp; 0.3.36 loads but does not run them)
    MODEL_TENSOR.NEXTN_EH_PROJ: ("hidden", "hidden2"),
    MODEL_TENSOR.NEXTN_ENORM: ("hidden",),
    MODEL_TENSOR.NEXTN_HNORM: ("hidden",),
    MODEL_TENSOR.NEXTN_SHARED_HEAD_NORM: ("hidden",),
    MODEL_TENSOR.NEXTN_EMBED_TOKENS: ("vocab", "hidden"),
    MODEL_TENSOR.NEXTN_SHARED_HEAD_HEAD: ("vocab", "hidden"),
}
# Matrices written in F32 whatever the output type, as llama.cpp's converter writes them (and its quantizer
# leaves them): a mixture-of-experts router. llama.cpp multiplies a BF16/F16 weight with activations rounded
# to that type, which moves the router's scores enough to pick another expert where two nearly tie.
ALWAYS_F32 = frozenset({MODEL_TENSOR.FFN_GATE_INP, MODEL_TENSOR.FFN_GATE_INP_SHEXP})
# Tensors an architecture may list but a checkpoint does not carry (we generate or skip them).
NOT_FROM_CHECKPOINT = frozenset({MODEL_TENSOR.ROPE_FREQS, MODEL_TENSOR.ATTN_ROT_EMBD})
# The MTP head's own weights (shared by every MTP layer) -> their GGUF kind; ``mtp.layers.N.*`` are
# decoder layers stored as blocks n_layers + N.
MTP_TENSORS: Mapping[str, MODEL_TENSOR] = {
    "mtp.fc": MODEL_TENSOR.NEXTN_EH_PROJ,
    "mtp.pre_fc_norm_embedding": MODEL_TENSOR.NEXTN_ENORM,
    "mtp.pre_fc_norm_hidden": MODEL_TENSOR.NEXTN_HNORM,
    "mtp.norm": MODEL_TENSOR.NEXTN_SHARED_HEAD_NORM,
}
# Checkpoint name prefixes of a multimodal model (EXAONE 4.5): the text model's, read as a plain causal
# LM's, and the vision encoder's (written to the mmproj file, not the text GGUF).
TEXT_PREFIXES: Mapping[str, str] = {"model.language_model.": "model."}
VISION_PREFIXES: tuple[str, ...] = ("model.visual.", "visual.")
# Block tensors by role, for architectures whose layers differ (dense or MoE, main or MTP).
_MOE_ONLY = frozenset({
    MODEL_TENSOR.FFN_GATE_INP, MODEL_TENSOR.FFN_GATE_EXP, MODEL_TENSOR.FFN_UP_EXP, MODEL_TENSOR.FFN_DOWN_EXP,
    MODEL_TENSOR.FFN_GATE_SHEXP, MODEL_TENSOR.FFN_UP_SHEXP, MODEL_TENSOR.FFN_DOWN_SHEXP, MODEL_TENSOR.FFN_EXP_PROBS_B,
})
_DENSE_ONLY = frozenset({MODEL_TENSOR.FFN_GATE, MODEL_TENSOR.FFN_UP, MODEL_TENSOR.FFN_DOWN})
_MTP_ONLY = frozenset({MODEL_TENSOR.NEXTN_EH_PROJ, MODEL_TENSOR.NEXTN_ENORM, MODEL_TENSOR.NEXTN_HNORM,
                       MODEL_TENSOR.NEXTN_SHARED_HEAD_NORM, MODEL_TENSOR.NEXTN_EMBED_TOKENS,
                       MODEL_TENSOR.NEXTN_SHARED_HEAD_HEAD})
# MTP tensors llama.cpp's converter writes only when a checkpoint has them.
OPTIONAL_TENSORS = frozenset({MODEL_TENSOR.NEXTN_EMBED_TOKENS, MODEL_TENSOR.NEXTN_SHARED_HEAD_HEAD})


def block_tensor_kinds(arch: Architecture, shape: ModelShape, bid: int) -> set[MODEL_TENSOR]:
    """The tensor kinds block ``bid`` may hold: dense or MoE feed-forward, plus the MTP head's on MTP blocks."""
    kinds = {k for k in gguf.MODEL_TENSORS[arch.gguf_arch] if "{bid}" in gguf.TENSOR_NAMES[k]}
    kinds -= _MTP_ONLY
    if arch.family.moe:  # MTP blocks are dense decoder layers
        kinds -= _DENSE_ONLY if shape.n_dense_lead <= bid < shape.n_layers else _MOE_ONLY
        if shape.n_shared_expert == 0:
            kinds -= {MODEL_TENSOR.FFN_GATE_SHEXP, MODEL_TENSOR.FFN_UP_SHEXP, MODEL_TENSOR.FFN_DOWN_SHEXP}
    if bid >= shape.n_layers:
        kinds |= _MTP_ONLY
    return kinds

SUPPORTED_ACTIVATIONS = frozenset({"silu"})
SUPPORTED_ROPE_TYPES = frozenset({"default", "llama3"})


def detect_architecture(config: Mapping[str, Any]) -> Architecture:
    model_type = config.get("model_type")
    fam = family_for_model_type(model_type if isinstance(model_type, str) else None,
                                tuple(config.get("architectures") or ()))
    if fam is not None:
        return ARCHITECTURES[model_type if model_type in fam.model_types else fam.model_types[0]]
    supported = ", ".join(f"{a.model_type} ({a.hf_classes[0]})" for a in ARCHITECTURES.values())
    raise ConversionError(
        f"unsupported model_type {model_type!r} in config.json; this tool converts EXAONE only: {supported}"
    )


def text_config(arch: Architecture, config: Mapping[str, Any]) -> dict[str, Any]:
    """The text model's config: a multimodal config's nested text config, over its top-level fields
    (tie_word_embeddings and the token ids live at the top in EXAONE 4.5)."""
    key = arch.family.text_config_key
    if key is None:
        return dict(config)
    nested = config.get(key)
    if not isinstance(nested, dict):
        raise ConversionError(f"config.json has no {key!r} object (EXAONE 4.5 keeps the text model's settings "
                              "there); re-download the checkpoint")
    top = {k: v for k, v in config.items() if k not in (key, "vision_config")}
    merged = {**top, **nested}
    if "tie_word_embeddings" in top:
        merged["tie_word_embeddings"] = top["tie_word_embeddings"]
    return merged


def config_value(config: Mapping[str, Any], fields: tuple[str, ...], kind: type, *, what: str) -> Any:
    for name in fields:
        value = config.get(name)
        if value is not None:
            try:
                return kind(value)
            except (TypeError, ValueError, OverflowError):
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
    n_expert: int = 0
    moe_ffn: int = 0
    n_shared_expert: int = 0
    n_dense_lead: int = 0  # leading dense layers of a mixture-of-experts model
    n_mtp: int = 0  # multi-token-prediction layers, stored after the n_layers main ones

    @property
    def n_blocks(self) -> int:
        return self.n_layers + self.n_mtp

    def dims(self) -> dict[str, int]:
        return {
            "hidden": self.hidden, "vocab": self.vocab, "ffn": self.ffn, "head_dim": self.head_dim,
            "q_dim": self.n_head * self.head_dim, "kv_dim": self.n_head_kv * self.head_dim,
            "n_expert": self.n_expert, "moe_ffn": self.moe_ffn, "shexp_ffn": self.moe_ffn * self.n_shared_expert,
            "hidden2": 2 * self.hidden,
        }


def model_shape(arch: Architecture, config: Mapping[str, Any]) -> ModelShape:
    hp = arch.hparams
    get = lambda key: config_value(config, hp[key][0], hp[key][1], what=key.format(arch=arch.name))  # noqa: E731
    hidden, n_head = get(Keys.LLM.EMBEDDING_LENGTH), get(Keys.Attention.HEAD_COUNT)
    head_dim = int(config.get("head_dim") or hidden // n_head)
    moe = {}
    if arch.family.moe:
        moe = dict(n_expert=get(Keys.LLM.EXPERT_COUNT), moe_ffn=get(Keys.LLM.EXPERT_FEED_FORWARD_LENGTH),
                   n_shared_expert=get(Keys.LLM.EXPERT_SHARED_COUNT),
                   n_dense_lead=get(Keys.LLM.LEADING_DENSE_BLOCK_COUNT))
    n_mtp = config.get("num_nextn_predict_layers") or 0
    if not isinstance(n_mtp, int) or n_mtp < 0:
        raise ConversionError(f"config.json num_nextn_predict_layers is {n_mtp!r}; fix config.json")
    return ModelShape(
        n_layers=get(Keys.LLM.BLOCK_COUNT), hidden=hidden, n_head=n_head,
        n_head_kv=get(Keys.Attention.HEAD_COUNT_KV), head_dim=head_dim,
        ffn=get(Keys.LLM.FEED_FORWARD_LENGTH),
        vocab=config_value(config, ("vocab_size",), int, what="the vocabulary size"),
        n_mtp=n_mtp, **moe,
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


# transformers 5's Exaone4Config / ExaoneMoeConfig defaults when config.json has no such key.
TRANSFORMERS_SLIDING_WINDOW = 4096
TRANSFORMERS_SLIDING_PATTERN = 4
# A window longer than any context: a "sliding" layer with it attends to everything (and uses RoPE, as
# llama.cpp's EXAONE graphs apply RoPE exactly on sliding layers). Kept below 2**31: llama.cpp compares
# positions with it as a signed 32-bit integer.
FULL_WINDOW = 1 << 30


@dataclass(frozen=True)
class SlidingWindow:
    """What to write as ``{arch}.attention.sliding_window`` and ``sliding_window_pattern``."""

    window: int
    pattern: list[bool]  # True: sliding layer (RoPE + window); False: global layer (no RoPE)


def transformers_sliding_layers(config: Mapping[str, Any], n_layers: int) -> tuple[int | None, list[bool]]:
    """(window, which layers slide) as transformers 5 decides; window None: every layer global, with RoPE.

    With a window set, transformers applies RoPE only on sliding layers (global layers use none)."""
    window = config["sliding_window"] if "sliding_window" in config else TRANSFORMERS_SLIDING_WINDOW
    if window is None:
        return None, [False] * n_layers
    window = config_value(config, ("sliding_window",), int, what="the sliding window") \
        if "sliding_window" in config else window
    layer_types = config.get("layer_types")
    if layer_types is not None:
        if len(layer_types) != n_layers:
            raise ConversionError(
                f"config.json layer_types has {len(layer_types)} entries for {n_layers} layers; fix config.json"
            )
        return window, [t == "sliding_attention" for t in layer_types]
    spec = config.get("sliding_window_pattern", TRANSFORMERS_SLIDING_PATTERN)
    if isinstance(spec, str):  # "LLLG": L sliding, G global, repeated; the last layer global
        pattern = [spec[i % len(spec)] == "L" for i in range(n_layers)]
        pattern[-1] = False
        return window, pattern
    return window, [(i + 1) % int(spec) != 0 for i in range(n_layers)] if spec else [False] * n_layers


def sliding_window_plan(arch: Architecture, config: Mapping[str, Any], n_layers: int) -> SlidingWindow | None:
    """The sliding-window keys that make llama.cpp run the model as transformers does, or a refusal.

    llama.cpp's EXAONE graphs use RoPE exactly on sliding layers once sliding windows are on, and
    llama.cpp 0.3.36 turns them on by layer count (``arch.swa_layer_counts``), whatever the GGUF says.
    A model without windows at such a count is written as all-sliding layers with a window longer
    than any context: full attention with RoPE everywhere, as transformers runs it."""
    window, pattern = transformers_sliding_layers(config, n_layers)
    if n_layers in arch.swa_layer_counts:
        if window is None:
            return SlidingWindow(FULL_WINDOW, [True] * n_layers)
        return SlidingWindow(window, pattern)
    if window is None:
        return None
    counts = _counts(arch.swa_layer_counts)
    if any(pattern):
        raise ConversionError(
            f"this {arch.model_type} config mixes sliding-window and global layers with {n_layers} layers; "
            f"llama.cpp 0.3.36 applies sliding windows only to {counts}-layer models and would run it wrong, "
            "so it is not converted"
        )
    raise ConversionError(
        f"this {arch.model_type} config sets sliding_window but has no sliding layers, so transformers runs "
        f"every layer without RoPE; llama.cpp 0.3.36 does that only for {counts}-layer models and would run it "
        "wrong, so it is not converted (set \"sliding_window\": null if the model uses RoPE everywhere)"
    )


def _counts(counts: frozenset[int]) -> str:
    return ", ".join(str(n) for n in sorted(counts)) or "no"
