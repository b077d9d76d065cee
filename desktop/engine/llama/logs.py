"""Where llama.cpp's and mtmd's log lines go: warnings and errors to standard error, everything when verbose.

llama.cpp and its multimodal library (mtmd, with the clip vision encoder) each keep their own log callback;
mtmd's default prints every line (``clip_encode``, ``add_text``...) whatever llama-cpp-python's ``verbose``
says. ``install`` points both at one filter. The levels are ggml.h's as vendored by llama-cpp-python 0.3.36
(its own ``_logger.py`` comment still shows an older numbering, with errors at 3).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import llama_cpp

GGML_LOG_LEVEL_WARN = 3
GGML_LOG_LEVEL_ERROR = 4
GGML_LOG_LEVEL_CONT = 5  # continues the previous line's level
SHOWN_LEVELS = frozenset({GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR})

_alive: dict[str, Any] = {}  # the installed callbacks: llama.cpp keeps only a pointer to them
_policy: list[bool] = []  # set by install(): the process's choice, which mtmd then follows too


def callback(verbose: bool) -> Any:
    """A ggml log callback that writes warnings and errors (every line when ``verbose``) to descriptor 2."""
    state = {"level": 0}

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level != GGML_LOG_LEVEL_CONT:
            state["level"] = level
        if text and (verbose or state["level"] in SHOWN_LEVELS):
            try:
                os.write(2, text)
            except OSError:
                pass

    return on_log


def install(verbose: bool) -> None:
    """Route llama.cpp's log through the filter (for the whole process); mtmd's follows when it loads."""
    _policy[:] = [verbose]
    _alive["llama"] = cb = callback(verbose)
    llama_cpp.llama_log_set(cb, ctypes.c_void_p(0))


def install_mtmd(verbose: bool) -> None:
    """Route mtmd's and its helpers' log (the vision encoder) through the filter (for the whole process):
    ``verbose`` unless ``install`` chose for the process (the model worker does, from its load settings)."""
    from llama_cpp import mtmd_cpp as mtmd

    _alive["mtmd"] = cb = callback(_policy[0] if _policy else verbose)
    mtmd.mtmd_log_set(cb, ctypes.c_void_p(0))
    mtmd.mtmd_helper_log_set(cb, ctypes.c_void_p(0))
