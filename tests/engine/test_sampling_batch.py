"""The batched verification path ``TokenSampler.sample_run`` / ``probabilities_run``: at every verified position
it draws exactly what the one-token path (``sample`` then ``accept``) draws, from the same processed
distribution, and the full-vocabulary draw by rejection (envelope.py) keeps transformers' distribution."""

from __future__ import annotations

import numpy as np
import pytest
from exaone_desktop.engine.sampling.sampler import TokenSampler
from exaone_desktop.engine.settings import GenerationSettings
from scipy.stats import chisquare

from .test_sampling import DRAWS, P_MIN, chi2_pvalue, hf_probs

SETTINGS = {
    "greedy": {},
    "greedy_penalised": {"repetition_penalty": 1.3, "presence_penalty": 0.5},
    "top_k_combo": {"do_sample": True, "temperature": 0.8, "top_k": 50, "top_p": 0.9, "repetition_penalty": 1.1},
    "full_top_p": {"do_sample": True, "top_k": 0, "top_p": 0.9},
    "full_repetition": {"do_sample": True, "top_k": 0, "repetition_penalty": 1.1},
    "full_min_p": {"do_sample": True, "top_k": 0, "min_p": 0.05, "temperature": 0.7},
    "full_presence": {"do_sample": True, "top_k": 0, "top_p": 0.95, "presence_penalty": 1.5,
                      "frequency_penalty": 0.3},
    "full_cold_nucleus": {"do_sample": True, "top_k": 0, "top_p": 0.6, "temperature": 0.5, "min_p": 0.01},
}


def block(vocab: int, k: int, seed: int, sigma: float) -> tuple[np.ndarray, list[int], list[int]]:
    """(k + 1 rows of logits, k drafted tokens that each row favours, a prompt); the drafts repeat prompt ids,
    so the penalties of later positions depend on the earlier drafts."""
    rng = np.random.default_rng(seed)
    rows = (rng.normal(size=(k + 1, vocab)) * sigma).astype(np.float32)
    prompt = rng.integers(0, vocab, 60).tolist()
    drafted = [prompt[i % 7] if i % 2 else int(rng.integers(0, vocab)) for i in range(k)]
    for i, token in enumerate(drafted):
        if i != seed % (k + 2):  # likely, not certain; one draft in most blocks is a guess: runs stop there
            rows[i, token] = rows[i].max() + 6.0
    return rows, drafted, prompt


def one_token_path(sampler: TokenSampler, rows: np.ndarray, drafted: list[int]) -> list[int]:
    drawn = []
    for i, row in enumerate(rows):
        drawn.append(sampler.sample(row))
        if i == len(drafted) or drawn[-1] != drafted[i]:
            break
        sampler.accept(drawn[-1])
    return drawn


@pytest.mark.parametrize("name", sorted(SETTINGS))
@pytest.mark.parametrize("vocab", [80, 5000, 153_600])
def test_sample_run_draws_what_the_one_token_path_draws(name: str, vocab: int) -> None:
    lengths = []
    for trial in range(12 if vocab < 100_000 else 3):
        rows, drafted, prompt = block(vocab, 6, trial, 1.0 if trial % 2 else 4.0)
        before = rows.copy()
        s = GenerationSettings(seed=trial, **SETTINGS[name])  # type: ignore[arg-type]
        with TokenSampler(s, vocab, history_size=64) as one, TokenSampler(s, vocab, history_size=64) as run:
            one.start(prompt)
            run.start(prompt)
            expected = one_token_path(one, rows, drafted)
            got = run.sample_run(rows, drafted)
            assert got == expected, (name, trial)
            np.testing.assert_array_equal(rows, before)  # penalties undone
            for token in got[:-1]:
                run.accept(token)
            one_next, run_next = one.sample(rows[-1]), run.sample(rows[-1])
            assert run_next == one_next  # same histories, same random stream afterwards
        lengths.append(len(got))
    if vocab < 100_000:
        assert min(lengths) <= 3 and max(lengths) >= 5  # runs that stop early and runs that go on


def assert_run_matches_one_token_path(one: TokenSampler, run: TokenSampler, rows: np.ndarray, drafted: list[int],
                                     prompt: list[int]) -> None:
    """``run.probabilities_run`` equals ``one.probabilities`` at each position, ``one`` accepting the drafts."""
    one.start(prompt)
    run.start(prompt)
    batched = run.probabilities_run(rows, drafted)
    for i, row in enumerate(rows):
        np.testing.assert_allclose(batched[i], one.probabilities(row), rtol=0, atol=1e-6)
        if i < len(drafted):
            one.accept(drafted[i])


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_probabilities_at_each_verified_position_equal_the_one_token_path(name: str) -> None:
    vocab = 5000
    rows, drafted, prompt = block(vocab, 5, 3, 2.0)
    s = GenerationSettings(seed=1, **SETTINGS[name])  # type: ignore[arg-type]
    with TokenSampler(s, vocab, history_size=64) as one, TokenSampler(s, vocab, history_size=64) as run:
        assert_run_matches_one_token_path(one, run, rows, drafted, prompt)


