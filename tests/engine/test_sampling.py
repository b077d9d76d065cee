"""Our sampler draws from exactly the distribution transformers' processors define.

Each chi-squared case draws thousands of tokens from fixed logits and tests the goodness of fit against
the probabilities computed by transformers' own RepetitionPenalty -> Temperature -> TopK -> TopP -> MinP
processors. A power test shows the same check rejects llama-cpp-python's default chain. The warper cases
of transformers' own tests/generation/test_logits_process.py are replayed on our sampler, and the set of
tokens it keeps is compared, exactly, with the installed transformers' on random logits of vocabularies
large enough to exercise the partial selections.
"""

from __future__ import annotations

import ctypes
from collections import Counter

import llama_cpp
import numpy as np
import pytest
import torch
from exaone_desktop.engine.sampling.sampler import TOKEN_DATA, HistoryCounts, TokenSampler, sequence_seed
from exaone_desktop.engine.settings import GenerationSettings
from llama_cpp._internals import LlamaSampler
from scipy.stats import chisquare
from transformers.generation.logits_process import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

VOCAB = 80
DRAWS = 6000
P_MIN = 0.001
PROMPT = [3, 3, 7, 11, 11, 11, 20, 42, 42, 60, 61]


def fixed_logits(seed: int = 0, scale: float = 2.0, vocab: int = VOCAB) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=vocab) * scale).astype(np.float32)


def hf_scores(logits: np.ndarray, prompt: list[int], s: GenerationSettings) -> torch.Tensor:
    """The warped scores transformers' generate() samples from for ``s`` (-inf where a token is removed)."""
    processors: list = []
    if s.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(s.repetition_penalty))
    if s.temperature != 1.0:
        processors.append(TemperatureLogitsWarper(s.temperature))
    if s.top_k:
        processors.append(TopKLogitsWarper(s.top_k))
    if s.top_p < 1.0:
        processors.append(TopPLogitsWarper(s.top_p))
    if s.min_p is not None:
        processors.append(MinPLogitsWarper(s.min_p))
    ids = torch.tensor([prompt], dtype=torch.long)
    scores = torch.tensor(logits, dtype=torch.float32)[None]
    for proc in processors:
        scores = proc(ids, scores)
    return scores[0]


def hf_probs(logits: np.ndarray, prompt: list[int], s: GenerationSettings) -> np.ndarray:
    """Next-token probabilities as transformers' generate() computes them for ``s``."""
    return torch.softmax(hf_scores(logits, prompt, s).double(), dim=-1).numpy()


def chi2_pvalue(tokens: list[int], probs: np.ndarray) -> float:
    """Goodness of fit of ``tokens`` to ``probs``; bins expecting < 5 draws are merged into one."""
    observed = np.bincount(tokens, minlength=len(probs)).astype(float)
    if observed[probs == 0].sum() > 0:
        return 0.0  # a token the reference forbids was drawn
    expected = probs * len(tokens)
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    if exp[-1] < 5:  # fold the small remainder into the smallest kept bin
        smallest = int(np.argmin(exp[:-1]))
        obs[smallest] += obs[-1]
        exp[smallest] += exp[-1]
        obs, exp = obs[:-1], exp[:-1]
    if len(exp) == 1:
        return 1.0 if obs[0] == len(tokens) else 0.0
    return float(chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)


def our_draws(logits: np.ndarray, prompt: list[int], s: GenerationSettings, n: int = DRAWS,
              history_size: int = 4096) -> list[int]:
    with TokenSampler(s, len(logits), history_size=history_size) as sampler:
        sampler.start(prompt)
        return [sampler.sample(logits) for _ in range(n)]


SAMPLING_CASES = {
    "defaults": {},
    "temperature_0.3": {"temperature": 0.3},
    "temperature_1.7": {"temperature": 1.7},
    "top_k_0": {"top_k": 0},
    "top_k_5": {"top_k": 5},
    "top_p_0.9": {"top_p": 0.9},
    "top_p_tiny": {"top_p": 1e-6},
    "repetition_1.3": {"repetition_penalty": 1.3, "top_k": 0},
    "min_p_0.1": {"min_p": 0.1, "temperature": 0.8},
    "combo": {"temperature": 1.7, "top_k": 20, "top_p": 0.9, "repetition_penalty": 1.2},
    "combo_cold": {"temperature": 0.6, "top_k": 0, "top_p": 0.8, "repetition_penalty": 0.8},
}


