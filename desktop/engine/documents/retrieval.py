"""A document too long for the context: split into chunks that never cross a page or section (so each one
cites exactly), indexed with BM25 (bm25s), and the best chunks found for each question.

Korean is agglutinative (조사 and 어미 glue onto words: 계약서의, 계약서를), so whole words match badly.
Two tokenizers are offered, both measured in ``bench/bench_documents.py``: character bigrams inside each
Hangul/CJK word plus whole Latin words and numbers (``bigrams``, no dependency: the default) and Kiwi's
morphemes (``kiwi``, needs kiwipiepy and its model, about 105 MB).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .model import Document, DocumentError

CHUNK_CHARS = 1200  # about 300-600 tokens of Korean or English text
OVERLAP_CHARS = 150
TOP_K = 5

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)
_HAN = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3\u3040-\u30ff\u4e00-\u9fff]")
_BREAK = re.compile(r"\n\s*\n|\n|(?<=[.!?。다요])\s+")


@dataclass(frozen=True)
class Chunk:
    label: str  # "p. 12", "section 3"
    unit: int  # the page or section number
    text: str


def chunk_document(document: Document, chunk_chars: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """Chunks of at most about ``chunk_chars`` characters, cut at paragraph or sentence ends where possible,
    each within one page or section, overlapping by ``overlap`` characters inside a unit."""
    chunks: list[Chunk] = []
    for unit in document.units:
        text = unit.text.strip()
        start = 0
        while start < len(text):
            end = min(len(text), start + chunk_chars)
            if end < len(text):
                cuts = [m.end() for m in _BREAK.finditer(text, start + chunk_chars // 2, end)]
                if cuts:
                    end = cuts[-1]
            piece = text[start:end].strip()
            if piece:
                chunks.append(Chunk(unit.label, unit.number, piece))
            if end >= len(text):
                break
            start = max(end - overlap, start + 1)
    return chunks


def bigram_tokens(text: str) -> list[str]:
    """Whole Latin words and numbers (lower-cased), and the character bigrams of each Hangul/CJK word (a
    one-character word is kept whole)."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _HAN.search(word):
            out += [word] if len(word) == 1 else [word[i:i + 2] for i in range(len(word) - 1)]
        else:
            out.append(word)
    return out


KIWI_TAGS = ("NN", "NR", "NP", "VV", "VA", "XR", "SL", "SN", "SH", "MAG")


@lru_cache(maxsize=1)
def _kiwi() -> object:
    import importlib

    try:  # optional (the test extra has it): measured against bigrams, not shipped with the app
        Kiwi = importlib.import_module("kiwipiepy").Kiwi  # noqa: N806
    except ImportError:
        raise DocumentError("the kiwi tokenizer needs kiwipiepy; pip install kiwipiepy, or use the bigram "
                            "tokenizer") from None
    return Kiwi()


_kiwi_lock = threading.Lock()


def kiwi_tokens(text: str) -> list[str]:
    """Kiwi's content morphemes (nouns, verb and adjective stems, roots, Latin words, numbers), lower-cased."""
    kiwi = _kiwi()
    with _kiwi_lock:
        tokens = kiwi.tokenize(text)  # type: ignore[attr-defined]
    return [t.form.lower() for t in tokens if t.tag.startswith(KIWI_TAGS)]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"bigrams": bigram_tokens, "kiwi": kiwi_tokens}
DEFAULT_TOKENIZER = "bigrams"


class DocumentIndex:
    """BM25 over a document's chunks; ``search(question)`` gives the best chunks, best first."""

    def __init__(self, chunks: Sequence[Chunk], tokenizer: str = DEFAULT_TOKENIZER) -> None:
        import bm25s

        if tokenizer not in TOKENIZERS:
            raise DocumentError(f"unknown tokenizer {tokenizer!r}; use one of {sorted(TOKENIZERS)}")
        self.chunks = list(chunks)
        self.tokenize = TOKENIZERS[tokenizer]
        corpus = [self.tokenize(c.text) or ["\u2205"] for c in self.chunks]
        self._vocab: dict[str, int] = {}
        ids = [[self._vocab.setdefault(t, len(self._vocab)) for t in doc] for doc in corpus]
        self._bm25 = bm25s.BM25(csc_backend="numpy")  # no scipy: the bundled app leaves it out
        if self.chunks:
            self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=self._vocab), show_progress=False)

    @classmethod
    def of(cls, document: Document, tokenizer: str = DEFAULT_TOKENIZER) -> DocumentIndex:
        return cls(chunk_document(document), tokenizer)

    def search(self, question: str, k: int = TOP_K) -> list[Chunk]:
        """The ``k`` chunks that best match ``question`` (fewer when fewer match any of its words)."""
        query = [self._vocab[t] for t in self.tokenize(question) if t in self._vocab]
        if not query or not self.chunks:
            return []
        k = min(k, len(self.chunks))
        found, scores = self._bm25.retrieve([query], k=k, show_progress=False, n_threads=1)
        return [self.chunks[int(i)] for i, s in zip(found[0], scores[0], strict=True) if s > 0]
