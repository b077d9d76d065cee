"""Token sampling with transformers' semantics, in numpy, doing per token only the work that matters.

transformers' ``generate()`` does, per step: repetition penalty over every previous id (prompt included)
-> temperature -> top-k -> top-p -> min-p -> softmax -> multinomial draw; greedy is argmax after the
penalty only. OpenAI's presence/frequency penalties (over the generated ids) come right after the
repetition penalty. An optional llama.cpp grammar masks illegal tokens (-inf) before all of it.

What each stage costs, with V the vocabulary (102,400 to 153,600 for EXAONE) and H the distinct ids of
the history:

- penalties: O(H). The distinct ids and their counts are kept incrementally by ``accept()``; the logits
  are changed in place at those ids and put back after the draw.
- top-k (k > 0): one pass of column maxima over V; the columns holding the largest maxima are the only ones
  that can hold the top values, so about k * 64 candidates are looked at and one sort of the few at or above
  the threshold ranks them. Temperature, top-p, min-p, softmax and the draw then see the survivors only.
- the whole vocabulary (top_k = 0, no grammar): no exp over V. One pass of column maxima bounds every
  token's weight; the draw is rejection sampling under that envelope (envelope.py), then min-p compares the
  drawn token's own weight and top-p bounds the mass below it: from the columns above it when few are (a
  peaked distribution), else with a bit-trick exp (3-5 passes of plain arithmetic; the mass below summed
  over a part of V first, which settles most kept tokens). After a position whose top-p needed those passes,
  the next is drawn from the bit-trick weights themselves (no column maxima or envelope;
  ``FullVocabDraw.draw_flat``). A token the bounds cannot place is decided exactly: with top-p alone by the
  exact softmax's mass at or below it, with min-p too by the exact kept set. A draw that keeps being rejected
  takes the exact path: every exp, a sorted 1/64 subsample locating the top-p boundary, only the band around
  it sorted.
- the draw: over the survivors, or over V in 64-row blocks (column sums, then one column).
- ``sample_run`` (speculative verification): k positions in one call, each penalised with the drafts
  before it; one draw per position, stopping at the first differing one.

Arithmetic follows transformers on torch float32 tensors: temperature, the repetition penalty and min_p
use the float32 value of the setting; top-p removes the tokens whose ascending cumulative probability
(float64 accumulation rounded to float32, as torch's CPU cumsum) is <= float32(1 - top_p), keeping at
least one. On transformers' own test case (0.3, 0.1, 0.1, 0.5 with top_p 0.8) that keeps two tokens.
Greedy breaks ties like ``torch.argmax``: the lowest id. Where probabilities tie exactly at the nucleus'
edge, torch's (unstable) sort decides which of them go; the full-vocabulary path keeps them all.

The grammar is llama.cpp's own sampler, asked only about the candidates a stage needs (the top of the
logits for greedy and top-k, the whole vocabulary for top_k = 0). llama.cpp decodes UTF-8 loosely, so
tokens that would make the text invalid UTF-8 are masked too.

Randomness: 53-bit uniforms, ``Generator.random()`` on numpy's PCG64 ((raw >> 11) * 2**-53) seeded with the
sequence's seed (one per token, or batches of 3 x 128 per round of rejection proposals over the whole
vocabulary). PCG64's raw stream is fixed across numpy versions and platforms, so a seed gives the same tokens
everywhere (it is not the stream of llama.cpp's dist sampler, which earlier versions used). Sequence ``i`` of a
request uses ``sequence_seed(seed, i)``: sequence 0 uses ``seed`` itself, so one sequence can be reproduced alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import llama_cpp
import numpy as np

from ..settings import GenerationSettings
from .envelope import FullVocabDraw
from .exact import ExactFullVocab
from .grammar_mask import TOKEN_DATA, GrammarMask, GrammarRejected
from .history import SEED_RANGE, HistoryCounts, draw_seed, sequence_seed
from .kernels import ROWS, min_p_keep, nucleus_tail, tie_margin, top_candidates, top_p_keep

__all__ = ["SEED_RANGE", "TOKEN_DATA", "GrammarRejected", "HistoryCounts", "TokenSampler", "draw_seed",
           "sequence_seed"]

NUCLEUS_BY_REJECTION_MIN_P = 0.5  # top_p from which a full-vocabulary nucleus is drawn by rejection
_F32 = np.float32
_Saved = list[tuple[np.ndarray, np.ndarray]]  # (ids, values) to write back, in the order they were changed


def _writable_float32(logits: np.ndarray) -> np.ndarray:
    """``logits`` itself when the penalties can change it in place (float32, writable, C order), else a copy."""
    if logits.dtype != np.float32 or not logits.flags.writeable or not logits.flags.c_contiguous:
        return np.array(logits, dtype=np.float32)
    return logits


def _restore(z: np.ndarray, saved: _Saved) -> None:
    """Undo ``_penalise``: write the saved values back, last change first."""
    for where, values in reversed(saved):
        z[where] = values


class TokenSampler(GrammarMask, ExactFullVocab):
    """Sampling for one request, in transformers' order and semantics.

    ``history_size`` bounds how far back the penalties look: pass the context size so that they cover the
    whole context, as transformers does. The repetition penalty sees the prompt and the generated ids;
    presence/frequency penalties (OpenAI semantics) see the generated ids only.

    ``grammar`` (GBNF text, root rule ``root``; see ``grammar.py`` for JSON schemas) constrains the tokens
    with llama.cpp's grammar sampler, which needs the model's ``vocab`` (``llama_model_get_vocab``).
    ``seed`` is the request's seed (drawn at random when the settings have none); each ``start()`` reseeds.
    """

    def __init__(self, settings: GenerationSettings, n_vocab: int, *, history_size: int,
                 grammar: str | None = None, vocab: Any = None) -> None:
        if history_size < 1:
            raise ValueError("history_size must be >= 1 (0 would disable the penalties)")
        self.settings = settings
        self.n_vocab = n_vocab
        self.seed = draw_seed(settings.seed)
        self.sequence_index = -1
        self._generator = np.random.Generator(np.random.PCG64(self.seed))
        self._temperature = _F32(settings.temperature) if settings.temperature > 0 else _F32(1)
        self._repeat = _F32(settings.repetition_penalty)
        self._history = HistoryCounts(history_size) if settings.repetition_penalty != 1.0 else None
        self._generated = (HistoryCounts(history_size)
                           if settings.presence_penalty != 0.0 or settings.frequency_penalty != 0.0 else None)
        padded = -(-n_vocab // ROWS) * ROWS
        self._work = np.zeros(padded, dtype=np.float32)  # exps / weights over the vocabulary, zero padded
        self._probs = np.zeros(padded, dtype=np.float32)
        self._scratch = np.empty(n_vocab, dtype=np.float32)
        self._mask = np.empty(n_vocab, dtype=bool)
        self._mask2 = np.empty(n_vocab, dtype=bool)
        self._plain_greedy = (not settings.do_sample and grammar is None
                              and self._history is None and self._generated is None)
        # A full-vocabulary nucleus without min_p: draw from the whole distribution and keep the draw when
        # transformers' top-p keeps that token (see _sample_nucleus), instead of locating the cut first.
        self._nucleus_by_rejection = (settings.do_sample and grammar is None and settings.min_p is None
                                      and not 0 < settings.top_k < n_vocab
                                      and NUCLEUS_BY_REJECTION_MIN_P <= settings.top_p < 1.0)
        if grammar is not None:
            self._init_grammar(grammar, vocab)
        # top_k = 0 without a grammar: drawn by rejection under the column maxima (envelope.py), no exp over V
        self._full = (FullVocabDraw(n_vocab, self._temperature)
                      if settings.do_sample and grammar is None and not 0 < settings.top_k < n_vocab else None)
        self._tail = nucleus_tail(settings.top_p)
        self._min_p = None if settings.min_p is None else float(_F32(settings.min_p))
    # -- history ---------------------------------------------------------------------------------

    def start(self, prompt_ids: Iterable[int], index: int | None = None) -> None:
        """Begin sequence ``index`` (default: the one after the last): reseed, forget generated ids,
        feed the prompt to the repetition penalty and reset the grammar."""
        self.sequence_index = self.sequence_index + 1 if index is None else int(index)
        self._generator = np.random.Generator(np.random.PCG64(sequence_seed(self.seed, self.sequence_index)))
        if self._history is not None:
            self._history.clear()
            self._history.extend(prompt_ids)
        if self._generated is not None:
            self._generated.clear()
        if self._grammar is not None:
            llama_cpp.llama_sampler_reset(self._grammar)
            self._utf8.reset()
        if self._full is not None:
            self._full.flat = False  # each sequence draws the same way whatever came before

    def accept(self, token: int) -> None:
        """Record a generated token (the penalties and the grammar see it)."""
        token = int(token)
        if self._grammar is not None:
            if not self._allowed(np.array([token]))[0]:  # llama.cpp would abort the process
                raise GrammarRejected(f"token {token} does not follow the grammar here")
            llama_cpp.llama_sampler_accept(self._grammar, token)
            self._utf8.decode(self._piece(token))
        if self._history is not None:
            self._history.add(token)
        if self._generated is not None:
            self._generated.add(token)

    # -- sampling --------------------------------------------------------------------------------

    def sample(self, logits: np.ndarray) -> int:
        """One token id drawn from ``logits`` (length n_vocab); does not record it (call accept).

        The penalties are applied in place and undone before returning, so ``logits`` is unchanged.
        """
        self._check(logits)
        if self._plain_greedy:
            return int(np.argmax(logits))
        z, saved = self._penalised(logits)
        try:
            return self._draw(z)
        finally:
            _restore(z, saved)

    def sample_run(self, rows: np.ndarray, drafted: Sequence[int]) -> list[int]:
        """Speculative verification's draws: at each position ``i`` (row ``i`` of ``rows``, one row per drafted
        token, or one more) one token drawn exactly as ``sample(rows[i])`` draws it after ``accept()`` of
        ``drafted[:i]``, stopping after the first draw that differs from its drafted token. Records nothing:
        ``accept()`` each token the caller keeps, as after ``sample()``. The rows are left unchanged. Empty when
        a row is not finite (or so large that its square overflows): the caller's one-token path reports that.

        With a grammar only the first position is drawn (the grammar must accept a token before the next
        position's draw). Each position is drawn by the code ``sample`` runs, row by row: a position's cost is
        mostly reading its own row (a pass of column maxima, gathers at the history's and the candidates' ids),
        and doing one step for all rows at once (the column maxima of every row in one reduction, then every
        row's candidates) was measured slower for k = 2 to 4 and no faster for k = 8: the rows no longer stay in
        cache from one step to the next. Sharing the first round's uniforms saved nothing either.
        """
        self._check_rows(rows, drafted)
        if not np.isfinite(np.vdot(rows, rows)):
            return []
        if self._plain_greedy:
            best = np.argmax(rows, axis=1).tolist()
            wrong = [i for i, token in enumerate(best[: len(drafted)]) if token != drafted[i]]
            return best[: wrong[0] + 1] if wrong else best
        if self._grammar is not None:
            return [self.sample(rows[0])]
        if len(rows) == 1:  # one position: sample()'s path, without the drafts' bookkeeping
            z, saved = self._penalised(rows[0])
            try:
                return [self._draw(z)]
            finally:
                _restore(z, saved)
        drawn: list[int] = []
        with self._drafted(rows, drafted) as zs:
            for i, z in enumerate(zs):
                drawn.append(self._draw(z))
                if i == len(drafted) or drawn[-1] != drafted[i]:
                    break
        return drawn

    def probabilities_run(self, rows: np.ndarray, drafted: Sequence[int]) -> np.ndarray:
        """``probabilities()`` at each position of ``rows`` after ``accept()`` of the drafted tokens before it:
        (len(rows), n_vocab), float64. Draws and records nothing; a grammar is not supported here."""
        self._check_rows(rows, drafted)
        if self._grammar is not None:
            raise ValueError("probabilities_run cannot follow a grammar across positions; use probabilities()")
        out = np.zeros((len(rows), self.n_vocab), dtype=np.float64)
        with self._drafted(rows, drafted) as zs:
            for i, z in enumerate(zs):
                self._fill(out[i], *self._warped(z))
        return out / out.sum(axis=1, keepdims=True)

    def _check_rows(self, rows: np.ndarray, drafted: Sequence[int]) -> None:
        if rows.ndim != 2 or rows.shape[1] != self.n_vocab or not 0 < len(rows) <= len(drafted) + 1:
            raise ValueError(f"expected 1 to {len(drafted) + 1} rows of {self.n_vocab} logits, got {rows.shape}")

    @contextmanager
    def _drafted(self, rows: np.ndarray, drafted: Sequence[int]) -> Iterator[Iterator[np.ndarray]]:
        """The rows one at a time, each penalised in place as if the drafted tokens before it had been accepted
        only when the iteration reaches it (a run that stops early touches no later row); what was penalised
        and added to the penalty histories is restored on exit."""
        rows = _writable_float32(rows)
        undo: list[tuple[np.ndarray, _Saved]] = []
        added: list[tuple[HistoryCounts, int, int | None]] = []

        def positions() -> Iterator[np.ndarray]:
            for i, row in enumerate(rows):
                if i:
                    token = int(drafted[i - 1])
                    for history in (self._history, self._generated):
                        if history is not None:
                            added.append((history, token, history.add(token)))
                undo.append((row, self._penalise(row, keep_ids=True)))
                yield row

        try:
            yield positions()
        finally:
            for row, saved in undo:
                _restore(row, saved)
            for history, token, dropped in reversed(added):
                history.undo(token, dropped)

    def _draw(self, z: np.ndarray) -> int:
        """A token from the penalised logits ``z``."""
        if self._full is not None:
            token = self._sample_full(z)
            if token is not None:
                return token
        if self._nucleus_by_rejection:
            token = self._sample_nucleus(z)
            if token is not None:
                return token
        ids, weights = self._warped(z)
        if ids is None:
            return self._draw_blocks(weights)
        return self._pick(ids, weights)

    def _pick(self, ids: np.ndarray, weights: np.ndarray) -> int:
        """One of ``ids`` with probability proportional to ``weights`` (one uniform)."""
        cumulative = np.cumsum(weights, dtype=np.float64)
        pick = int(np.searchsorted(cumulative, self._generator.random() * cumulative[-1], side="right"))
        return int(ids[min(pick, len(ids) - 1)])

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """The distribution ``sample(logits)`` draws from (float64, length n_vocab); draws nothing."""
        self._check(logits)
        z, saved = self._penalised(logits)
        try:
            ids, weights = self._warped(z)
        finally:
            _restore(z, saved)
        out = np.zeros(self.n_vocab, dtype=np.float64)
        self._fill(out, ids, weights)
        return out / out.sum()

    def _fill(self, out: np.ndarray, ids: np.ndarray | None, weights: np.ndarray) -> None:
        """Write ``_warped``'s (ids, weights) into the zeroed vocabulary-long ``out``."""
        if ids is None:
            out[:] = weights[: self.n_vocab]
        else:
            out[ids] = weights

    def _check(self, logits: np.ndarray) -> None:
        if logits.shape != (self.n_vocab,):
            raise ValueError(f"expected {self.n_vocab} logits, got shape {logits.shape}")

    def _penalised(self, logits: np.ndarray) -> tuple[np.ndarray, _Saved]:
        """(float32 logits with the penalties applied, what to write back to undo them)."""
        z = _writable_float32(logits)
        return z, self._penalise(z)

    def _warped(self, z: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(ids, weights) to draw from; ids None means the weights cover the whole (padded) vocabulary."""
        s = self.settings
        if not s.do_sample:
            return np.array([self._greedy(z)]), np.ones(1, dtype=np.float32)
        k = s.top_k if 0 < s.top_k < self.n_vocab else 0
        if k:
            return self._warp_few(*self._top_k(z, k))
        if self._grammar is not None:
            z = self._mask_all(z)
        self._warp_full(z)
        return None, self._work

    def _penalise(self, z: np.ndarray, *, keep_ids: bool = False) -> _Saved:
        """Apply the penalties to ``z`` in place; what to write back to undo them. The saved ids are views of
        the histories' arrays unless ``keep_ids`` (when the histories change before the undo)."""
        saved: _Saved = []
        history = self._history
        if history is not None and history.size:
            ids = history.ids.copy() if keep_ids else history.ids
            values = z[ids]
            saved.append((ids, values))
            z[ids] = np.where(values < 0, values * self._repeat, values / self._repeat)
        generated = self._generated
        if generated is not None and generated.size:
            s = self.settings
            ids = generated.ids.copy() if keep_ids else generated.ids
            values = z[ids]
            saved.append((ids, values))
            # counts * frequency + (counts > 0) * presence, every count being >= 1 (and counts * 0 + p == p)
            if s.frequency_penalty:
                z[ids] = values - (generated.counts * _F32(s.frequency_penalty) + _F32(s.presence_penalty))
            else:
                z[ids] = values - _F32(s.presence_penalty)
        return saved

    def _greedy(self, z: np.ndarray) -> int:
        if self._grammar is None:
            return int(np.argmax(z))
        m = 64
        while True:
            ids, values, _ = top_candidates(z, m)
            allowed = self._allowed(ids)
            ids, values = ids[allowed], values[allowed]
            if len(ids):
                return int(ids[values == values.max()].min())  # every id tied with the best is a candidate
            if m >= self.n_vocab:
                raise GrammarRejected("the grammar allows no token here")
            m *= 16

    def _top_k(self, z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """transformers' TopKLogitsWarper after temperature: ids and scaled values of every token whose
        scaled value is >= the k-th largest scaled value (ties with the k-th stay), largest first."""
        m = self._top_k_room(k)
        if self._grammar is not None:
            m = max(4 * m, 256)
        while True:
            ids, values, floor = top_candidates(z, m)
            if self._grammar is not None:
                allowed = self._allowed(ids)
                ids, values = ids[allowed], values[allowed]
            everything = m >= self.n_vocab
            if len(ids) >= k or everything:
                ranked = self._ranked(ids, values, floor, k, everything)
                if ranked is not None:
                    return ranked
            m *= 8  # too few candidates, or values just below the k-th may tie with it after scaling: widen

    def _top_k_room(self, k: int) -> int:
        """How many candidates to look for: room below the k-th for values that tie with it once scaled."""
        return k if self._temperature == 1 else k + max(8, k // 4)

    def _ranked(self, ids: np.ndarray, values: np.ndarray, floor: float, k: int,
                everything: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """The top-k survivors among the candidates (every value >= ``floor``; at least k unless
        ``everything``), largest first; None when a value below the floor could tie with the k-th once
        scaled (look further)."""
        t = self._temperature
        scaled = values if t == 1 else values / t
        order = np.argsort(scaled)[::-1]
        # the k-th largest scaled value, and a value that scales to it (scaling keeps the order)
        kth = float(values[order[k - 1]]) if len(ids) >= k else -np.inf
        if not everything and kth - tie_margin(kth, t) < floor:
            return None
        ranked = scaled[order]
        kept = int(np.count_nonzero(ranked >= ranked[k - 1])) if len(ids) >= k else len(ids)  # a prefix
        if kept and ranked[kept - 1] == -np.inf:
            kept = int(np.count_nonzero(ranked > -np.inf))
        if not kept:
            raise GrammarRejected("the grammar allows no token here")
        return ids[order[:kept]], ranked[:kept]

    def _warp_few(self, ids: np.ndarray, ranked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-p and min-p over the top-k survivors (``ranked``: their scaled values, largest first): (ids, exp
        weights), most likely first."""
        s = self.settings
        e = np.exp(ranked - ranked[0], dtype=np.float32)
        n = len(e)
        if s.top_p < 1.0:
            n = top_p_keep(e * (_F32(1) / e.sum(dtype=np.float32)), self._tail)
        if s.min_p is not None:
            n = min_p_keep(e[:n], s.min_p)
        return ids[:n], e[:n]

    def _sample_full(self, z: np.ndarray) -> int | None:
        """A token from the whole vocabulary's processed distribution, by rejection (envelope.py); None when
        that gives up (the exact draw follows)."""
        full = self._full
        assert full is not None
        if full.flat and self.settings.top_p < 1.0:  # the last position was flat: so is this one, likely
            token = full.draw_flat(z, self._generator, self._decider(z))
            if token is not None:
                return token
        if not full.prepare(z):
            return None
        return full.draw(z, self._generator, self._decider(z))

    def _decider(self, z: np.ndarray) -> Callable[[int, float], bool]:
        """Whether top-p and min-p keep a drawn token of ``z`` (its weight given): by bounds, else exactly."""
        full = self._full
        assert full is not None
        top_p, min_p = self.settings.top_p, self._min_p
        # this position's exact arithmetic, computed at most once: top-p alone needs the softmax (the test for one
        # token), with min-p the whole kept set (in self._work)
        softmax: tuple[np.ndarray, np.float32, np.float32] | None = None
        kept_set = False

        def decide(token: int, weight: float) -> bool:
            nonlocal softmax, kept_set
            verdict: bool | None = True
            if min_p is not None:  # transformers keeps p >= min_p * p_max, and p / p_max is the weight
                if weight < min_p * (1 - 2.0**-21):
                    return False
                if weight < min_p:
                    verdict = None  # within rounding of the threshold
            if verdict and top_p < 1.0:
                verdict = full.top_p(z, token, weight, self._tail)
            if verdict is None:  # the bounds cannot tell: exactly
                if min_p is None:  # top-p alone: transformers' test for this one token, no cut located
                    if softmax is None:
                        softmax = self._nucleus_probs(z)
                    return self._top_p_keeps(softmax[0], token, softmax[1], softmax[2])
                if not kept_set:
                    self._warp_full(z)
                    kept_set = True
                return bool(self._work[token] > 0)
            return verdict

        return decide

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        grammar, self._grammar = getattr(self, "_grammar", None), None
        if grammar is not None:
            llama_cpp.llama_sampler_free(grammar)

    def __enter__(self) -> TokenSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

