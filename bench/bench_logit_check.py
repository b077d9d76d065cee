"""What the damaged-model check costs per generated token: ``Reply.take``'s one dot product of the logit row.

    python bench/bench_logit_check.py [--rounds 7] [--calls 2000]

Every generated token's logits are checked for NaN, infinite or overflowing values (damaged weights) before
the sampler sees them. This times that check (``np.dot(row, row)`` and ``math.isfinite``) beside greedy's
``np.argmax`` over the same row, for 102,400 (EXAONE 3.5/4.0) and 153,600 (EXAONE 4.5, K-EXAONE) logits, and
two alternatives that were not chosen (``np.isfinite(row).all()``, ``row.min()`` and ``row.max()``):
interleaved round by round, the median over rounds of each round's mean per call.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine_line, markdown_table, write_section  # noqa: E402

VOCABS = (102_400, 153_600)


def candidates(row: np.ndarray) -> dict[str, Callable[[], object]]:
    return {
        "the check: np.dot(row, row), isfinite": lambda: math.isfinite(float(np.dot(row, row))),
        "greedy's np.argmax (for scale)": lambda: int(np.argmax(row)),
        "np.isfinite(row).all() (not chosen)": lambda: bool(np.isfinite(row).all()),
        "row.min() and row.max() (not chosen)": lambda: math.isfinite(float(row.min()) + float(row.max())),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--calls", type=int, default=2000)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for vocab in VOCABS:
            row = (rng.standard_normal(vocab) * 4).astype(np.float32)
            for name, fn in candidates(row).items():
                seconds = timeit.timeit(fn, number=args.calls) / args.calls
                results.setdefault((name, vocab), []).append(seconds * 1e6)
    names = list(candidates(np.zeros(1, dtype=np.float32)))
    rows = [[name, *(f"{statistics.median(results[(name, v)]):.1f}" for v in VOCABS)] for name in names]
    body = "\n\n".join([
        machine_line(),
        f"`python bench/bench_logit_check.py --rounds {args.rounds} --calls {args.calls}`: microseconds per call "
        "on one float32 logit row (N(0, 4²)); median over rounds of each round's mean.",
        markdown_table(["per token", *(f"{v:,} logits: µs" for v in VOCABS)], rows),
        "The check runs once per generated token, before sampling; a decode step of a real model takes "
        "milliseconds (see Generation), so it adds well under 1%. It flags NaN and infinity (they propagate "
        "through the sum) and values above ~1e16, whose squares overflow float32: far beyond any real logit.",
    ])
    print(body)
    write_section("bench_logit_check", body)


if __name__ == "__main__":
    main()
