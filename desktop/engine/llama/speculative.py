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
measured cost of evaluating m tokens at once against one, and drafts nothing when no length pays (probing with
one token every few steps while the acceptance is still being found out, and now and then after that, so a
change of text is noticed). Both measurements belong to the loaded model and
outlive a reply (``DecodeCosts``): the acceptance is kept per draft source, and for a source whose proposals
cost next to nothing (prompt lookup) separately for drafts copied after a long match (a reply that repeats the
prompt: rewriting, editing, quoting) and after a short one (chance matches), so the first reply of an edit
drafts at once and an open-ended one backs off.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import llama_cpp
import numpy as np

from ..sampling.sampler import TokenSampler, sequence_seed
from ..settings import GenerationSettings
from ..types import FinishReason, GenerationError
from .gguf_check import ModelInfo, inspect_gguf
from .load import chat_templates_not_compiled
from .prompt_cache import common_prefix
from .reply import Reply

Mode = Literal["off", "on", "auto"]
MODES: tuple[str, ...] = ("off", "on", "auto")

# transformers' defaults (GenerationConfig / PromptLookupCandidateGenerator)
DEFAULT_LOOKUP_TOKENS = 10  # what "on"/"auto" draft by lookup when prompt_lookup_num_tokens is unset
MAX_MATCHING_NGRAM = 2  # max_matching_ngram_size's default

# The adaptive length ("auto")
PRIOR_ACCEPTANCE = 0.6  # per-token acceptance assumed before any draft of a source was checked ...
PRIOR_LONG_MATCH = 0.8  # ... and for prompt lookup's drafts after a long match (copied text goes on as before)
PRIOR_WEIGHT = 4.0  # ... worth this many checked tokens
LONG_MATCH = 6  # tokens of context that must agree with where lookup copies from for a "long" match
CARRY_WEIGHT = 8.0  # a new reply starts from the acceptance measured before, worth at most this many tokens
ACCEPTANCE_DECAY = 0.9  # each verification step, older evidence counts this much less
CONFIDENT = 6.0  # evidence (checked tokens, decayed) below which the acceptance is still being found out ...
PROBE_EARLY = 4  # ... so when no length pays, a short draft is checked every this many steps (a cheap probe)
PROBE_TOKENS = 3  # its length: it also measures what a batch of a few tokens costs, which a line through the
                  # cost of two tokens overstates on CPUs (llama.cpp's batched products pay off from 3-4 tokens)
PRIOR_SLOPE = 0.5  # cost of each extra token in a batch, in single-token decodes, before any is measured
COST_DECAY = 0.8  # moving average of decode times
MIN_GAIN = 1.05  # draft only when the expected speed-up is at least this (measurement noise)
PROBE_EVERY = 64  # when nothing pays by a confident measure, still draft one token every this many steps
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


# -- draft sources -----------------------------------------------------------------------------------

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

    def propose(self, reply_tokens: Sequence[int], n: int) -> Draft:
        sampler = self._sampler
        assert sampler is not None, "begin() first"
        context = [*self._prompt, *reply_tokens]
        n = min(n, int(llama_cpp.llama_n_ctx(self._ctx)) - len(context))
        if n <= 0:
            return Draft([])
        logits = self._catch_up(context)
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
                logits = self._eval([token])
        return Draft(tokens, qs if sampling else None)

    def _catch_up(self, context: list[int]) -> np.ndarray:
        """Make the cache hold ``context`` (rolling back to the common prefix); the logits after it."""
        keep = min(common_prefix(self._held, context), len(context) - 1)
        mem = llama_cpp.llama_get_memory(self._ctx)
        window_gone = self._n_swa and llama_cpp.llama_memory_seq_pos_min(mem, 0) > max(0, keep - self._n_swa)
        if window_gone or not llama_cpp.llama_memory_seq_rm(mem, 0, keep, -1):
            llama_cpp.llama_memory_clear(mem, True)
            keep = 0
        del self._held[keep:]
        logits: np.ndarray | None = None
        for at in range(keep, len(context), self.n_batch):
            logits = self._eval(context[at: at + self.n_batch])
        assert logits is not None
        return logits

    def _eval(self, tokens: list[int]) -> np.ndarray:
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        t = time.perf_counter()
        rc = llama_cpp.llama_decode(self._ctx, llama_cpp.llama_batch_get_one(arr, len(tokens)))
        if len(tokens) == 1:
            self.decode_seconds += time.perf_counter() - t
            self.decodes += 1
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


# -- how many tokens to draft -----------------------------------------------------------------------

class Acceptance:
    """Measured per-token acceptance of one kind of draft on one loaded model: decayed counts of kept tokens
    and of refusals (each verification ends at most one run), starting from a prior."""

    def __init__(self, prior: float = PRIOR_ACCEPTANCE) -> None:
        self.kept = prior * PRIOR_WEIGHT
        self.refused = (1.0 - prior) * PRIOR_WEIGHT

    @property
    def rate(self) -> float:
        total = self.kept + self.refused
        return self.kept / total if total > 0 else PRIOR_ACCEPTANCE

    def record(self, drafted: int, kept: int) -> None:
        self.kept = ACCEPTANCE_DECAY * self.kept + kept
        self.refused = ACCEPTANCE_DECAY * self.refused + (1 if kept < drafted else 0)

    def carry(self) -> None:
        """A new reply: what was measured before stays its starting point but counts as at most
        ``CARRY_WEIGHT`` tokens, so the reply's own drafts soon decide (prompts differ in how they repeat)."""
        total = self.kept + self.refused
        if total > CARRY_WEIGHT:
            self.kept, self.refused = (self.kept * CARRY_WEIGHT / total, self.refused * CARRY_WEIGHT / total)


