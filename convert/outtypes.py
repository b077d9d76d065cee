"""Output types of ``exaone-convert --outtype``, as data.

Direct types are written by our own writer from the checkpoint; quantized types are made by
llama.cpp's quantizer from a direct intermediate (``via``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gguf import GGMLQuantizationType, LlamaFileType


@dataclass(frozen=True)
class OutType:
    name: str
    file_type: LlamaFileType          # general.file_type
    tensor_type: GGMLQuantizationType | None  # direct types: the type of 2-D weights
    via: str | None = None            # quantized types: the direct type they are made from
    llama_ftype: str | None = None    # quantized types: llama_cpp constant for llama_model_quantize


OUTTYPES: dict[str, OutType] = {
    t.name: t
    for t in (
        OutType("f32", LlamaFileType.ALL_F32, GGMLQuantizationType.F32),
        OutType("f16", LlamaFileType.MOSTLY_F16, GGMLQuantizationType.F16),
        OutType("bf16", LlamaFileType.MOSTLY_BF16, GGMLQuantizationType.BF16),
        OutType("q8_0", LlamaFileType.MOSTLY_Q8_0, GGMLQuantizationType.Q8_0),
        OutType("q6_k", LlamaFileType.MOSTLY_Q6_K, None, "bf16", "LLAMA_FTYPE_MOSTLY_Q6_K"),
        OutType("q5_k_m", LlamaFileType.MOSTLY_Q5_K_M, None, "bf16", "LLAMA_FTYPE_MOSTLY_Q5_K_M"),
        OutType("q4_k_m", LlamaFileType.MOSTLY_Q4_K_M, None, "bf16", "LLAMA_FTYPE_MOSTLY_Q4_K_M"),
        OutType("iq4_xs", LlamaFileType.MOSTLY_IQ4_XS, None, "bf16", "LLAMA_FTYPE_MOSTLY_IQ4_XS"),
        OutType("q4_0", LlamaFileType.MOSTLY_Q4_0, None, "bf16", "LLAMA_FTYPE_MOSTLY_Q4_0"),
    )
}

DEFAULT_OUTTYPE = "q4_k_m"


def get_outtype(name: str) -> OutType:
    from .errors import ConversionError

    try:
        return OUTTYPES[name.lower()]
    except KeyError:
        raise ConversionError(
            f"unsupported output type {name!r}; choose one of: {', '.join(OUTTYPES)}"
        ) from None
