"""Where drafts come from: prompt lookup (transformers' ``prompt_lookup_num_tokens``: n-grams of the prompt
and the reply so far) and a draft model (transformers' ``assistant_model``: a second, smaller GGUF with the
target's tokenizer, refused in one line otherwise, sampling under the same settings)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import llama_cpp
import numpy as np

from ..sampling.sampler import TokenSampler, sequence_seed
from ..settings import GenerationSettings
from ..types import GenerationError
from .gguf_check import ModelInfo, inspect_gguf
from .kv_cache import LLAMA_DECODE_ABORTED, AbortOnStop
from .load import chat_templates_not_compiled
from .prompt_cache import common_prefix

# transformers' defaults (GenerationConfig / PromptLookupCandidateGenerator)
DEFAULT_LOOKUP_TOKENS = 10  # what "on"/"auto" draft by lookup when prompt_lookup_num_tokens is unset
MAX_MATCHING_NGRAM = 2  # max_matching_ngram_size's default
LONG_MATCH = 6  # tokens of context that must agree with where lookup copies from for a "long" match


@dataclass
class Draft:
    """Proposed tokens; ``q``: the draft model's processed distribution at each (None: deterministic)."""

    tokens: list[int]
    q: list[np.ndarray] | None = None
    match: int = 0  # prompt lookup: tokens of context that agree with where the draft was copied from


class DraftSource(Protocol):
    """Proposes tokens after the prompt and the reply so far (the last reply token is not evaluated yet)."""

    kind: str  # "lookup", "model" or a benchmark's own: the acceptance is measured per kind
    cheap: bool  # proposing costs next to nothing: "auto" looks at the draft before choosing its length

    def begin(self, prompt_ids: Sequence[int], settings: GenerationSettings, seed: int, index: int) -> None:
        """A new reply to ``prompt_ids`` (sequence ``index`` of a request seeded with ``seed``)."""

    def propose(self, reply_tokens: Sequence[int], n: int) -> Draft:
        """At most ``n`` tokens that may follow ``prompt + reply_tokens``."""


def lookup(ids: np.ndarray, n: int, max_ngram: int = MAX_MATCHING_NGRAM) -> np.ndarray:
    """transformers' prompt lookup: for the last ``max_ngram`` ... 1 tokens of ``ids``, the earliest earlier
    occurrence with a continuation gives the up to ``n`` tokens that followed it (empty when none matches)."""
    return lookup_match(ids, n, max_ngram)[0]


def lookup_match(ids: np.ndarray, n: int, max_ngram: int = MAX_MATCHING_NGRAM,
                 longest: int = 4 * LONG_MATCH) -> tuple[np.ndarray, int]:
    """``lookup``, and how many tokens before the end of ``ids`` agree with those before the continuation it
    copies (the n-gram and as far back as it goes on agreeing, at most ``longest``; 0 when nothing matched)."""
    length = len(ids)
    for size in range(min(max_ngram, length - 1), 0, -1):
        tail = ids[length - size:]
        starts = length - size  # windows starting at 0 .. length - size - 1 have at least one token after them
        hit = ids[:starts] == tail[0]
        for j in range(1, size):
            hit &= ids[j: starts + j] == tail[j]
        first = int(np.argmax(hit)) if starts else 0
        if starts and hit[first]:
            back = min(longest - size, first)
            before, mine = ids[first - back: first][::-1], ids[length - size - back: length - size][::-1]
            differs = np.flatnonzero(before != mine)
            return ids[first + size: first + size + n], size + (int(differs[0]) if len(differs) else back)
    return ids[:0], 0


class PromptLookup:
    """Drafts by n-gram lookup in the prompt and the reply so far (transformers' ``prompt_lookup_num_tokens``),
    cut before the first end token, as transformers does."""

    kind = "lookup"
    cheap = True

    def __init__(self, ends: frozenset[int], max_ngram: int = MAX_MATCHING_NGRAM) -> None:
        self.max_ngram = max_ngram
        self._ends = np.fromiter(ends, dtype=np.int32) if ends else np.zeros(0, dtype=np.int32)
        self._ids = np.zeros(0, dtype=np.int32)
        self._n_prompt = 0
        self._size = 0

    def begin(self, prompt_ids: Sequence[int], settings: GenerationSettings, seed: int, index: int) -> None:
        self._ids = np.array(list(prompt_ids) + [0] * 256, dtype=np.int32)
        self._n_prompt = self._size = len(prompt_ids)

    def propose(self, reply_tokens: Sequence[int], n: int) -> Draft:
        want = self._n_prompt + len(reply_tokens)
        if want > len(self._ids):
            self._ids = np.resize(self._ids, 2 * want)
        if want > self._size:
            self._ids[self._size: want] = reply_tokens[self._size - self._n_prompt:]
        self._size = want
        found, match = lookup_match(self._ids[:want], n, self.max_ngram)
        if len(self._ends) and len(found):
            at = np.flatnonzero(np.isin(found, self._ends))
            if len(at):
                found = found[: at[0]]
        return Draft(found.tolist(), match=match)


