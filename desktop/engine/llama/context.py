"""Context sizing for the local engine: KV-cache memory, the default context size, the prefill batch.

Everything here works from the GGUF header (``ModelInfo``), so the app can show what a context
will cost before it loads the model.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from exaone_convert import families

from ..types import GenerationError
from .gguf_check import ModelInfo

# llama.cpp rounds its cache sizes up to multiples of this many cells.
CELL_PAD = 256


@dataclass(frozen=True)
class KVCacheType:
    """One KV-cache element type: its ggml type id, block size and bytes per block."""

    name: str
    ggml_type: int
    block: int
    block_bytes: int
    flash_attention: bool  # llama.cpp needs flash attention to keep V in this type


KV_CACHE_TYPES: dict[str, KVCacheType] = {
    t.name: t
    for t in (
        KVCacheType("f16", 1, 1, 2, False),
        KVCacheType("q8_0", 8, 32, 34, True),
        KVCacheType("q4_0", 2, 32, 18, True),
    )
}


# Prompt-evaluation batch (n_batch = n_ubatch) by model size, on the CPU. Stop does not wait for a batch
# (llama.cpp polls it between the graph's operations), so the batch is sized for prompt throughput and
# compute memory. Measured on the EXAONE-4.0-1.2B shape (Q4_K_M, 2 threads): 32 tokens a batch lose about
# 20 % of prompt throughput, 64 about 5 %, 256 and 512 (llama-cpp-python's default) are level. Without flash
# attention the attention scores take n_ctx x n_ubatch x heads x 4 bytes, so the largest models get less.
PREFILL_BATCHES: tuple[tuple[float, int], ...] = ((12e9, 256), (math.inf, 128))
GPU_PREFILL_BATCH = 512

# Default context: the largest power of two up to the model's trained length and DEFAULT_CTX_CAP
# whose KV cache takes at most KV_SHARE_OF_FREE of the memory left after the weights.
DEFAULT_CTX_CAP = 16384
MIN_DEFAULT_CTX = 2048
KV_SHARE_OF_FREE = 0.25
FALLBACK_FREE_BYTES = 4 << 30  # when the platform does not say


def kv_type(name: str) -> KVCacheType:
    """The row for ``name``; GenerationError naming the valid types otherwise."""
    row = KV_CACHE_TYPES.get(name) if isinstance(name, str) else None
    if row is None:
        raise GenerationError(f"unknown KV cache type {name!r}; use one of {', '.join(KV_CACHE_TYPES)}")
    return row


def sliding_window(info: ModelInfo) -> tuple[int, int]:
    """(window, number of sliding-window layers) as llama.cpp will run the model; (0, 0) without one.

    The family table's row says when llama.cpp turns windows on and their defaults; the GGUF's window and
    per-layer pattern say the rest."""
    fam = families.family_by_key(info.family) or families.family_for_gguf_arch(info.architecture,
                                                                               info.chat_template)
    window, flags = families.sliding_layers(fam, attention_layers(info), info.sliding_window,
                                            info.sliding_window_pattern)
    return window, sum(flags)


def attention_layers(info: ModelInfo) -> int:
    """Layers with a KV cache in a chat context: llama.cpp leaves the multi-token-prediction layers out."""
    return info.n_layers - info.mtp_layers


def _pad(n: int) -> int:
    return -(-n // CELL_PAD) * CELL_PAD


def kv_cache_bytes(info: ModelInfo, n_ctx: int, kv_cache_type: str = "f16", *, n_ubatch: int = 512) -> int:
    """Bytes the KV cache of an ``n_ctx``-token context takes: layers x KV heads x head size x (K and V)
    x bytes per element x cells. Sliding-window layers hold only their window plus one batch."""
    kind = kv_type(kv_cache_type)
    heads = info.head_count_kv or 1
    per_cell = heads * (info.key_length + info.value_length) * kind.block_bytes / kind.block
    cells = _pad(n_ctx)
    window, n_swa_layers = sliding_window(info)
    swa_cells = _pad(min(cells, window + n_ubatch)) if n_swa_layers else 0
    return int(per_cell * ((attention_layers(info) - n_swa_layers) * cells + n_swa_layers * swa_cells))


def check_kv_cache_type(info: ModelInfo, kv_cache_type: str) -> KVCacheType:
    """The type's row, or GenerationError when the model's K/V rows cannot be stored in it."""
    kind = kv_type(kv_cache_type)
    row = (info.head_count_kv or 1) * info.key_length
    if kind.block > 1 and (row % kind.block or info.key_length % kind.block):
        raise GenerationError(f"KV cache type {kind.name} needs attention heads whose size is a multiple of "
                              f"{kind.block} ({info.name} has {info.key_length}); use kv_cache_type f16")
    return kind


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, from the platform; None when it does not say."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        try:
            for line in meminfo.read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    if sys.platform == "win32":
        return _windows_available()
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        if hasattr(os, "sysconf_names") and "SC_AVPHYS_PAGES" in os.sysconf_names:
            return int(os.sysconf("SC_AVPHYS_PAGES")) * page
        return int(os.sysconf("SC_PHYS_PAGES")) * page // 2  # macOS: no "available"; assume half is free
    except (ValueError, OSError, AttributeError):
        return None


def _windows_available() -> int | None:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total_phys", ctypes.c_ulonglong),
                    ("avail_phys", ctypes.c_ulonglong), ("total_page", ctypes.c_ulonglong),
                    ("avail_page", ctypes.c_ulonglong), ("total_virtual", ctypes.c_ulonglong),
                    ("avail_virtual", ctypes.c_ulonglong), ("avail_ext", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.length = ctypes.sizeof(MemoryStatus)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.avail_phys)
    except (AttributeError, OSError):
        pass
    return None


def default_n_ctx(info: ModelInfo, kv_cache_type: str = "f16", *, free_bytes: int | None = None) -> int:
    """The context to allocate when the user does not choose one (see DEFAULT_CTX_CAP)."""
    free = free_bytes if free_bytes is not None else available_memory()
    budget = max((free if free is not None else FALLBACK_FREE_BYTES) - info.file_size, 0) * KV_SHARE_OF_FREE
    top = min(info.context_length, DEFAULT_CTX_CAP)
    floor = min(info.context_length, MIN_DEFAULT_CTX)
    candidates = [top] + [1 << b for b in range(top.bit_length() - 1, 0, -1) if floor <= 1 << b < top]
    return next((n for n in candidates if kv_cache_bytes(info, n, kv_cache_type) <= budget), floor)


def prefill_batch(info: ModelInfo, *, gpu: bool = False) -> int:
    """Tokens per prompt-evaluation batch for this model (see PREFILL_BATCHES)."""
    if gpu:
        return GPU_PREFILL_BATCH
    return next(tokens for limit, tokens in PREFILL_BATCHES if info.parameter_count <= limit)


def does_not_fit(n_prompt: int, max_new_tokens: int, n_ctx: int, trained: int, *, chat: bool) -> GenerationError:
    """The one sentence every caller (CLI, app, API, server) gives for a prompt that does not fit the context."""
    room = n_ctx - n_prompt
    fix = f"lower max_new_tokens to {room}" if room > 0 else "shorten the prompt"
    if n_ctx < trained:
        fix += f", or load the model with a larger context (n_ctx / --n-ctx, up to {trained})"
    if chat:
        fix += ", or let the oldest turns go (truncate='oldest' / --truncate-history)"
    return GenerationError(f"the prompt ({n_prompt} tokens) plus max_new_tokens ({max_new_tokens}) "
                           f"does not fit the {n_ctx}-token context; {fix}")
