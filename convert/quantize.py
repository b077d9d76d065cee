"""Quantize a GGUF with llama.cpp's own quantizer (``llama_cpp.llama_model_quantize``).

The quantizer runs in a child process: its per-tensor log lines give the progress, its error lines
the message, and a cancel can stop it for real. It writes a temp file next to the destination that
is fsynced and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from .errors import ConversionError
from .gguf_check import inspect_gguf


@dataclass(frozen=True)
class QuantType:
    ftype: str      # llama_cpp constant passed as llama_model_quantize_params.ftype
    bpw: float      # rough bits per weight of the result, for the free-space check


QUANT_TYPES: dict[str, QuantType] = {
    "q8_0": QuantType("LLAMA_FTYPE_MOSTLY_Q8_0", 8.5),
    "q6_k": QuantType("LLAMA_FTYPE_MOSTLY_Q6_K", 6.6),
    "q5_k_m": QuantType("LLAMA_FTYPE_MOSTLY_Q5_K_M", 5.7),
    "q4_k_m": QuantType("LLAMA_FTYPE_MOSTLY_Q4_K_M", 4.9),
    "iq4_xs": QuantType("LLAMA_FTYPE_MOSTLY_IQ4_XS", 4.5),
    "q4_0": QuantType("LLAMA_FTYPE_MOSTLY_Q4_0", 4.6),
}
_POLL_S = 0.1
_TENSOR_LINE = re.compile(rb"\[\s*(\d+)/\s*(\d+)\]")


def quantize_gguf(
    src: Path,
    dst: Path,
    outtype: str,
    *,
    threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Quantize ``src`` (an f32/f16/bf16 GGUF) to ``dst`` as ``outtype``; returns ``dst``."""
    qtype = QUANT_TYPES.get(outtype.lower())
    if qtype is None:
        raise ConversionError(f"cannot quantize to {outtype!r}; choose one of: {', '.join(QUANT_TYPES)}")
    if threads is not None and threads < 1:
        raise ConversionError(f"--threads must be at least 1 (got {threads})")
    summary = inspect_gguf(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    _check_free_space(dst.parent, int(summary.n_elements * qtype.bpw / 8) + (16 << 20))
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    try:
        _run_child(src, tmp, qtype.ftype, threads or 0, progress, cancel)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    if progress is not None:
        progress(1.0)
    return dst


def _check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ConversionError(f"not enough disk space in {folder}: the quantized file needs about "
                              f"{needed / 2**20:.0f} MiB, {free / 2**20:.0f} MiB are free; free some space "
                              "or pass --outfile on a bigger disk")


def _run_child(src: Path, tmp: Path, ftype: str, threads: int,
               progress: Callable[[float], None] | None, cancel: threading.Event | None) -> None:
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(str(src), str(tmp), ftype, threads, child_end), daemon=True)
    proc.start()
    child_end.close()
    result: tuple[int, str] | None = None
    try:
        while result is None:
            if cancel is not None and cancel.is_set():
                raise ConversionError("quantization cancelled; no output file was written")
            if parent_end.poll(_POLL_S):
                try:
                    kind, *payload = parent_end.recv()
                except EOFError:
                    break
                if kind == "progress" and progress is not None:
                    progress(min(float(payload[0]), 0.99))
                elif kind == "done":
                    result = (int(payload[0]), str(payload[1]))
            elif not proc.is_alive() and not parent_end.poll():
                break
    finally:
        if proc.is_alive() and result is None:
            proc.terminate()
        proc.join()
        parent_end.close()
    if result is None:
        raise ConversionError(f"llama.cpp's quantizer stopped unexpectedly (exit code {proc.exitcode}); "
                              "check free memory and disk space, then run again")
    rc, log = result
    if rc != 0:
        raise ConversionError(_failure_message(src, ftype, log, tmp.parent))


def _failure_message(src: Path, ftype: str, log: str, folder: Path) -> str:
    detail = " ".join(log.split()) or "no details"
    if "failbit" in detail or "iostream" in detail:
        return (f"writing the quantized file failed in {folder} ({detail}); check free disk space "
                "and write permission")
    name = ftype.removeprefix("LLAMA_FTYPE_MOSTLY_")
    return f"llama.cpp could not quantize {src.name} to {name}: {detail}; try another --outtype"


def _child_main(src: str, tmp: str, ftype: str, threads: int, conn: Connection) -> None:
    """Runs in the child process: quantize, streaming per-tensor progress and error text to ``conn``."""
    import ctypes

    import llama_cpp

    errors: list[str] = []

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        match = _TENSOR_LINE.search(text or b"")
        if match is not None:
            done, total = int(match.group(1)), int(match.group(2))
            with contextlib.suppress(OSError):
                conn.send(("progress", (done - 1) / max(total, 1)))
        if level == 3:  # GGML_LOG_LEVEL_ERROR
            errors.append((text or b"").decode("utf-8", "replace"))

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(src.encode(), tmp.encode(), ctypes.byref(params))
    conn.send(("done", rc, "".join(errors)))
    conn.close()
