"""The KV cache a ``LocalGenerator`` keeps between requests: what seq 0 holds, how a request reuses it, the
checkpoints at prompt ends, conversations' states swapped through the ``StateCache``, and the llama_decode
calls that fill it (Stop polled inside a batch through llama.cpp's abort callback).

How a request reuses the KV cache (seq 0), which holds the ids in ``KVCache.held``:

| case                                   | what happens                                                     |
|----------------------------------------|------------------------------------------------------------------|
| next turn, edited last message, a      | keep the longest common prefix with ``held`` (seq_rm after it),  |
| plain prompt that extends the last one | evaluate the rest; at least the last prompt token is evaluated   |
|                                        | (fresh logits), unless a checkpoint holds that position's logits |
| Regenerate, num_return_sequences       | the checkpoint at the prompt's end: seq_rm back to it, reuse its |
|                                        | logits; nothing is evaluated                                     |
| changed system prompt, other chat      | common prefix 0 (or the template's first tokens): cold           |
| sliding-window model, rollback inside  | llama.cpp's SWA cache keeps only the last window (+ one batch)   |
| the window that is still cached        | of positions: seq_rm is exact while seq_pos_min <= p - n_swa     |
| sliding-window model, rollback past    | seq_rm would keep stale windows (llama.cpp returns true anyway): |
| the cached window                      | restore the newest checkpoint at or before p (its window bytes,  |
|                                        | LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY) and evaluate from there;     |
|                                        | with none, a cold evaluation                                     |
| conversation switch (``conversation``) | save the live one's state (StateCache), restore the other's if   |
|                                        | kept, then the cases above against what it holds                 |
| Stop during prefill                    | llama.cpp polls it between the graph's operations (CPU), and     |
|                                        | before each batch: the stopped batch leaves nothing (llama.cpp   |
|                                        | removes its positions), ``held`` has the batches that finished;  |
|                                        | a sliding window the batch overwrote means a cold start next     |
| speculative decoding: drafts refused   | seq_rm back to the last kept token (``keep``). Exact with        |
| (or after an end inside a kept run)    | sliding windows too: a batch only overwrites cells masked for    |
|                                        | the position after the sequence's end (pos <= end - n_swa), and  |
|                                        | rollback never goes before that end + 1, so no position a kept   |
|                                        | token needs is gone (``roll_back``'s check confirms it). If a    |
|                                        | cache ever refuses, the kept tokens are evaluated again from     |
|                                        | the start and ``refused`` stays set (drafting stops)             |
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from ..types import GenerationError
from .prompt_cache import Checkpoint, SavedState, StateCache, common_prefix

MAX_CHECKPOINTS = 2  # prompt ends remembered per conversation (Regenerate, editing the last message)
LLAMA_DECODE_ABORTED = 2  # llama_decode's return code when the abort callback stopped it
NO_ABORT_CALLBACK = llama_cpp.ggml_abort_callback()  # a NULL callback: llama.cpp polls nothing
PARTIAL = llama_cpp.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY  # a sequence's sliding-window cells only


class Stopped(Exception):
    """llama_decode returned because the abort callback saw Stop."""


class AbortOnStop:
    """llama.cpp's abort callback for one context: inside ``polling(cancel)``, llama_decode looks at ``cancel``
    within each batch and returns LLAMA_DECODE_ABORTED once it is set (``stopping`` is the event polled)."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self.stopping: threading.Event | None = None
        self._callback = llama_cpp.ggml_abort_callback(self._should_abort)  # kept alive with self

    def _should_abort(self, _data: object) -> bool:
        stopping = self.stopping
        return stopping is not None and stopping.is_set()

    @contextmanager
    def polling(self, cancel: threading.Event | None) -> Iterator[None]:
        if cancel is None:
            yield
            return
        self.stopping = cancel
        llama_cpp.llama_set_abort_callback(self._ctx, self._callback, None)
        try:
            yield
        finally:
            llama_cpp.llama_set_abort_callback(self._ctx, NO_ABORT_CALLBACK, None)
            self.stopping = None


