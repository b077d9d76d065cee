"""Drawing from transformers' full-vocabulary distribution (top_k = 0) without an exp over the vocabulary.

On a CPU an exp over a 153,600-entry vocabulary costs several times a pass of plain arithmetic, so the draw
never computes one. It is rejection sampling under an envelope: the vocabulary viewed as ROWS x C, each
column's largest logit bounds the weight exp(z / T - max / T) of every token in it, a column is proposed with
probability proportional to (its rows) x (that bound), a row uniformly, and the token is kept with probability
(its weight) / (the bound). The kept token follows the weights exactly; only the proposals' weights are
computed, with the same float32 arithmetic as the one-pass softmax.

top-p and min-p then decide whether the drawn token is in transformers' kept set (if not, the next proposal is
tried: rejection sampling from the kept set). min-p compares the token's own weight with min_p (the most likely
token has weight 1). top-p asks whether the probability of every token at or below the drawn one exceeds
float32(1 - top_p): that needs sums of weights over most of the vocabulary, which are bounded (not computed) with
a float trick: writing  2**23 * (t + 127)  into a float's bits gives 2**t to within a factor 1.0615 (the mantissa
interpolates linearly between powers of two). A decision the bounds cannot settle (a token within a few percent
of the cut) is made exactly by the caller, so every decision is the one the exact arithmetic makes. Before those
passes, a token that only a few columns' maxima exceed (a peaked distribution) is kept without them when the
weights of those columns' tokens above it are a small enough share against the other columns' maxima (tokens
below it).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable

import numpy as np

from .kernels import ROWS

BATCH = 128  # proposals drawn at once
ROUNDS = 16  # batches before the caller draws from the exact distribution instead
ENVELOPE_SLACK = 1 + 2.0**-20  # the envelope's bound is raised by this, against exp's last-bit rounding
BIT_EXP_RATIO = 1.0615  # max over f in [0, 1) of (1 + f) / 2**f: how far the bit trick overshoots 2**t
TOP_EXPONENT = 109  # the most likely token's weight is written as about 2**109, so the sum of
#                     2**18 weights stays a finite float32 and tokens down to 2**-126 below it stay normal
FEW_COLUMNS = 4  # top-p is first judged from the columns above the drawn token when at most 1/4 of them are
FLAT_SHARE = 64  # a position whose largest column holds under 1/64 of the bit-trick mass is flat (see draw_flat)
PROPOSALS = 64  # draws from the bit-trick weights before draw_flat gives up
SPAN = 64  # draw_flat picks a span of this many columns, then a column in it (no running sum over every column)
_LOG2E = 1.4426950408889634
_F32 = np.float32

Table = tuple[np.ndarray, np.ndarray, np.ndarray]  # per column: cumulative mass, bound, rows


class FullVocabDraw:
    """Buffers and per-position state for drawing from a full-vocabulary distribution by rejection."""

    def __init__(self, n_vocab: int, temperature: np.float32) -> None:
        self.n = n_vocab
        self.t = _F32(temperature)
        self.cols = n_vocab // ROWS
        extra = n_vocab - ROWS * self.cols  # the last ``extra`` tokens form one more, shorter column
        self._colmax = np.empty(self.cols + (1 if extra else 0), dtype=np.float32)
        self._rows = np.full(len(self._colmax), ROWS, dtype=np.float64)
        if extra:
            self._rows[-1] = extra
        self._y = np.empty(n_vocab, dtype=np.float32)
        self._bits = np.empty(n_vocab, dtype=np.int32)  # the bit-trick weights, read as float32
        self._masks = np.ones((2, n_vocab), dtype=np.float32)  # row 0: a token mask, row 1: ones
        self.top = _F32(0)
        self._top_t = _F32(0)
        self._table: Table = (np.zeros(1), self._colmax, self._rows)
        self._few = max(1, len(self._colmax) // FEW_COLUMNS)
        self._by_columns = False  # whether this position's column maxima are known (prepare) or not (draw_flat)
        self.flat = False  # the last position was flat: draw the next one with draw_flat
        self._ones = np.ones(ROWS, dtype=np.float32)
        self._spans = -(-self.cols // SPAN)
        self._colsums = np.zeros(self._spans * SPAN, dtype=np.float32)  # zero past the last column
        self._rel = 0.0  # relative error of the bit-trick sums (0: not computed for this position, < 0: unusable)

    def prepare(self, z: np.ndarray) -> bool:
        """Column maxima and the envelope for logits ``z``; False when they are not finite (draw exactly)."""
        cols = self.cols
        if cols:
            np.maximum.reduce(z[: ROWS * cols].reshape(ROWS, cols), axis=0, out=self._colmax[:cols])
        if len(self._colmax) > cols:
            self._colmax[-1] = z[ROWS * cols:].max()
        self.top = self._colmax.max()
        self._rel = 0.0
        self._total = -1.0  # the sum of this position's bit-trick weights (< 0: not yet summed)
        self._by_columns = True
        if not np.isfinite(self.top):
            return False
        self._top_t = self.top / self.t
        env = self.weights(self._colmax) * _F32(ENVELOPE_SLACK)
        self._table = (np.cumsum(env * self._rows), env, self._rows)
        return True

    def weights(self, values: np.ndarray) -> np.ndarray:
        """exp(values / T - max / T) in float32, exactly as the one-pass softmax computes each token's."""
        if self.t != 1:
            return np.exp(np.divide(values, self.t, dtype=np.float32) - self._top_t)
        return np.exp(values - self.top)

    def draw(self, z: np.ndarray, uniforms: np.random.Generator, decide: Callable[[int, float], bool]) -> int | None:
        """A token drawn with probability proportional to its weight among those ``decide`` keeps; None after
        ROUNDS batches of proposals without one (the caller then draws from the exact distribution)."""
        for _ in range(ROUNDS):
            for token, weight in self.round(z, uniforms.random(3 * BATCH)):
                if decide(token, weight):
                    return token
        return None

    def draw_flat(self, z: np.ndarray, uniforms: np.random.Generator,
                  decide: Callable[[int, float], bool]) -> int | None:
        """Like ``draw``, for top-p over a flat distribution, where top-p's bounds need the bit-trick weights of
        every token anyway: a token is proposed with probability proportional to its bit-trick weight (column
        sums, then within the column) and kept with probability (its weight) / (a bound of its weight over its
        bit-trick weight), which leaves the weights' own distribution, exactly. No column maxima, envelope or
        batches of proposals; top-p's sums reuse the weights and their total. None when the weights are not
        usable here (see _bit_weights) or PROPOSALS draws keep none: the caller draws under the envelope.

        Sets ``flat`` for the next position: whether no column holds 1/FLAT_SHARE of the mass."""
        cols = self.cols
        if self.n != ROWS * cols or not cols:
            return None
        self.top = z.max()
        self._rel, self._total, self._by_columns = 0.0, -1.0, False
        if not math.isfinite(self.top):
            return None
        self._top_t = self.top / self.t
        if not self._bit_weights(z):
            self.flat = False
            return None
        grid = self._bits.view(np.float32).reshape(ROWS, cols)
        sums = self._colsums
        np.dot(self._ones, grid, out=sums[:cols])  # float32: each within 63 * 2**-24 of its column's sum
        spans = np.cumsum(sums.reshape(self._spans, SPAN).sum(axis=1, dtype=np.float64))
        total = float(spans[-1])
        self._total = total  # top-p's sums: its rounding is within the n * 2**-24 of _bit_weights' error
        self.flat = float(sums.max()) * FLAT_SHARE < total
        # weight / bit-trick weight <= 2**-TOP_EXPONENT * (1 + rel); a column's float64 sum / its float32 sum
        # <= 1 + 2**-16
        bound = 2.0**-TOP_EXPONENT * (1 + self._rel) * (1 + 2.0**-16)
        for _ in range(PROPOSALS):
            u = uniforms.random(3)
            # a column with probability sums[col] / total: a span by the spans' running sums, then a column by
            # the running sum inside it
            at = u[0] * total
            span = min(int(spans.searchsorted(at, side="right")), self._spans - 1)
            inside = list(itertools.accumulate(sums[span * SPAN: (span + 1) * SPAN].tolist()))
            at -= float(spans[span - 1]) if span else 0.0
            col = min(span * SPAN + bisect.bisect_right(inside, at), cols - 1)
            while sums[col] == 0:
                col -= 1  # rounding sent the draw past the last column with weight
            column = list(itertools.accumulate(grid[:, col].tolist()))
            row = min(bisect.bisect_right(column, u[1] * column[-1]), ROWS - 1)
            while grid[row, col] == 0:
                row -= 1
            token = row * cols + col
            weight = float(self.weights(z[token: token + 1])[0])
            # proposed with probability sums[col] / total * grid[row, col] / column[-1]
            keep = weight * column[-1] / (bound * float(sums[col]) * float(grid[row, col]))
            if keep > 1:
                return None  # the bounds above do not hold (they always should): draw under the envelope
            if u[2] < keep and decide(token, weight):
                return token
        return None

    def round(self, z: np.ndarray, u: np.ndarray) -> list[tuple[int, float]]:
        """(token, weight) of each of BATCH proposals drawn with the 3 * BATCH uniforms ``u`` that the envelope
        accepts, in order."""
        cum, env, rows = self._table
        col = np.minimum(np.searchsorted(cum, u[:BATCH] * cum[-1], side="right"), len(cum) - 1)
        row = (u[BATCH: 2 * BATCH] * rows[col]).astype(np.intp)
        ids = row * self.cols + col
        if len(cum) > self.cols:
            ids = np.where(col < self.cols, ids, ROWS * self.cols + row)
        w = self.weights(z[ids])
        js = np.flatnonzero(u[2 * BATCH:] * env[col] < w)
        return list(zip(ids[js].tolist(), w[js].tolist(), strict=True))

    # -- top-p bounds ------------------------------------------------------------------------------

    def top_p(self, z: np.ndarray, token: int, weight: float, tail: float) -> bool | None:
        """Whether transformers' top-p keeps ``token``: True, False, or None when the bounds cannot tell."""
        if weight >= 1.0:
            return True  # the most likely token always stays
        zx = z[token]
        if self._by_columns and self._kept_by_columns(z, zx, tail):
            return True
        if not self._bit_weights(z):
            return None
        rel = self._rel
        # tokens at or below the drawn one's logit are at or below its probability: a lower bound, first from a
        # part of the vocabulary alone, then from all of it. A drawn token's mass below it is uniform on (0, 1),
        # so a part f decides all but about tail / f of them: f = sqrt(tail) costs least (f + tail / f passes)
        part = int(self.n * min(1.0, max(1 / 8, math.sqrt(tail * BIT_EXP_RATIO))))
        below, total = self._sums(z, zx, 0, part)
        if below / BIT_EXP_RATIO * (1 - rel) > tail * total * (1 + rel):
            return True
        below += self._sums(z, zx, part, self.n)[0]
        if below / BIT_EXP_RATIO * (1 - rel) > tail * total * (1 + rel):
            return True
        # tokens a hair above it may round to the same probability: include them for the upper bound
        below, total = self._sums(z, zx + _F32(1e-5) * (abs(zx) + abs(self.top) + self.t), 0, self.n)
        if below * (1 + rel) <= tail * total / BIT_EXP_RATIO * (1 - rel):
            return False
        return None

    def _kept_by_columns(self, z: np.ndarray, zx: np.float32, tail: float) -> bool:
        """True when top-p certainly keeps a token of logit ``zx``, judged from the few columns whose maxima
        exceed it (a peaked distribution: few tokens above the drawn one); False when it cannot tell.

        Every token above ``zx`` is in those columns: their tokens' own weights give the mass above it (and some
        below). Each other column's maximum is a token at or below ``zx``: the envelope's bounds, less its slack,
        give a part of the mass below. Kept when that part is more than ``tail`` of the two together."""
        above = self._colmax > zx
        count = np.count_nonzero(above)
        if count > self._few:
            return False
        if not count:
            return True  # no token is above it
        picked = np.flatnonzero(above)
        cols = self.cols
        if picked[-1] == cols:  # the shorter last column
            values = np.concatenate((np.take(z[: ROWS * cols].reshape(ROWS, cols), picked[:-1], axis=1).ravel(),
                                     z[ROWS * cols:]))
        else:
            values = np.take(z[: ROWS * cols].reshape(ROWS, cols), picked, axis=1).ravel()
        weights = self.weights(values)
        mass_above = float(weights[values > zx].sum(dtype=np.float64))
        cum, env, _ = self._table
        # the other columns' bounds: all of them (cum[-1] / ROWS, at most their sum) less the picked ones', with
        # the subtraction's rounding taken off; then the picked columns' tokens at or below zx
        envelope_below = cum[-1] / ROWS - float(env[picked].sum(dtype=np.float64)) - cum[-1] * 2.0**-40
        mass_below = envelope_below / ENVELOPE_SLACK + float(weights.sum(dtype=np.float64)) - mass_above
        # float32 rounding of the weights and the envelope, and of transformers' own arithmetic (as _bit_weights);
        # the share of the mass at or below zx is at least low / (low + high)
        rel = self.n * 2.0**-24 + 1e-5 + 2.0**-20
        low, high = mass_below * (1 - rel), mass_above * (1 + rel)
        return bool(low * (1 - rel) > tail * (1 + rel) * (low + high))

    def _sums(self, z: np.ndarray, at: np.float32, start: int, stop: int) -> tuple[float, float]:
        """(sum of the bit-trick weights of the tokens ``start`` to ``stop`` with logits <= ``at``, sum of all
        the weights). The first call of a position also sums them all: over ``start:stop`` in the same
        matrix-vector product (rows: the mask, ones), the rest by a row of ones; later calls reuse the total.
        A part's float32 sum errs less than the whole vocabulary's (``_bit_weights``' margin)."""
        weights = self._bits.view(np.float32)
        mask = self._masks[0, start:stop]
        np.less_equal(z[start:stop], at, out=mask, casting="unsafe")
        if self._total < 0:
            below, total = np.dot(self._masks[:, start:stop], weights[start:stop])
            ones = self._masks[1]
            self._total = (float(total) + float(np.dot(ones[:start], weights[:start]))
                           + float(np.dot(ones[stop:], weights[stop:])))
            return float(below), self._total
        return float(np.dot(mask, weights[start:stop])), self._total

    def _bit_weights(self, z: np.ndarray) -> bool:
        """The bit-trick weights (times 2**TOP_EXPONENT) into ``self._bits``, once per position; False when
        they would leave float32's normal range or be too coarse (very wide or huge logits)."""
        if self._rel:
            return self._rel > 0
        if self._by_columns:
            self.flat = True  # the columns did not decide: the next position may well need these passes too
        t = float(self.t)
        a = 2.0**23 * _LOG2E / t
        low = float(z.min())
        b = 2.0**23 * (127 + TOP_EXPONENT) - float(self.top) * a
        # float32 rounding of z * a + b in units of t (log2), as a relative error of 2**t; the float32 sums'
        # worst case (n terms accumulated); the exact arithmetic's own rounding
        err_t = 3 * 2.0**-24 * (max(abs(low), abs(float(self.top))) * a + abs(b) + 2.0**31) / 2.0**23
        self._rel = err_t * math.log(2) * 2 + self.n * 2.0**-24 + 1e-5
        if (self.top - low) / t * _LOG2E > 126 + TOP_EXPONENT or self._rel > 0.02:
            self._rel = -1.0
            return False
        np.multiply(z, _F32(a), out=self._y)
        np.add(self._y, _F32(b), out=self._bits, casting="unsafe")
        return True
