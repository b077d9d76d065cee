"""Tiny GGUFs and their transformers references for the generator tests, built once per test process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

KINDS = ("exaone3_tied_sharded", "exaone3_untied", "exaone_deep", "exaone4", "exaone4_hybrid64")
PLAIN_PROMPT = "서울은 한국의 수도입니다. The capital of Korea is"
MESSAGES = [
    {"role": "system", "content": "You are EXAONE, a helpful assistant."},
    {"role": "user", "content": "안녕하세요! 오늘 날씨 어때요? How is the weather?"},
]

_ggufs: dict[str, Path] = {}
_references: dict[str, tuple[Any, Any]] = {}


def tiny_gguf(kind: str, make_checkpoint: Callable[[str], Path]) -> Path:
    """The f32 GGUF converted from the tiny checkpoint ``kind`` (the conftest's tiny_checkpoint factory)."""
    if kind not in _ggufs:
        from exaone_convert.convert import convert_checkpoint

        ckpt = make_checkpoint(kind)
        _ggufs[kind] = convert_checkpoint(ckpt, ckpt.parent / f"{kind}-f32.gguf", outtype="f32")
    return _ggufs[kind]


def reference(kind: str, make_checkpoint: Callable[[str], Path]) -> tuple[Any, Any]:
    """(transformers model with the checkpoint's generation_config, tokenizer) for the same checkpoint."""
    if kind not in _references:
        from transformers import GenerationConfig

        from tests.support.reference import load_reference

        ckpt = make_checkpoint(kind)
        model, tokenizer = load_reference(ckpt)
        if (ckpt / "generation_config.json").exists():  # the EXAONE-3 reference is built without it
            model.generation_config = GenerationConfig.from_pretrained(ckpt)
        _references[kind] = (model, tokenizer)
    return _references[kind]


@torch.no_grad()
def hf_generate(model: Any, tokenizer: Any, prompt: Any, max_new_tokens: int) -> tuple[list[int], list[int], str]:
    """(prompt ids, new ids, new text) from transformers' greedy generate(), as its pipeline tokenizes."""
    if isinstance(prompt, str):
        enc = tokenizer(prompt, return_tensors="pt")
    else:
        enc = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_dict=True,
                                            return_tensors="pt")
    out = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens)
    n = enc["input_ids"].shape[1]
    new = out[0, n:].tolist()
    return enc["input_ids"][0].tolist(), new, tokenizer.decode(new, skip_special_tokens=True)


@torch.no_grad()
def greedy_gaps(model: Any, prompt_ids: list[int], generated: list[int], penalty: float) -> list[float]:
    """Per generated token: how far its (repetition-penalised) reference logit is below the step's best,
    relative to the largest |logit|. 0 means it is the reference's argmax; tiny values are float near-ties."""
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    seq = torch.tensor([list(prompt_ids) + list(generated)], dtype=torch.long)
    logits = model(input_ids=seq, use_cache=False).logits[0].float()
    proc = RepetitionPenaltyLogitsProcessor(penalty) if penalty != 1.0 else None
    gaps = []
    for i, tok in enumerate(generated):
        pos = len(prompt_ids) + i
        row = logits[pos - 1][None]
        if proc is not None:
            row = proc(seq[:, :pos], row.clone())
        row = row[0]
        gaps.append(float((row.max() - row[tok]) / row.abs().max()))
    return gaps
