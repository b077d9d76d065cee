"""Generated token bytes -> text, as it streams: whole UTF-8 characters only, stop strings cut, reasoning split.

Order of the stages, per token:
1. bytes go through an incremental UTF-8 decoder (a character split over tokens waits for its end),
   then, for tokenizers whose transformers decode() does it, through ``SpaceCleaner`` (" ." -> ".");
2. stop strings are searched in the decoded text; text that could still be the start of a stop string
   is held back until the next token rules it out (so a stop string is never streamed);
3. released text goes through the ReasoningSplitter (when the model has reasoning tags), which
   sends ``("reasoning" | "answer", text)`` pieces to ``emit``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from typing import Literal

from .templates import ReasoningSplitter

Kind = Literal["answer", "reasoning"]
Emit = Callable[[Kind, str], None]


# transformers' clean_up_tokenization, in its order: (what, replacement).
CLEAN_UPS: tuple[tuple[str, str], ...] = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
    (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)


def clean_up_tokenization(text: str) -> str:
    """transformers' ``clean_up_tokenization``: the spaces a word-piece tokenizer put before punctuation."""
    for what, replacement in CLEAN_UPS:
        text = text.replace(what, replacement)
    return text


class SpaceCleaner:
    """Streaming ``clean_up_tokenization``: the whole text is cleaned again as it grows, and only the part that
    later text can no longer change (all but the last ``HOLD`` characters) is released, so the pieces always
    add up to ``clean_up_tokenization`` of the whole."""

    HOLD = 8  # twice the longest pattern: a replacement near the end never reaches further back

    def __init__(self) -> None:
        self._raw = ""
        self._released = 0

    def feed(self, text: str) -> str:
        self._raw += text
        cleaned = clean_up_tokenization(self._raw)
        upto = max(self._released, len(cleaned) - self.HOLD)
        out, self._released = cleaned[self._released: upto], upto
        return out

    def flush(self) -> str:
        cleaned = clean_up_tokenization(self._raw)
        out, self._released = cleaned[self._released:], len(cleaned)
        return out


def _held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest end of ``text`` that is a proper start of some stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


class TextAssembler:
    """One sequence's text; ``add`` token bytes, then ``finish``; read ``answer`` and ``reasoning``."""

    def __init__(
        self,
        stops: Sequence[str] = (),
        tags: tuple[str, str] | None = None,
        *,
        starts_inside: bool = False,
        emit: Emit | None = None,
        clean_up_spaces: bool = False,
    ) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._cleaner = SpaceCleaner() if clean_up_spaces else None
        self._stops = [s for s in stops if s]
        self._longest_stop = max((len(s) for s in self._stops), default=0)
        self._splitter = ReasoningSplitter(*tags, starts_inside=starts_inside) if tags else None
        self._emit = emit
        self.raw = ""  # everything decoded so far (reasoning and tags included), cut at a stop string
        self._released = 0
        self._searched = 0
        self.answer = ""
        self._reasoning = ""
        self.stopped = False

    @property
    def reasoning(self) -> str | None:
        """The reasoning text, or None when the model has no reasoning tags or did not reason."""
        if self._splitter is None or not self._splitter.saw_reasoning:
            return None
        return self._reasoning

    def add(self, piece: bytes) -> bool:
        """Feed one token's bytes; True when a stop string completed (the text is cut before it)."""
        if self.stopped:
            return True
        text = self._decoder.decode(piece)
        self.raw += self._cleaner.feed(text) if self._cleaner is not None else text
        if self._cut_at_stop():
            return True
        self._release(len(self.raw) - _held_back(self.raw, self._stops))
        return False

    def finish(self) -> None:
        """End of the sequence: release everything still held back."""
        if not self.stopped:
            text = self._decoder.decode(b"", final=True)
            self.raw += self._cleaner.feed(text) + self._cleaner.flush() if self._cleaner is not None else text
            self._cut_at_stop()
        self._release(len(self.raw))
        if self._splitter is not None:
            for kind, text in self._splitter.flush():
                self._deliver(kind, text)

    def _cut_at_stop(self) -> bool:
        start = max(0, self._searched - self._longest_stop + 1)
        self._searched = len(self.raw)
        hits = [i for i in (self.raw.find(s, start) for s in self._stops) if i >= 0]
        if not hits:
            return False
        self.raw = self.raw[: min(hits)]
        self.stopped = True
        self._release(len(self.raw))
        return True

    def _release(self, upto: int) -> None:
        if upto <= self._released:
            return
        text, self._released = self.raw[self._released: upto], upto
        if self._splitter is None:
            self._deliver("answer", text)
            return
        for kind, part in self._splitter.feed(text):
            self._deliver(kind, part)

    def _deliver(self, kind: Kind, text: str) -> None:
        if not text:
            return
        if kind == "reasoning":
            self._reasoning += text
        else:
            self.answer += text
        if self._emit is not None:
            self._emit(kind, text)
