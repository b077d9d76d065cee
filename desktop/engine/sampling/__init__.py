"""Sampling with transformers' semantics: the token sampler (``sampler``) and structured output (``grammar``).

``TokenSampler`` applies the repetition penalty, temperature, top-k, top-p and min-p in transformers' order, in
numpy; ``grammar`` turns JSON schemas and OpenAI ``response_format`` into llama.cpp grammars that mask tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import by_module, lazy_face

if TYPE_CHECKING:
    from .grammar import GrammarError, grammar_for_response_format, grammar_for_schema
    from .sampler import GrammarRejected, TokenSampler

_LAZY: dict[str, str] = by_module({  # the modules of the TYPE_CHECKING imports, loaded on first use
    ".grammar": ("GrammarError", "grammar_for_response_format", "grammar_for_schema"),
    ".sampler": ("GrammarRejected", "TokenSampler"),
})

__all__ = [
    "GrammarError", "GrammarRejected", "TokenSampler", "grammar_for_response_format", "grammar_for_schema",
]

__getattr__, __dir__ = lazy_face(__name__, _LAZY, __all__)
