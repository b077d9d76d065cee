"""Raw llama.cpp access for parity tests: logits, greedy tokens and tokenization of a GGUF.

Uses llama-cpp-python directly (not the product's generator) with an f32 KV cache, so that the
comparison measures the conversion, not llama.cpp's default f16 cache.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import llama_cpp
import numpy as np

GGML_TYPE_F32 = 0


@lru_cache(maxsize=8)
def load(path: str, n_ctx: int = 512) -> llama_cpp.Llama:
    return llama_cpp.Llama(
        path, n_ctx=n_ctx, n_threads=2, n_batch=n_ctx, logits_all=True, verbose=False,
        type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, n_gpu_layers=0,
    )


def tokenize(path: Path, text: str, *, special: bool = False) -> list[int]:
    return load(str(path)).tokenize(text.encode("utf-8"), add_bos=False, special=special)


def logits(path: Path, ids: list[int]) -> np.ndarray:
    llm = load(str(path))
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def greedy(path: Path, ids: list[int], n: int) -> list[int]:
    """n tokens by argmax over the logits, evaluating one token at a time."""
    llm = load(str(path))
    llm.reset()
    llm.eval(ids)
    out: list[int] = []
    for _ in range(n):
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(nxt)
        llm.eval([nxt])
    return out


def metadata(path: Path) -> dict[str, str]:
    return dict(load(str(path)).metadata)