@pytest.mark.parametrize("name", sorted(SAMPLING_CASES))
def test_chain_matches_transformers(name: str) -> None:
    s = GenerationSettings(do_sample=True, seed=1234, **SAMPLING_CASES[name])
    logits = fixed_logits()
    probs = hf_probs(logits, PROMPT, s)
    draws = our_draws(logits, PROMPT, s)
    assert chi2_pvalue(draws, probs) > P_MIN


def test_reference_cases_really_differ() -> None:
    """Guard for the test itself: the settings above produce genuinely different distributions."""
    logits = fixed_logits()
    dists = [hf_probs(logits, PROMPT, GenerationSettings(do_sample=True, **kw)) for kw in SAMPLING_CASES.values()]
    for i in range(len(dists)):
        for j in range(i + 1, len(dists)):
            assert np.abs(dists[i] - dists[j]).sum() > 1e-3


def test_top_p_tiny_is_argmax() -> None:
    logits = fixed_logits(5)
    draws = our_draws(logits, [], GenerationSettings(do_sample=True, top_p=1e-6, seed=1), n=300)
    assert set(draws) == {int(np.argmax(logits))}


def test_top_k_keeps_ties_like_transformers() -> None:
    """transformers keeps every token tied with the k-th logit; llama.cpp's top-k would cut at k."""
    logits = np.full(VOCAB, -3.0, dtype=np.float32)
    logits[:2] = [1.0, 0.5]
    logits[10:16] = 0.2  # six tokens tied for places 3..8
    s = GenerationSettings(do_sample=True, top_k=4, seed=7)
    probs = hf_probs(logits, [], s)
    assert (probs > 0).sum() == 8
    draws = our_draws(logits, [], s)
    assert set(draws) == set(np.flatnonzero(probs))
    assert chi2_pvalue(draws, probs) > P_MIN


def test_power_llama_cpp_default_chain_is_rejected() -> None:
    """The same check fails llama-cpp-python's default chain (top_k 40, top_p before temp, min_p 0.05)."""
    s = GenerationSettings(do_sample=True, temperature=1.7, top_p=0.9, seed=1234)
    logits = fixed_logits()
    default = LlamaSampler()  # the order Llama._init_sampler uses
    default.add_top_k(40)
    default.add_typical(1.0, 1)
    default.add_top_p(0.9, 1)
    default.add_min_p(0.05, 1)
    default.add_temp(1.7)
    default.add_dist(1234)
    buf = np.zeros(VOCAB, dtype=TOKEN_DATA)
    draws = []
    for _ in range(DRAWS):
        buf["id"] = np.arange(VOCAB)
        buf["logit"] = logits
        arr = llama_cpp.llama_token_data_array(buf.ctypes.data_as(llama_cpp.llama_token_data_p), VOCAB, -1, False)
        llama_cpp.llama_sampler_apply(default.sampler, ctypes.byref(arr))
        draws.append(int(arr.data[arr.selected].id))
    default.close()
    assert chi2_pvalue(draws, hf_probs(logits, [], s)) < P_MIN
    # ...while ours passes on the very same setting.
    assert chi2_pvalue(our_draws(logits, [], s), hf_probs(logits, [], s)) > P_MIN


@pytest.mark.parametrize("temperature", [0.3, 1.0, 1.7])
def test_greedy_is_argmax_whatever_the_temperature(temperature: float) -> None:
    logits = fixed_logits(3)
    with TokenSampler(GenerationSettings(temperature=temperature, top_k=3), VOCAB, history_size=64) as sampler:
        sampler.start([])
        assert {sampler.sample(logits) for _ in range(50)} == {int(np.argmax(logits))}


def test_greedy_applies_repetition_penalty_first() -> None:
    logits = fixed_logits(4)
    top = int(np.argmax(logits))
    s = GenerationSettings(repetition_penalty=5.0)
    expected = int(np.argmax(hf_probs(logits, [top], s)))
    assert expected != top
    with TokenSampler(s, VOCAB, history_size=64) as sampler:
        sampler.start([top])
        assert sampler.sample(logits) == expected


