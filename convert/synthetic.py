"""Random-weight EXAONE checkpoints in the real Hugging Face layout, for any family and shape.

A checkpoint written here looks like LG's release of its family: config.json (the keys the family's row in
``families.py`` names: layer count, norm epsilon, activation, model type and class), the release's weight names
in bf16 safetensors (sharded with ``model.safetensors.index.json`` when large), tokenizer.json and its
configuration, generation_config.json, and for EXAONE 4.5 the image processor's preprocessor_config.json. The
weights are noise and the tokenizer is whatever the caller gives (``synthetic_tokenizer.synthetic_vocabulary``
makes one of a release's exact size), so such a checkpoint is for tests, benchmarks and demos, never for chat.

Nothing here needs torch, transformers or a tokenizer library: the tests, ``bench/make_random_checkpoint.py``
and a runtime-only install use the same code.

    from exaone_convert.synthetic import RELEASES, release_shape, write_checkpoint
    write_checkpoint(out, release_shape(with_overrides(RELEASES["exaone-4.0-1.2b"], layers=2)))

This module is the factory (config files, weight layouts, writing); a checkpoint's ``Shape`` lives in
``synthetic_shape`` and the releases' rows in ``synthetic_releases``, both re-exported here so callers import
one module. A new family is a new row in ``families.py`` plus its weight layout in ``TENSOR_LAYOUTS``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .families import TOKENIZER_2026, Family
from .files import atomic_path, atomic_write_text
from .synthetic_releases import (
    RELEASES,
    TEMPLATES,
    VOCAB,
    VOCAB_2026,
    Moe,
    Release,
    release_shape,
    release_tokenizer,
    tiny,
    with_overrides,
)
from .synthetic_shape import Shape, layer_types
from .synthetic_tokenizer import BOS, PAD, UNK, VIDEO_PAD, VISION_END, VISION_START, token_ids, vocabulary_size

__all__ = [
    "RELEASES", "TEMPLATES", "TENSOR_LAYOUTS", "VOCAB", "VOCAB_2026", "Moe", "Release", "Shape", "bf16_bits",
    "generation_config", "hf_config", "layer_types", "normal_values", "preprocessor_config", "release_shape",
    "release_tokenizer", "special_ids", "tensor_layout", "tiny", "with_overrides", "write_checkpoint", "write_json",
    "write_tokenizer_files", "write_weights",
]  # fmt: skip

ROPE_THETA = 1_000_000.0
NORM_EPS = 1e-5
WEIGHT_STD = 0.02
SHARD_BYTES = 2_000_000_000  # ~2 GB per shard, like the official uploads
CHUNK_ELEMS = 1 << 23  # random numbers drawn per step (32 MB of float32)
TRANSFORMERS_VERSION = "4.54.0"
# Qwen2-VL's image normalisation, which EXAONE 4.5's processor uses.
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]

Layout = list[tuple[str, tuple[int, ...]]]
# bf16 weights by name: float32 values, chunk by chunk, in row-major order.
Values = Callable[[str, tuple[int, ...]], Iterable[np.ndarray]]


# --- config.json ---------------------------------------------------------------------------------------------


def special_ids(tokenizer: str, fam: Family) -> dict[str, int]:
    """{"bos", "eos", "pad", "unk"} ids of a tokenizer.json; eos is the family's end of turn."""
    ids = token_ids(tokenizer)
    names = {"bos": BOS, "eos": fam.end_of_turn, "pad": PAD, "unk": UNK}
    missing = [text for text in names.values() if text not in ids]
    if missing:
        raise ValueError(f"the tokenizer lacks {', '.join(missing)}; add them as special tokens")
    return {key: ids[text] for key, text in names.items()}