# -- the draft model --------------------------------------------------------------------------------

def _vocab_texts(vocab: Any) -> list[bytes]:
    n = int(llama_cpp.llama_vocab_n_tokens(vocab))
    return [llama_cpp.llama_vocab_get_text(vocab, i) or b"" for i in range(n)]


def _special_ids(vocab: Any) -> dict[str, int]:
    names = ("bos", "eos", "eot", "sep", "nl", "pad")
    return {name: int(getattr(llama_cpp, f"llama_vocab_{name}")(vocab)) for name in names}


def tokenizer_difference(target: Any, target_info: ModelInfo, draft: Any, draft_info: ModelInfo) -> str | None:
    """None when the two vocabularies have the same token strings and special ids, else what differs."""
    n_target, n_draft = (int(llama_cpp.llama_vocab_n_tokens(v)) for v in (target, draft))
    if n_target != n_draft:
        return f"{n_draft} tokens against the model's {n_target}"
    for name, (a, b) in {k: (v, _special_ids(draft)[k]) for k, v in _special_ids(target).items()}.items():
        if a != b:
            return f"its {name} token is id {b}, the model's is id {a}"
    ends, own = sorted(target_info.eos_token_ids), sorted(draft_info.eos_token_ids)
    if ends != own:
        return f"its end tokens are {own}, the model's are {ends}"
    for i, (mine, theirs) in enumerate(zip(_vocab_texts(target), _vocab_texts(draft), strict=True)):
        if mine != theirs:
            return (f"token {i} is {theirs.decode('utf-8', 'replace')!r} there and "
                    f"{mine.decode('utf-8', 'replace')!r} here")
    return None


class DraftSampler(TokenSampler):
    """The draft model's sampler: the target's settings, its own random stream, and a history that can be set
    to any context (drafts that were refused leave the penalties' counts)."""

    def rebase(self, prompt_ids: Sequence[int], generated: Sequence[int]) -> None:
        if self._history is not None:
            self._history.clear()
            self._history.extend([*prompt_ids, *generated])
        if self._generated is not None:
            self._generated.clear()
            self._generated.extend(generated)