def test_repetition_penalty_covers_a_long_prompt() -> None:
    """llama-cpp-python looks back 64 tokens; we cover the whole context like transformers."""
    logits = fixed_logits(4)
    top = int(np.argmax(logits))
    filler = [int(t) for t in np.flatnonzero(logits < 0)] * 20  # penalising these keeps them unlikely
    prompt = [top, *filler]
    assert len(prompt) > 200
    s = GenerationSettings(repetition_penalty=5.0)
    expected = int(np.argmax(hf_probs(logits, prompt, s)))
    assert expected != top
    with TokenSampler(s, VOCAB, history_size=4096) as sampler:
        sampler.start(prompt)
        assert sampler.sample(logits) == expected
    with TokenSampler(s, VOCAB, history_size=64) as short_window:  # what a 64-token window gives
        short_window.start(prompt)
        assert short_window.sample(logits) == top


def test_generated_tokens_are_penalised_and_start_resets() -> None:
    logits = fixed_logits(4)
    top = int(np.argmax(logits))
    with TokenSampler(GenerationSettings(repetition_penalty=5.0), VOCAB, history_size=64) as sampler:
        sampler.start([])
        assert sampler.sample(logits) == top
        sampler.accept(top)
        assert sampler.sample(logits) != top
        sampler.start([])
        assert sampler.sample(logits) == top


def test_presence_and_frequency_penalties_follow_openai() -> None:
    """logit -= count * frequency + (count > 0) * presence, over generated tokens only."""
    logits = fixed_logits(6)
    generated = [5, 5, 5, 9]
    s = GenerationSettings(do_sample=True, top_k=0, presence_penalty=0.7, frequency_penalty=0.4, seed=9)
    counts = np.bincount(generated, minlength=VOCAB)
    adjusted = logits - counts * 0.4 - (counts > 0) * 0.7
    probs = hf_probs(adjusted.astype(np.float32), [], s)
    with TokenSampler(s, VOCAB, history_size=4096) as sampler:
        sampler.start([5, 9, 9, 9])  # prompt ids: not counted by these penalties
        for t in generated:
            sampler.accept(t)
        draws = [sampler.sample(logits) for _ in range(DRAWS)]
    assert chi2_pvalue(draws, probs) > P_MIN


def test_same_seed_same_tokens_and_none_is_random() -> None:
    logits = fixed_logits(2, scale=0.5)

    def run(seed: int | None) -> list[int]:
        return our_draws(logits, [], GenerationSettings(do_sample=True, top_k=0, seed=seed), n=40)

    assert run(11) == run(11)
    assert run(11) != run(12)
    assert run(None) != run(None)


def test_wrong_logits_length_is_rejected() -> None:
    with TokenSampler(GenerationSettings(), VOCAB, history_size=8) as sampler, pytest.raises(ValueError):
        sampler.sample(np.zeros(VOCAB + 1, dtype=np.float32))


def test_greedy_breaks_ties_like_transformers():
    logits = np.zeros(50, dtype=np.float32)
    logits[[7, 31]] = 3.0  # two equal maxima
    for settings in (GenerationSettings(), GenerationSettings(repetition_penalty=1.0000001)):
        with TokenSampler(settings, 50, history_size=64) as sampler:
            sampler.start([])
            assert sampler.sample(logits) == int(torch.argmax(torch.from_numpy(logits))) == 7


def our_probs(logits: np.ndarray, prompt: list[int], s: GenerationSettings) -> np.ndarray:
    with TokenSampler(s, len(logits), history_size=4096) as sampler:
        sampler.start(prompt)
        return sampler.probabilities(np.asarray(logits, dtype=np.float32))


def sampled(**kw: object) -> GenerationSettings:
    """do_sample with transformers' other defaults switched off unless given (top_k 0, top_p 1)."""
    return GenerationSettings(**{"do_sample": True, "top_k": 0, "seed": 0, **kw})  # type: ignore[arg-type]


# -- transformers' own warper test cases (tests/generation/test_logits_process.py) -------------------

def test_transformers_top_k_case() -> None:
    ramp = np.arange(10, dtype=np.float32)
    shifted = ramp.copy()
    shifted[:5] += 10
    for logits, kept in ((ramp, [False] * 7 + [True] * 3), (shifted, [False] * 2 + [True] * 3 + [False] * 5)):
        ours = our_probs(logits, [], sampled(top_k=3)) > 0
        assert ours.tolist() == kept
        assert ours.tolist() == (~torch.isinf(TopKLogitsWarper(3)(None, torch.tensor(logits)[None]))[0]).tolist()