def _text_config(shape: Shape, fam: Family, vocab: int, ids: Mapping[str, int]) -> dict[str, Any]:
    keys = fam.config_keys
    config: dict[str, Any] = {
        "vocab_size": vocab, "hidden_size": shape.hidden, "intermediate_size": shape.ffn,
        "num_attention_heads": shape.heads, "num_key_value_heads": shape.kv_heads, "head_dim": shape.head_dim,
        keys["layers"][0]: shape.layers, keys["rms_eps"][0]: NORM_EPS, keys["activation"][0]: "silu",
        "max_position_embeddings": shape.max_positions, "tie_word_embeddings": shape.tied,
        "bos_token_id": ids["bos"], "eos_token_id": ids["eos"], "pad_token_id": ids["pad"],
        "initializer_range": 0.02, "use_cache": True, "attention_dropout": 0.0,
    }  # fmt: skip
    config.update(_EXTRA_KEYS.get(shape.family, {}))
    rope = dict(shape.rope_scaling) if shape.rope_scaling else None
    if fam.moe or fam.text_config_key:  # transformers 5's configs: rope_parameters, layer types always
        config["rope_parameters"] = {"rope_theta": ROPE_THETA, **(rope or {"rope_type": "default"})}
    else:
        config.update(rope_theta=ROPE_THETA, rope_scaling=rope)
    if fam.swa.layer_counts:  # EXAONE 4.0 and later: sliding-window attention on some layers
        config.update(sliding_window=shape.sliding_window, layer_types=layer_types(shape))
        pattern = shape.sliding_pattern
        config["sliding_window_pattern"] = pattern if not (fam.moe or fam.text_config_key) else (
            len(pattern) if pattern else (0 if fam.text_config_key else None))
    if fam.moe:
        dense = min(shape.dense_layers, shape.layers)
        config.update(
            first_k_dense_replace=shape.dense_layers, mlp_layer_types=["dense"] * dense + ["sparse"] * (
                shape.layers - dense), moe_intermediate_size=shape.moe_ffn, num_experts=shape.experts,
            num_experts_per_tok=shape.experts_used, num_shared_experts=shape.shared_experts,
            routed_scaling_factor=2.5, norm_topk_prob=True, n_group=1, topk_group=1, scoring_func="sigmoid")
    if shape.mtp_layers or fam.moe or fam.text_config_key:
        config["num_nextn_predict_layers"] = shape.mtp_layers
    return config


# Keys of one model type's config.json that carry no shape (EXAONE 3.x's dropouts, the version that wrote it).
_EXTRA_KEYS: Mapping[str, Mapping[str, Any]] = {
    "exaone": {"embed_dropout": 0.0, "resid_dropout": 0.0, "transformers_version": "4.43.0"},
    "exaone4": {"transformers_version": TRANSFORMERS_VERSION},
}


def hf_config(shape: Shape, vocab: int, ids: Mapping[str, int]) -> dict[str, Any]:
    """config.json: the family row's model type and class, its config keys; multimodal families nest the text
    model's fields under the row's ``text_config_key`` beside the vision encoder's."""
    fam = shape.row
    text = _text_config(shape, fam, vocab, ids)
    head = {"architectures": [fam.hf_classes[0]], "model_type": fam.model_types[0]}
    if fam.text_config_key is None:
        return {**head, **text, "torch_dtype": "bfloat16"}
    text_type = next(f.model_types[0] for f in _text_rows(fam))
    vision = {"model_type": f"{fam.model_types[0]}_vision", "hidden_act": "silu", "in_channels": 3,
              **(shape.vision or {})}
    media = {key: ids[key] for key in _MEDIA_TOKENS if key in ids}
    return {**head, fam.text_config_key: {"model_type": text_type, **text}, "vision_config": vision, **media,
            "tie_word_embeddings": shape.tied, "torch_dtype": "bfloat16"}


# config.json's ids of the media tokens (vision families), where the tokenizer has them.
_MEDIA_TOKENS = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")


def _text_rows(fam: Family) -> list[Family]:
    """The text-only family whose layers a multimodal family's text model has (same GGUF architecture)."""
    from .families import FAMILIES

    return [f for f in FAMILIES if f.gguf_arch == fam.gguf_arch and f.text_config_key is None]


