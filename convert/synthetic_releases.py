"""The shapes of LG's EXAONE releases as rows (``RELEASES``), at full or reduced size (``tiny``,
``with_overrides``), and what turns a row into a checkpoint: its ``Shape`` (``release_shape``) and a synthetic
tokenizer of the release's size with its special tokens at their ids (``release_tokenizer``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from .families import THINK, TOKENIZER_2026, family_for_model_type
from .synthetic_shape import Shape
from .synthetic_tokenizer import (
    EXAONE4_TEMPLATE,
    EXAONE35_TEMPLATE,
    SPECIALS_2026,
    USER_DEFINED_2026,
    synthetic_vocabulary,
)

VOCAB = 102_400  # EXAONE 3.x, Deep, 4.0
VOCAB_2026 = 153_600  # EXAONE 4.5 and K-EXAONE
# Special tokens at fixed ids. For the 102,400-entry tokenizers only 0-3 and 361 are known from the releases;
# the role tokens sit just below [|endofturn|] here, which is an assumption of the synthetic tokenizer.
SPECIALS_COMMON = {0: "[PAD]", 1: "[BOS]", 2: "[EOS]", 3: "[UNK]",
                   358: "[|system|]", 359: "[|user|]", 360: "[|assistant|]", 361: "[|endofturn|]"}
SPECIALS_EXAONE4 = {362: "[|tool|]", 363: "<think>", 364: "</think>", 365: "<tool_call>", 366: "</tool_call>",
                    367: "<tool_result>", 368: "</tool_result>"}
# The reasoning and tool tags' ids in the 2026 tokenizer (just after the release's specials) are an assumption.
SPECIALS_2026_ALL = {**SPECIALS_2026, **{107 + i: t for i, t in enumerate(USER_DEFINED_2026)}}
ROPE_LLAMA3 = {"rope_type": "llama3", "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
# Qwen2-VL's image processor defaults (transformers), which EXAONE 4.5's processor builds on: images are resized
# to between 56x56 and 28*28*1280 pixels (a 1024x1024 image becomes 980x980: 35x35 merged patches).
RELEASE_PIXELS = (56 * 56, 28 * 28 * 1280)


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
    """A release's shape (``family``: its model type), possibly at reduced depth or expert count."""

    family: str
    hidden: int
    layers: int  # text layers written (MTP layers not counted)
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    rope_factor: float | None  # llama3 rope scaling factor; None: no scaling
    max_positions: int
    generation: Mapping[str, float | int]
    vocab: int = VOCAB
    tied: bool = True
    release_layers: int | None = None  # the release's depth, when ``layers`` is reduced
    sliding_window: int | None = None
    sliding_pattern: str | None = None  # "LLLG": L sliding, G global, repeated over layers
    mtp_layers: int = 0
    moe: Moe | None = None
    vision: Mapping[str, object] = field(default_factory=dict)  # transformers' vision_config fields (EXAONE 4.5)

    @property
    def specials(self) -> dict[int, str]:
        row = family_for_model_type(self.family)
        if self.vocab == VOCAB_2026 and row is not None and row.tokenizer == TOKENIZER_2026:
            return dict(SPECIALS_2026_ALL)
        # EXAONE 3.x's tokenizer (no reasoning tags, or Deep's <thought>) lacks EXAONE 4's tool and think tokens
        return {**SPECIALS_COMMON, **(SPECIALS_EXAONE4 if row is not None and row.reasoning_tags == THINK else {})}


# EXAONE 4.5's vision encoder (LG's 1.2B-parameter encoder): a Qwen2.5-VL style ViT with grouped-query
# attention; the depth-32 / width-3584 defaults of transformers' Exaone4_5_VisionConfig are not the release's.
EXAONE45_VISION: Mapping[str, object] = dict(
    depth=28, hidden_size=2048, intermediate_size=5120, num_heads=32, num_key_value_heads=8,
    fullatt_block_indexes=[6, 13, 20, 27], window_size=112, patch_size=14, spatial_merge_size=2,
    temporal_patch_size=2, hidden_act="silu", in_channels=3,
)

