"""Token ids -> text with control tokens shown (``<tool_call>`` is one in EXAONE 4's vocabulary).

The generator's text hides control tokens, as transformers' ``decode(skip_special_tokens=True)`` does;
tool calls are read from the same tokens with them shown. Only the vocabulary is loaded
(llama.cpp's ``vocab_only``), once, on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path

import llama_cpp


class SpecialText:
    def __init__(self, model_path: str | Path) -> None:
        self.path = Path(model_path)
        self._llm: llama_cpp.Llama | None = None
        self._lock = threading.Lock()

    def _vocab(self) -> llama_cpp.Llama:
        with self._lock:
            if self._llm is None:
                self._llm = llama_cpp.Llama(str(self.path), vocab_only=True, verbose=False)
            return self._llm

    def text(self, token_ids: list[int]) -> str:
        """The tokens' text with control tokens shown, end-of-generation tokens (EOS, PAD ...) left out."""
        llm = self._vocab()
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        kept = [t for t in token_ids if not llama_cpp.llama_vocab_is_eog(vocab, t)]
        return llm.detokenize(kept, special=True).decode("utf-8", errors="replace") if kept else ""
