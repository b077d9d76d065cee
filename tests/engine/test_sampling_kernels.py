"""The sampler's array kernels keep their exactness arguments: top-k's candidates are every token at or above
their floor, top-p's count by one search equals rounding each cumulative sum to float32, and full-vocabulary
top-p's bound from a part of the vocabulary decides only what the whole vocabulary's bound decides."""

from __future__ import annotations

import numpy as np
import pytest
from exaone_desktop.engine.sampling.kernels import nucleus_tail, rounds_to_at_most, top_candidates, top_p_keep
from exaone_desktop.engine.sampling.sampler import TokenSampler
from exaone_desktop.engine.settings import GenerationSettings

from .test_sampling import hf_probs


@pytest.mark.parametrize("vocab", [1000, 64 * 50 + 17, 25_600, 153_600])
def test_top_candidates_are_every_token_at_or_above_the_floor(vocab: int) -> None:
    rng = np.random.default_rng(vocab)
    for trial in range(40):
        z = rng.normal(size=vocab).astype(np.float32)
        if trial % 2:
            z = np.round(z * 4) / 4  # many ties, column maxima among them
        m = int(rng.integers(1, 80))
        ids, values, floor = top_candidates(z, m)
        assert sorted(ids.tolist()) == np.flatnonzero(z >= floor).tolist()
        np.testing.assert_array_equal(values, z[ids])
        assert np.sort(z)[-m] >= floor  # at least m candidates


@pytest.mark.parametrize("top_p", [0.0, 0.05, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999999])
def test_the_float64_limit_rounds_like_float32(top_p: float) -> None:
    tail = nucleus_tail(top_p)
    limit, inclusive = rounds_to_at_most(tail)
    t32 = np.float32(tail)
    spacing = float(np.spacing(t32)) if tail else 2.0**-149
    rng = np.random.default_rng(int(top_p * 1e6))
    near = [limit, np.nextafter(limit, 0.0), np.nextafter(limit, 1.0), float(t32),
            float(np.nextafter(t32, np.float32(1)))]
    for c in near + (float(t32) + rng.normal(size=4000) * spacing * 2).tolist():
        assert (np.float32(c) <= t32) == (c <= limit if inclusive else c < limit), c


def test_top_p_keep_counts_as_rounding_every_cumulative_sum() -> None:
    """One search against the limit gives the count that rounding each ascending cumulative sum to float32 and
    comparing it with the tail gives (transformers' arithmetic), sums that land on the tail included."""
    rng = np.random.default_rng(5)
    for trial in range(400):
        n = int(rng.integers(1, 60))
        e = np.exp(rng.normal(size=n) * rng.choice([0.5, 3.0])).astype(np.float32)
        probs = np.sort(e * (np.float32(1) / e.sum(dtype=np.float32)))[::-1]
        ascending = np.cumsum(probs[::-1].astype(np.float64))
        if trial % 3 == 0:  # put the tail exactly on a cumulative sum
            tail = float(np.float32(ascending[int(rng.integers(0, n))]))
        else:
            tail = nucleus_tail(float(rng.choice([0.5, 0.9, 0.95])))
        mass_below = float(rng.choice([0.0, 1e-3]))
        rounded = (mass_below + ascending).astype(np.float32)
        want = max(1, n - int(np.count_nonzero(rounded <= np.float32(tail))))
        assert top_p_keep(probs, tail, mass_below) == want, trial


def test_top_p_is_decided_from_a_part_of_the_vocabulary_when_that_suffices() -> None:
    """A token well inside the nucleus is kept on the bound from the first part of the vocabulary alone (the rest
    of the mask is not computed), and that verdict is transformers'."""
    vocab = 30_000
    rng = np.random.default_rng(11)
    logits = rng.normal(size=vocab).astype(np.float32)
    s = GenerationSettings(do_sample=True, top_k=0, top_p=0.9, seed=1)
    kept = hf_probs(logits, [], s) > 0
    order = np.argsort(logits)
    with TokenSampler(s, vocab, history_size=8) as sampler:
        full = sampler._full
        assert full is not None and full.prepare(logits)
        weights = full.weights(logits)
        decided_by_part = 0
        for token in order[int(0.8 * vocab):: 97].tolist():  # tokens with most of the mass below them
            full._masks[0] = 7.0
            assert full.top_p(logits, token, float(weights[token]), sampler._tail) == kept[token]
            decided_by_part += bool((full._masks[0, -100:] == 7.0).all())
        assert decided_by_part >= 20


@pytest.mark.parametrize("min_p", [None, 0.001])
def test_tokens_the_bounds_cannot_place_are_decided_as_transformers_does(min_p: float | None) -> None:
    """Near the nucleus' cut the bit-trick bounds give no verdict; the decider then asks the exact arithmetic
    (top-p alone: transformers' test for that token; with min-p: the exact kept set) and agrees with transformers."""
    vocab = 30_000
    rng = np.random.default_rng(17)
    logits = rng.normal(size=vocab).astype(np.float32)
    s = GenerationSettings(do_sample=True, top_k=0, top_p=0.9, min_p=min_p, seed=1)
    kept = hf_probs(logits, [], s) > 0
    edge = int(np.flatnonzero(kept)[np.argmin(logits[kept])])  # the least likely kept token
    near = np.argsort(np.abs(logits - logits[edge]))[:200].tolist()  # tokens on both sides of the cut
    with TokenSampler(s, vocab, history_size=8) as sampler:
        full = sampler._full
        assert full is not None and full.prepare(logits)
        weights = full.weights(logits)
        unplaced = sum(full.top_p(logits, t, float(weights[t]), sampler._tail) is None for t in near)
        decide = sampler._decider(logits)
        assert [decide(t, float(weights[t])) for t in near] == kept[near].tolist()
    assert unplaced >= 10  # the exact branch was asked
    assert kept[near].any() and not kept[near].all()


@pytest.mark.parametrize(("presence", "frequency"), [(1.5, 0.0), (0.0, 0.4), (0.7, 0.3)])
def test_presence_and_frequency_penalties_give_openais_float32_logits(presence: float, frequency: float) -> None:
    """The penalised logits are exactly float32(logit - (count * frequency + (count > 0) * presence)) at each
    generated id (both shortcuts: presence alone, and counts times frequency plus presence), and are undone."""
    vocab = 5000
    rng = np.random.default_rng(3)
    logits = rng.normal(size=vocab).astype(np.float32)
    generated = rng.integers(0, 40, 120).tolist()  # repeats: counts up to about a dozen
    s = GenerationSettings(do_sample=True, top_k=0, presence_penalty=presence, frequency_penalty=frequency, seed=1)
    counts = np.bincount(generated, minlength=vocab).astype(np.float32)
    want = logits - (counts * np.float32(frequency) + (counts > 0) * np.float32(presence))
    with TokenSampler(s, vocab, history_size=4096) as sampler:
        sampler.start([1, 2, 3])
        for t in generated:
            sampler.accept(t)
        z = logits.copy()
        saved = sampler._penalise(z)
        np.testing.assert_array_equal(z, want)
        for where, values in reversed(saved):
            z[where] = values
        np.testing.assert_array_equal(z, logits)
