"""The grammar side of ``TokenSampler``: llama.cpp's grammar sampler asked which tokens may come next, narrowed
to the tokens that keep the text valid UTF-8."""

from __future__ import annotations

import codecs
import ctypes
from typing import Any

import llama_cpp
import numpy as np

# Mirrors llama_token_data {int32 id; float logit; float p;} (12 bytes, no padding).
TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
assert TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)


class GrammarRejected(RuntimeError):
    """The grammar allows no token here (or was handed a token it forbids)."""



class GrammarMask:
    """What ``TokenSampler`` needs of a grammar (mixed in; ``_init_grammar`` sets it up)."""

    n_vocab: int
    _grammar: Any = None
    _masked: np.ndarray | None = None
    _candidates: np.ndarray | None = None

    def _init_grammar(self, grammar: str, vocab: Any) -> None:
        self._grammar = _make_grammar(grammar, vocab)
        self._vocab = vocab
        self._candidates = np.zeros(self.n_vocab, dtype=TOKEN_DATA)
        self._masked = np.empty(self.n_vocab, dtype=np.float32)
        self._piece_checked = np.zeros(self.n_vocab, dtype=bool)
        self._never_utf8 = np.zeros(self.n_vocab, dtype=bool)
        self._pieces: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()  # the text so far, for partial characters

    def _allowed(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` the grammar allows next (llama.cpp sets the others' logit to -inf)."""
        assert self._candidates is not None
        buf = self._candidates[: len(ids)]
        buf["id"] = ids
        buf["logit"] = 0.0
        buf["p"] = 0.0
        arr = llama_cpp.llama_token_data_array(buf.ctypes.data_as(llama_cpp.llama_token_data_p), len(ids), -1, False)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(arr))
        if arr.size != len(ids) or ctypes.cast(arr.data, ctypes.c_void_p).value != buf.ctypes.data:
            raise RuntimeError("llama.cpp's grammar sampler changed the candidate buffer")
        return self._utf8_ok(ids, buf["logit"] > -np.inf)

    def _utf8_ok(self, ids: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """``allowed`` narrowed to the tokens that keep the text valid UTF-8.

        llama.cpp's grammar decodes UTF-8 loosely: it lets F5-FF, overlong forms and code points above
        U+10FFFF into strings, and the reply would not decode. With no partial character pending this is a
        fixed property of each token (checked once per id, on first sight); inside a partial character,
        the few tokens the grammar allows (those starting with continuation bytes) are checked one by one.
        """
        pending = self._utf8.getstate()[0]
        if not pending:
            new = ids[~self._piece_checked[ids]]
            for token in new.tolist():
                self._never_utf8[token] = not _decodes(b"", self._piece(token))
            self._piece_checked[new] = True
            return allowed & ~self._never_utf8[ids]
        allowed = allowed.copy()
        for i in np.flatnonzero(allowed).tolist():
            token = int(ids[i])
            allowed[i] = not llama_cpp.llama_vocab_is_eog(self._vocab, token) and _decodes(pending, self._piece(token))
        return allowed

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            size = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece_buf, len(self._piece_buf), 0, False)
            piece = self._pieces[token] = self._piece_buf.raw[: max(size, 0)]
        return piece

    def _mask_all(self, z: np.ndarray) -> np.ndarray:
        assert self._masked is not None
        masked = self._masked
        masked[:] = z
        masked[~self._allowed(np.arange(self.n_vocab))] = -np.inf
        if masked.max() == -np.inf:
            raise GrammarRejected("the grammar allows no token here")
        return masked


def _decodes(pending: bytes, piece: bytes) -> bool:
    """Whether ``pending + piece`` is valid UTF-8 so far (an unfinished last character is fine)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(pending + piece, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _make_grammar(grammar: str, vocab: Any) -> Any:
    from .grammar import GrammarError

    if vocab is None:
        raise ValueError("a grammar needs the model's vocab (llama_cpp.llama_model_get_vocab(model))")
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        raise GrammarError("llama.cpp could not parse the grammar (its log names the rule); "
                           "check the GBNF text or the JSON schema it came from")
    return sampler