@dataclass
class DecodeStats:
    """Counters the tests and the UI read: what llama_decode evaluated, and the last request's prompt split."""

    tokens_decoded: int = 0  # every token evaluated since loading (prompts and generated tokens)
    prompt_evals: int = 0  # requests whose prompt needed any evaluation at all
    prompt_tokens_reused: int = 0  # last request: prompt tokens already in the KV cache
    prompt_tokens_evaluated: int = 0  # last request: prompt tokens evaluated (the rest)
    state_switch_seconds: float = 0.0  # last request: keeping the live conversation and restoring its own
    tokens_drafted: int = 0  # since loading: tokens a draft source proposed and the model checked
    tokens_accepted: int = 0  # since loading: drafted tokens that verification kept


class KVCache:
    """Seq 0 of a llama.cpp context between requests (the table above). Not thread-safe: its owner holds a lock."""

    def __init__(self, ctx: Any, *, n_vocab: int, n_batch: int, n_swa: int, state_cache: StateCache,
                 stats: DecodeStats) -> None:
        self._ctx = ctx
        self.n_vocab = n_vocab
        self.n_batch = n_batch
        self.n_swa = n_swa  # the sliding window (0: none)
        self.state_cache = state_cache
        self.stats = stats
        self.held: list[int] = []  # the token ids seq 0 holds, position by position (-1: an image's)
        self.checkpoints: list[Checkpoint] = []
        self.owner: str | None = None  # the conversation whose state is live
        self.refused = False  # the cache once refused to drop positions exactly (see ``keep``)
        self._abort = AbortOnStop(ctx)  # Stop inside a prefill's batches
        self._run_batch: Any = llama_cpp.llama_batch_init(n_batch, 0, 1)  # a drafted run, logits at every token

    def close(self) -> None:
        batch, self._run_batch = self._run_batch, None
        if batch is not None:
            llama_cpp.llama_batch_free(batch)

    # -- a request's prompt ----------------------------------------------------------------------------

    def evaluate(self, ids: list[int], cancel: threading.Event | None, conversation: str | None
                 ) -> np.ndarray | None:
        """Make the cache hold ``ids`` (reusing what it can); the next-token logits, None if cancelled."""
        self.switch_to(conversation)
        reused, logits = self.reuse(ids)
        if logits is None:
            logits = self.prefill(ids, reused, cancel)
        self.stats.prompt_tokens_reused = reused
        self.stats.prompt_tokens_evaluated = len(self.held) - reused if logits is None else len(ids) - reused
        self.stats.prompt_evals += self.stats.prompt_tokens_evaluated > 0
        return logits

    def reuse(self, ids: list[int]) -> tuple[int, np.ndarray | None]:
        """Roll the cache back to the longest usable prefix of ``ids``: (positions kept, the logits after
        the last of them when a checkpoint has them, else None: evaluate ``ids[kept:]``)."""
        common = common_prefix(self.held, ids)
        at_end = next((c for c in self.checkpoints if c.pos == len(ids)), None) if common >= len(ids) else None
        target = min(common, len(ids) if at_end is not None else len(ids) - 1)
        self.checkpoints = [c for c in self.checkpoints if c.pos <= target]
        if target > 0 and self.roll_back(target):
            return target, (at_end.logits if at_end is not None and target == len(ids) else None)
        for c in reversed(self.checkpoints):  # sliding window moved on: the newest saved window before target
            if c.window is not None and 0 < c.pos <= target and self._restore_window(c):
                return c.pos, (c.logits if c.pos == len(ids) else None)
        self.clear()
        return 0, None

    def prefill(self, ids: list[int], start: int, cancel: threading.Event | None) -> np.ndarray | None:
        """Evaluate ``ids[start:]`` batch by batch; None when ``cancel`` was set (the batches that finished
        stay in the cache, and ``held`` says which).

        While a batch runs on the CPU, llama.cpp calls the abort callback between the operations of its
        graph (hundreds per batch), which polls ``cancel``: Stop ends even a long batch within milliseconds,
        so the batch can be as large as prompt throughput wants. GPU backends do not poll it; there a batch
        takes milliseconds anyway. The callback is installed for the prefill only (a decode step does not
        pay for it)."""
        if start >= len(ids):
            raise GenerationError("internal error: nothing left of the prompt to evaluate; report this")
        view: np.ndarray | None = None
        with self.stoppable(cancel):
            for pos in range(start, len(ids), self.n_batch):
                if cancel is not None and cancel.is_set():
                    return None
                try:
                    view = self.eval(ids[pos: pos + self.n_batch])
                except Stopped:
                    return None
        assert view is not None
        logits = view.copy()
        self.checkpoints = [c for c in self.checkpoints if c.pos != len(ids)][-(MAX_CHECKPOINTS - 1):]
        self.checkpoints.append(Checkpoint(len(ids), logits, self.window()))
        return logits

    def rewind(self, ids: list[int]) -> np.ndarray:
        """Back to the end of the prompt for the next of num_return_sequences (its checkpoint's logits)."""
        kept, logits = self.reuse(ids)
        if logits is None:  # no checkpoint survived: evaluate what is missing (cannot be cancelled)
            logits = self.prefill(ids, kept, None)
        assert logits is not None
        return logits

    def held_opaque(self, logits: np.ndarray | None) -> list[int]:
        """The cache now holds what was evaluated outside ``eval`` (an image prompt's positions, which match no
        prompt's ids: returned as -1s); its end is a checkpoint when ``logits`` are given (num_return_sequences)."""
        cached = [-1] * (int(llama_cpp.llama_memory_seq_pos_max(self.memory(), 0)) + 1)
        self.held = list(cached)
        if logits is not None:
            self.checkpoints = [Checkpoint(len(cached), logits, self.window())]
        self.stats.prompt_tokens_reused, self.stats.prompt_tokens_evaluated = 0, len(cached)
        self.stats.prompt_evals += 1
        return cached

    def window(self) -> bytearray | None:
        """The sliding-window cells of seq 0 (for a checkpoint); None for a model without windows."""
        return self._save_sequence(PARTIAL) if self.n_swa else None

    # -- dropping positions ----------------------------------------------------------------------------

    def roll_back(self, pos: int) -> bool:
        """Drop positions >= pos from seq 0, if what remains is exactly the cache of ``held[:pos]``."""
        mem = self.memory()
        if self.n_swa and llama_cpp.llama_memory_seq_pos_min(mem, 0) > max(0, pos - self.n_swa):
            return False  # the window the next token needs is no longer cached
        if not llama_cpp.llama_memory_seq_rm(mem, 0, pos, -1):
            return False
        del self.held[pos:]
        return True

    def _restore_window(self, checkpoint: Checkpoint) -> bool:
        assert checkpoint.window is not None
        llama_cpp.llama_memory_seq_rm(self.memory(), 0, checkpoint.pos, -1)  # full-attention layers: exact
        del self.held[checkpoint.pos:]
        if self._load_sequence(checkpoint.window, PARTIAL):
            return True
        self.clear()
        return False

    def keep(self, n: int) -> None:
        """Drop the positions from ``n`` on, exactly (refused drafts; see the table above)."""
        if len(self.held) <= n or self.roll_back(n):
            return
        self.refused = True
        kept = self.held[:n]
        self.clear()
        if n and min(kept) < 0:  # image positions cannot be evaluated again from their ids
            raise GenerationError("llama.cpp could not drop the drafted tokens from the cache; send the request "
                                  "again with speculative set to off")
        for pos in range(0, n, self.n_batch):
            self.eval(kept[pos: pos + self.n_batch])

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.memory(), True)
        self.held = []
        self.checkpoints = []

    # -- conversations ---------------------------------------------------------------------------------

    def keep_live(self) -> None:
        """Put the live conversation's state into the state cache (when it keeps anything)."""
        if self.owner is None or not self.held or not self.state_cache.keeps_anything:
            return
        data = self._save_sequence(0)
        self.state_cache.put(self.owner, SavedState(list(self.held), data, list(self.checkpoints)))

    def switch_to(self, conversation: str | None) -> None:
        self.stats.state_switch_seconds = 0.0
        if conversation == self.owner:
            return
        t = time.perf_counter()
        try:
            self._swap_states(conversation)
        finally:
            self.stats.state_switch_seconds = time.perf_counter() - t

    def _swap_states(self, conversation: str | None) -> None:
        self.keep_live()
        self.owner = conversation
        saved = self.state_cache.take(conversation) if conversation is not None else None
        if saved is None:
            return  # reuse whatever prefix the live cache shares with the new prompt
        self.clear()
        if self._load_sequence(saved.data, 0) and \
                llama_cpp.llama_memory_seq_pos_max(self.memory(), 0) == len(saved.tokens) - 1:
            self.held = list(saved.tokens)
            self.checkpoints = list(saved.checkpoints)
        else:
            self.clear()

    # -- llama_decode ----------------------------------------------------------------------------------

    def memory(self) -> Any:
        return llama_cpp.llama_get_memory(self._ctx)

    def stoppable(self, cancel: threading.Event | None) -> contextlib.AbstractContextManager[None]:
        """llama_decode polls ``cancel`` inside the block (see ``prefill``)."""
        return self._abort.polling(cancel)

    def eval(self, tokens: list[int]) -> np.ndarray:
        """One llama_decode of ``tokens`` after what is cached; the logits of the last one (a view, valid
        until the next decode). Raises ``Stopped`` when the abort callback stopped it (inside ``stoppable``)."""
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        self._decoded(llama_cpp.llama_decode(self._ctx, llama_cpp.llama_batch_get_one(arr, len(tokens))), tokens)
        ptr = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def eval_run(self, tokens: list[int]) -> np.ndarray:
        """One llama_decode of ``tokens`` after what is cached, with logits at every one: a (len, n_vocab) view,
        valid until the next decode."""
        batch = self._run_batch
        assert batch is not None and 0 < len(tokens) <= self.n_batch
        base = len(self.held)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = base + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = True
        batch.n_tokens = len(tokens)
        self._decoded(llama_cpp.llama_decode(self._ctx, batch), tokens)
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits(self._ctx), shape=(len(tokens), self.n_vocab))

    def _decoded(self, rc: int, tokens: list[int]) -> None:
        """After llama_decode of ``tokens``: count them as cached, or raise ``Stopped`` (the abort callback
        stopped it, inside ``stoppable``) or one GenerationError line."""
        if rc == LLAMA_DECODE_ABORTED and self._abort.stopping is not None:
            # llama.cpp has removed the batch's positions; a sliding window it overwrote cannot come back
            mem = self.memory()
            if self.n_swa and self.held and \
                    llama_cpp.llama_memory_seq_pos_min(mem, 0) > max(0, len(self.held) - self.n_swa):
                self.clear()
            raise Stopped
        if rc != 0:
            self.clear()
            raise GenerationError(f"llama.cpp failed to evaluate the tokens (llama_decode returned {rc}); "
                                  "try a shorter prompt or a larger context")
        self.held.extend(tokens)
        self.stats.tokens_decoded += len(tokens)

    def _save_sequence(self, flags: int) -> bytearray:
        """llama.cpp's bytes for seq 0, written straight into the returned buffer (hundreds of MiB for a
        long chat: slicing a ctypes array would build a Python int per byte, seconds per conversation)."""
        size = llama_cpp.llama_state_seq_get_size_ext(self._ctx, 0, flags)
        data = bytearray(size)
        written = llama_cpp.llama_state_seq_get_data_ext(self._ctx, (ctypes.c_uint8 * size).from_buffer(data),
                                                         size, 0, flags)
        del data[written:]
        return data

    def _load_sequence(self, data: bytes | bytearray, flags: int) -> bool:
        view = (ctypes.c_uint8 * len(data))
        buf = view.from_buffer(data) if isinstance(data, bytearray) else view.from_buffer_copy(data)
        return bool(llama_cpp.llama_state_seq_set_data_ext(self._ctx, buf, len(data), 0, flags))
