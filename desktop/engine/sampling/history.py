"""Seeds and the penalties' history: what ``TokenSampler`` remembers between tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Iterable

import numpy as np

SEED_RANGE = 2**32  # seeds are uint32 (GenerationSettings' range)


def draw_seed(seed: int | None) -> int:
    """``seed`` itself, or a fresh random uint32 when it is ``None`` (report it to reproduce the draw)."""
    return secrets.randbelow(SEED_RANGE) if seed is None else int(seed)


def sequence_seed(seed: int, index: int) -> int:
    """The seed of sequence ``index`` of a request seeded with ``seed``; sequence 0 uses ``seed`` itself.

    Derived with BLAKE2b over (seed, index), so it never depends on a library's random stream.
    """
    if index == 0:
        return int(seed)
    digest = hashlib.blake2b(f"exaone-sequence:{int(seed)}:{int(index)}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


class HistoryCounts:
    """Occurrence counts of the last ``window`` ids fed in, with the distinct ids as numpy arrays (O(1) per id)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._recent: deque[int] = deque()
        self._slot: dict[int, int] = {}
        self._ids = np.empty(256, dtype=np.intp)
        self._counts = np.empty(256, dtype=np.float32)
        self.size = 0

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self.size]

    @property
    def counts(self) -> np.ndarray:
        return self._counts[: self.size]

    def clear(self) -> None:
        self._recent.clear()
        self._slot.clear()
        self.size = 0

    def extend(self, tokens: Iterable[int]) -> None:
        tokens = np.fromiter(tokens, dtype=np.intp)
        if self.size or not len(tokens):
            for token in tokens.tolist():
                self.add(token)
            return
        last = tokens[-self.window:]  # a long prompt into an empty history: count it in one go
        ids, counts = np.unique(last, return_counts=True)
        self._ids = np.resize(self._ids, max(len(self._ids), 2 * len(ids)))
        self._counts = np.resize(self._counts, len(self._ids))
        self._ids[: len(ids)] = ids
        self._counts[: len(ids)] = counts
        self._slot = dict(zip(ids.tolist(), range(len(ids)), strict=True))
        self._recent.extend(last.tolist())
        self.size = len(ids)

    def add(self, token: int) -> int | None:
        """Count ``token``; the id that left the window to make room for it, if any (for ``undo``)."""
        dropped = None
        if len(self._recent) == self.window:
            dropped = self._recent.popleft()
            self._drop(dropped)
        self._recent.append(token)
        self._count(token)
        return dropped

    def undo(self, token: int, dropped: int | None) -> None:
        """Take back the last ``add(token)``, which returned ``dropped``."""
        self._recent.pop()
        self._drop(token)
        if dropped is not None:
            self._recent.appendleft(dropped)
            self._count(dropped)

    def _count(self, token: int) -> None:
        slot = self._slot.get(token)
        if slot is not None:
            self._counts[slot] += 1
            return
        if self.size == len(self._ids):
            self._ids = np.resize(self._ids, 2 * self.size)
            self._counts = np.resize(self._counts, 2 * self.size)
        self._slot[token] = self.size
        self._ids[self.size] = token
        self._counts[self.size] = 1
        self.size += 1

    def _drop(self, token: int) -> None:
        slot = self._slot[token]
        self._counts[slot] -= 1
        if self._counts[slot] > 0:
            return
        last = self.size - 1  # move the last slot into the freed one
        del self._slot[token]
        if slot != last:
            moved = int(self._ids[last])
            self._ids[slot], self._counts[slot] = moved, self._counts[last]
            self._slot[moved] = slot
        self.size = last
