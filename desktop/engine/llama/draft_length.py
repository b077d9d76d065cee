"""How many tokens to draft (speculative decoding's "auto"): the measured acceptance of each draft source and
this machine's measured cost of evaluating m tokens at once against one, both kept per loaded model
(``DecodeCosts``) so they outlive a reply; ``DraftLength`` picks the length that maximises the expected tokens
per unit of time, and drafts nothing when no length pays (probing now and then)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["off", "on", "auto"]
MODES: tuple[str, ...] = ("off", "on", "auto")
PRIOR_ACCEPTANCE = 0.6  # per-token acceptance assumed before any draft of a source was checked ...
PRIOR_LONG_MATCH = 0.8  # ... and for prompt lookup's drafts after a long match (copied text goes on as before)
PRIOR_WEIGHT = 4.0  # ... worth this many checked tokens
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
        return self.ratios(m)[m]

    def ratios(self, most: int) -> list[float]:
        """``ratio(m)`` for m = 0 ... ``most`` (entry 0 unused), the line fitted once."""
        one = self.seconds.get(1)
        if one is None or one <= 0:
            return [1.0] + [1.0 + PRIOR_SLOPE * (m - 1) for m in range(1, most + 1)]
        pairs = [(k - 1, t / one - 1.0) for k, t in self.seconds.items() if k > 1]
        slope = max(0.0, sum(x * y for x, y in pairs) / sum(x * x for x, _ in pairs)) if pairs else PRIOR_SLOPE
        return [1.0] + [self.seconds[m] / one if m in self.seconds else 1.0 + slope * (m - 1)
                        for m in range(1, most + 1)]


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
        return self.gains(k, long_match)[k - 1]

    def gains(self, most: int, long_match: bool = False) -> list[float]:
        """``gain(k)`` for k = 1 ... ``most``, the acceptance read and the cost line fitted once."""
        alpha, ratios = self.acceptance(long_match), self.costs.ratios(most + 1)
        return [expected_tokens(alpha, k) / (ratios[k + 1] + k * self.draft_cost) for k in range(1, most + 1)]

    def next(self, long_match: bool = False, most: int | None = None) -> int:
        """Tokens to draft next (at most ``most``: what the source has to offer, when known)."""
        limit = self.limit if most is None else min(self.limit, most)
        if self.mode == "on":
            return limit
        best, best_gain = 0, MIN_GAIN
        for k, g in enumerate(self.gains(limit, long_match), start=1):
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
            # a short draft while the acceptance, or the cost of a batch of a few tokens, is still unknown (a
            # line through the cost of two tokens alone overstates it on CPUs, and would keep drafting off)
            unmeasured = PROBE_TOKENS + 1 not in self.costs.seconds
            return min(PROBE_TOKENS, limit) if early or unmeasured else 1
        return 0

    def update(self, drafted: int, kept: int, long_match: bool = False) -> None:
        self.costs.accepted(self.kind, long_match).record(drafted, kept)
