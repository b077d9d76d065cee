"""Write a random-weight EXAONE checkpoint of a real release's shape, in the real HF layout.

    python bench/make_random_checkpoint.py SHAPE OUTDIR [--seed N] [--layers N] [--vocab N] [--experts N] [--tiny]

SHAPE is a row of ``RELEASES``: ``exaone-3.5-2.4b``, ``exaone-4.0-1.2b``, ``k-exaone`` (K-EXAONE-236B-A23B's
widths and expert shapes at reduced depth and expert count) or ``exaone-4.5-vision`` (EXAONE-4.5-33B's vision
encoder at its real size under a shallow text backbone of the real width).

The folder looks like the official release (config keys, original weight names, bf16 safetensors
sharded with ``model.safetensors.index.json``, tokenizer files, generation_config.json, the image
processor's preprocessor_config.json for EXAONE 4.5), but the weights are N(0, 0.02) noise and the
tokenizer is a synthetic byte-level BPE with exactly the release's vocabulary size (or ``--vocab``)
and EXAONE's special tokens at their real low ids where those are known. It is for speed and memory
measurements only. ``--layers`` shrinks the depth, ``--experts`` the routed experts kept per MoE layer,
and ``--tiny`` keeps the layout (layer kinds, expert and vision-block counts, vocabulary) at toy widths,
for smoke tests. Output is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from exaone_convert import atomic_path
from tokenizers import AddedToken, Tokenizer, decoders, models, processors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import tiny_checkpoints as tc  # noqa: E402  (templates, pre-tokenizers, config builders, atomic writers)

VOCAB = 102_400
VOCAB_2026 = 153_600  # EXAONE 4.5 and K-EXAONE
WEIGHT_STD = 0.02
SHARD_BYTES = 2_000_000_000  # ~2 GB per shard, like the official uploads
CHUNK_ELEMS = 1 << 23  # random numbers drawn per step (32 MB of float32)
ROPE_LLAMA3 = {"rope_type": "llama3", "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
ROPE_THETA = 1_000_000.0
# Special tokens at fixed ids. For the 102,400-entry tokenizers only 0-3 and 361 are known from the
# releases; the role tokens sit just below [|endofturn|] here, which is an assumption of this synthetic
# tokenizer.
SPECIALS_COMMON = {0: "[PAD]", 1: "[BOS]", 2: "[EOS]", 3: "[UNK]",
                   358: "[|system|]", 359: "[|user|]", 360: "[|assistant|]", 361: "[|endofturn|]"}
SPECIALS_EXAONE4 = {362: "[|tool|]", 363: "<think>", 364: "</think>", 365: "<tool_call>", 366: "</tool_call>",
                    367: "<tool_result>", 368: "</tool_result>"}
# The 153,600-entry tokenizer EXAONE 4.5 and K-EXAONE share: the release's special tokens at the release's ids
# (tiny_checkpoints.SPECIALS_2026); the reasoning and tool tags' ids (just after them here) are this synthetic
# tokenizer's assumption.
SPECIALS_2026 = {**tc.SPECIALS_2026,
                 **{107 + i: t for i, t in enumerate(tc.USER_DEFINED_2026)}}
IMAGE_TOKEN_ID, VIDEO_TOKEN_ID, VISION_START_ID, VISION_END_ID = 67, 68, 73, 74
# Qwen2-VL's image processor defaults (transformers), which EXAONE 4.5's processor builds on: images are resized
# to between 56x56 and 28*28*1280 pixels (a 1024x1024 image becomes 980x980: 35x35 merged patches).
MIN_PIXELS, MAX_PIXELS = 56 * 56, 28 * 28 * 1280


@dataclass(frozen=True)
class Moe:
    """Mixture-of-experts layers (K-EXAONE): routed experts of width ``ffn`` (``kept`` of ``experts`` written),
    ``used`` per token, ``shared`` shared experts, the first ``dense`` layers dense."""

    experts: int
    kept: int
    used: int
    ffn: int
    shared: int
    dense: int


@dataclass(frozen=True)
class Release:
    family: str  # "exaone" (3.x), "exaone4", "exaone_moe" (K-EXAONE) or "exaone4_5"
    hidden: int
    layers: int  # text layers written (MTP layers not counted)
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    rope_factor: float | None  # llama3 rope scaling factor; None: no scaling
    max_positions: int
    generation: dict[str, float | int]
    vocab: int = VOCAB
    tied: bool = True
    release_layers: int | None = None  # the release's depth, when ``layers`` is reduced
    sliding_window: int | None = None
    sliding_pattern: str | None = None  # "LLLG": L sliding, G global, repeated over layers
    mtp_layers: int = 0
    moe: Moe | None = None
    vision: dict[str, object] = field(default_factory=dict)  # transformers' vision_config fields (EXAONE 4.5)

    @property
    def specials(self) -> dict[int, str]:
        if self.vocab == VOCAB_2026 and self.family in ("exaone_moe", "exaone4_5"):
            return dict(SPECIALS_2026)
        return {**SPECIALS_COMMON, **(SPECIALS_EXAONE4 if self.family != "exaone" else {})}

    @property
    def eos_id(self) -> int:
        return next(i for i, t in self.specials.items() if t in (tc.EOS, tc.EOS_2026))


# EXAONE 4.5's vision encoder (LG's 1.2B-parameter encoder): a Qwen2.5-VL style ViT with grouped-query
# attention; the depth-32 / width-3584 defaults of transformers' Exaone4_5_VisionConfig are not the release's.
EXAONE45_VISION: dict[str, object] = dict(
    depth=28, hidden_size=2048, intermediate_size=5120, num_heads=32, num_key_value_heads=8,
    fullatt_block_indexes=[6, 13, 20, 27], window_size=112, patch_size=14, spatial_merge_size=2,
    temporal_patch_size=2, hidden_act="silu", in_channels=3,
)

RELEASES: dict[str, Release] = {
    "exaone-3.5-2.4b": Release("exaone", 2560, 30, 32, 8, 80, 7168, 8.0, 32768, {}),
    "exaone-4.0-1.2b": Release("exaone4", 2048, 30, 32, 8, 64, 4096, 16.0, 65536,
                               {"temperature": 0.6, "top_p": 0.95, "do_sample": True}),
    # K-EXAONE-236B-A23B: 48 layers (the first dense, ffn 18432), 128 routed experts of width 2048 (8 per token)
    # and one shared, 3:1 sliding (window 128) / global attention, one MTP layer. One MoE layer of 128 experts
    # is 9.7 GB of bf16 by itself; with the embeddings (2 x 1.9 GB) that passes the ~12 GB a checkpoint may take
    # on a 24 GiB machine, so this row keeps 64 experts of the real shape in its one MoE layer (~11 GB in all).
    "k-exaone": Release("exaone_moe", 6144, 2, 64, 8, 128, 18432, None, 262144,
                        {"temperature": 1.0, "top_p": 0.95, "do_sample": True}, vocab=VOCAB_2026, tied=False,
                        release_layers=48, sliding_window=128, sliding_pattern="LLLG", mtp_layers=1,
                        moe=Moe(experts=128, kept=64, used=8, ffn=2048, shared=1, dense=1)),
    # EXAONE-4.5-33B: EXAONE 4.0-32B's text model (64 layers, 3:1 sliding/global) with a 153,600-token
    # vocabulary and one MTP layer, plus the vision encoder. Two text layers of the real width here, without
    # sliding windows: llama.cpp 0.3.36 (and so our converter) runs the 3:1 pattern only at 64 layers.
    "exaone-4.5-vision": Release("exaone4_5", 5120, 2, 40, 8, 128, 27392, 16.0, 262144,
                                 {"temperature": 1.0, "top_p": 0.95, "do_sample": True}, vocab=VOCAB_2026,
                                 tied=False, release_layers=64, mtp_layers=1, vision=EXAONE45_VISION),
}
# EXAONE 4.5 and K-EXAONE share LG's EXAONE 4.5 chat template, read from the release folder beside the checkout.
TEMPLATES = {"exaone": tc.EXAONE35_TEMPLATE, "exaone4": tc.EXAONE4_TEMPLATE, "exaone_moe": tc.RELEASE_45_TEMPLATE,
             "exaone4_5": tc.RELEASE_45_TEMPLATE}


def tiny(rel: Release) -> Release:
    """The same layout (layer kinds, expert and vision-block counts, vocabulary) at toy widths."""
    moe = None if rel.moe is None else dataclasses.replace(rel.moe, experts=8, kept=8, used=2, ffn=32)
    vision = {} if not rel.vision else {**rel.vision, "depth": 4, "hidden_size": 32, "intermediate_size": 48,
                                        "num_heads": 2, "num_key_value_heads": 1, "fullatt_block_indexes": [1, 3]}
    return dataclasses.replace(rel, hidden=64, heads=4, kv_heads=2, head_dim=16, ffn=128, moe=moe, vision=vision)


def with_overrides(rel: Release, *, layers: int | None = None, experts: int | None = None) -> Release:
    if layers is not None:
        rel = dataclasses.replace(rel, layers=layers)
    if experts is not None:
        if rel.moe is None:
            raise SystemExit(f"--experts applies to mixture-of-experts shapes only, not {rel.family}")
        if not rel.moe.used <= experts <= rel.moe.experts:
            raise SystemExit(f"--experts must be between {rel.moe.used} and {rel.moe.experts}")
        rel = dataclasses.replace(rel, moe=dataclasses.replace(rel.moe, kept=experts))
    return rel


def as_kind(rel: Release, layers: int | None = None) -> tc.Kind:
    moe = rel.moe
    vision = None if not rel.vision else {**rel.vision, "out_hidden_size": rel.hidden}
    return tc.Kind(rel.family, TEMPLATES[rel.family], layers=layers or rel.layers, hidden=rel.hidden,
                   heads=rel.heads, kv_heads=rel.kv_heads, head_dim=rel.head_dim, ffn=rel.ffn, tied=rel.tied,
                   sliding_window=rel.sliding_window, sliding_pattern=rel.sliding_pattern,
                   experts=moe.kept if moe else 0, experts_used=moe.used if moe else 0, moe_ffn=moe.ffn if moe else 0,
                   shared_experts=moe.shared if moe else 0, dense_layers=moe.dense if moe else 0,
                   mtp_layers=rel.mtp_layers, vision=vision)


# ---------------------------------------------------------------------------------------------
# Tokenizer


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def synthetic_merges(alphabet: list[str], n: int) -> list[tuple[str, str]]:
    """``n`` merges: pairs of common symbols, then every other byte pair, then common triples."""
    common = [alphabet[b] for b in b" \nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'!?-:;()"]
    common_pairs = [(a, b) for a in common for b in common]
    seen = {a + b for a, b in common_pairs}
    rest = [(a, b) for a in alphabet for b in alphabet if a + b not in seen]
    triples = ((a + b, c) for a, b in common_pairs for c in common)
    out = (common_pairs + rest)[:n]
    out.extend(t for t, _ in zip(triples, range(n - len(out)), strict=False))
    if len(out) != n:
        raise ValueError(f"cannot make {n} merges")
    return out


def build_tokenizer(family: str, size: int, fixed: dict[int, str]) -> Tokenizer:
    """Byte-level BPE with exactly ``size`` entries, ``fixed`` special tokens at their ids and the family's
    pre-tokenizer (the one llama.cpp's pre-type for it implements)."""
    alphabet = _byte_alphabet()
    merges = synthetic_merges(alphabet, size - len(fixed) - len(alphabet))
    normal = iter(alphabet + [a + b for a, b in merges])
    vocab = {fixed[i] if i in fixed else next(normal): i for i in range(size)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None))
    tok.pre_tokenizer = tc._pre_tokenizer(tc.tokenizer_format(family).pre)  # noqa: SLF001  (the test helpers' table)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for _, t in sorted(fixed.items())])
    check_tokenizer(tok, fixed, size)
    return tok


