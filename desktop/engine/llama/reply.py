"""One reply being generated, token by token: what ``LocalGenerator`` and ``BatchGenerator`` share.

``ReplyVocabulary`` is the model's side (computed once per loaded model): the bytes each token shows, the
reasoning tags, and the tokens that end a reply. ``Reply`` is one sequence: each ``take`` draws the next
token from the logits (``TokenSampler``, transformers' order), adds its text (stop strings, reasoning split,
``TextAssembler``) and says whether the reply ends there. The generators only decide when to evaluate the
drawn token (one sequence per ``llama_decode``, or many in one batch).
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Sequence
from typing import Any

import llama_cpp
import numpy as np
from exaone_convert import families

from ..chat.templates import reasoning_tags
from ..chat.textstream import Kind, TextAssembler
from ..sampling.sampler import TokenSampler
from ..settings import GenerationSettings
from ..types import Completion, DamagedModel, FinishReason, StreamCallback, StreamEvent
from .gguf_check import ModelInfo


def token_piece(vocab: Any, token: int, *, special: bool) -> bytes:
    """The bytes llama.cpp shows for ``token``; ``special`` renders control tokens (the reasoning tags)."""
    buf = ctypes.create_string_buffer(64)
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    return buf.raw[:n]


def single_token_ids(vocab: Any, texts: Sequence[str]) -> set[int]:
    """Ids of the ``texts`` that are one token each (control tokens included)."""
    ids = set()
    buf = (llama_cpp.llama_token * 8)()
    for text in texts:
        data = text.encode("utf-8")
        if llama_cpp.llama_tokenize(vocab, data, len(data), buf, len(buf), False, True) == 1:
            ids.add(int(buf[0]))
    return ids


def damaged_message(model: str, position: int) -> str:
    """The one line a damaged model file ends generation with (``position``: tokens generated before)."""
    return (f"{model} gives NaN or infinite logits (at generated token {position + 1}): the file's weights are "
            "damaged; re-download it, or convert it again with exaone-convert")


class ReplyVocabulary:
    """A loaded model's vocabulary as replies see it."""

    def __init__(self, vocab: Any, info: ModelInfo) -> None:
        self.vocab = vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.tags = reasoning_tags(info.architecture, info.chat_template)
        self._tag_ids = single_token_ids(vocab, self.tags or ())
        family = families.family_by_key(info.family) or families.family_for_gguf_arch(info.architecture,
                                                                                        info.chat_template)
        # The family's own end tokens (EXAONE 4.5 / K-EXAONE: <|endofturn|> and [EOS]) end a reply too.
        self.end_ids = frozenset(single_token_ids(vocab, family.end_of_generation if family else ()))
        self._pieces: dict[int, bytes] = {}
        self._eog: frozenset[int] | None = None

    def piece(self, token: int) -> bytes:
        """The token's bytes as transformers' decode(skip_special_tokens=True) shows them (the reasoning tags
        rendered, other control tokens not)."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = token_piece(self.vocab, token, special=token in self._tag_ids)
        return piece

    def end_of_generation_ids(self) -> frozenset[int]:
        """Every token llama.cpp counts as an end (EOS, EOT, PAD ...): once a grammar is complete it allows
        only these, so any of them ends a constrained reply."""
        if self._eog is None:
            self._eog = frozenset(i for i in range(self.n_vocab) if llama_cpp.llama_vocab_is_eog(self.vocab, i))
        return self._eog

    def reply(self, info: ModelInfo, prompt_ids: list[int], sampler: TokenSampler, settings: GenerationSettings, *,
              starts_inside: bool, on_event: StreamCallback | None, index: int, constrained: bool) -> Reply:
        """Reply number ``index`` to ``prompt_ids`` (``sampler`` restarts on them), streamed to ``on_event`` and
        ended by ``info``'s EOS ids; ``constrained``: a grammar is on, so any end-of-generation token ends it
        too."""
        sampler.start(prompt_ids)
        emit = None
        if on_event is not None:
            def emit(kind: Kind, piece: str) -> None:
                on_event(StreamEvent(index=index, text=piece, kind=kind))

        text = TextAssembler(settings.stop, self.tags, starts_inside=starts_inside, emit=emit,
                             clean_up_spaces=info.clean_up_spaces)
        eos = frozenset(info.eos_token_ids) | self.end_ids
        ends = eos | self.end_of_generation_ids() if constrained else eos
        return Reply(sampler, text, ends, self.piece, settings.max_new_tokens, model=info.path.name)


class Reply:
    """One sequence being generated; made by ``ReplyVocabulary.reply``."""

    def __init__(self, sampler: TokenSampler, text: TextAssembler, ends: frozenset[int],
                 piece: Callable[[int], bytes], max_new_tokens: int, *, model: str = "the model") -> None:
        self.tokens: list[int] = []
        self._sampler, self._text, self._ends, self._piece = sampler, text, ends, piece
        self._max = max_new_tokens
        self._model = model

    @property
    def room(self) -> bool:
        """Whether another token may be drawn (``max_new_tokens`` not reached)."""
        return len(self.tokens) < self._max

    def take(self, logits: np.ndarray) -> FinishReason | None:
        """Draw the next token from ``logits`` and record it: "stop" (an end token or a stop string), "length"
        (``max_new_tokens`` reached), or None when the reply goes on (evaluate ``tokens[-1]`` next).

        Raises DamagedModel when the logits are not finite (NaN, infinity, or values whose squares overflow
        float32: far beyond any real logit): damaged weights, which would otherwise give an empty or repeating
        reply. The check is one dot product of the row with itself (about as cheap as greedy's argmax)."""
        if not math.isfinite(float(np.dot(logits, logits))):
            raise DamagedModel(damaged_message(self._model, len(self.tokens)))
        token = self._sampler.sample(logits)
        self._sampler.accept(token)
        self.tokens.append(token)
        if token in self._ends or self._text.add(self._piece(token)):
            return "stop"
        return None if self.room else "length"

    def record(self, token: int) -> FinishReason | None:
        """Record a token chosen outside ``take`` (a draft model's token that verification kept or drew): the
        same bookkeeping and the same answer as ``take`` gives for it."""
        self._sampler.accept(token)
        self.tokens.append(token)
        if token in self._ends or self._text.add(self._piece(token)):
            return "stop"
        return None if self.room else "length"

    def finish(self, reason: FinishReason) -> Completion:
        self._text.finish()
        return Completion(text=self._text.answer, token_ids=self.tokens, finish_reason=reason,
                          reasoning=self._text.reasoning)
