"""The ``exaone-generate`` command: a thin CLI over the engine's generators and the pipeline.

``generate`` parses the command line and prints the reply (``main`` is the entry point); ``setting_flags`` makes
one flag per row of the settings table; ``engines`` loads the local or cloud engine a command asks for; ``errors``
turns every failure into one line and an exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engine.lazy import by_module, lazy_face

if TYPE_CHECKING:
    from .generate import main

_LAZY: dict[str, str] = by_module({".generate": ("main",)})

__all__ = ["main"]

__getattr__, __dir__ = lazy_face(__name__, _LAZY, __all__)
