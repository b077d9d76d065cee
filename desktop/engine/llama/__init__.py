"""The llama.cpp runtime: a GGUF loaded, checked, decoded and sampled, in this process or in a worker process.

``LocalGenerator`` (``local``) runs the decode loop; ``BatchGenerator`` (``batch``) decodes several requests per
step; ``WorkerGenerator`` (``worker`` and ``worker_child``) puts either in a child process. Beside them: the
bounded GGUF check (``gguf_check``), context sizing (``context``), saved conversation states (``prompt_cache``),
images through mtmd (``vision``), speculative decoding (``speculative``; its drafts come from ``draft_sources``
and their length from ``draft_length``), the compute backend (``backend``), and llama.cpp's loading and
logging (``load``, ``logs``). Everything here loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import by_module, lazy_face

if TYPE_CHECKING:
    from .backend import detect_backend
    from .batch import BatchGenerator
    from .context import default_n_ctx, kv_cache_bytes
    from .crash import WorkerCrashed
    from .gguf_check import ModelInfo, inspect_gguf
    from .local import LocalGenerator
    from .prompt_cache import StateCache
    from .vision import IMAGE_MARKER, find_mmproj, load_image
    from .worker import WorkerGenerator

_LAZY: dict[str, str] = by_module({  # the modules of the TYPE_CHECKING imports, loaded on first use
    ".backend": ("detect_backend",),
    ".batch": ("BatchGenerator",),
    ".context": ("default_n_ctx", "kv_cache_bytes"),
    ".crash": ("WorkerCrashed",),
    ".gguf_check": ("ModelInfo", "inspect_gguf"),
    ".local": ("LocalGenerator",),
    ".prompt_cache": ("StateCache",),
    ".vision": ("IMAGE_MARKER", "find_mmproj", "load_image"),
    ".worker": ("WorkerGenerator",),
})

__all__ = [
    "BatchGenerator", "IMAGE_MARKER", "LocalGenerator", "ModelInfo", "StateCache", "WorkerCrashed",
    "WorkerGenerator", "default_n_ctx", "detect_backend", "find_mmproj", "inspect_gguf", "kv_cache_bytes",
    "load_image",
]

__getattr__, __dir__ = lazy_face(__name__, _LAZY, __all__)
