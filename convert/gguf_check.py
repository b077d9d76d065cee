"""Is a file a readable GGUF of an architecture we support, and which quantization is it?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConversionError

SUPPORTED_ARCHITECTURES = ("exaone", "exaone4")


@dataclass(frozen=True)
class GGUFSummary:
    path: Path
    architecture: str
    quant: str          # e.g. "Q4_K_M", "BF16" (from general.file_type)
    n_tensors: int
    n_elements: int     # weights in all tensors

    def describe(self) -> str:
        return f"{self.path.name}: {self.architecture}, {self.quant}, {self.n_tensors} tensors"


def _field_value(reader: object, key: str) -> object | None:
    field = reader.fields.get(key)  # type: ignore[attr-defined]
    if field is None:
        return None
    return field.contents()


def inspect_gguf(path: Path, *, architectures: tuple[str, ...] = SUPPORTED_ARCHITECTURES) -> GGUFSummary:
    """Read the header of ``path``; ConversionError if it is corrupt or of another architecture."""
    from gguf import GGUFReader, LlamaFileType

    if not path.is_file():
        raise ConversionError(f"{path} does not exist; check the path")
    try:
        reader = GGUFReader(path, "r")
        arch = _field_value(reader, "general.architecture")
        ftype = _field_value(reader, "general.file_type")
        tensors = reader.tensors
    except Exception as err:  # the reader raises ValueError, struct and numpy errors on bad bytes
        raise ConversionError(f"{path} is not a valid GGUF file ({type(err).__name__}); "
                              "delete it and download or convert it again") from None
    if arch not in architectures:
        raise ConversionError(f"{path} is a GGUF of architecture {arch!r}, not EXAONE "
                              f"({', '.join(architectures)}); pick an EXAONE GGUF")
    quant = _quant_name(LlamaFileType, ftype)
    return GGUFSummary(path, str(arch), quant, len(tensors), sum(int(t.n_elements) for t in tensors))


def _quant_name(file_types: type, ftype: object) -> str:
    """``general.file_type`` as llama.cpp names it (``MOSTLY_Q4_K_M`` -> ``Q4_K_M``)."""
    if not isinstance(ftype, int):
        return "unknown"
    try:
        return str(file_types(ftype).name).removeprefix("MOSTLY_")
    except ValueError:
        return f"file_type {ftype}"
