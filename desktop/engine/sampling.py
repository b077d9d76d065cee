"""Token sampling in transformers' order, built from llama.cpp's low-level sampler API.

transformers' ``generate()`` does, per step:
repetition penalty over every previous id (prompt included) -> temperature -> top-k -> top-p
-> min-p -> softmax -> multinomial draw; greedy is argmax after the penalty only.

The chain here is three stages over one ``llama_token_data`` buffer that this module owns:

1. a llama.cpp chain: repetition penalty, OpenAI presence/frequency penalties, temperature;
2. top-k in numpy, because transformers keeps every token tied with the k-th logit while
   llama.cpp's top-k cuts at exactly k;
3. a llama.cpp chain: top-p (min_keep 1), min-p (only if set), dist(seed) -- or greedy.

llama.cpp's penalty, temperature, top-p, min-p and dist samplers compute what transformers' processors
compute (checked against the vendored sources; proven by ``tests/test_sampling.py``).
The same object samples from a llama context's logits or from any fixed numpy array.
"""

from __future__ import annotations

import ctypes
import secrets
from collections.abc import Iterable
from typing import Any

import llama_cpp
import numpy as np

from .settings import GenerationSettings

# Mirrors llama_token_data {int32 id; float logit; float p;} (12 bytes, no padding).
TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
assert TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)

_RANDOM_SEED = llama_cpp.LLAMA_DEFAULT_SEED  # llama.cpp reads this value as "pick a random seed"


def dist_seed(seed: int | None) -> int:
    """The uint32 seed handed to llama.cpp's dist sampler; ``None`` draws a fresh random one."""
    if seed is None:
        return secrets.randbelow(_RANDOM_SEED)
    # 0xFFFFFFFF would mean "random" to llama.cpp: fold it onto a fixed value to stay reproducible.
    return seed if seed != _RANDOM_SEED else _RANDOM_SEED - 1


class _Chain:
    """An owned llama.cpp sampler chain; remembers raw handles of the samplers added to it."""

    def __init__(self) -> None:
        self.ptr: Any = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        self.size = 0

    def add(self, sampler: Any) -> Any:
        llama_cpp.llama_sampler_chain_add(self.ptr, sampler)  # the chain now owns (and frees) it
        self.size += 1
        return sampler

    def free(self) -> None:
        if self.ptr is not None:
            llama_cpp.llama_sampler_free(self.ptr)
            self.ptr = None


class TokenSampler:
    """Sampling for one request, in transformers' order, on llama.cpp samplers.

    ``history_size`` bounds how far back the penalties look: pass the context size so they cover
    the whole context, as transformers does. Repetition penalty sees the prompt and the generated
    ids; presence/frequency penalties (OpenAI semantics) see the generated ids only.
    """

    def __init__(self, settings: GenerationSettings, n_vocab: int, *, history_size: int) -> None:
        if history_size < 1:
            raise ValueError("history_size must be >= 1 (0 would disable the penalties)")
        self.settings = settings
        self.n_vocab = n_vocab
        self.seed = dist_seed(settings.seed)
        self._buf = np.zeros(n_vocab, dtype=TOKEN_DATA)
        self._ids = np.arange(n_vocab, dtype=np.int32)
        self._data_ptr = self._buf.ctypes.data_as(llama_cpp.llama_token_data_p)
        self._pre = _Chain()
        self._post = _Chain()
        self._repeat: Any = None
        self._openai: Any = None
        self._build(history_size)

    def _build(self, history_size: int) -> None:
        s = self.settings
        if s.repetition_penalty != 1.0:
            self._repeat = self._pre.add(llama_cpp.llama_sampler_init_penalties(
                self.n_vocab, history_size, float(s.repetition_penalty), 0.0, 0.0))
        if s.presence_penalty != 0.0 or s.frequency_penalty != 0.0:
            self._openai = self._pre.add(llama_cpp.llama_sampler_init_penalties(
                self.n_vocab, history_size, 1.0, float(s.frequency_penalty), float(s.presence_penalty)))
        if not s.do_sample:
            self._post.add(llama_cpp.llama_sampler_init_greedy())
            return
        if s.temperature != 1.0:
            self._pre.add(llama_cpp.llama_sampler_init_temp(float(s.temperature)))
        if s.top_p < 1.0:
            self._post.add(llama_cpp.llama_sampler_init_top_p(float(s.top_p), 1))
        if s.min_p is not None:
            self._post.add(llama_cpp.llama_sampler_init_min_p(float(s.min_p), 1))
        self._post.add(llama_cpp.llama_sampler_init_dist(self.seed))

    # -- history ---------------------------------------------------------------------------------

    def start(self, prompt_ids: Iterable[int]) -> None:
        """Forget generated ids and feed the prompt to the repetition penalty (new sequence)."""
        for sampler in (self._repeat, self._openai):
            if sampler is not None:
                llama_cpp.llama_sampler_reset(sampler)
        if self._repeat is not None:
            for token in prompt_ids:
                llama_cpp.llama_sampler_accept(self._repeat, int(token))

    def accept(self, token: int) -> None:
        """Record a generated token (every penalty sees it)."""
        for sampler in (self._repeat, self._openai):
            if sampler is not None:
                llama_cpp.llama_sampler_accept(sampler, int(token))

    # -- sampling --------------------------------------------------------------------------------

    def sample(self, logits: np.ndarray) -> int:
        """One token id drawn from ``logits`` (length n_vocab); does not record it (call accept)."""
        if logits.shape != (self.n_vocab,):
            raise ValueError(f"expected {self.n_vocab} logits, got shape {logits.shape}")
        if not self.settings.do_sample and not self._pre.size:
            return int(np.argmax(logits))  # plain greedy: llama.cpp's greedy sampler is this argmax (first max)
        buf = self._buf
        buf["id"] = self._ids
        buf["logit"] = logits
        buf["p"] = 0.0
        arr = llama_cpp.llama_token_data_array(self._data_ptr, self.n_vocab, -1, False)
        ref = ctypes.byref(arr)
        if self._pre.size:
            llama_cpp.llama_sampler_apply(self._pre.ptr, ref)
        if self.settings.do_sample and self.settings.top_k > 0:
            self._top_k_keep_ties(arr)
        llama_cpp.llama_sampler_apply(self._post.ptr, ref)
        if not 0 <= arr.selected < arr.size:
            raise RuntimeError(f"llama.cpp sampler selected no token (index {arr.selected})")
        return int(arr.data[arr.selected].id)

    def _top_k_keep_ties(self, arr: llama_cpp.llama_token_data_array) -> None:
        """transformers' TopKLogitsWarper: drop logits below the k-th largest (ties with it stay)."""
        if ctypes.cast(arr.data, ctypes.c_void_p).value != self._buf.ctypes.data:
            raise RuntimeError("a llama.cpp sampler replaced the candidate buffer")
        n = int(arr.size)
        k = min(self.settings.top_k, n)
        if k >= n:
            return
        view = self._buf[:n]
        kth = np.partition(view["logit"], n - k)[n - k]
        keep = view["logit"] >= kth
        kept = view[keep]
        view[: len(kept)] = kept
        arr.size = len(kept)
        arr.sorted = False

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        for chain in (getattr(self, "_pre", None), getattr(self, "_post", None)):
            if chain is not None:
                chain.free()
        self._repeat = self._openai = None

    def __enter__(self) -> TokenSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