def test_history_window_slides_over_the_drafts() -> None:
    """A penalty window that is full: each draft pushes the oldest id out for the positions after it."""
    vocab = 200
    rows, drafted, prompt = block(vocab, 6, 9, 1.0)
    s = GenerationSettings(seed=4, do_sample=True, top_k=0, repetition_penalty=2.0, frequency_penalty=0.7)
    with TokenSampler(s, vocab, history_size=5) as one, TokenSampler(s, vocab, history_size=5) as run:
        assert_run_matches_one_token_path(one, run, rows, drafted, prompt)
        run.start(prompt)  # probabilities_run left the histories as they were
        fresh = TokenSampler(s, vocab, history_size=5)
        fresh.start(prompt)
        np.testing.assert_array_equal(run.probabilities(rows[0]), fresh.probabilities(rows[0]))


@pytest.mark.parametrize("name", ["full_top_p", "full_min_p", "full_cold_nucleus", "top_k_combo"])
def test_second_position_draws_match_transformers(name: str) -> None:
    """Position 1 of a run (after the draft at position 0 was drawn) follows transformers' processors with
    that draft in the history, by chi-squared."""
    vocab = 80
    rng = np.random.default_rng(5)
    rows = (rng.normal(size=(2, vocab)) * 2.0).astype(np.float32)
    prompt = [3, 3, 7, 11, 42]
    drafted = [11]
    rows[0, 11] = 60.0  # always drawn
    s = GenerationSettings(seed=2, **{**SETTINGS[name], "repetition_penalty": 1.3})  # type: ignore[arg-type]
    with TokenSampler(s, vocab, history_size=64) as sampler:
        sampler.start(prompt)
        second = [sampler.sample_run(rows, drafted)[1] for _ in range(DRAWS)]
    assert chi2_pvalue(second, hf_probs(rows[1], prompt + drafted, s)) > P_MIN


def test_full_vocabulary_draws_match_transformers_at_k_exaone_size() -> None:
    """The draw by rejection under the column maxima, with top-p decided by bounds, at 153,600 entries."""
    vocab = 153_600
    rng = np.random.default_rng(31)
    logits = (rng.normal(size=vocab) * 3.0).astype(np.float32)
    top = np.argsort(logits)[-40:]
    logits[top] += 6.0  # a few dozen likely tokens so that chi-squared has bins to compare
    for s in (GenerationSettings(do_sample=True, top_k=0, top_p=0.8, seed=3),
              GenerationSettings(do_sample=True, top_k=0, temperature=0.7, min_p=0.05, seed=4)):
        with TokenSampler(s, vocab, history_size=64) as sampler:
            sampler.start([])
            draws = [sampler.sample(logits) for _ in range(3000)]
        assert chi2_pvalue(draws, hf_probs(logits, [], s)) > P_MIN


@pytest.mark.parametrize("scale", [0.9, 4.0])
def test_top_p_bounds_decide_as_the_exact_kept_set(scale: float) -> None:
    """Every decision the bounds make agrees with transformers' kept set; undecided ones are few."""
    vocab = 30000
    rng = np.random.default_rng(int(scale * 10))
    undecided = 0
    for top_p, temperature in ((0.9, 1.0), (0.5, 0.7), (0.97, 1.6)):
        s = GenerationSettings(do_sample=True, top_k=0, top_p=top_p, temperature=temperature, seed=1)
        logits = (rng.normal(size=vocab) * scale).astype(np.float32)
        kept = hf_probs(logits, [], s) > 0
        with TokenSampler(s, vocab, history_size=8) as sampler:
            full = sampler._full
            assert full is not None and full.prepare(logits)
            weights = full.weights(logits)
            for token in rng.choice(vocab, 300, replace=False).tolist() + np.flatnonzero(kept)[-20:].tolist():
                verdict = full.top_p(logits, token, float(weights[token]), sampler._tail)
                if verdict is None:
                    undecided += 1
                else:
                    assert verdict == kept[token], (top_p, token)
    assert undecided < 40


