"""Speculative decoding that keeps the sampler's exact distribution (transformers' assisted generation).

A draft source proposes the next few tokens; the target model evaluates the last drawn token and the drafts in
one ``llama_decode`` with logits at every position, and the positions are checked in order:

- a deterministic draft (prompt lookup, or any greedy reply): at each position ONE token is drawn from the
  target's processed distribution by the reply's own sampler (``Reply.take``: the same RNG stream as the
  one-token loop, the penalties seeing the history up to that position), and the run goes on while the draw
  equals the drafted token. The first draw that differs is the emitted token. Every emitted token is drawn
  exactly as the one-token loop draws it, so with a seed the text is the one decoding without drafts gives
  (given the same logits).
- a draft model, when sampling: drafted token d is kept with probability min(1, p(d) / q(d)), p the target's
  processed distribution and q the draft's under the same settings; the first one refused is replaced by a
  token drawn from the normalised max(0, p - q) and the run ends. Every emitted token then follows p exactly
  (the standard speculative-sampling argument), though not the one-token loop's random stream.
- when every draft is kept, one more token is drawn from the last position (the "bonus" token).

An end token or a stop string inside a kept run ends the reply there. The positions after the last kept token
leave the KV cache (``DecodeTarget.keep``, ``llama_memory_seq_rm``).

How many tokens to draft: ``DraftLength``. "on" drafts the configured number every step; "auto" picks the
length that maximises the expected tokens per unit of time from the measured acceptance and this machine's
measured cost of a step of m tokens against one (the llama_decode and the draws and checks around it: on a
small fast model those are a good part of a step), and drafts nothing when no length pays (probing with a
short draft every few steps while the acceptance is still being found out, and now and then after that, so a
change of text is noticed: a short draft again while a batch of that size was never timed, else one token).
Both measurements belong to the loaded model and outlive a reply (``DecodeCosts``): the acceptance is kept per
draft source, and for a source whose proposals cost next to nothing (prompt lookup) separately for drafts copied
after a long match (a reply that repeats the prompt: rewriting, editing, quoting) and after a short one (chance
matches), so the first reply of an edit drafts at once and an open-ended one backs off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..sampling.sampler import TokenSampler, sequence_seed
from ..settings import GenerationSettings
from ..types import FinishReason
from .draft_length import DraftLength
from .draft_sources import LONG_MATCH, Draft, DraftModel, DraftSource
from .reply import Reply

LOOKUP_SHARE = 0.01  # "auto": a lookup that drafts nothing may cost this share of the decoding time at most ...
MAX_SKIPPED_LOOKUPS = 32  # ... so on a model fast against the lookup, up to this many steps skip looking


def drafting_settings(settings: GenerationSettings) -> list[str]:
    """The drafting settings of ``settings`` that would make a single-sequence reply draft (``speculative``
    on/auto, ``prompt_lookup_num_tokens`` set, unless ``speculative`` is off): what a path that never drafts
    lists in ``GenerationResult.not_applied``."""
    if settings.speculative == "off":
        return []
    names = ["speculative"] if settings.speculative in ("on", "auto") else []
    return names + (["prompt_lookup_num_tokens"] if settings.prompt_lookup_num_tokens is not None else [])


# -- verification -----------------------------------------------------------------------------------

class DecodeTarget(Protocol):
    """What verification needs of the target model (``LocalGenerator`` provides it)."""

    def eval_one(self, token: int) -> np.ndarray:
        """Evaluate one token after the cache; the logits after it."""

    def eval_run(self, tokens: list[int]) -> np.ndarray | None:
        """Evaluate ``tokens`` after the cache in one llama_decode; (len, n_vocab) logits, one row per token.
        None when Stop ended it: the cache then holds what it held before."""

    def held(self) -> int:
        """How many positions the cache holds."""

    def keep(self, n: int) -> None:
        """Drop every position from ``n`` on (exactly: as if they had never been evaluated)."""


@dataclass
class DraftCounts:
    drafted: int = 0
    accepted: int = 0


class Speculation:
    """Drafting for one reply: where drafts come from, how many, and the checks that keep the distribution."""

    def __init__(self, source: DraftSource, length: DraftLength, sampler: TokenSampler) -> None:
        self.source, self.length, self.sampler = source, length, sampler
        self.counts = DraftCounts()
        self._long = False  # whether the draft being verified was copied after a long match
        self._skip = 0  # steps that decode without looking (see LOOKUP_SHARE)
        seed = sampler.seed if sampler.seed is not None else 0
        self._rng = np.random.default_rng([sequence_seed(seed, max(sampler.sequence_index, 0)), 0xACCE97])

    def propose(self, reply: Reply, n_batch: int, max_new_tokens: int, cancel: Any = None) -> Draft:
        """The next draft: at most what the reply may still take (so the cache never passes the context's end,
        which the prompt's check leaves room for) and what one batch holds."""
        room = min(self.length.limit, max_new_tokens - len(reply.tokens), n_batch - 1)
        if room <= 0:
            return Draft([])
        if self.source.cheap and self.length.mode == "auto":  # look first: the match says what to expect
            if self._skip > 0:
                self._skip -= 1
                return Draft([])
            t = time.perf_counter()
            draft = self.source.propose(reply.tokens, room)
            looked = time.perf_counter() - t
            self._long = draft.match >= LONG_MATCH
            k = self.length.next(self._long, len(draft.tokens))
            if k == 0:
                self._skip = self._lookups_to_skip(looked)
        else:
            k = min(self.length.next(), room)
            if k <= 0:
                draft = Draft([])
            elif isinstance(self.source, DraftModel):  # a model's proposal evaluates the context: Stop ends it
                draft = self.source.propose(reply.tokens, k, cancel)
            else:
                draft = self.source.propose(reply.tokens, k)
        del draft.tokens[k:]
        if isinstance(self.source, DraftModel) and self.source.decodes:
            one = self.length.costs.seconds.get(1)
            if one:
                self.length.draft_cost = self.source.decode_seconds / self.source.decodes / one
        return draft

    def _lookups_to_skip(self, looked: float) -> int:
        """After a lookup that drafted nothing: how many steps decode without looking, so that looking costs at
        most LOOKUP_SHARE of the decoding (none on a model whose decode step dwarfs the lookup: every step
        looks; on a tiny fast model, one look every few dozen steps), which keeps "auto" from being slower than
        plain decoding where nothing is drafted."""
        one = self.length.costs.seconds.get(1)
        if not one or one <= 0:
            return 0
        return min(MAX_SKIPPED_LOOKUPS, int(looked / (LOOKUP_SHARE * one)))

    def verify(self, target: DecodeTarget, reply: Reply, draft: Draft) -> tuple[FinishReason | None, np.ndarray | None]:
        """Evaluate the reply's last token and the draft in one batch and keep what the sampler keeps:
        (how the reply ended or None, the logits to draw the next token from, or None when the last token
        drawn still needs evaluating)."""
        base = target.held()
        run = [reply.tokens[-1], *draft.tokens]
        rows = target.eval_run(run)
        if rows is None:  # Stop pressed while the model verified: nothing of the batch stays
            return "cancelled", None
        sampling = draft.q is not None and self.sampler.settings.do_sample
        drawn: list[int] = []
        for i, drafted in enumerate(draft.tokens):
            if sampling:
                assert draft.q is not None
                ended, kept = self._speculative_sample(reply, rows[i], drafted, draft.q[i])
            else:  # the sampler draws this and the next positions in one call ([]: a row is not finite)
                drawn = drawn or self.sampler.sample_run(rows[i: len(draft.tokens)], draft.tokens[i:])
                ended = reply.record(drawn.pop(0)) if drawn else reply.take(rows[i])
                kept = reply.tokens[-1] == drafted
            if ended is not None or not kept:
                self._count(len(draft.tokens), i + (1 if kept else 0))
                target.keep(base + 1 + i)  # the reply's last token and the kept drafts before this position
                return ended, None
        self._count(len(draft.tokens), len(draft.tokens))
        return None, rows[len(draft.tokens)]

    def _speculative_sample(self, reply: Reply, logits: np.ndarray, drafted: int,
                            q: np.ndarray) -> tuple[FinishReason | None, bool]:
        p = self.sampler.probabilities(logits)
        if self._rng.random() * q[drafted] < p[drafted]:  # kept with probability min(1, p / q)
            return reply.record(drafted), True
        residual = np.maximum(p - q, 0.0)
        total = residual.sum()
        if not total > 0:  # p == q up to rounding: p itself is the residual's limit
            residual, total = p, p.sum()
        cumulative = np.cumsum(residual)
        token = int(min(np.searchsorted(cumulative, self._rng.random() * total, side="right"), len(p) - 1))
        while residual[token] == 0:
            token -= 1
        return reply.record(token), False

    def _count(self, drafted: int, kept: int) -> None:
        self.counts.drafted += drafted
        self.counts.accepted += kept
        self.length.update(drafted, kept, self._long)


def decode_reply(target: DecodeTarget, reply: Reply, logits: np.ndarray, cancel: Any,
                 speculation: Speculation | None, *, n_batch: int, max_new_tokens: int) -> FinishReason:
    """Draw, evaluate, draw ... until the reply ends, drafting when ``speculation`` says so; the last token
    drawn is not evaluated."""
    pending: np.ndarray | None = logits  # what to draw the next token from (None: evaluate the last one first)
    while True:
        if cancel is not None and cancel.is_set():
            return "cancelled"
        started = time.perf_counter()  # a step's cost: its draws and its llama_decode, not the lookup
        if pending is not None:
            ended = reply.take(pending)
            if ended is not None:
                return ended
        if speculation is None:
            pending = target.eval_one(reply.tokens[-1])
            continue
        looking = time.perf_counter()
        draft = speculation.propose(reply, n_batch, max_new_tokens, cancel)
        started += time.perf_counter() - looking
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if draft.tokens:
            ended, pending = speculation.verify(target, reply, draft)
            if ended != "cancelled":  # the batch, the drafts' checks and the cache's trim, as one step
                speculation.length.costs.record(len(draft.tokens) + 1, time.perf_counter() - started)
            if ended is not None:
                return ended
            continue
        pending = target.eval_one(reply.tokens[-1])
        speculation.length.costs.record(1, time.perf_counter() - started)