def test_transformers_top_p_case() -> None:
    """Where the top two sum to exactly 0.8, transformers keeps two tokens (llama.cpp's top-p keeps three)."""
    dist = np.log(np.array([[0.3, 0.1, 0.1, 0.5], [0.15, 0.3, 0.3, 0.25]])).astype(np.float32)
    expected = np.array([[0.3, 0.0, 0.0, 0.5], [0.0, 0.3, 0.3, 0.25]])
    for row, want in zip(dist, expected, strict=True):
        probs = our_probs(row, [], sampled(top_p=0.8))
        np.testing.assert_allclose(probs, want / want.sum(), rtol=1e-5)
        assert (probs > 0).tolist() == (want > 0).tolist()
    # the ramp edge cases: three tokens kept on the mild ramp, only the top one on the extreme ramp
    ramp = np.arange(10, dtype=np.float32) - 5
    assert (our_probs(ramp, [], sampled(top_p=0.9)) > 0).sum() == 3
    assert (our_probs(ramp * 100, [], sampled(top_p=0.9)) > 0).sum() == 1


def test_llama_cpp_top_p_keeps_a_third_token_on_that_case() -> None:
    """Guard for the case above: llama.cpp's own top-p disagrees there, so the case can tell them apart."""
    logits = np.log(np.array([0.3, 0.1, 0.1, 0.5])).astype(np.float32)
    sampler = LlamaSampler()
    sampler.add_top_p(0.8, 1)
    buf = np.zeros(4, dtype=TOKEN_DATA)
    buf["id"] = np.arange(4)
    buf["logit"] = logits
    arr = llama_cpp.llama_token_data_array(buf.ctypes.data_as(llama_cpp.llama_token_data_p), 4, -1, False)
    llama_cpp.llama_sampler_apply(sampler.sampler, ctypes.byref(arr))
    sampler.close()
    assert arr.size == 3


def test_transformers_min_p_case() -> None:
    dist = np.log(np.array([[0.9, 0.0274, 0.047, 0.0274], [0.15, 0.3, 0.3, 0.25], [0.97, 0.01, 0.01, 0.01]]))
    expected = np.array([[0.9, 0.0, 0.047, 0.0], [0.15, 0.3, 0.3, 0.25], [0.97, 0.0, 0.0, 0.0]])
    for row, want in zip(dist.astype(np.float32), expected, strict=True):
        np.testing.assert_allclose(our_probs(row, [], sampled(min_p=0.05)), want / want.sum(), rtol=1e-4)
    ramp = np.arange(10, dtype=np.float32) - 5
    for logits in (ramp, ramp * 100):
        assert (our_probs(logits, [], sampled(min_p=0.9)) > 0).sum() == 1  # transformers' min_tokens_to_keep=1


def test_transformers_repetition_penalty_case() -> None:
    for prompt, changed in (([0, 1], 0), ([5, 0], 5)):
        logits = np.full(10, 0.1, dtype=np.float32)
        logits[changed] = -0.1 if changed == 0 else 0.4
        expected = logits.copy()
        for token in set(prompt):  # transformers' test: -0.1 -> -0.2, 0.1 -> 0.05, 0.4 -> 0.2
            expected[token] = expected[token] * 2 if expected[token] < 0 else expected[token] / 2
        hf = RepetitionPenaltyLogitsProcessor(2.0)(torch.tensor([prompt]), torch.tensor(logits)[None])[0].numpy()
        np.testing.assert_allclose(hf, expected, rtol=1e-7)
        want = np.exp(expected.astype(np.float64))
        np.testing.assert_allclose(our_probs(logits, prompt, sampled(repetition_penalty=2.0)), want / want.sum(),
                                   rtol=1e-6)


# -- the kept set equals transformers', exactly, on random logits ------------------------------------