def generation_config(shape: Shape, ids: Mapping[str, int]) -> dict[str, Any]:
    return {"bos_token_id": ids["bos"], "eos_token_id": ids["eos"], "pad_token_id": ids["pad"],
            **shape.generation, "transformers_version": TRANSFORMERS_VERSION}


def preprocessor_config(shape: Shape) -> dict[str, Any]:
    """EXAONE 4.5's image processor (Qwen2-VL's, which it builds on)."""
    vision = shape.vision or {}
    patch, merge = int(vision.get("patch_size", 14)), int(vision.get("spatial_merge_size", 2))  # type: ignore[call-overload]
    low, high = shape.image_pixels or ((patch * merge) ** 2 * 4, (patch * merge) ** 2 * 256)
    return {
        "image_processor_type": "Qwen2VLImageProcessor", "do_resize": True, "do_rescale": True,
        "do_normalize": True, "do_convert_rgb": True, "image_mean": IMAGE_MEAN, "image_std": IMAGE_STD,
        "patch_size": patch, "merge_size": merge, "temporal_patch_size": vision.get("temporal_patch_size", 2),
        "min_pixels": low, "max_pixels": high,
    }  # fmt: skip


# --- weight names and shapes, per model type, in file order --------------------------------------------------


def _attention(p: str, k: Shape) -> Layout:
    q, kv = k.heads * k.head_dim, k.kv_heads * k.head_dim
    return [(p + "self_attn.q_proj.weight", (q, k.hidden)), (p + "self_attn.k_proj.weight", (kv, k.hidden)),
            (p + "self_attn.v_proj.weight", (kv, k.hidden)), (p + "self_attn.o_proj.weight", (k.hidden, q)),
            (p + "self_attn.q_norm.weight", (k.head_dim,)), (p + "self_attn.k_norm.weight", (k.head_dim,))]


def _mlp(p: str, hidden: int, ffn: int, bias: bool = False) -> Layout:
    out: Layout = [(p + "gate_proj.weight", (ffn, hidden)), (p + "up_proj.weight", (ffn, hidden)),
                   (p + "down_proj.weight", (hidden, ffn))]
    if bias:
        out += [(p + "gate_proj.bias", (ffn,)), (p + "up_proj.bias", (ffn,)), (p + "down_proj.bias", (hidden,))]
    return out


def _lm_head(k: Shape, vocab: int) -> Layout:
    return [] if k.tied else [("lm_head.weight", (vocab, k.hidden))]


def _exaone3_tensors(k: Shape, vocab: int) -> Layout:
    """EXAONE 3.x / Deep: GPT-2 style names (transformer.h.N)."""
    q, kv = k.heads * k.head_dim, k.kv_heads * k.head_dim
    out: Layout = [("transformer.wte.weight", (vocab, k.hidden))]
    for i in range(k.layers):
        p = f"transformer.h.{i}."
        out += [(p + "ln_1.weight", (k.hidden,)), (p + "attn.attention.q_proj.weight", (q, k.hidden)),
                (p + "attn.attention.k_proj.weight", (kv, k.hidden)),
                (p + "attn.attention.v_proj.weight", (kv, k.hidden)),
                (p + "attn.attention.out_proj.weight", (k.hidden, q)), (p + "ln_2.weight", (k.hidden,)),
                (p + "mlp.c_fc_0.weight", (k.ffn, k.hidden)), (p + "mlp.c_fc_1.weight", (k.ffn, k.hidden)),
                (p + "mlp.c_proj.weight", (k.hidden, k.ffn))]
    return out + [("transformer.ln_f.weight", (k.hidden,)), *_lm_head(k, vocab)]


def _exaone4_layer(p: str, k: Shape) -> Layout:
    """EXAONE 4.0's post-norm layer: q/k norms, norms after attention and after the MLP."""
    return [*_attention(p, k), (p + "post_attention_layernorm.weight", (k.hidden,)),
            *_mlp(p + "mlp.", k.hidden, k.ffn), (p + "post_feedforward_layernorm.weight", (k.hidden,))]


