"""The transformers reference for tiny (and real) EXAONE checkpoints: float32, eager attention.

Every family loads through AutoModelForCausalLM with transformers' own implementation; for EXAONE 3
(``exaone``) transformers renames the original ``transformer.h.N`` weights itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)


def read_state_dict(ckpt_dir: Path) -> dict[str, torch.Tensor]:
    """All tensors of a single-file or sharded safetensors checkpoint."""
    index = ckpt_dir / "model.safetensors.index.json"
    files = (
        sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else ["model.safetensors"]
    )
    out: dict[str, torch.Tensor] = {}
    for name in files:
        out.update(load_file(str(ckpt_dir / name)))
    return out


def load_reference(ckpt_dir: str | Path) -> tuple[PreTrainedModel, Any]:
    """(model in float32 eval mode with eager attention, tokenizer) for an HF-layout folder."""
    ckpt_dir = Path(ckpt_dir)
    cfg = json.loads((ckpt_dir / "config.json").read_text())
    # EXAONE 4.5 is an image-text-to-text model; a text-only prompt runs through it as through a causal LM.
    auto = AutoModelForImageTextToText if cfg["model_type"] == "exaone4_5" else AutoModelForCausalLM
    model = auto.from_pretrained(str(ckpt_dir), dtype=torch.float32, attn_implementation="eager")
    tokenizer: Any
    if cfg["model_type"] == "exaone":
        # EXAONE 3's tokenizer_config names GPT2Tokenizer, which AutoTokenizer rebuilds from vocab
        # and merges with GPT-2's pre-tokenizer, dropping tokenizer.json's digit split; the real
        # releases run tokenizer.json as it is.
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(ckpt_dir))
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(ckpt_dir))
    model.eval()
    return model, tokenizer


@torch.no_grad()
def reference_logits(model: PreTrainedModel, ids: list[int]) -> np.ndarray:
    """Logits [n_tokens, vocab] (float32) for one sequence, no cache."""
    out = model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
    return out.logits[0].float().numpy()


@torch.no_grad()
def reference_greedy(model: PreTrainedModel, ids: list[int], n: int, *, eos_id: int | None = None) -> list[int]:
    """Up to n greedy tokens after ids (full recompute each step). With eos_id, generation stops
    at that token and the result includes it."""
    seq = list(ids)
    out: list[int] = []
    for _ in range(n):
        nxt = int(np.argmax(reference_logits(model, seq)[-1]))
        out.append(nxt)
        seq.append(nxt)
        if eos_id is not None and nxt == eos_id:
            break
    return out


@torch.no_grad()
def greedy_divergence(
    model: PreTrainedModel, prompt_ids: list[int], generated: list[int], *, rel_tol: float = 5e-3
) -> int | None:
    """First index of `generated` that greedy decoding of the reference would not produce, or None.

    Near-ties are allowed: a token passes if its logit is within rel_tol * max|logit| of the
    step's top logit, so float/bf16 differences between engines cannot fail a correct path."""
    if not generated:
        return None
    logits = reference_logits(model, list(prompt_ids) + list(generated)[:-1])[len(prompt_ids) - 1 :]
    for i, (row, tok) in enumerate(zip(logits, generated, strict=True)):
        if row.max() - row[tok] > rel_tol * float(np.abs(row).max()):
            return i
    return None
