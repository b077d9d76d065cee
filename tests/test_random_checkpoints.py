"""The benchmark's random checkpoints of K-EXAONE and EXAONE 4.5 (bench/make_random_checkpoint.py) have the
tensor names and shapes transformers' own model classes save, and fit the benchmark machine."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import tiny_checkpoints as tc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import make_random_checkpoint as mrc  # noqa: E402

NEW_SHAPES = ("k-exaone", "exaone-4.5-vision")
MAX_CHECKPOINT_BYTES = 12e9  # what a bf16 checkpoint may take on the 24 GiB benchmark machine


@pytest.mark.parametrize("shape", NEW_SHAPES)
def test_layout_is_what_transformers_saves(shape: str) -> None:
    kind = mrc.as_kind(mrc.tiny(mrc.RELEASES[shape]))
    ours = dict(mrc.TENSOR_LAYOUTS[kind.family](kind, 800))
    theirs = {name: tuple(t.shape) for name, t in tc.transformers_weights(kind, 800, 0).items()}
    assert ours == theirs


@pytest.mark.parametrize("shape", NEW_SHAPES)
def test_real_size_rows_fit_the_machine(shape: str) -> None:
    rel = mrc.RELEASES[shape]
    kind = mrc.as_kind(rel)
    layout = mrc.TENSOR_LAYOUTS[kind.family](kind, rel.vocab)
    assert sum(math.prod(s) for _, s in layout) * 2 < MAX_CHECKPOINT_BYTES
    if rel.moe is not None:  # fewer experts, each of the release's shape
        experts = [s for n, s in layout if ".mlp.experts." in n and n.endswith("gate_proj.weight")]
        assert experts and set(experts) == {(rel.moe.ffn, rel.hidden)} and len(experts) == rel.moe.kept