def _exaone4_tensors(k: Shape, vocab: int) -> Layout:
    out: Layout = [("model.embed_tokens.weight", (vocab, k.hidden))]
    for i in range(k.layers):
        out += _exaone4_layer(f"model.layers.{i}.", k)
    return out + [("model.norm.weight", (k.hidden,)), *_lm_head(k, vocab)]


def _mtp(k: Shape, layer: Layout, prefix: str) -> Layout:
    """Multi-token-prediction weights (mtp.*, which transformers ignores): copies of a dense text layer's
    tensors, the projection of [embedding; hidden] and its norms."""
    out: Layout = []
    for i in range(k.mtp_layers):
        out += [(f"mtp.layers.{i}." + name[len(prefix):], shape) for name, shape in layer]
    if k.mtp_layers:
        out += [("mtp.fc.weight", (k.hidden, 2 * k.hidden)), ("mtp.pre_fc_norm_embedding.weight", (k.hidden,)),
                ("mtp.pre_fc_norm_hidden.weight", (k.hidden,)), ("mtp.norm.weight", (k.hidden,))]
    return out


def _moe_tensors(k: Shape, vocab: int) -> Layout:
    """K-EXAONE under the release's names: pre-norm layers with q/k norms, dense first layers, then a sigmoid
    router with a score-correction bias, routed experts one by one and the shared experts."""
    out: Layout = [("model.embed_tokens.weight", (vocab, k.hidden))]
    dense_layer: Layout = []
    for i in range(k.layers):
        p = f"model.layers.{i}."
        layer = [(p + "input_layernorm.weight", (k.hidden,)), *_attention(p, k),
                 (p + "post_attention_layernorm.weight", (k.hidden,))]
        if i < k.dense_layers:
            layer += _mlp(p + "mlp.", k.hidden, k.ffn)
            dense_layer = dense_layer or layer
        else:
            layer += [(p + "mlp.gate.weight", (k.experts, k.hidden)), (p + "mlp.e_score_correction_bias", (k.experts,))]
            for e in range(k.experts):
                layer += _mlp(f"{p}mlp.experts.{e}.", k.hidden, k.moe_ffn)
            layer += _mlp(p + "mlp.shared_experts.", k.hidden, k.moe_ffn * k.shared_experts)
        out += layer
    out += [("model.norm.weight", (k.hidden,)), *_lm_head(k, vocab)]
    return out + _mtp(k, dense_layer, "model.layers.0.")


