"""EXAONE checkpoints from the Hugging Face Hub to GGUF (installed as ``exaone_convert``).

The names below are what the app (and any other caller) may use; everything else is internal. Importing
the package is cheap: the names that need gguf, numpy or llama.cpp (conversion, quantization, downloads,
the GGUF check) are loaded on first use, so the app's window shows before any of them is imported.

``exaone_convert.synthetic`` (imported by name, outside this face) writes random-weight EXAONE checkpoints
in the real Hugging Face layout for tests and benchmarks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import families
from .errors import ConversionError
from .families import FAMILIES, Family, GGUFRepo, draft_repo_for, official_gguf_repos
from .files import (
    NotEnoughSpace,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_free_space,
    format_size,
    remove_stale_partials,
)
from .gguf_keys import SAMPLING_KEYS
from .outtypes import DEFAULT_OUTTYPE, OUTTYPES, QUANTIZABLE, OutType, get_outtype, model_stem, output_path

if TYPE_CHECKING:
    from .convert import convert_checkpoint
    from .errors import DownloadCancelled, VerifyStopped  # --verify stopped after the outputs were written
    from .gguf_check import (
        MAX_LAYERS,
        SUPPORTED_ARCHITECTURES,
        InvalidGGUF,
        MmprojInfo,
        ModelInfo,
        inspect_gguf,
        inspect_mmproj,  # a vision projector (mmproj) and its model
    )
    from .hub import (
        download_gguf_file,
        is_mmproj_file,  # a vision projector's file name (mmproj-*)
        list_gguf_sizes,  # an official repo's GGUF files and their sizes
        listed_files,  # that repo's table row with the listing's files and sizes
        quant_of,
        resolve_checkpoint,
    )
    from .mmproj import convert_mmproj
    from .pipeline import ConvertRequest, ConvertResult
    from .pipeline import convert as convert_model  # the whole job: source -> GGUF -> quantized -> verified
    from .quantize import quantize_gguf
    from .resume import PartialDownload, discard_partial, find_partials  # paused downloads (download_gguf_file resumes)
    from .writer import ConversionCancelled

# Public name -> (module, name there), imported on first access: the TYPE_CHECKING imports, module by module.
_LAZY: dict[str, tuple[str, str]] = {"convert_model": (".pipeline", "convert")} | {
    name: (module, name) for module, names in {
        ".convert": ("convert_checkpoint",),
        ".errors": ("DownloadCancelled", "VerifyStopped"),
        ".gguf_check": ("MAX_LAYERS", "SUPPORTED_ARCHITECTURES", "InvalidGGUF", "MmprojInfo", "ModelInfo",
                        "inspect_gguf", "inspect_mmproj"),
        ".hub": ("download_gguf_file", "is_mmproj_file", "list_gguf_sizes", "listed_files", "quant_of",
                 "resolve_checkpoint"),
        ".mmproj": ("convert_mmproj",),
        ".pipeline": ("ConvertRequest", "ConvertResult"),
        ".quantize": ("quantize_gguf",),
        ".resume": ("PartialDownload", "discard_partial", "find_partials"),
        ".writer": ("ConversionCancelled",),
    }.items() for name in names
}

__all__ = [
    # errors
    "ConversionCancelled", "ConversionError", "InvalidGGUF", "NotEnoughSpace", "VerifyStopped",
    # converting, quantizing, downloading
    "ConvertRequest", "ConvertResult", "convert_checkpoint", "convert_mmproj", "convert_model", "download_gguf_file",
    "list_gguf_sizes", "listed_files", "quant_of", "quantize_gguf", "resolve_checkpoint",
    # paused downloads
    "DownloadCancelled", "PartialDownload", "discard_partial", "find_partials", "is_mmproj_file",
    # output types and file names
    "DEFAULT_OUTTYPE", "OUTTYPES", "QUANTIZABLE", "OutType", "get_outtype", "model_stem", "output_path",
    # the EXAONE family table
    "FAMILIES", "Family", "GGUFRepo", "draft_repo_for", "families", "official_gguf_repos",
    # inspecting a GGUF
    "MAX_LAYERS", "SAMPLING_KEYS", "SUPPORTED_ARCHITECTURES", "ModelInfo", "inspect_gguf",
    "MmprojInfo", "inspect_mmproj",
    # writing files whole, checking free space
    "atomic_path", "atomic_write_bytes", "atomic_write_text", "check_free_space", "format_size",
    "remove_stale_partials",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