KEPT_SET_CASES = [
    {"top_k": 50, "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1},
    {"top_k": 20, "temperature": 1.3},
    {"top_k": 1},
    {"top_k": 0, "top_p": 0.9},
    {"top_k": 0, "top_p": 0.5, "temperature": 0.7},
    {"top_k": 0, "top_p": 0.99, "temperature": 1.3, "repetition_penalty": 1.2},
    {"top_k": 0, "min_p": 0.05},
    {"top_k": 0, "top_p": 0.8, "min_p": 0.2, "temperature": 0.9},
    {"top_k": 200, "top_p": 0.95, "min_p": 0.01},
    {"top_k": 0, "top_p": 0.0},
    {"top_k": 40, "top_p": 0.0},
]


@pytest.mark.parametrize("vocab", [80, 5000, 30000])
@pytest.mark.parametrize("scale", [0.9, 4.0])
def test_kept_set_equals_transformers(vocab: int, scale: float) -> None:
    rng = np.random.default_rng(vocab + int(scale * 10))
    for case in KEPT_SET_CASES:
        s = sampled(**case)
        for trial in range(3):
            logits = (rng.normal(size=vocab) * scale).astype(np.float32)
            prompt = rng.integers(0, vocab, 40).tolist()
            ours = our_probs(logits, prompt, s)
            hf = hf_probs(logits, prompt, s)
            assert np.array_equal(ours > 0, hf > 0), (case, trial, int((ours > 0).sum()), int((hf > 0).sum()))
            np.testing.assert_allclose(ours, hf, rtol=2e-5, atol=1e-12)


@pytest.mark.parametrize("vocab", [80, 5000])
@pytest.mark.parametrize("scale", [0.9, 4.0])
def test_nucleus_by_rejection_keeps_exactly_transformers_set(vocab: int, scale: float) -> None:
    """sample()'s full-vocabulary top-p accepts a drawn token by one test per token: that test, asked of
    every token, gives transformers' kept set."""
    rng = np.random.default_rng(vocab + int(scale * 100))
    cases = [{"top_p": 0.9}, {"top_p": 0.5, "temperature": 0.7},
             {"top_p": 0.99, "temperature": 1.3, "repetition_penalty": 1.2}, {"top_p": 0.6, "temperature": 2.0}]
    for case in cases:
        s = sampled(**case)
        for _trial in range(3):
            logits = (rng.normal(size=vocab) * scale).astype(np.float32)
            prompt = rng.integers(0, vocab, 40).tolist()
            with TokenSampler(s, vocab, history_size=64) as sampler:
                sampler.start(prompt)
                assert sampler._nucleus_by_rejection
                z, _saved = sampler._penalised(logits.copy())
                probs, tail, top = sampler._nucleus_probs(z)
                ours = np.array([sampler._top_p_keeps(probs, t, tail, top) for t in range(vocab)])
            assert np.array_equal(ours, hf_probs(logits, prompt, s) > 0), case


def test_top_p_zero_keeps_the_most_likely_token() -> None:
    logits = fixed_logits(8)
    for top_k in (0, 10):
        draws = our_draws(logits, [], GenerationSettings(do_sample=True, top_k=top_k, top_p=0.0, seed=2), n=200)
        assert set(draws) == {int(np.argmax(logits))}


@pytest.mark.parametrize(("seed", "scale", "cases"), [
    pytest.param(23, 2.0, [sampled(top_p=0.9, seed=11), sampled(top_p=0.6, temperature=1.4, seed=12)],
                 id="nucleus_by_rejection"),
    pytest.param(21, 3.0, [sampled(top_p=0.7, temperature=0.8, seed=5), sampled(min_p=0.02, seed=6), sampled(seed=7)],
                 id="blocked_draw_and_band_sorted_nucleus"),
])
def test_large_vocabulary_draws_match_transformers(seed: int, scale: float, cases: list[GenerationSettings]) -> None:
    """Over a 30000-token vocabulary, by chi-squared: the nucleus drawn by rejection (top_p alone), the blocked
    draw over the whole vocabulary (top_k=0) and the band-sorted nucleus."""
    logits = fixed_logits(seed, scale, vocab=30000)
    for s in cases:
        assert chi2_pvalue(our_draws(logits, [], s, history_size=64), hf_probs(logits, [], s)) > P_MIN, s


def test_sampling_leaves_the_logits_unchanged() -> None:
    logits = fixed_logits(9)
    before = logits.copy()
    s = sampled(top_k=5, repetition_penalty=1.5, presence_penalty=0.5, frequency_penalty=0.3)
    with TokenSampler(s, VOCAB, history_size=64) as sampler:
        sampler.start(PROMPT)
        for _ in range(20):
            sampler.accept(sampler.sample(logits))
    assert np.array_equal(logits, before)


def test_penalty_window_forgets_the_oldest_ids() -> None:
    """With a window of 4 ids, the counts are those of the last 4 generated tokens only."""
    logits = fixed_logits(6)
    s = sampled(frequency_penalty=0.4, presence_penalty=0.7)
    generated = [5, 5, 5, 9, 9, 2, 5, 7]
    counts = np.bincount(generated[-4:], minlength=VOCAB)
    adjusted = (logits - counts * np.float32(0.4) - (counts > 0) * np.float32(0.7)).astype(np.float32)
    with TokenSampler(s, VOCAB, history_size=4) as sampler:
        sampler.start([])
        for t in generated:
            sampler.accept(t)
        np.testing.assert_allclose(sampler.probabilities(logits), hf_probs(adjusted, [], s), rtol=1e-6)


@pytest.mark.parametrize("window", [1, 7, 1000])
def test_history_counts_follow_the_window(window: int) -> None:
    """The incremental counts equal a recount of the last ``window`` ids after every step."""
    rng = np.random.default_rng(window)
    counts = HistoryCounts(window)
    seen: list[int] = []
    for prompt in (rng.integers(0, 30, 50).tolist(), []):
        counts.clear()
        counts.extend(prompt)
        seen = list(prompt)
        for token in rng.integers(0, 30, 200).tolist():
            counts.add(token)
            seen.append(token)
            expected = Counter(seen[-window:])
            assert dict(zip(counts.ids.tolist(), counts.counts.tolist(), strict=True)) == expected


# -- seeds ---------------------------------------------------------------------------------------

def test_sequence_seeds() -> None:
    assert sequence_seed(1234, 0) == 1234
    seeds = {sequence_seed(1234, i) for i in range(100)}
    assert len(seeds) == 100 and all(0 <= x < 2**32 for x in seeds)
    assert sequence_seed(1234, 1) == sequence_seed(1234, 1) != sequence_seed(1235, 1)


def test_each_sequence_can_be_reproduced_alone() -> None:
    logits = fixed_logits(2, scale=0.5)
    s = sampled(seed=99)

    def draws(sampler: TokenSampler) -> list[int]:
        out = []
        for _ in range(30):
            out.append(sampler.sample(logits))
            sampler.accept(out[-1])
        return out

    with TokenSampler(s, VOCAB, history_size=64) as sampler:
        runs = []
        for _ in range(3):
            sampler.start(PROMPT)  # no index: the next sequence
            runs.append(draws(sampler))
    assert len({tuple(r) for r in runs}) == 3
    with TokenSampler(s, VOCAB, history_size=64) as alone:
        alone.start(PROMPT, index=2)
        assert draws(alone) == runs[2]
    with TokenSampler(s, VOCAB, history_size=64) as first:  # n=1 is the first of n
        first.start(PROMPT)
        assert draws(first) == runs[0]


def test_a_drawn_seed_is_reported_and_reproduces_the_draw() -> None:
    logits = fixed_logits(2, scale=0.5)
    with TokenSampler(sampled(seed=None), VOCAB, history_size=8) as random:
        random.start([])
        assert 0 <= random.seed < 2**32
        first = [random.sample(logits) for _ in range(30)]
    with TokenSampler(sampled(seed=random.seed), VOCAB, history_size=8) as again:
        again.start([])
        assert [again.sample(logits) for _ in range(30)] == first


@pytest.mark.parametrize("vocab", [80, 20000])
@pytest.mark.parametrize("copies", [1, 20])
def test_top_k_keeps_values_that_tie_with_the_kth_once_scaled(vocab: int, copies: int) -> None:
    """transformers applies top-k after temperature: a value one float32 step below the k-th can equal it
    once divided by the temperature, and then it stays (also when many tokens tie with the k-th)."""
    t = np.float32(1.3)
    kth = np.float32(3.081756)
    below = np.nextafter(kth, np.float32(0))
    assert below < kth and below / t == kth / t
    logits = np.full(vocab, -5.0, dtype=np.float32)
    logits[[7, 30, 66]] = [5.0, 4.0, below]
    logits[np.linspace(10, vocab - 1, copies).astype(int)] = kth
    s = sampled(top_k=3, temperature=1.3)
    hf = hf_probs(logits, [], s)
    assert (hf > 0).sum() == 3 + copies
    assert np.array_equal(our_probs(logits, [], s) > 0, hf > 0)
