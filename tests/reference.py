"""The transformers reference for tiny (and real) EXAONE checkpoints: float32, eager attention.

EXAONE 4 loads through AutoModelForCausalLM. transformers 5.23 has no EXAONE 3 model, so an
EXAONE 3 checkpoint is loaded as LlamaForCausalLM (the same architecture) with renamed weights.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

# Original EXAONE 3 name pattern -> Llama name template.
EXAONE3_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^transformer\.wte\.", "model.embed_tokens."),
    (r"^transformer\.ln_f\.", "model.norm."),
    (r"^transformer\.h\.(\d+)\.ln_1\.", r"model.layers.\1.input_layernorm."),
    (r"^transformer\.h\.(\d+)\.ln_2\.", r"model.layers.\1.post_attention_layernorm."),
    (r"^transformer\.h\.(\d+)\.attn\.attention\.([qkv])_proj\.", r"model.layers.\1.self_attn.\2_proj."),
    (r"^transformer\.h\.(\d+)\.attn\.attention\.out_proj\.", r"model.layers.\1.self_attn.o_proj."),
    (r"^transformer\.h\.(\d+)\.mlp\.c_fc_0\.", r"model.layers.\1.mlp.gate_proj."),
    (r"^transformer\.h\.(\d+)\.mlp\.c_fc_1\.", r"model.layers.\1.mlp.up_proj."),
    (r"^transformer\.h\.(\d+)\.mlp\.c_proj\.", r"model.layers.\1.mlp.down_proj."),
    (r"^lm_head\.", "lm_head."),
)


def llama_name(exaone_name: str) -> str:
    for pattern, repl in EXAONE3_RENAMES:
        new, n = re.subn(pattern, repl, exaone_name)
        if n:
            return new
    raise KeyError(f"no Llama name for EXAONE 3 tensor {exaone_name!r}")


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


def exaone3_llama_config(cfg: dict[str, Any]) -> LlamaConfig:
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": cfg.get("rope_theta", 10000.0)}
    if cfg.get("rope_scaling"):
        rope = {**cfg["rope_scaling"], "rope_theta": rope["rope_theta"]}
    return LlamaConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
        head_dim=cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"],
        hidden_act=cfg.get("activation_function", "silu"),
        max_position_embeddings=cfg["max_position_embeddings"],
        rms_norm_eps=cfg["layer_norm_epsilon"],
        rope_parameters=rope,
        tie_word_embeddings=cfg.get("tie_word_embeddings", False),
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=cfg.get("bos_token_id"),
        eos_token_id=cfg.get("eos_token_id"),
        pad_token_id=cfg.get("pad_token_id"),
    )


def _load_exaone3(ckpt_dir: Path, cfg: dict[str, Any]) -> PreTrainedModel:
    config = exaone3_llama_config(cfg)
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config)
    model.float()
    state = {llama_name(k): v.to(torch.float32) for k, v in read_state_dict(ckpt_dir).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed_missing = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - allowed_missing or unexpected:
        raise RuntimeError(f"EXAONE 3 weights do not fit Llama: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model


def load_reference(ckpt_dir: str | Path) -> tuple[PreTrainedModel, Any]:
    """(model in float32 eval mode with eager attention, tokenizer) for an HF-layout folder."""
    ckpt_dir = Path(ckpt_dir)
    cfg = json.loads((ckpt_dir / "config.json").read_text())
    if cfg["model_type"] == "exaone":
        model = _load_exaone3(ckpt_dir, cfg)
        # AutoTokenizer cannot resolve model_type "exaone" in 5.23, and its GPT2Tokenizer would
        # replace tokenizer.json's digit-splitting pre-tokenizer; this keeps tokenizer.json as is.
        tokenizer: Any = PreTrainedTokenizerFast.from_pretrained(str(ckpt_dir))
    else:
        model = AutoModelForCausalLM.from_pretrained(str(ckpt_dir), dtype=torch.float32, attn_implementation="eager")
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