def test_flat_distributions_are_drawn_from_the_bit_trick_weights_with_transformers_distribution() -> None:
    """A flat vocabulary (no column holds much of the mass) with top-p: after the first position, draws come from
    the bit-trick weights (``draw_flat``) and still follow transformers' distribution, min-p included. 552
    columns: the last span of columns draw_flat picks from is a short one."""
    vocab = 64 * 552
    rng = np.random.default_rng(57)
    logits = rng.normal(size=vocab).astype(np.float32)
    logits[rng.choice(vocab, 60, replace=False)] += 3.5  # bins with enough draws; still flat (< 1/64 a column)
    for s in (GenerationSettings(do_sample=True, top_k=0, top_p=0.9, seed=5),
              GenerationSettings(do_sample=True, top_k=0, top_p=0.7, temperature=1.3, min_p=1e-5, seed=6)):
        with TokenSampler(s, vocab, history_size=64) as sampler:
            sampler.start([])
            full = sampler._full
            assert full is not None
            flat = []
            draw_flat = full.draw_flat

            def counted(*args: object, _draw: object = draw_flat, _calls: list[int] = flat) -> object:
                _calls.append(1)
                return _draw(*args)  # type: ignore[operator]

            full.draw_flat = counted  # type: ignore[method-assign]
            draws = [sampler.sample(logits) for _ in range(DRAWS)]
        assert len(flat) >= DRAWS - 10
        assert chi2_pvalue(draws, hf_probs(logits, [], s)) > P_MIN


def test_flat_draws_correct_the_bit_trick_weights() -> None:
    """``draw_flat`` proposes tokens by their bit-trick weights, which overshoot the true weights by up to 6.15 %
    depending on where a weight falls between powers of two: two equal-sized groups of tokens, one at exact powers
    of two below the most likely token (no overshoot), one where the overshoot is largest, must still be drawn
    in transformers' proportions (uncorrected proposals would favour the second group by 6 %, over 5 standard
    errors at this many draws)."""
    vocab, draws = 16384, 40000
    rng = np.random.default_rng(3)
    logits = np.empty(vocab, dtype=np.float32)
    logits[0] = 0.0  # the most likely token
    low = np.arange(1, 201)
    logits[low] = -3.4 + rng.uniform(-0.2, 0.2, 200)  # distinct: top-p's cut falls among them, not in a tie
    groups = np.arange(201, vocab) % 2
    logits[201:] = np.where(groups == 0, -np.log(2.0), -(2 - (1 / np.log(2.0) - 1)) * np.log(2.0))
    s = GenerationSettings(do_sample=True, top_k=0, top_p=0.999, seed=11)
    with TokenSampler(s, vocab, history_size=8) as sampler:
        sampler.start([])
        tokens = np.array([sampler.sample(logits) for _ in range(draws)])
        assert sampler._full is not None and sampler._full.flat
    probs = hf_probs(logits, [], s)
    label = np.zeros(vocab, dtype=int)  # 0: the top and the low tokens, 1 and 2: the two groups
    label[201:] = 1 + groups
    observed = np.bincount(label[tokens], minlength=3)
    expected = np.bincount(label, weights=probs, minlength=3) * draws
    assert chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > P_MIN, (observed, expected)


@pytest.mark.parametrize("vocab", [30000, 30017])  # 30017: a shorter last column of the envelope
def test_top_p_decided_from_the_columns_above_a_token_keeps_only_kept_tokens(vocab: int) -> None:
    """A peaked distribution: top-p is decided from the few columns above the drawn token (no pass over the
    vocabulary), and every token it keeps that way is in transformers' kept set."""
    rng = np.random.default_rng(vocab)
    decided = 0
    for top_p, temperature in ((0.9, 1.0), (0.5, 0.7), (0.97, 1.6)):
        s = GenerationSettings(do_sample=True, top_k=0, top_p=top_p, temperature=temperature, seed=1)
        logits = (rng.normal(size=vocab) * 4.0).astype(np.float32)
        logits[-1] = logits.max() + 0.5  # the most likely token in the short column, when there is one
        kept = hf_probs(logits, [], s) > 0
        with TokenSampler(s, vocab, history_size=8) as sampler:
            full = sampler._full
            assert full is not None and full.prepare(logits)
            for token in np.argsort(logits)[-300:].tolist():  # the kept set and tokens below it
                if full._kept_by_columns(logits, logits[token], sampler._tail):
                    decided += 1
                    assert kept[token], (top_p, token)
    assert decided >= 10


def test_rows_are_checked() -> None:
    with TokenSampler(GenerationSettings(do_sample=True, seed=1), 80, history_size=8) as sampler:
        with pytest.raises(ValueError, match="rows of 80 logits"):
            sampler.sample_run(np.zeros((3, 80), dtype=np.float32), [1])
        with pytest.raises(ValueError, match="rows of 80 logits"):
            sampler.sample_run(np.zeros((1, 81), dtype=np.float32), [1])
