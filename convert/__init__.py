"""EXAONE checkpoints from the Hugging Face Hub to GGUF (installed as ``exaone_convert``)."""

__all__ = ["ConversionError"]

from .errors import ConversionError
