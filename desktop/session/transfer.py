"""What a download's progress means to a person, without Qt: bytes done of the total, the speed and the time
left. The speed is averaged over the last ``WINDOW_S`` seconds, so a stall shows as a falling speed and a
growing time left rather than a frozen figure."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Transfer", "TransferFigures"]

WINDOW_S = 5.0


@dataclass(frozen=True)
class TransferFigures:
    done: int  # bytes
    total: int  # bytes (0: unknown)
    bytes_per_s: float | None  # None: too early to say
    seconds_left: float | None  # None: unknown (no total, or no speed yet)


class Transfer:
    """Feed it the fraction done as it comes; ``figures()`` says how far, how fast and how long still."""

    def __init__(self, total: int, *, done: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        """``done``: bytes already there (a resumed download), not counted in the speed."""
        self.total = max(0, int(total))
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque([(clock(), max(0, int(done)))])

    def update(self, fraction: float) -> TransferFigures:
        done = int(max(0.0, min(1.0, fraction)) * self.total)
        now = self.clock()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW_S:
            self.samples.popleft()
        return self.figures()

    def figures(self) -> TransferFigures:
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        elapsed = t1 - t0
        speed = (b1 - b0) / elapsed if elapsed >= 0.5 else None
        left = None
        if speed and self.total:
            left = max(0.0, (self.total - b1) / speed)
        return TransferFigures(b1, self.total, speed, left)
