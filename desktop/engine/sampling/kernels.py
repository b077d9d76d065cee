"""Array kernels of the token sampler: candidate selection, float32 softmax, transformers' top-p and min-p."""

from __future__ import annotations

import functools
import math

import numpy as np

ROWS = 64  # the vocabulary is viewed as ROWS x (V / ROWS) for block maxima and block sums
SUBSAMPLE = 64  # every SUBSAMPLE-th probability estimates where the nucleus ends
_F32 = np.float32


def top_candidates(z: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(ids, values, floor): every id whose value is >= ``floor`` and its value (in no particular order), where
    ``floor`` <= the m-th largest value.

    Without sorting: the m-th largest of the column maxima of a ROWS x (V / ROWS) view is a lower bound of
    the m-th largest value, and only the columns reaching it (the m largest, unless maxima tie) can hold values
    above it.
    """
    n = len(z)
    if m >= n:
        return np.arange(n), z, -np.inf
    cols = n // ROWS
    if m * ROWS * 4 > n or cols == 0:
        floor = float(np.partition(z, n - m)[n - m])
        ids = np.flatnonzero(z >= floor)
        return ids, z[ids], floor
    grid = z[: ROWS * cols].reshape(ROWS, cols)
    col_max = np.maximum.reduce(grid, axis=0)
    tail = z[ROWS * cols:]
    if len(tail):  # the shorter last column
        col_max = np.append(col_max, tail.max())
    floor = float(np.partition(col_max, len(col_max) - m)[len(col_max) - m])
    chosen = np.flatnonzero(col_max >= floor)  # the m largest maxima, and any tied with the m-th
    with_tail = bool(len(tail)) and bool(len(chosen)) and int(chosen[-1]) == cols  # the shorter last column
    if with_tail:
        chosen = chosen[:-1]
    block = np.take(grid, chosen, axis=1)  # (ROWS, m): the only columns that can reach the floor
    rows, at = np.nonzero(block >= floor)
    ids, values = rows * cols + chosen[at], block[rows, at]
    if with_tail:
        more = np.flatnonzero(tail >= floor)
        ids, values = np.concatenate((ids, ROWS * cols + more)), np.concatenate((values, tail[more]))
    return ids, values, floor


def tie_margin(kth: float, temperature: _F32) -> float:
    """How far below ``kth`` a value may be and still equal it once both are divided by ``temperature``."""
    if temperature == 1 or not math.isfinite(kth):
        return 0.0
    scaled = float(_F32(kth) / temperature)
    return 4.0 * float(temperature) * _spacing32(scaled) + _spacing32(kth)


def _spacing32(x: float) -> float:
    """``np.spacing`` of the float32 value ``x``: the gap to the next float32 away from zero."""
    x = abs(x)
    if x < 2.0**-126:
        return 2.0**-149
    return math.ldexp(1.0, math.frexp(x)[1] - 24)


def nucleus_tail(top_p: float) -> float:
    """float32(1 - top_p): transformers removes the tokens whose ascending cumulative probability is <= it."""
    return float(_F32(1.0 - top_p))


def top_p_keep(probs_descending: np.ndarray, tail: float, mass_below: float = 0.0) -> int:
    """How many of ``probs_descending`` transformers' TopPLogitsWarper keeps (at least one).

    It sorts ascending and removes tokens whose cumulative probability (accumulated in float64 and rounded
    to float32, as torch's CPU cumsum does) is <= ``tail`` (``nucleus_tail(top_p)``). ``mass_below`` is
    the probability of every token below these ones (all removed).
    """
    cumulative = np.cumsum(probs_descending[::-1], dtype=np.float64)
    if mass_below:
        cumulative += mass_below
    limit, inclusive = rounds_to_at_most(tail)
    removed = int(np.searchsorted(cumulative, limit, side="right" if inclusive else "left"))
    return max(1, len(probs_descending) - removed)


@functools.lru_cache(maxsize=16)
def rounds_to_at_most(tail: float) -> tuple[float, bool]:
    """(limit, inclusive): a float64 ``c`` rounds to a float32 <= the float32 ``tail`` exactly when ``c`` <=
    ``limit`` (inclusive) or ``c`` < ``limit``: the midpoint to the next float32, which rounds to ``tail``
    when ``tail``'s last mantissa bit is 0 (round half to even)."""
    t32 = _F32(tail)
    above = np.nextafter(t32, _F32(np.inf))
    limit = (float(t32) + float(above)) / 2  # exact in float64
    return limit, not int(t32.view(np.uint32)) & 1


def min_p_keep(e_descending: np.ndarray, min_p: float) -> int:
    """How many of the (descending, unnormalised) exps transformers' MinPLogitsWarper keeps (at least one)."""
    probs = e_descending * (_F32(1) / e_descending.sum(dtype=np.float32))
    return max(1, int(np.count_nonzero(probs >= _F32(min_p) * probs[0])))


def nucleus_floor(p: np.ndarray, tail: float, buffers: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.float32:
    """The smallest probability transformers' top-p keeps (tokens tied with it stay), found by sorting
    only a band of ``p`` located by a sorted 1/SUBSAMPLE sample of it."""
    sample = np.sort(p[::SUBSAMPLE])
    estimate = np.cumsum(sample, dtype=np.float64) * SUBSAMPLE
    at = int(np.searchsorted(estimate, tail))
    margin = 4 + int(np.sqrt(max(at, 1)))
    while True:
        lo = sample[at - margin] if at - margin >= 0 else None
        hi = sample[at + margin] if at + margin < len(sample) else None
        floor = _cut_in_band(p, tail, lo, hi, buffers)
        if floor is not None:
            return floor
        margin *= 8

def _cut_in_band(p: np.ndarray, tail: float, lo: np.float32 | None, hi: np.float32 | None,
                 buffers: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.float32 | None:
    """The top-p floor if the cut falls among the tokens with lo <= p <= hi, else None.

    In ascending order the vocabulary is [below lo, band, above hi]: the cut is in the band when the
    tokens below are all removed (their mass rounds to <= tail) and the band's largest token is kept.
    """
    inside, other, scratch = buffers
    mass_below = 0.0
    if lo is None:
        inside[:] = True
    else:
        np.less(p, lo, out=other)
        np.multiply(p, other, out=scratch)
        mass_below = float(scratch.sum(dtype=np.float64))
        if _F32(mass_below) > tail:
            return None
        np.logical_not(other, out=inside)
    if hi is not None:
        np.less_equal(p, hi, out=other)
        inside &= other
    band = np.sort(p[np.flatnonzero(inside)])[::-1]  # (indices first: a boolean gather is slower)
    if not len(band):
        return None
    if hi is not None and _F32(mass_below + float(band.sum(dtype=np.float64))) <= tail:
        return None  # even the band's largest token would go: the cut is above the band
    return band[top_p_keep(band, tail, mass_below) - 1]
