"""Damaged weights found before a model runs: NaN, infinite or absurdly large values in a GGUF's tensors.

A damaged download or a broken quantization leaves a file whose header is fine but whose weights make every
logit NaN. ``check_tensor_data`` reads every tensor once and names the first damaged one:

- float tensors (F32, F16, BF16) are scanned here with numpy, a slice at a time from the memory-mapped file:
  NaN, infinity, or a magnitude above ``HUGE`` (finite, but far beyond any trained weight; its square
  overflows float32 in the first norm, so the model computes NaN all the same);
- quantized tensors go through llama.cpp's own check (the model parameter ``check_tensors``, which validates
  every block's scales on load), in a child process: llama.cpp prints what it finds on stderr, and a file
  malformed enough aborts the process that loads it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType

HUGE = 1e10  # |weight| above this is damage: trained weights stay within a few thousand
SLICE_VALUES = 4 << 20  # values per numpy pass (16 MB of f32)
CHECK_TIMEOUT_S = 3600.0
_FLOATS: dict[GGMLQuantizationType, type[np.generic]] = {
    GGMLQuantizationType.F32: np.float32, GGMLQuantizationType.F16: np.float16, GGMLQuantizationType.BF16: np.uint16}
_INVALID = re.compile(r"tensor '([^']+)' has invalid data")
_FOUND = re.compile(r"ggml_validate_row_data: found ([^\n]*)")

# llama.cpp's loader with check_tensors on; exit 0 when every tensor is valid, 3 when the load failed.
_LLAMA_CHECK = (
    "import json, sys\n"
    "sys.path[:0] = json.loads(sys.argv[2])\n"
    "import llama_cpp\n"
    "p = llama_cpp.llama_model_default_params()\n"
    "p.check_tensors = True\n"
    "p.n_gpu_layers = 0\n"
    "m = llama_cpp.llama_model_load_from_file(sys.argv[1].encode('utf-8'), p)\n"
    "sys.exit(3 if not m else 0)\n"
)


class DamagedTensor(Exception):
    """One damaged tensor: ``str(err)`` says which and how (the caller adds the file and the fix)."""


def check_tensor_data(path: Path, tensors: list[tuple[str, tuple[int, ...], GGMLQuantizationType, int, int]],
                      data_start: int) -> None:
    """Raise DamagedTensor naming the first damaged tensor of ``path``.

    ``tensors`` are (name, dims, type, offset in the data section, bytes) as the header check reads them."""
    quantized = False
    for name, _dims, qtype, offset, nbytes in tensors:
        if qtype not in _FLOATS:
            quantized = True
            continue
        problem = _float_problem(path, qtype, data_start + offset, nbytes)
        if problem:
            raise DamagedTensor(f"tensor {name!r} holds {problem}")
    if quantized:
        _llama_check(path)


def _slices(path: Path, dtype: type[np.generic], start: int, nbytes: int) -> Iterator[np.ndarray]:
    n = nbytes // np.dtype(dtype).itemsize
    if n == 0:
        return
    values = np.memmap(path, dtype=dtype, mode="r", offset=start, shape=(n,))
    for i in range(0, n, SLICE_VALUES):
        yield values[i:i + SLICE_VALUES]


def _float_problem(path: Path, qtype: GGMLQuantizationType, start: int, nbytes: int) -> str:
    """"" when the float tensor is sound, else what is wrong with it ("NaN values", ...)."""
    for part in _slices(path, _FLOATS[qtype], start, nbytes):
        if qtype == GGMLQuantizationType.BF16:
            part = (part.astype(np.uint32) << 16).view(np.float32)
        values = part.astype(np.float32, copy=False)
        if np.isnan(values).any():
            return "NaN values"
        if np.isinf(values).any():
            return "infinite values"
        if (np.abs(values) > HUGE).any():
            return f"values of magnitude {float(np.abs(values).max()):.3g} (above {HUGE:.0e}, no trained weight is)"
    return ""


def _llama_check(path: Path) -> None:
    """llama.cpp's check_tensors over the file (in a child process); DamagedTensor naming what it found."""
    if getattr(sys, "frozen", False):  # a frozen app has no interpreter to start: check in this process
        import llama_cpp

        params = llama_cpp.llama_model_default_params()
        params.check_tensors, params.n_gpu_layers = True, 0
        model = llama_cpp.llama_model_load_from_file(str(path).encode("utf-8"), params)
        if not model:
            raise DamagedTensor("a tensor holds NaN or infinite values (llama.cpp's tensor check)")
        llama_cpp.llama_model_free(model)
        return
    where = json.dumps([p for p in sys.path if isinstance(p, str) and p])
    try:
        proc = subprocess.run([sys.executable, "-c", _LLAMA_CHECK, str(path), where], capture_output=True,
                              text=True, errors="replace", timeout=CHECK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DamagedTensor(f"llama.cpp's tensor check could not run ({err})") from None
    if proc.returncode == 0:
        return
    names = _INVALID.findall(proc.stderr)
    found = (m.group(1).lower() if (m := _FOUND.search(proc.stderr)) else "")
    what = "NaN values" if "nan" in found else "infinite values" if "inf" in found else "invalid values"
    if names:
        raise DamagedTensor(f"tensor {names[0]!r} holds {what} (llama.cpp's tensor check)")
    raise DamagedTensor(f"llama.cpp's tensor check could not load it (exit code {proc.returncode})")
