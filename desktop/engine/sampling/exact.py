"""The exact full-vocabulary path of ``TokenSampler`` (mixed in): every exp, transformers' top-p and min-p over
the whole vocabulary without sorting it, and the blocked draw. It decides what the draw by rejection
(envelope.py) cannot, and draws when that gives up."""

from __future__ import annotations

import numpy as np

from ..settings import GenerationSettings
from .kernels import ROWS, nucleus_floor

NUCLEUS_TRIES = 4  # rejected draws before the nucleus' cut is located instead
_F32 = np.float32


class ExactFullVocab:
    """Needs ``TokenSampler``'s buffers (``_work``, ``_probs``: padded to ROWS rows; ``_mask``, ``_mask2``,
    ``_scratch``), settings, temperature and random stream."""

    settings: GenerationSettings
    n_vocab: int
    _temperature: np.float32
    _work: np.ndarray
    _probs: np.ndarray
    _mask: np.ndarray
    _mask2: np.ndarray
    _scratch: np.ndarray
    _tail: float  # nucleus_tail(settings.top_p), set by the sampler

    _generator: np.random.Generator  # PCG64; its random(): (raw >> 11) * 2**-53

    def _warp_full(self, z: np.ndarray) -> None:
        """Temperature, top-p and min-p over the whole vocabulary into ``self._work``, without sorting it.

        Every pass writes into buffers allocated once: a fresh 600 kB temporary per token costs page faults.
        """
        s = self.settings
        n = self.n_vocab
        e, probs, mask = self._work[:n], self._probs[:n], self._mask
        self._exp_tempered(z, e)
        if s.top_p < 1.0:
            np.multiply(e, _F32(1) / e.sum(dtype=np.float32), out=probs)
            floor = nucleus_floor(probs, self._tail, (self._mask, self._mask2, self._scratch))
            np.greater_equal(probs, floor, out=mask)
            np.multiply(e, mask, out=e)  # (a multiply by the mask: numpy's putmask is ~20x slower)
        if s.min_p is not None:
            np.multiply(e, _F32(1) / e.sum(dtype=np.float32), out=probs)
            np.greater_equal(probs, _F32(s.min_p) * probs.max(), out=mask)
            np.multiply(e, mask, out=e)

    def _sample_nucleus(self, z: np.ndarray) -> int | None:
        """A token from transformers' temperature + top-p over the whole vocabulary, by rejection.

        A token drawn from the whole (tempered) distribution is kept when top-p keeps it: when the
        probability of every token at or below its own, rounded to float32, exceeds ``1 - top_p`` (or it is
        the most likely token). Accepted draws then follow the renormalised nucleus exactly, and each try
        costs two passes over the vocabulary instead of the ~10 that locate the cut. None after
        NUCLEUS_TRIES rejections (a very flat or very narrow nucleus): the caller locates the cut instead.
        """
        probs, tail, top = self._nucleus_probs(z)
        columns = np.cumsum(self._work.reshape(ROWS, -1).sum(axis=0), dtype=np.float64)
        for _ in range(NUCLEUS_TRIES):
            token = self._draw_blocks(self._work, columns)
            if self._top_p_keeps(probs, token, tail, top):
                return token
        return None

    def _nucleus_probs(self, z: np.ndarray) -> tuple[np.ndarray, np.float32, np.float32]:
        """(the tempered softmax of ``z`` over the vocabulary, float32(1 - top_p), the largest probability);
        the exps stay in ``self._work`` for the draw."""
        n = self.n_vocab
        e, probs = self._work[:n], self._probs[:n]
        self._exp_tempered(z, e)
        inv = _F32(1) / e.sum(dtype=np.float32)
        np.multiply(e, inv, out=probs)
        top = inv  # exp(0) == 1 at the largest logit, so its probability is exactly float32(1 * inv)
        return probs, _F32(self._tail), top

    def _top_p_keeps(self, probs: np.ndarray, token: int, tail: np.float32, top: np.float32) -> bool:
        """Whether transformers' TopPLogitsWarper keeps ``token`` (tokens tied with the cut stay)."""
        p = probs[token]
        if p >= top:
            return True
        np.less_equal(probs, p, out=self._mask)
        np.multiply(probs, self._mask, out=self._scratch)  # (numpy's sum(where=) is ten times slower)
        return bool(_F32(self._scratch.sum(dtype=np.float64)) > tail)

    def _exp_tempered(self, z: np.ndarray, e: np.ndarray) -> None:
        """``e`` = exp(z / T - max(z / T)) in float32, as transformers' softmax after its temperature warper."""
        if self._temperature != 1:
            np.divide(z, self._temperature, out=e)
            np.subtract(e, z.max() / self._temperature, out=e)  # max(z / t) == max(z) / t in float32
        else:
            np.subtract(z, z.max(), out=e)
        np.exp(e, out=e)

    def _draw_blocks(self, work: np.ndarray, col_sums: np.ndarray | None = None) -> int:
        """Draw an index with probability proportional to ``work`` (zero padded to ROWS rows); ``col_sums``:
        the cumulative column sums of ``work`` viewed as ROWS rows, when already known."""
        grid = work.reshape(ROWS, -1)
        if col_sums is None:
            col_sums = np.cumsum(grid.sum(axis=0), dtype=np.float64)
        target = self._generator.random() * col_sums[-1]
        col = min(int(np.searchsorted(col_sums, target, side="right")), len(col_sums) - 1)
        while grid[:, col].max() == 0:
            col -= 1  # rounding sent the draw past the last column with weight
        column = np.cumsum(grid[:, col], dtype=np.float64)
        inside = target - (col_sums[col - 1] if col else 0.0)
        row = min(int(np.searchsorted(column, inside, side="right")), ROWS - 1)
        while grid[row, col] == 0:
            row -= 1
        return row * grid.shape[1] + col