class DraftModel:
    """A second, smaller GGUF with the target's tokenizer, loaded beside it (transformers' ``assistant_model``).

    Its KV cache (seq 0 of its own context) follows the target's text: each proposal rolls it back to the
    longest prefix it shares with the prompt and the reply, evaluates the rest, then drafts token by token.
    A sliding-window draft model whose window moved past the rollback point is evaluated again from the start
    (llama.cpp cannot bring back the positions its window dropped).
    """

    kind = "model"
    cheap = False

    def __init__(self, path: str | Path, target_vocab: Any, target_info: ModelInfo, *, n_ctx: int, n_batch: int,
                 n_threads: int | None, n_gpu_layers: int, verbose: bool) -> None:
        self._sampler: DraftSampler | None = None
        path = Path(path)
        if not path.is_file():
            raise GenerationError(f"assistant_model file not found: {path}; give the path of a smaller GGUF of "
                                  "the same family")
        self.info = inspect_gguf(path)
        try:
            with chat_templates_not_compiled():
                self._llm: llama_cpp.Llama | None = llama_cpp.Llama(
                    str(path), n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch, n_threads=n_threads,
                    n_threads_batch=n_threads, n_gpu_layers=n_gpu_layers, logits_all=False, swa_full=False,
                    verbose=verbose)
        except (ValueError, RuntimeError, OSError) as err:
            raise GenerationError(f"llama.cpp could not load the assistant_model {path.name} ({err}); "
                                  "convert it again with exaone-convert") from None
        self._ctx = self._llm._ctx.ctx
        vocab = self._llm._model.vocab
        differs = tokenizer_difference(target_vocab, target_info, vocab, self.info)
        if differs is not None:
            self.close()
            raise GenerationError(f"assistant_model {path.name} has another tokenizer than {target_info.path.name} "
                                  f"({differs}); use a draft model of the same family")
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.n_batch = n_batch
        self._n_swa = int(llama_cpp.llama_model_n_swa(self._llm._model.model))
        self._held: list[int] = []
        self._prompt: list[int] = []
        self._rng = np.random.default_rng(0)
        self._abort = AbortOnStop(self._ctx)  # Stop inside _catch_up's batches
        self.decode_seconds = 0.0  # time spent in the draft's llama_decode (the cost model reads it)
        self.decodes = 0

    def begin(self, prompt_ids: Sequence[int], settings: GenerationSettings, seed: int, index: int) -> None:
        own = sequence_seed(seed, index)
        if self._sampler is not None:
            self._sampler.close()
        self._sampler = DraftSampler(settings.replace(seed=own ^ 0x5EC0DE, num_return_sequences=1), self.n_vocab,
                                     history_size=int(llama_cpp.llama_n_ctx(self._ctx)))
        self._rng = np.random.default_rng([own, 0xD2AF7])
        self._prompt = list(prompt_ids)

    def propose(self, reply_tokens: Sequence[int], n: int, cancel: threading.Event | None = None) -> Draft:
        """As ``DraftSource.propose``; ``cancel`` (Stop) ends the evaluation of the context between batches and,
        through llama.cpp's abort callback, inside one: the draft is then empty."""
        sampler = self._sampler
        assert sampler is not None, "begin() first"
        context = [*self._prompt, *reply_tokens]
        n = min(n, int(llama_cpp.llama_n_ctx(self._ctx)) - len(context))
        if n <= 0:
            return Draft([])
        logits = self._catch_up(context, cancel)
        if logits is None:
            return Draft([])
        sampler.rebase(self._prompt, reply_tokens)
        sampling = sampler.settings.do_sample
        tokens: list[int] = []
        qs: list[np.ndarray] = []
        for j in range(n):
            if sampling:
                q = sampler.probabilities(logits)
                token = int(min(np.searchsorted(np.cumsum(q), self._rng.random() * q.sum(), side="right"),
                                len(q) - 1))
                while q[token] == 0:  # rounding at the very end of the cumulative sum
                    token -= 1
                qs.append(q)
            else:
                token = sampler.sample(logits)
            tokens.append(token)
            sampler.accept(token)
            if j + 1 < n:
                following = self._eval([token])
                assert following is not None  # (no abort callback outside _catch_up)
                logits = following
        return Draft(tokens, qs if sampling else None)

    def _catch_up(self, context: list[int], cancel: threading.Event | None = None) -> np.ndarray | None:
        """Make the cache hold ``context`` (rolling back to the common prefix); the logits after it, None when
        ``cancel`` was set (the cache holds the batches that finished: the next proposal goes on from them)."""
        keep = min(common_prefix(self._held, context), len(context) - 1)
        mem = llama_cpp.llama_get_memory(self._ctx)
        window_gone = self._n_swa and llama_cpp.llama_memory_seq_pos_min(mem, 0) > max(0, keep - self._n_swa)
        if window_gone or not llama_cpp.llama_memory_seq_rm(mem, 0, keep, -1):
            llama_cpp.llama_memory_clear(mem, True)
            keep = 0
        del self._held[keep:]
        logits: np.ndarray | None = None
        with self._abort.polling(cancel):
            for at in range(keep, len(context), self.n_batch):
                if cancel is not None and cancel.is_set():
                    return None
                logits = self._eval(context[at: at + self.n_batch])
                if logits is None:
                    return None
        return logits

    def _eval(self, tokens: list[int]) -> np.ndarray | None:
        """The logits after ``tokens``; None when the abort callback stopped the decode (inside ``_catch_up``)."""
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        t = time.perf_counter()
        rc = llama_cpp.llama_decode(self._ctx, llama_cpp.llama_batch_get_one(arr, len(tokens)))
        if len(tokens) == 1:
            self.decode_seconds += time.perf_counter() - t
            self.decodes += 1
        if rc == LLAMA_DECODE_ABORTED and self._abort.stopping is not None:
            # the batch's positions are gone (and a sliding window it moved cannot come back): start over
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), True)
            self._held = []
            return None
        if rc != 0:
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), True)
            self._held = []
            raise GenerationError(f"llama.cpp failed to evaluate the assistant_model's tokens (llama_decode "
                                  f"returned {rc}); try a smaller context")
        self._held.extend(tokens)
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, -1), shape=(self.n_vocab,))

    def close(self) -> None:
        if self._sampler is not None:
            self._sampler.close()
            self._sampler = None
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()
