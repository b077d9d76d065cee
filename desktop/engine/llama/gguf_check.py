"""The engine's view of exaone_convert's bounded GGUF check: the same check, raising GenerationError."""

from __future__ import annotations

from pathlib import Path

from exaone_convert import MAX_LAYERS, SUPPORTED_ARCHITECTURES, InvalidGGUF, ModelInfo
from exaone_convert import inspect_gguf as _inspect

from ..types import GenerationError

__all__ = ["MAX_LAYERS", "SUPPORTED_ARCHITECTURES", "ModelInfo", "inspect_gguf"]


def inspect_gguf(path: str | Path, *, check_tensors: bool = False) -> ModelInfo:
    """Validate a GGUF's header with explicit bounds before llama.cpp sees it (``check_tensors``: its weights
    too); GenerationError if unusable."""
    try:
        return _inspect(path, check_tensors=check_tensors)
    except InvalidGGUF as err:
        raise GenerationError(str(err)) from None