def _vl_tensors(k: Shape, vocab: int) -> Layout:
    """EXAONE 4.5 under the release's names: EXAONE 4.0's text layers under model.language_model, the vision
    encoder under model.visual (Conv3D patch embedding, blocks with a fused qkv and a gated MLP, both with biases,
    and the 2x2 patch merger), lm_head and mtp.* at the top."""
    v = {key: value for key, value in (k.vision or {}).items() if isinstance(value, int)}
    vh, vi, depth, heads, kv_heads = (v["hidden_size"], v["intermediate_size"], v["depth"], v["num_heads"],
                                      v["num_key_value_heads"])
    patch, temporal, merged = v["patch_size"], v["temporal_patch_size"], vh * v["spatial_merge_size"] ** 2
    qkv = (heads + 2 * kv_heads) * (vh // heads)
    out: Layout = [("model.language_model.embed_tokens.weight", (vocab, k.hidden))]
    for i in range(k.layers):
        out += _exaone4_layer(f"model.language_model.layers.{i}.", k)
    out.append(("model.language_model.norm.weight", (k.hidden,)))
    out.append(("model.visual.patch_embed.proj.weight", (vh, 3, temporal, patch, patch)))
    for b in range(depth):
        p = f"model.visual.blocks.{b}."
        out += [(p + "norm1.weight", (vh,)), (p + "norm2.weight", (vh,)),
                (p + "attn.qkv.weight", (qkv, vh)), (p + "attn.qkv.bias", (qkv,)),
                (p + "attn.proj.weight", (vh, vh)), (p + "attn.proj.bias", (vh,)),
                *_mlp(p + "mlp.", vh, vi, bias=True)]
    out += [("model.visual.merger.ln_q.weight", (vh,)), ("model.visual.merger.mlp.0.weight", (merged, merged)),
            ("model.visual.merger.mlp.0.bias", (merged,)), ("model.visual.merger.mlp.2.weight", (k.hidden, merged)),
            ("model.visual.merger.mlp.2.bias", (k.hidden,)), *_lm_head(k, vocab)]
    first = _exaone4_layer("model.language_model.layers.0.", k)
    return out + _mtp(k, first, "model.language_model.layers.0.")


# Tensor names and shapes per model type, in file order.
TENSOR_LAYOUTS: Mapping[str, Callable[[Shape, int], Layout]] = {
    "exaone": _exaone3_tensors, "exaone4": _exaone4_tensors, "exaone_moe": _moe_tensors, "exaone4_5": _vl_tensors,
}


def tensor_layout(shape: Shape, vocab: int) -> Layout:
    if shape.family not in TENSOR_LAYOUTS:
        raise ValueError(f"unknown EXAONE model type {shape.family!r}; use one of {sorted(TENSOR_LAYOUTS)}")
    return TENSOR_LAYOUTS[shape.family](shape, vocab)


# --- writing -------------------------------------------------------------------------------------------------


def write_json(path: Path, obj: object) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bit patterns, rounded to nearest even (as torch rounds)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16).astype(np.uint16)


def normal_values(seed: int) -> Values:
    """Norms 1 + N(0, 0.02), everything else N(0, 0.02); drawn chunk by chunk in file order."""
    rng = np.random.default_rng(seed)

    def values(name: str, shape: tuple[int, ...]) -> Iterator[np.ndarray]:
        count = math.prod(shape)
        for start in range(0, count, CHUNK_ELEMS):
            x = rng.standard_normal(min(CHUNK_ELEMS, count - start), dtype=np.float32)
            x *= np.float32(WEIGHT_STD)
            if len(shape) == 1:
                x += np.float32(1.0)
            yield x

    return values


