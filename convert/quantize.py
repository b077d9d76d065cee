"""Quantize a GGUF with llama.cpp's own quantizer (``llama_cpp.llama_model_quantize``).

The quantizer runs in a child process (``python -c``; a multiprocessing child in a frozen app): its
per-tensor log lines give the progress, its error lines the message, and a cancel kills it for real.
It writes a partial file next to the destination (``files.atomic_path``) that is fsynced and renamed into
place only when complete.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import files
from .errors import ConversionError
from .gguf_check import inspect_gguf
from .outtypes import OUTTYPES, QUANTIZABLE, OutType
from .writer import check_free_space, conversion_error

# The output types llama.cpp's quantizer makes, by name (rows of the converter's OUTTYPES table).
QUANT_TYPES: dict[str, OutType] = {name: OUTTYPES[name] for name in QUANTIZABLE}
_POLL_S = 0.1
_TENSOR_LINE = re.compile(rb"\[\s*(\d+)/\s*(\d+)\]")


def quantize_gguf(
    src: Path,
    dst: Path,
    outtype: str | OutType,
    *,
    threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Quantize ``src`` (an f32/f16/bf16 GGUF) to ``dst`` as ``outtype``; returns ``dst``."""
    name = outtype.name if isinstance(outtype, OutType) else outtype.lower()
    qtype = QUANT_TYPES.get(name)
    if qtype is None or qtype.llama_ftype is None:
        raise ConversionError(f"cannot quantize to {name!r}; choose one of: {', '.join(QUANT_TYPES)}")
    if threads is not None and threads < 1:
        raise ConversionError(f"--threads must be at least 1 (got {threads})")
    summary = inspect_gguf(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    files.remove_stale_partials(dst.parent)  # a killed run's partial file must not count against the space
    needed = int(summary.parameter_count * qtype.bits_per_weight / 8) + (16 << 20)
    check_free_space(dst.parent, needed, flag="--outfile on a bigger disk")
    try:
        with files.atomic_path(dst) as tmp:
            _run_child(src, tmp, qtype.llama_ftype, threads or 0, progress, cancel)
    except ConversionError:
        raise
    except OSError as err:
        raise conversion_error(err, dst) from None
    if progress is not None:
        progress(1.0)
    return dst


def _run_child(src: Path, tmp: Path, ftype: str, threads: int,
               progress: Callable[[float], None] | None, cancel: threading.Event | None) -> None:
    messages: queue.Queue[tuple[str, Any]] = queue.Queue()
    worker = _start_worker([str(src), str(tmp), ftype, str(threads)], messages)
    result: tuple[int, str] | None = None
    try:
        while result is None:
            if cancel is not None and cancel.is_set():
                raise ConversionError("quantization cancelled; no output file was written")
            try:
                kind, payload = messages.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "progress" and progress is not None:
                progress(min(float(payload), 0.99))
            elif kind == "done":
                result = (int(payload[0]), str(payload[1]))
            elif kind == "eof":
                break
    finally:
        exit_code, stderr_tail = worker.stop(kill=result is None)
    if result is None:
        raise ConversionError(f"llama.cpp's quantizer stopped unexpectedly (exit code {exit_code}"
                              f"{': ' + stderr_tail if stderr_tail else ''}); check free memory and disk "
                              "space, then run again")
    rc, log = result
    if rc != 0:
        raise ConversionError(_failure_message(src, ftype, log, tmp.parent))


class _Worker:
    """The quantizer process: a plain ``python -c`` child, or a multiprocessing child when frozen."""

    def __init__(self, proc: Any, stderr: Any) -> None:
        self.proc, self.stderr = proc, stderr

    def stop(self, *, kill: bool) -> tuple[int | None, str]:
        if isinstance(self.proc, subprocess.Popen):
            if kill and self.proc.poll() is None:
                self.proc.kill()
            code = self.proc.wait()
        else:
            if kill and self.proc.is_alive():
                self.proc.kill()
            self.proc.join()
            code = self.proc.exitcode
        tail = ""
        if self.stderr is not None:
            self.stderr.seek(0)
            lines = [ln for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            tail = lines[-1] if lines else ""
            self.stderr.close()
        return code, tail


def _start_worker(argv: list[str], messages: queue.Queue[tuple[str, Any]]) -> _Worker:
    if getattr(sys, "frozen", False):
        # A frozen app has no Python to run -c with; its entry point calls multiprocessing.freeze_support().
        ctx = multiprocessing.get_context("spawn")
        parent_end, child_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child_main, args=(*argv, child_end.send), daemon=True)
        proc.start()
        child_end.close()
        _pump(lambda: parent_end.recv(), messages)
        return _Worker(proc, None)
    stderr = tempfile.TemporaryFile()
    popen = subprocess.Popen([sys.executable, "-c", _CHILD_CODE, *argv], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=stderr)
    assert popen.stdout is not None
    out = popen.stdout

    def read_line() -> tuple[str, Any]:
        line = out.readline()
        if not line:
            raise EOFError
        kind, payload = json.loads(line)
        return kind, payload

    _pump(read_line, messages)
    return _Worker(popen, stderr)


def _pump(read: Callable[[], tuple[str, Any]], messages: queue.Queue[tuple[str, Any]]) -> None:
    def run() -> None:
        while True:
            try:
                messages.put(read())
            except (EOFError, OSError, ValueError):
                messages.put(("eof", None))
                return

    threading.Thread(target=run, daemon=True).start()


_CHILD_CODE = (
    "import json, sys\n"
    "from exaone_convert.quantize import _child_main\n"
    "def send(msg):\n"
    "    sys.stdout.write(json.dumps(msg) + '\\n'); sys.stdout.flush()\n"
    "_child_main(*sys.argv[1:5], send)\n"
)


def _failure_message(src: Path, ftype: str, log: str, folder: Path) -> str:
    detail = " ".join(log.split()) or "no details"
    if "failbit" in detail or "iostream" in detail:
        return (f"writing the quantized file failed in {folder} ({detail}); check free disk space "
                "and write permission")
    name = ftype.removeprefix("LLAMA_FTYPE_MOSTLY_")
    return f"llama.cpp could not quantize {src.name} to {name}: {detail}; try another --outtype"


def _child_main(src: str, tmp: str, ftype: str, threads: str, send: Callable[[Any], None]) -> None:
    """Runs in the child process: quantize, sending per-tensor progress and the result with ``send``."""
    import ctypes

    import llama_cpp

    errors: list[str] = []

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        match = _TENSOR_LINE.search(text or b"")
        if match is not None:
            done, total = int(match.group(1)), int(match.group(2))
            with contextlib.suppress(OSError):
                send(("progress", (done - 1) / max(total, 1)))
        if level == 3:  # GGML_LOG_LEVEL_ERROR
            errors.append((text or b"").decode("utf-8", "replace"))

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    params.nthread = int(threads)
    rc = llama_cpp.llama_model_quantize(src.encode(), tmp.encode(), ctypes.byref(params))
    send(("done", (rc, "".join(errors))))
