"""The KV-cache estimate (``context.kv_cache_bytes``) against what llama.cpp allocates, for every family whose
rows give sliding-window attention: EXAONE 4.0 / 4.5 at 64 layers, K-EXAONE at any depth.

llama.cpp names each cache it creates in its log (``llama_kv_cache: size = ... (N cells, L layers, ...)``):
the test reads those lines from a real load of a tiny checkpoint of each family and compares cells x layers
with the estimate's, then the bytes with what the context's state holds once the context is full.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path
from typing import Any

import llama_cpp
import pytest
from exaone_convert import families
from exaone_desktop.engine.llama import logs as llama_logs
from exaone_desktop.engine.llama.context import CELL_PAD, kv_cache_bytes, sliding_window
from exaone_desktop.engine.llama.gguf_check import inspect_gguf

from tests.support.generation_models import tiny_gguf

CACHE_LINE = re.compile(r"llama_kv_cache: size = +([\d.]+) MiB \( *(\d+) cells, +(\d+) layers")
N_CTX = 1024
N_UBATCH = 32


def allocated_caches(path: Path) -> list[tuple[float, int, int]]:
    """(MiB, cells, layers) of each KV cache llama.cpp creates for the context, as its log says."""
    text: list[str] = []

    @llama_cpp.llama_log_callback
    def on_log(_level: int, chunk: bytes, _user: ctypes.c_void_p) -> None:
        text.append(chunk.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    try:
        llm = llama_cpp.Llama(str(path), n_ctx=N_CTX, n_batch=N_UBATCH, n_ubatch=N_UBATCH, n_threads=1,
                              swa_full=False, verbose=True)
    finally:
        llama_logs.install(False)
    llm.close()
    return [(float(mib), int(c), int(n)) for mib, c, n in CACHE_LINE.findall("".join(text))]


@pytest.mark.parametrize("kind", ["exaone4_hybrid64", "exaone4_5_hybrid64", "exaone_moe"])
def test_estimate_is_what_llama_cpp_allocates(kind: str, tiny_checkpoint: Any) -> None:
    path = tiny_gguf(kind, tiny_checkpoint)
    info = inspect_gguf(path)
    window, n_swa = sliding_window(info)
    layers = info.n_layers - info.mtp_layers  # llama.cpp gives the MTP layers no cache in a chat context
    assert window > 0 and 0 < n_swa < layers  # the family row turns the window on
    caches = allocated_caches(path)
    swa_cells = -(-min(N_CTX, window + N_UBATCH) // CELL_PAD) * CELL_PAD
    # one cache for the global layers (the whole context), one for the sliding layers (window + one batch)
    assert sorted((cells, layers) for _, cells, layers in caches) == sorted(
        [(N_CTX, layers - n_swa), (swa_cells, n_swa)])
    per_cell = info.head_count_kv * (info.key_length + info.value_length) * 2  # f16 K and V
    estimate = kv_cache_bytes(info, N_CTX, n_ubatch=N_UBATCH)
    assert estimate == per_cell * sum(cells * layers for _, cells, layers in caches)
    assert abs(estimate / 2**20 - sum(mib for mib, _, _ in caches)) <= 0.005 * len(caches)  # the log's rounding
    full = per_cell * N_CTX * layers
    assert estimate < full  # the windows are counted


def test_the_rows_say_which_layers_slide() -> None:
    k_exaone, exaone4 = families.family_by_key("k_exaone"), families.family_by_key("exaone4")
    # K-EXAONE: llama.cpp's default period 4 at any depth, the GGUF's window and pattern when it has them
    assert families.sliding_layers(k_exaone, 8) == (128, (True, True, True, False) * 2)
    assert families.sliding_layers(k_exaone, 4, 64, (True, False, True, False)) == (64, (True, False, True, False))
    assert families.sliding_layers(k_exaone, 4, 64, 2) == (64, (True, False) * 2)
    # EXAONE 4.0 / 4.5: only 64 layers run a window (4096 tokens unless the GGUF says)
    assert families.sliding_layers(exaone4, 30, 4096) == (0, ())
    window, flags = families.sliding_layers(exaone4, 64)
    assert window == 4096 and sum(flags) == 48
    assert families.sliding_layers(families.family_by_key("exaone3"), 64, 4096) == (0, ())
