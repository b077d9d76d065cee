"""Output types (``exaone-convert --outtype``, the app's convert and quantize lists) and output file names.

One ``OutType`` row per type, used from the command line (or the app) down to the writer and the
quantizer. Direct types are written by our own writer from the checkpoint; quantized types are made by
llama.cpp's quantizer (``llama_ftype``) from a direct intermediate (``via``). q8_0 is both: written
directly from a checkpoint, or quantized from an f32/f16/bf16 GGUF.

gguf-free: the enum members are kept by name and looked up on use, so the app can read this table
(and name files) at start-up without importing gguf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gguf import GGMLQuantizationType, LlamaFileType


@dataclass(frozen=True)
class OutType:
    name: str  # lower case, as --outtype takes it
    file_type_name: str  # gguf LlamaFileType member: general.file_type
    tensor_type_name: str | None  # direct types: the gguf GGMLQuantizationType of 2-D weights
    via: str | None = None  # quantized types: the direct type they are made from
    llama_ftype: str | None = None  # types llama.cpp's quantizer makes: the llama_cpp LLAMA_FTYPE_* constant
    bits_per_weight: float = 32.0  # roughly, for the free-space checks

    @property
    def label(self) -> str:
        """The type as it appears in file names and messages: ``Q4_K_M``."""
        return self.name.upper()

    @property
    def file_type(self) -> LlamaFileType:
        from gguf import LlamaFileType

        return LlamaFileType[self.file_type_name]

    @property
    def tensor_type(self) -> GGMLQuantizationType | None:
        from gguf import GGMLQuantizationType

        return None if self.tensor_type_name is None else GGMLQuantizationType[self.tensor_type_name]

    @property
    def unquantized(self) -> bool:
        """f32, f16, bf16: the weights as the checkpoint has them (up to rounding), nothing to quantize against."""
        return self.tensor_type_name in ("F32", "F16", "BF16")

    @property
    def quantizable(self) -> bool:
        """llama.cpp's quantizer can make this type from an f32/f16/bf16 GGUF."""
        return self.llama_ftype is not None


OUTTYPES: dict[str, OutType] = {
    t.name: t
    for t in (
        OutType("q4_k_m", "MOSTLY_Q4_K_M", None, "bf16", "LLAMA_FTYPE_MOSTLY_Q4_K_M", 4.9),
        OutType("q5_k_m", "MOSTLY_Q5_K_M", None, "bf16", "LLAMA_FTYPE_MOSTLY_Q5_K_M", 5.7),
        OutType("q6_k", "MOSTLY_Q6_K", None, "bf16", "LLAMA_FTYPE_MOSTLY_Q6_K", 6.6),
        OutType("q8_0", "MOSTLY_Q8_0", "Q8_0", None, "LLAMA_FTYPE_MOSTLY_Q8_0", 8.5),
        OutType("iq4_xs", "MOSTLY_IQ4_XS", None, "bf16", "LLAMA_FTYPE_MOSTLY_IQ4_XS", 4.5),
        OutType("q4_0", "MOSTLY_Q4_0", None, "bf16", "LLAMA_FTYPE_MOSTLY_Q4_0", 4.6),
        OutType("f16", "MOSTLY_F16", "F16", bits_per_weight=16),
        OutType("bf16", "MOSTLY_BF16", "BF16", bits_per_weight=16),
        OutType("f32", "ALL_F32", "F32", bits_per_weight=32),
    )
}  # fmt: skip

DEFAULT_OUTTYPE = "q4_k_m"
# The types llama.cpp's quantizer makes, by name (the app's quantize list, in the table's order).
QUANTIZABLE: tuple[str, ...] = tuple(name for name, t in OUTTYPES.items() if t.quantizable)


def get_outtype(outtype: str | OutType) -> OutType:
    """The row for ``outtype`` (a name in any case, or a row already); ConversionError names the choices."""
    if isinstance(outtype, OutType):
        return outtype
    from .errors import ConversionError

    try:
        return OUTTYPES[outtype.lower()]
    except KeyError:
        raise ConversionError(
            f"unsupported output type {outtype!r}; choose one of: {', '.join(OUTTYPES)}"
        ) from None


_TYPE_SUFFIX = re.compile(r"[-_.](" + "|".join(sorted(OUTTYPES, key=len, reverse=True)) + r")$", re.IGNORECASE)


def model_stem(source: str | Path) -> str:
    """A file-name-safe model name from a Hub id, a folder or a GGUF path, without a type or ``-GGUF`` suffix.

    ``LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct-GGUF`` -> ``EXAONE-3.5-2.4B-Instruct``;
    ``models/EXAONE-4.0-1.2B-BF16.gguf`` -> ``EXAONE-4.0-1.2B``.
    """
    name = Path(str(source).rstrip("/\\")).name
    if name.lower().endswith(".gguf"):
        name = name[: -len(".gguf")]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    name = re.sub(r"-GGUF$", "", name, flags=re.IGNORECASE)
    name = _TYPE_SUFFIX.sub("", name)
    return name or "model"


def output_path(source: str | Path, outtype: str | OutType, folder: Path | None = None) -> Path:
    """Where a model of ``outtype`` made from ``source`` goes: ``FOLDER/<model>-<TYPE>.gguf``.

    The one naming rule for converted, quantized and downloaded files, from the CLI and from the app.
    ``outtype`` may also be an official GGUF file's quant name (``Q4_K_M``, ``IQ4_XS``).
    """
    label = outtype.label if isinstance(outtype, OutType) else outtype.upper()
    name = f"{model_stem(source)}-{label}.gguf"
    return Path(name) if folder is None else folder / name