class DecodeCosts:
    """This machine's measured seconds per ``llama_decode`` of m tokens (moving averages), and the measured
    acceptance of each kind of draft: one per loaded model, so both outlive a reply."""

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}
        self.acceptance: dict[tuple[str, bool], Acceptance] = {}

    def accepted(self, kind: str, long_match: bool = False) -> Acceptance:
        """The measured acceptance of ``kind``'s drafts (after a long lookup match, or any other)."""
        key = (kind, long_match)
        if key not in self.acceptance:
            self.acceptance[key] = Acceptance(PRIOR_LONG_MATCH if long_match else PRIOR_ACCEPTANCE)
        return self.acceptance[key]

    def record(self, m: int, seconds: float) -> None:
        old = self.seconds.get(m)
        self.seconds[m] = seconds if old is None else COST_DECAY * old + (1 - COST_DECAY) * seconds

    def ratio(self, m: int) -> float:
        """Seconds for m tokens at once over seconds for one (measured, else a line through the measured)."""
        if m <= 1:
            return 1.0
        one = self.seconds.get(1)
        if one is None or one <= 0:
            return 1.0 + PRIOR_SLOPE * (m - 1)
        if m in self.seconds:
            return self.seconds[m] / one
        pairs = [(k - 1, t / one - 1.0) for k, t in self.seconds.items() if k > 1]
        slope = (sum(x * y for x, y in pairs) / sum(x * x for x, _ in pairs)) if pairs else PRIOR_SLOPE
        return 1.0 + max(0.0, slope) * (m - 1)


def expected_tokens(alpha: float, k: int) -> float:
    """Tokens one verification of k drafts emits when each is kept with probability alpha (kept prefix + 1)."""
    if alpha >= 1.0:
        return float(k + 1)
    return (1.0 - alpha ** (k + 1)) / (1.0 - alpha)


@dataclass
class DraftLength:
    """The draft length for the next step: ``limit`` every time ("on"), or adapted ("auto") to the acceptance
    ``costs`` holds for drafts of ``kind`` (carried over from earlier replies) and to the measured costs."""

    mode: Mode
    limit: int
    costs: DecodeCosts
    kind: str = ""
    draft_cost: float = 0.0  # a draft model's decode of one token, in target decodes of one token
    _idle: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        for long_match in (False, True):
            self.costs.accepted(self.kind, long_match).carry()

    def acceptance(self, long_match: bool = False) -> float:
        return self.costs.accepted(self.kind, long_match).rate

    def gain(self, k: int, long_match: bool = False) -> float:
        """Expected tokens per unit of time drafting k, against one token per single decode."""
        return expected_tokens(self.acceptance(long_match), k) / (self.costs.ratio(k + 1) + k * self.draft_cost)

    def next(self, long_match: bool = False, most: int | None = None) -> int:
        """Tokens to draft next (at most ``most``: what the source has to offer, when known)."""
        limit = self.limit if most is None else min(self.limit, most)
        if self.mode == "on":
            return limit
        best, best_gain = 0, MIN_GAIN
        for k in range(1, limit + 1):
            g = self.gain(k, long_match)
            if g > best_gain:
                best, best_gain = k, g
        if best:
            self._idle = 0
            return best
        self._idle += 1
        record = self.costs.accepted(self.kind, long_match)
        early = record.kept + record.refused < CONFIDENT
        if self._idle >= (PROBE_EARLY if early else PROBE_EVERY) and limit:
            self._idle = 0
            return min(PROBE_TOKENS, limit) if early else 1
        return 0

    def update(self, drafted: int, kept: int, long_match: bool = False) -> None:
        self.costs.accepted(self.kind, long_match).record(drafted, kept)


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

    def propose(self, reply: Reply, n_batch: int, max_new_tokens: int) -> Draft:
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
            draft = self.source.propose(reply.tokens, k) if k > 0 else Draft([])
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
        t = time.perf_counter()
        rows = target.eval_run(run)
        if rows is None:  # Stop pressed while the model verified: nothing of the batch stays
            return "cancelled", None
        self.length.costs.record(len(run), time.perf_counter() - t)
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
        if pending is not None:
            ended = reply.take(pending)
            if ended is not None:
                return ended
        if speculation is None:
            pending = target.eval_one(reply.tokens[-1])
            continue
        draft = speculation.propose(reply, n_batch, max_new_tokens)
        if draft.tokens:
            ended, pending = speculation.verify(target, reply, draft)
            if ended is not None:
                return ended
            continue
        t = time.perf_counter()
        pending = target.eval_one(reply.tokens[-1])
        speculation.length.costs.record(1, time.perf_counter() - t)
