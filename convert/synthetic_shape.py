"""The shape of a synthetic EXAONE checkpoint: one ``Shape`` (family, widths, depth, attention pattern, experts,
vision encoder) and the per-layer attention types it implies. ``synthetic`` writes a checkpoint of a shape;
``synthetic_releases`` gives the shapes of LG's releases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .families import Family, family_for_model_type, supported_model_types

__all__ = ["Shape", "layer_types"]


@dataclass(frozen=True)
class Shape:
    """One checkpoint's shape. ``family`` is its config.json model_type (``exaone``: 3.x and Deep, ``exaone4``,
    ``exaone_moe``: K-EXAONE, ``exaone4_5``); ``template`` its chat template's Jinja source."""

    family: str
    template: str
    layers: int = 2  # text layers (MTP layers not counted)
    hidden: int = 64
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 16
    ffn: int = 128
    tied: bool = True
    shards: int = 1  # 0: by size (SHARD_BYTES per file)
    sliding_window: int | None = None
    sliding_pattern: str | None = None  # e.g. "LLLG" (L sliding, G full), repeated over layers
    generation: Mapping[str, float | int] = field(default_factory=dict)
    layer_types: tuple[str, ...] | None = None  # explicit per-layer attention types (else sliding_pattern)
    # Mixture of experts (exaone_moe): routed experts, experts per token, expert width, shared experts,
    # leading dense layers; and multi-token-prediction layers (mtp.* weights transformers ignores).
    experts: int = 0
    experts_used: int = 0
    moe_ffn: int = 0
    shared_experts: int = 0
    dense_layers: int = 0
    mtp_layers: int = 0
    vision: Mapping[str, object] | None = None  # exaone4_5: the vision encoder's config (transformers' names)
    max_positions: int = 1024
    rope_scaling: Mapping[str, Any] | None = None  # e.g. llama3 scaling; None: plain RoPE
    image_pixels: tuple[int, int] | None = None  # the image processor's (min, max) pixels; None: 4-256 patches

    @property
    def row(self) -> Family:
        fam = family_for_model_type(self.family)
        if fam is None:
            raise ValueError(f"unknown EXAONE model type {self.family!r}; use one of {sorted(supported_model_types())}")
        return fam


def layer_types(shape: Shape) -> list[str]:
    if shape.layer_types is not None:
        return list(shape.layer_types)
    if shape.sliding_pattern is None:
        return ["full_attention"] * shape.layers
    names = {"L": "sliding_attention", "G": "full_attention"}
    return [names[shape.sliding_pattern[i % len(shape.sliding_pattern)]] for i in range(shape.layers)]

