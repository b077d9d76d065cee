"""Our llama.cpp sampler chain draws from exactly the distribution transformers' processors define.

Each case draws thousands of tokens from fixed logits and runs a chi-squared goodness-of-fit test
against the probabilities computed by transformers' own RepetitionPenalty -> Temperature -> TopK ->
TopP -> MinP processors. A power test shows the same check rejects llama-cpp-python's default chain.
"""

from __future__ import annotations

import ctypes

import llama_cpp
import numpy as np
import pytest
import torch
from exaone_desktop.engine.sampling import TOKEN_DATA, TokenSampler
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


def fixed_logits(seed: int = 0, scale: float = 2.0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=VOCAB) * scale).astype(np.float32)


def hf_probs(logits: np.ndarray, prompt: list[int], s: GenerationSettings) -> np.ndarray:
    """Next-token probabilities as transformers' generate() computes them for ``s``."""
    processors = []
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
    return torch.softmax(scores.double(), dim=-1)[0].numpy()


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


def our_draws(logits: np.ndarray, prompt: list[int], s: GenerationSettings, n: int = DRAWS) -> list[int]:
    with TokenSampler(s, VOCAB, history_size=4096) as sampler:
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
    s = GenerationSettings(do_sample=True, temperature=1.7, top_p=0.9)
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