RELEASES: Mapping[str, Release] = {
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
    # sliding windows: llama.cpp 0.3.36 (and so the converter) runs the 3:1 pattern only at 64 layers.
    "exaone-4.5-vision": Release("exaone4_5", 5120, 2, 40, 8, 128, 27392, 16.0, 262144,
                                 {"temperature": 1.0, "top_p": 0.95, "do_sample": True}, vocab=VOCAB_2026,
                                 tied=False, release_layers=64, mtp_layers=1, vision=EXAONE45_VISION),
}  # fmt: skip
# Inline chat templates of the text-only releases; EXAONE 4.5 and K-EXAONE carry LG's own chat_template.jinja,
# which the caller passes (``release_shape``'s ``template``).
TEMPLATES: Mapping[str, str] = {"exaone": EXAONE35_TEMPLATE, "exaone4": EXAONE4_TEMPLATE}


def tiny(rel: Release) -> Release:
    """The same layout (layer kinds, expert and vision-block counts, vocabulary) at toy widths."""
    moe = None if rel.moe is None else dataclasses.replace(rel.moe, experts=8, kept=8, used=2, ffn=32)
    vision = {} if not rel.vision else {**rel.vision, "depth": 4, "hidden_size": 32, "intermediate_size": 48,
                                        "num_heads": 2, "num_key_value_heads": 1, "fullatt_block_indexes": [1, 3]}
    return dataclasses.replace(rel, hidden=64, heads=4, kv_heads=2, head_dim=16, ffn=128, moe=moe, vision=vision)


def with_overrides(rel: Release, *, layers: int | None = None, experts: int | None = None) -> Release:
    """``rel`` with fewer text layers or routed experts kept; ValueError names the allowed range."""
    if layers is not None:
        rel = dataclasses.replace(rel, layers=layers)
    if experts is not None:
        if rel.moe is None:
            raise ValueError(f"--experts applies to mixture-of-experts shapes only, not {rel.family}")
        if not rel.moe.used <= experts <= rel.moe.experts:
            raise ValueError(f"--experts must be between {rel.moe.used} and {rel.moe.experts}")
        rel = dataclasses.replace(rel, moe=dataclasses.replace(rel.moe, kept=experts))
    return rel


def release_shape(rel: Release, template: str | None = None) -> Shape:
    """The checkpoint shape of a release row; ``template``: the chat template (default: ``TEMPLATES``'s)."""
    moe = rel.moe
    text = template if template is not None else TEMPLATES.get(rel.family)
    if text is None:
        raise ValueError(f"{rel.family} checkpoints carry LG's chat_template.jinja: pass its text as template")
    return Shape(
        rel.family, text, layers=rel.layers, hidden=rel.hidden, heads=rel.heads, kv_heads=rel.kv_heads,
        head_dim=rel.head_dim, ffn=rel.ffn, tied=rel.tied, shards=0, sliding_window=rel.sliding_window,
        sliding_pattern=rel.sliding_pattern, generation=rel.generation, experts=moe.kept if moe else 0,
        experts_used=moe.used if moe else 0, moe_ffn=moe.ffn if moe else 0, shared_experts=moe.shared if moe else 0,
        dense_layers=moe.dense if moe else 0, mtp_layers=rel.mtp_layers,
        vision={**rel.vision, "out_hidden_size": rel.hidden} if rel.vision else None,
        max_positions=rel.max_positions,
        rope_scaling=None if rel.rope_factor is None else {**ROPE_LLAMA3, "factor": rel.rope_factor},
        image_pixels=RELEASE_PIXELS if rel.vision else None)


def release_tokenizer(family: str, size: int | None = None, specials: Mapping[int, str] | None = None) -> str:
    """A synthetic tokenizer.json of the family's release size (or ``size``), its special tokens at their ids."""
    rel = next((r for r in RELEASES.values() if r.family == family), None)
    fam = family_for_model_type(family)
    if rel is None or fam is None:
        raise ValueError(f"no release shape for model type {family!r}; use one of "
                         f"{sorted({r.family for r in RELEASES.values()})}")
    return synthetic_vocabulary(fam.tokenizer_pre, size or rel.vocab, specials or rel.specials)