def check_tokenizer(tok: Tokenizer, fixed: dict[int, str], expected: int = VOCAB) -> None:
    size = tok.get_vocab_size(with_added_tokens=True)
    if size != expected:
        raise RuntimeError(f"tokenizer has {size} entries, expected {expected}")
    for i, text in fixed.items():
        if tok.token_to_id(text) != i:
            raise RuntimeError(f"{text} has id {tok.token_to_id(text)}, expected {i}")
    for sample in tc.tokenization_samples():
        ids = tok.encode(sample, add_special_tokens=False).ids
        if tok.decode(ids, skip_special_tokens=False) != sample:
            raise RuntimeError(f"tokenizer does not round-trip {sample!r}")


# ---------------------------------------------------------------------------------------------
# Weights


def bf16_bits(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.uint32)
    return ((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16).astype(np.uint16)


def tensor_data(rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    """bf16 bits of one tensor, chunk by chunk: norms 1 + N(0, 0.02), the rest N(0, 0.02)."""
    count = math.prod(shape)
    for start in range(0, count, CHUNK_ELEMS):
        x = rng.standard_normal(min(CHUNK_ELEMS, count - start), dtype=np.float32)
        x *= np.float32(WEIGHT_STD)
        if len(shape) == 1:
            x += np.float32(1.0)
        yield bf16_bits(x)


def plan_shards(layout: list[tuple[str, tuple[int, ...]]]) -> list[list[tuple[str, tuple[int, ...]]]]:
    total = sum(math.prod(s) * 2 for _, s in layout)
    n = max(1, math.ceil(total / SHARD_BYTES))
    target = total / n
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    filled = 0
    for name, shape in layout:
        if filled >= target * len(shards) and len(shards) < n:
            shards.append([])
        shards[-1].append((name, shape))
        filled += math.prod(shape) * 2
    return shards


def write_safetensors(path: Path, entries: list[tuple[str, tuple[int, ...]]], rng: np.random.Generator) -> int:
    """Stream one bf16 safetensors file (header: 8-byte length + JSON padded to 8 bytes); returns data bytes."""
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
            for chunk in tensor_data(rng, name, shape):
                f.write(chunk.data)
    return offset


Layout = list[tuple[str, tuple[int, ...]]]


def _attention(p: str, k: tc.Kind) -> Layout:
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


def _mtp(k: tc.Kind, layer: Layout, prefix: str) -> Layout:
    """Multi-token-prediction weights (mtp.*, which transformers ignores): copies of a dense text layer's
    tensors, the projection of [embedding; hidden] and its norms."""
    out: Layout = []
    for i in range(k.mtp_layers):
        out += [(f"mtp.layers.{i}." + name[len(prefix):], shape) for name, shape in layer]
    if k.mtp_layers:
        out += [("mtp.fc.weight", (k.hidden, 2 * k.hidden)), ("mtp.pre_fc_norm_embedding.weight", (k.hidden,)),
                ("mtp.pre_fc_norm_hidden.weight", (k.hidden,)), ("mtp.norm.weight", (k.hidden,))]
    return out


def moe_tensors(k: tc.Kind, vocab: int) -> Layout:
    """K-EXAONE (exaone_moe) under the release's names: pre-norm layers with q/k norms, dense first layers,
    then a sigmoid router with a score-correction bias, routed experts one by one and the shared experts."""
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
    out += [("model.norm.weight", (k.hidden,)), *([] if k.tied else [("lm_head.weight", (vocab, k.hidden))])]
    return out + _mtp(k, dense_layer, "model.layers.0.")


def vl_tensors(k: tc.Kind, vocab: int) -> Layout:
    """EXAONE 4.5 (exaone4_5) under the release's names: EXAONE 4.0's post-norm text layers under
    model.language_model, the vision encoder under model.visual (Conv3D patch embedding, blocks with a fused
    qkv and a gated MLP, both with biases, and the 2x2 patch merger), lm_head and mtp.* at the top."""
    v = {key: value for key, value in (k.vision or {}).items() if isinstance(value, int)}
    vh, vi, depth, heads, kv_heads = (v["hidden_size"], v["intermediate_size"], v["depth"], v["num_heads"],
                                      v["num_key_value_heads"])
    patch, temporal, merged = v["patch_size"], v["temporal_patch_size"], vh * v["spatial_merge_size"] ** 2
    qkv = (heads + 2 * kv_heads) * (vh // heads)
    out: Layout = [("model.language_model.embed_tokens.weight", (vocab, k.hidden))]
    first: Layout = []
    for i in range(k.layers):
        p = f"model.language_model.layers.{i}."
        layer = [*_attention(p, k), (p + "post_attention_layernorm.weight", (k.hidden,)),
                 *_mlp(p + "mlp.", k.hidden, k.ffn), (p + "post_feedforward_layernorm.weight", (k.hidden,))]
        first = first or layer
        out += layer
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
            ("model.visual.merger.mlp.2.bias", (k.hidden,))]
    out += [] if k.tied else [("lm_head.weight", (vocab, k.hidden))]
    return out + _mtp(k, first, "model.language_model.layers.0.")


# Tensor names and shapes per family, in file order.
TENSOR_LAYOUTS = {**tc.TENSOR_LAYOUTS, "exaone_moe": moe_tensors, "exaone4_5": vl_tensors}


def write_weights(out: Path, kind: tc.Kind, seed: int, vocab: int = VOCAB) -> None:
    layout = TENSOR_LAYOUTS[kind.family](kind, vocab)
    shards = plan_shards(layout)
    rng = np.random.default_rng(seed)
    weight_map: dict[str, str] = {}
    total = 0
    for i, entries in enumerate(shards, start=1):
        fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        total += write_safetensors(out / fname, entries, rng)
        weight_map.update({name: fname for name, _ in entries})
    tc.write_json(out / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})


# ---------------------------------------------------------------------------------------------
# Config files


def hf_config(rel: Release, kind: tc.Kind, vocab: int = VOCAB) -> dict[str, object]:
    ids = {tc.BOS: 1, tc.EOS: rel.eos_id, tc.PAD: 0, tc.UNK: 3}
    config = tc.hf_config(kind, vocab, ids)  # transformers' own config classes for exaone_moe and exaone4_5
    rope = None if rel.rope_factor is None else {**ROPE_LLAMA3, "factor": rel.rope_factor}
    if rel.family == "exaone4_5":
        text = config["text_config"]
        assert isinstance(text, dict)
        text.update(max_position_embeddings=rel.max_positions, eos_token_id=rel.eos_id,
                    rope_parameters={"rope_theta": ROPE_THETA, **(rope or {"rope_type": "default"})})
        config.update(image_token_id=IMAGE_TOKEN_ID, video_token_id=VIDEO_TOKEN_ID,
                      vision_start_token_id=VISION_START_ID, vision_end_token_id=VISION_END_ID)
        return config
    config["max_position_embeddings"] = rel.max_positions
    if rel.family == "exaone_moe":
        return config
    config["rope_scaling"] = rope
    if rel.family == "exaone4":
        config["sliding_window"] = None
        config["sliding_window_pattern"] = None
    return config


def write_checkpoint(shape: str, out: Path, *, seed: int = 0, layers: int | None = None,
                     vocab: int | None = None, experts: int | None = None, tiny_widths: bool = False) -> Path:
    rel = with_overrides(RELEASES[shape], layers=layers, experts=experts)
    rel = tiny(rel) if tiny_widths else rel
    vocab = vocab or rel.vocab
    kind = as_kind(rel)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(rel.family, vocab, rel.specials)
    tc.write_tokenizer_files(out, tok, kind.template, tc.TOKENIZER_CLASSES.get(rel.family, "GPT2Tokenizer"))
    cfg_path = out / "tokenizer_config.json"
    tok_cfg = json.loads(cfg_path.read_text())
    tok_cfg["model_max_length"] = rel.max_positions
    tc.write_json(cfg_path, tok_cfg)
    tc.write_json(out / "config.json", hf_config(rel, kind, vocab))
    gen = {"bos_token_id": 1, "eos_token_id": rel.eos_id, "pad_token_id": 0, **rel.generation,
           "transformers_version": "4.54.0"}
    tc.write_json(out / "generation_config.json", gen)
    if kind.vision is not None:
        tc.write_json(out / "preprocessor_config.json",
                      {**tc.preprocessor_config(kind), "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS})
    write_weights(out, kind, seed, vocab)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("shape", choices=sorted(RELEASES))
    p.add_argument("outdir", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, default=None, help="text layers (default: the row's)")
    p.add_argument("--vocab", type=int, default=None,
                   help=f"tokenizer size (default: the release's, {VOCAB:,} or {VOCAB_2026:,})")
    p.add_argument("--experts", type=int, default=None, help="routed experts kept per MoE layer (default: the row's)")
    p.add_argument("--tiny", action="store_true", help="toy widths, the same layout: for smoke tests")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        write_checkpoint(args.shape, args.outdir, seed=args.seed, layers=args.layers, vocab=args.vocab,
                         experts=args.experts, tiny_widths=args.tiny)
    except tc.ReleaseFileMissing as err:  # EXAONE 4.5 / K-EXAONE shapes carry LG's own chat template
        print(f"make_random_checkpoint: {err}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in args.outdir.glob("*.safetensors"))
    print(f"wrote {args.outdir} ({size / 1e9:.2f} GB of weights) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