def _write_safetensors(path: Path, entries: Layout, values: Values) -> int:
    """One bf16 safetensors file (8-byte header length, JSON header padded to 8 bytes, raw data); returns the
    data bytes."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in entries:
        nbytes = math.prod(shape) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for name, shape in entries:
            written = 0
            for chunk in values(name, shape):
                bits = bf16_bits(np.ravel(chunk))
                f.write(bits.astype("<u2").tobytes())
                written += bits.size
            if written != math.prod(shape):
                raise ValueError(f"{name}: {written} values for shape {shape}")
    return offset


def _plan_shards(layout: Layout, shards: int) -> list[Layout]:
    """``shards`` files of equally many tensors; 0: files of about SHARD_BYTES each."""
    if shards:
        size = math.ceil(len(layout) / shards)
        return [layout[i * size:(i + 1) * size] for i in range(shards)]
    total = sum(math.prod(s) * 2 for _, s in layout)
    n = max(1, math.ceil(total / SHARD_BYTES))
    target = total / n
    out: list[Layout] = [[]]
    filled = 0
    for name, shape in layout:
        if filled >= target * len(out) and len(out) < n:
            out.append([])
        out[-1].append((name, shape))
        filled += math.prod(shape) * 2
    return out


def write_weights(out: Path, layout: Layout, values: Values, shards: int = 1) -> None:
    """The weights as the release stores them: one model.safetensors (``shards`` 1), or shards with
    model.safetensors.index.json (``shards`` files, or 0: by size)."""
    if shards == 1:
        _write_safetensors(out / "model.safetensors", layout, values)
        return
    plan = _plan_shards(layout, shards)
    weight_map: dict[str, str] = {}
    total = 0
    for i, entries in enumerate(plan, start=1):
        fname = f"model-{i:05d}-of-{len(plan):05d}.safetensors"
        total += _write_safetensors(out / fname, entries, values)
        weight_map.update(dict.fromkeys((name for name, _ in entries), fname))
    write_json(out / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})


def write_tokenizer_files(out: Path, tokenizer: str, template: str, fam: Family, *, max_positions: int,
                          template_file: bool = False) -> None:
    """tokenizer.json (``tokenizer``: its text), tokenizer_config.json and special_tokens_map.json; the chat
    template inside tokenizer_config.json, or in chat_template.jinja (``template_file``, as the 2026 releases
    ship theirs)."""
    doc = json.loads(tokenizer)
    atomic_write_text(out / "tokenizer.json", json.dumps(doc, indent=2, ensure_ascii=False))
    decoder = {str(t["id"]): {k: t[k] for k in ("content", "special", "normalized", "lstrip", "rstrip",
                                                "single_word")} for t in sorted(doc["added_tokens"],
                                                                                key=lambda t: t["id"])}
    names = {"bos_token": BOS, "eos_token": fam.end_of_turn, "pad_token": PAD, "unk_token": UNK}
    # GPT2Tokenizer would make transformers rebuild GPT-2's pre-tokenizer and drop the split regex of the 2026
    # tokenizer (EXAONE 4.5 and K-EXAONE).
    tokenizer_class = "PreTrainedTokenizerFast" if fam.tokenizer == TOKENIZER_2026 else "GPT2Tokenizer"
    write_json(out / "tokenizer_config.json", {
        "add_bos_token": False, "add_eos_token": False, "added_tokens_decoder": decoder, **names,
        **({} if template_file else {"chat_template": template}), "clean_up_tokenization_spaces": False,
        "model_max_length": max_positions, "tokenizer_class": tokenizer_class,
    })  # fmt: skip
    write_json(out / "special_tokens_map.json", names)
    if template_file:
        atomic_write_text(out / "chat_template.jinja", template)


def write_checkpoint(out: Path, shape: Shape, tokenizer: str | None = None, values: Values | None = None, *,
                     seed: int = 0, template_file: bool | None = None) -> Path:
    """A full Hugging Face folder for ``shape``: ``tokenizer`` is a tokenizer.json's text (default: a synthetic
    one of the release's size, ``release_tokenizer``), ``values`` the weights' values (default: noise from
    ``seed``). The chat template goes to chat_template.jinja where the family's releases keep it there
    (EXAONE 4.5, K-EXAONE) unless ``template_file`` says otherwise. Returns ``out``."""
    fam = shape.row
    tokenizer = tokenizer if tokenizer is not None else release_tokenizer(shape.family)
    ids = special_ids(tokenizer, fam)
    vocab = vocabulary_size(tokenizer)
    all_ids = token_ids(tokenizer)
    if fam.vision:
        texts = {"image_token_id": fam.image_token or "", "video_token_id": VIDEO_PAD,
                 "vision_start_token_id": VISION_START, "vision_end_token_id": VISION_END}
        ids.update({key: all_ids[texts[key]] for key in _MEDIA_TOKENS if texts[key] in all_ids})
    out.mkdir(parents=True, exist_ok=True)
    write_tokenizer_files(out, tokenizer, shape.template, fam, max_positions=shape.max_positions,
                          template_file=fam.tokenizer == TOKENIZER_2026 if template_file is None else template_file)
    write_json(out / "config.json", hf_config(shape, vocab, ids))
    write_json(out / "generation_config.json", generation_config(shape, ids))
    if shape.vision is not None:
        write_json(out / "preprocessor_config.json", preprocessor_config(shape))
    write_weights(out, tensor_layout(shape, vocab), values or normal_values(seed), shape.shards)
    return out
