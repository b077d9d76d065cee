"""Which compute backend llama.cpp really uses: "cpu", "metal" or "cuda", found at run time.

How: llama-cpp-python's wheel decides the backends at build time (``CMAKE_ARGS="-DGGML_CUDA=on"``,
Metal on Apple Silicon by default). At run time we ask the loaded library:
1. ``llama_supports_gpu_offload()`` -- false means a CPU-only build, whatever else is installed;
2. ggml's device registry (``ggml_backend_dev_count/get/type`` and ``ggml_backend_reg_name`` from the
   bundled ``libggml``): the registry name of the first GPU device ("CUDA", "Metal") names the backend;
3. if those symbols cannot be reached, ``llama_print_system_info()``, which lists each compiled backend.
Layers are offloaded only when ``n_gpu_layers != 0``, so a GPU build with ``n_gpu_layers=0`` reports "cpu".
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import llama_cpp

from ..types import Backend

# ggml registry name -> our backend name (HIP builds expose the CUDA API under the name "ROCm").
REGISTRY_BACKENDS: Mapping[str, Backend] = {"CUDA": "cuda", "ROCm": "cuda", "Metal": "metal", "MTL": "metal"}
_GPU_DEVICE_TYPES = (1, 2)  # GGML_BACKEND_DEVICE_TYPE_GPU, _IGPU
_LIB_NAMES = {"linux": ("libggml.so", "libggml-base.so"), "darwin": ("libggml.dylib", "libggml-base.dylib"),
              "win32": ("ggml.dll", "ggml-base.dll")}


def _ggml_libraries() -> list[ctypes.CDLL]:
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    names = _LIB_NAMES.get(sys.platform, _LIB_NAMES["linux"])
    return [ctypes.CDLL(str(lib_dir / name)) for name in names if (lib_dir / name).exists()]


def _symbol(libs: list[ctypes.CDLL], name: str) -> Any:
    for lib in libs:
        func = getattr(lib, name, None)
        if func is not None:
            return func
    raise LookupError(name)


def gpu_registries() -> list[str]:
    """Registry names ("CUDA", "Metal", ...) of the GPU devices ggml has registered."""
    libs = _ggml_libraries()
    count = _symbol(libs, "ggml_backend_dev_count")
    count.restype = ctypes.c_size_t
    get = _symbol(libs, "ggml_backend_dev_get")
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    dev_type = _symbol(libs, "ggml_backend_dev_type")
    dev_type.restype, dev_type.argtypes = ctypes.c_int, [ctypes.c_void_p]
    dev_reg = _symbol(libs, "ggml_backend_dev_backend_reg")
    dev_reg.restype, dev_reg.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    reg_name = _symbol(libs, "ggml_backend_reg_name")
    reg_name.restype, reg_name.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    names = []
    for i in range(count()):
        dev = get(i)
        if dev and dev_type(dev) in _GPU_DEVICE_TYPES:
            names.append((reg_name(dev_reg(dev)) or b"").decode("utf-8", "replace"))
    return names


def _from_system_info() -> Backend:
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    for name, backend in REGISTRY_BACKENDS.items():
        if f"{name} :" in info or f"{name}:" in info:
            return backend
    return "cpu"


@lru_cache(maxsize=1)
def gpu_backend() -> Backend:
    """The GPU backend this llama.cpp build offloads to, or "cpu" when it has none."""
    if not llama_cpp.llama_supports_gpu_offload():
        return "cpu"
    try:
        registries = gpu_registries()
    except (OSError, LookupError):
        return _from_system_info()
    for name in registries:
        if name in REGISTRY_BACKENDS:
            return REGISTRY_BACKENDS[name]
    return _from_system_info()


def detect_backend(n_gpu_layers: int) -> Backend:
    """What a model loaded with ``n_gpu_layers`` runs on."""
    return "cpu" if n_gpu_layers == 0 else gpu_backend()
