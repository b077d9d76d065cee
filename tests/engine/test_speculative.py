"""Speculative decoding on real llama.cpp loads of the tiny f32 fixtures: drafts change the speed, never the text.

Prompt lookup and a draft model (``assistant_model``) against decoding without drafts: greedy replies are
token-identical (also when a run crosses a stop string or an end token), seeded sampling with prompt lookup
gives the same text, the sampler's processed distribution at every verified position equals the one-token
path's, refused drafts leave no trace in the KV cache (sliding windows included), and a draft model whose
distribution differs from the model's still yields the model's distribution (chi-squared).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import exaone_desktop.engine.llama.speculative as speculative
import numpy as np
import pytest
from exaone_desktop.engine.llama.draft_length import DecodeCosts, DraftLength
from exaone_desktop.engine.llama.draft_sources import Draft, lookup, lookup_match
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.reply import Reply
from exaone_desktop.engine.llama.speculative import Speculation
from exaone_desktop.engine.sampling.sampler import TokenSampler
from exaone_desktop.engine.settings import GenerationSettings, SettingsError
from exaone_desktop.engine.types import GenerationError
from scipy.stats import chisquare

from tests.support.generation_models import KINDS, PLAIN_PROMPT, tiny_gguf

N_LONG = 160
LOOKUP_PROMPT = ("서울은 한국의 수도입니다. The capital of Korea is Seoul. 서울은 한국의 수도입니다. "
                 "The capital of Korea is")
_generators: dict[tuple[str, Any], LocalGenerator] = {}


def load(path: Path, **kwargs: Any) -> LocalGenerator:
    key = (str(path), tuple(sorted(kwargs.items())))
    if key not in _generators:
        _generators[key] = LocalGenerator(path, n_threads=2, **kwargs)
    return _generators[key]


@pytest.fixture
def gguf(tiny_checkpoint: Any):
    def make(kind: str) -> Path:
        return tiny_gguf(kind, tiny_checkpoint)
    return make


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """exaone4 with other random weights: the same tokenizer, another distribution (a poor draft model)."""
    from exaone_convert.convert import convert_checkpoint

    from tests.support.tiny_checkpoints import build_checkpoint

    ckpt = build_checkpoint("exaone4", tmp_path_factory.mktemp("exaone4_seed1"), seed=1)
    return convert_checkpoint(ckpt, ckpt.parent / "exaone4-seed1-f32.gguf", outtype="f32")


@pytest.fixture(scope="module")
def perturbed_weights(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """exaone4 with noise of 5 % of each matrix's spread added: the same tokenizer and an overlapping but
    clearly different distribution (about 40 % of its top-3 drafts kept at temperature 1.5)."""
    import shutil

    import torch
    from exaone_convert.convert import convert_checkpoint
    from safetensors.torch import load_file, save_file

    out = tmp_path_factory.mktemp("perturbed") / "exaone4_perturbed"
    shutil.copytree(tiny_checkpoint("exaone4"), out)
    noise = torch.Generator().manual_seed(5)
    for path in out.glob("*.safetensors"):
        tensors = load_file(path)
        for name, value in tensors.items():
            if value.is_floating_point() and value.dim() > 1:
                moved = value.float() + 0.05 * value.float().std() * torch.randn(value.shape, generator=noise)
                tensors[name] = moved.to(value.dtype)
        save_file(tensors, path, metadata={"format": "pt"})
    return convert_checkpoint(out, out.parent / "exaone4-perturbed-f32.gguf", outtype="f32")


@pytest.fixture(scope="module")
def close_weights(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """exaone4 in q8_0: nearly the model's own distribution (a draft model that is mostly right)."""
    from exaone_convert.convert import convert_checkpoint

    ckpt = tiny_checkpoint("exaone4")
    return convert_checkpoint(ckpt, tmp_path_factory.mktemp("q8") / "exaone4-q8_0.gguf", outtype="q8_0")


class Scripted:
    """A draft source proposing a known continuation with every ``every``-th position wrong (0: none)."""

    kind = "scripted"
    cheap = False

    def __init__(self, continuation: Sequence[int], every: int, n_vocab: int) -> None:
        self.continuation, self.every, self.n_vocab = list(continuation), every, n_vocab
        self.proposed = 0
        self.last = (0, 0)  # (reply index, length) of the last proposal

    def begin(self, prompt_ids: Sequence[int], settings: GenerationSettings, seed: int, index: int) -> None:
        pass

    def propose(self, reply_tokens: Sequence[int], n: int) -> Draft:
        at = len(reply_tokens)
        out = []
        for j in range(at, min(at + n, len(self.continuation))):
            wrong = self.every and j % self.every == self.every - 1
            out.append((self.continuation[j] + 1) % self.n_vocab if wrong else self.continuation[j])
        self.proposed += len(out)
        self.last = (at, len(out))
        return Draft(out)


def run(gen: LocalGenerator, prompt: Any, source: Any = None, **settings: Any) -> Any:
    return gen.generate(prompt, gen.default_settings(**settings), draft_source=source)


def drafted(result: Any) -> tuple[int, int]:
    return int(result.timings["draft_tokens"]), int(result.timings["draft_tokens_accepted"])


# -- prompt lookup itself -----------------------------------------------------------------------------

def test_lookup_matches_transformers_prompt_lookup() -> None:
    """transformers' PromptLookupCandidateGenerator on the same ids (its n-gram rules, earliest match first)."""
    import torch
    from transformers.generation.candidate_generator import PromptLookupCandidateGenerator

    rng = np.random.default_rng(0)
    for trial in range(300):
        ids = rng.integers(0, 6, size=int(rng.integers(2, 40)))
        n = int(rng.integers(1, 8))
        ngram = int(rng.integers(1, 4))
        ref = PromptLookupCandidateGenerator(torch.tensor([99]), num_output_tokens=n, max_matching_ngram_size=ngram,
                                             max_length=10_000)
        candidates, _ = ref.get_candidates(torch.tensor([ids.tolist()]))
        expected = candidates[0, len(ids):].tolist()
        assert lookup(ids.astype(np.int32), n, ngram).tolist() == expected, (trial, ids.tolist(), n, ngram)


# -- greedy: token-identical ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_greedy_prompt_lookup_is_token_identical(kind: str, gguf: Any) -> None:
    gen = load(gguf(kind))
    plain = run(gen, LOOKUP_PROMPT, max_new_tokens=N_LONG, speculative="off")
    looked = run(gen, LOOKUP_PROMPT, max_new_tokens=N_LONG, prompt_lookup_num_tokens=6)
    assert looked.generated[0].token_ids == plain.generated[0].token_ids
    assert looked.generated[0].text == plain.generated[0].text
    assert drafted(looked)[0] > 0  # (how many lookup keeps depends on the tiny model's reply)
    # kept and refused drafts for sure: a scripted source with every third token wrong
    tokens = plain.generated[0].token_ids
    wrong = Scripted(tokens, 3, gen.n_vocab)
    scripted = run(gen, LOOKUP_PROMPT, wrong, max_new_tokens=N_LONG, speculative="on", prompt_lookup_num_tokens=5)
    assert scripted.generated[0].token_ids == tokens
    n_drafted, n_kept = drafted(scripted)
    assert 0 < n_kept < n_drafted


@pytest.mark.parametrize("kind", ["exaone4", "exaone4_hybrid64"])
def test_stop_string_inside_a_kept_run(kind: str, gguf: Any) -> None:
    """Stop strings at several places of a reply whose drafts run past them: each reply ends exactly where
    decoding without drafts ends it, and at least one of them ended at a drafted position, not a bonus token."""
    gen = load(gguf(kind))
    full = run(gen, PLAIN_PROMPT, max_new_tokens=60, speculative="off").generated[0]
    inside = 0
    for fraction in (0.3, 0.4, 0.5, 0.6, 0.7):
        at_char = int(len(full.text) * fraction)
        stop = full.text[at_char: at_char + 3]
        if not stop.strip():
            continue
        plain = run(gen, PLAIN_PROMPT, max_new_tokens=60, speculative="off", stop=[stop]).generated[0]
        assert plain.finish_reason == "stop"
        source = Scripted(full.token_ids, 0, gen.n_vocab)  # proposes past the stop string: the run must end there
        drafted_run = run(gen, PLAIN_PROMPT, source, max_new_tokens=60, speculative="on",
                          prompt_lookup_num_tokens=8, stop=[stop])
        c = drafted_run.generated[0]
        assert (c.token_ids, c.text, c.finish_reason) == (plain.token_ids, plain.text, plain.finish_reason)
        at, n = source.last  # the run that ended the reply drafted the stop token and tokens after it
        inside += at <= len(c.token_ids) - 1 < at + n - 1
    assert inside


def test_end_token_inside_a_kept_run(gguf: Any) -> None:
    """A sampled reply that ends with the model's end token: drafting its own continuation past the end
    (the end token inside a run) gives the same reply, ended there."""
    gen = load(gguf("exaone4"))
    eos = set(gen.model_info.eos_token_ids)
    for seed in range(200):
        plain = run(gen, PLAIN_PROMPT, do_sample=True, seed=seed, max_new_tokens=120, speculative="off").generated[0]
        if plain.token_ids[-1] in eos and len(plain.token_ids) > 3:
            break
    else:
        pytest.fail("no seed in 200 made the tiny model end a reply; the fixture changed")
    source = Scripted([*plain.token_ids, 5, 6, 7, 8], 0, gen.n_vocab)
    again = run(gen, PLAIN_PROMPT, source, do_sample=True, seed=seed, max_new_tokens=120, speculative="on",
                prompt_lookup_num_tokens=8).generated[0]
    assert (again.token_ids, again.text, again.finish_reason) == (plain.token_ids, plain.text, "stop")
    at, n = source.last  # the end token was a drafted position, with drafts after it
    assert at <= len(again.token_ids) - 1 < at + n - 1


# -- sampling: same text, same distribution at every position ---------------------------------------

@pytest.mark.parametrize("penalties", [{}, {"repetition_penalty": 1.3, "presence_penalty": 0.5}])
def test_seeded_sampling_with_prompt_lookup_gives_the_same_text(penalties: dict[str, float], gguf: Any) -> None:
    gen = load(gguf("exaone4"))
    settings = {"do_sample": True, "temperature": 0.6, "top_k": 0, "top_p": 0.95, "max_new_tokens": N_LONG,
                **penalties}
    total_kept = 0
    for seed in range(4):
        plain = run(gen, LOOKUP_PROMPT, seed=seed, speculative="off", **settings)
        looked = run(gen, LOOKUP_PROMPT, seed=seed, prompt_lookup_num_tokens=6, **settings)
        assert looked.generated[0].token_ids == plain.generated[0].token_ids
        assert looked.generated[0].text == plain.generated[0].text
        total_kept += drafted(looked)[1]
    assert total_kept > 0


def test_processed_distribution_at_each_verified_position(gguf: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """At each position of a verified run the sampler's processed probabilities are the one-token path's to
    1e-6, on the logits verification saw: the penalties see exactly the history up to that position.

    The logits verification sees are those of a run whose drafts were all right (refused drafts leave no
    trace), and differ from the one-token path's by llama.cpp's rounding only: its batched and single-token
    matrix products add in another order (~4e-7 of the largest logit), and a key or value on the other side
    of an f16 rounding step in the KV cache moves later logits by up to ~1e-4 of the largest. That can move a
    token across the top-p edge now and then; elsewhere the probabilities agree to 1e-3."""
    gen = load(gguf("exaone4"))
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    take = Reply.take

    def recording(self: Reply, logits: np.ndarray) -> Any:
        seen.append((logits.copy(), self._sampler.probabilities(logits)))
        return take(self, logits)

    sample_run = TokenSampler.sample_run

    def recording_run(self: TokenSampler, rows: np.ndarray, drafted: list[int]) -> list[int]:
        drawn = sample_run(self, rows, drafted)  # verification's draws: the distributions it drew from
        probs = self.probabilities_run(rows[: len(drawn)], drafted)
        seen.extend((rows[i].copy(), probs[i]) for i in range(len(drawn)))
        return drawn

    monkeypatch.setattr(Reply, "take", recording)
    monkeypatch.setattr(TokenSampler, "sample_run", recording_run)
    settings = {"do_sample": True, "seed": 3, "temperature": 0.8, "top_k": 20, "top_p": 0.9,
                "repetition_penalty": 1.2, "presence_penalty": 0.3, "max_new_tokens": 100}
    plain = run(gen, LOOKUP_PROMPT, speculative="off", **settings)
    one_token, seen[:] = list(seen), []
    tokens = plain.generated[0].token_ids
    all_right = run(gen, LOOKUP_PROMPT, Scripted(tokens, 0, gen.n_vocab), speculative="on",
                    prompt_lookup_num_tokens=6, **settings)
    right, seen[:] = list(seen), []
    verified = run(gen, LOOKUP_PROMPT, Scripted(tokens, 4, gen.n_vocab), speculative="on",
                   prompt_lookup_num_tokens=6, **settings)
    assert verified.generated[0].token_ids == all_right.generated[0].token_ids == tokens
    n_drafted, n_kept = drafted(verified)
    assert 20 < n_kept < n_drafted
    assert len(seen) == len(right) == len(one_token) == len(tokens)
    with TokenSampler(gen.default_settings(**settings), gen.n_vocab, history_size=gen.n_ctx) as fresh:
        fresh.start(plain.prompt_token_ids)
        edge_moved = 0
        for i, ((logits, p), (logits_right, _), (logits_one, p_one)) in enumerate(zip(seen, right, one_token,
                                                                                        strict=True)):
            assert np.abs(fresh.probabilities(logits) - p).max() <= 1e-6, i
            scale = np.abs(logits_one).max()
            assert np.abs(logits - logits_right).max() <= 1e-6 * scale, i
            assert np.abs(logits - logits_one).max() <= 1e-3 * scale, i
            if np.array_equal(p > 0, p_one > 0):
                assert np.abs(p_one - p).max() <= 1e-3, i
            else:
                edge_moved += 1
            fresh.accept(tokens[i])
        assert edge_moved <= 3


# -- the KV cache after refused drafts ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["exaone4", "exaone4_hybrid64"])
def test_cache_after_refused_drafts_equals_a_cache_that_never_saw_them(kind: str, gguf: Any) -> None:
    """After a reply whose drafts were refused every third token, the next-token logits equal those after the
    same reply drafted without a wrong token (the refused ones left nothing behind), and those of decoding
    without drafts up to llama.cpp's rounding (batched products, f16 KV cache). A small batch makes the
    sliding-window cache (64 layers, window 8) reuse its cells during the reply, so refused drafts are
    dropped from a window that has moved on."""
    import llama_cpp

    spec, clean, plain = (LocalGenerator(gguf(kind), n_threads=2, n_batch=16) for _ in range(3))
    try:
        prompt = LOOKUP_PROMPT * 7
        ref = plain.generate(prompt, plain.default_settings(max_new_tokens=80, speculative="off"))
        tokens = ref.generated[0].token_ids
        settings = spec.default_settings(max_new_tokens=80, speculative="on", prompt_lookup_num_tokens=6)
        result = spec.generate(prompt, settings, draft_source=Scripted(tokens, 3, spec.n_vocab))
        right = clean.generate(prompt, settings, draft_source=Scripted(tokens, 0, spec.n_vocab))
        assert result.generated[0].token_ids == right.generated[0].token_ids == tokens
        n_drafted, n_kept = drafted(result)
        assert n_kept < n_drafted
        assert drafted(right)[0] == drafted(right)[1]
        assert spec._cache().held == clean._cache().held == plain._cache().held == [*ref.prompt_token_ids, *tokens[:-1]]
        if kind == "exaone4_hybrid64":  # the window's cells were reused: positions before the reply are gone
            assert llama_cpp.llama_memory_seq_pos_min(spec._cache().memory(), 0) > 0
        a, c, b = (g._cache().eval([tokens[-1]]).copy() for g in (spec, clean, plain))
        scale = np.abs(b).max()
        assert np.abs(a - c).max() <= 1e-6 * scale
        assert np.abs(a - b).max() <= 1e-2 * scale
        assert int(np.argmax(a)) == int(np.argmax(b))
    finally:
        for g in (spec, clean, plain):
            g.close()


@pytest.mark.parametrize("kind", ["exaone4", "exaone4_hybrid64"])
def test_stop_during_a_verification_batch(kind: str, gguf: Any) -> None:
    """Stop pressed while the model verifies drafts (the event set while the batch is handed to llama.cpp,
    whose abort callback polls it between the graph's operations): the reply ends "cancelled" with a prefix of
    the full reply, the batch leaves nothing in the KV cache, nothing hangs, and the next request gives what a
    fresh load gives."""
    import threading

    import llama_cpp

    gen, fresh = (LocalGenerator(gguf(kind), n_threads=2, n_batch=16) for _ in range(2))
    try:
        full = fresh.generate(LOOKUP_PROMPT, fresh.default_settings(max_new_tokens=60, speculative="off"))
        tokens = full.generated[0].token_ids
        cancel = threading.Event()
        batches: list[int] = []
        held_at_stop: list[int] = []
        kv = gen._cache()  # the KV cache whose verification batches the drafts go through
        verify = kv.eval_run

        def stop_in_third_batch(run_tokens: list[int]) -> Any:
            batches.append(len(run_tokens))
            if len(batches) == 3:
                held_at_stop.append(len(gen._cache().held))
                cancel.set()  # Stop, while this batch is evaluated
            return verify(run_tokens)

        kv.eval_run = stop_in_third_batch  # type: ignore[method-assign]
        settings = gen.default_settings(max_new_tokens=60, speculative="on", prompt_lookup_num_tokens=6)
        out: list[Any] = []
        worker = threading.Thread(target=lambda: out.append(gen.generate(
            LOOKUP_PROMPT, settings, cancel=cancel, draft_source=Scripted(tokens, 4, gen.n_vocab))))
        worker.start()
        worker.join(120)
        assert not worker.is_alive(), "generate did not return after Stop during verification"
        del kv.eval_run
        c = out[0].generated[0]
        assert c.finish_reason == "cancelled"
        assert len(batches) == 3 and min(batches) > 1
        assert 0 < len(c.token_ids) < len(tokens) and c.token_ids == tokens[: len(c.token_ids)]
        # the aborted batch left nothing: the cache holds the prompt and the reply's evaluated tokens
        held = len(gen._cache().held)
        assert held_at_stop == [held]  # the batch was stopped inside llama.cpp, not verified to its end
        assert gen._cache().held == [*full.prompt_token_ids, *tokens][:held] and held >= len(full.prompt_token_ids)
        assert llama_cpp.llama_memory_seq_pos_max(gen._cache().memory(), 0) == held - 1
        plain = fresh.default_settings(max_new_tokens=60, speculative="off")
        again, new = gen.generate(LOOKUP_PROMPT, plain), fresh.generate(LOOKUP_PROMPT, plain)
        assert again.generated[0].token_ids == new.generated[0].token_ids == tokens
        a, b = (g._cache().eval([tokens[-1]]).copy() for g in (gen, fresh))
        assert np.abs(a - b).max() <= 1e-2 * np.abs(b).max() and int(np.argmax(a)) == int(np.argmax(b))
    finally:
        gen.close()
        fresh.close()


def test_the_batched_path_lists_the_drafting_settings_it_does_not_apply(gguf: Any) -> None:
    """BatchGenerator (``exaone-serve --parallel N``) decodes one token per sequence per step and never drafts:
    a request that asks for drafting gets the same text as without it, and the drafting settings in its
    ``not_applied`` (also in the JSON object); a request that does not ask lists nothing."""
    import threading

    from exaone_desktop.engine.llama.batch import BatchGenerator

    gen = load(gguf("exaone4"))
    batch = BatchGenerator(gen, n_seq=2, n_threads=2)
    try:
        plain = run(gen, LOOKUP_PROMPT, max_new_tokens=40, speculative="off").generated[0].token_ids
        asked: dict[str, Any] = {}

        def ask(name: str, **settings: Any) -> None:
            asked[name] = batch.generate(LOOKUP_PROMPT, gen.default_settings(max_new_tokens=40, **settings))

        threads = [threading.Thread(target=ask, args=("on",), kwargs={"speculative": "on",
                                                                       "prompt_lookup_num_tokens": 6}),
                   threading.Thread(target=ask, args=("lookup",), kwargs={"prompt_lookup_num_tokens": 4})]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        ask("auto", speculative="auto")
        ask("off", speculative="off", prompt_lookup_num_tokens=4)
        ask("none")
        assert {name: r.not_applied for name, r in asked.items()} == {
            "on": ["speculative", "prompt_lookup_num_tokens"], "lookup": ["prompt_lookup_num_tokens"],
            "auto": ["speculative"], "off": [], "none": []}
        for result in asked.values():
            assert result.generated[0].token_ids == plain
            assert "draft_tokens" not in result.to_json()["timings"]
        assert asked["on"].to_json()["not_applied"] == ["speculative", "prompt_lookup_num_tokens"]
        assert "not_applied" not in asked["none"].to_json()
    finally:
        batch.close()


# -- a draft model ----------------------------------------------------------------------------------

@pytest.mark.parametrize("draft", ["close", "other"])
def test_greedy_with_a_draft_model_is_token_identical(draft: str, gguf: Any, close_weights: Path,
                                                      other_weights: Path) -> None:
    target = load(gguf("exaone4"))
    assisted = load(gguf("exaone4"), assistant_model=str(close_weights if draft == "close" else other_weights))
    for prompt in (PLAIN_PROMPT, LOOKUP_PROMPT):
        plain = run(target, prompt, max_new_tokens=N_LONG, speculative="off").generated[0]
        result = run(assisted, prompt, max_new_tokens=N_LONG, num_assistant_tokens=4)
        assert result.generated[0].token_ids == plain.token_ids
        assert result.generated[0].text == plain.text
        n_drafted, n_kept = drafted(result)
        assert n_drafted > 0
        if draft == "close":  # the q8_0 copy agrees with the model on (nearly) every greedy token
            assert n_kept > n_drafted // 2
        else:  # other weights: most drafts refused
            assert n_kept < n_drafted // 2


def test_draft_model_keeps_the_model_distribution(gguf: Any, perturbed_weights: Path) -> None:
    """Chi-squared of (token 1, 2, 3) over thousands of sampled replies against the model's exact processed
    distribution; tokens 2 and 3 come from verification (3 only after 2 was kept: inside an accepted run),
    and the draft model's own distribution differs from the model's."""
    target = load(gguf("exaone4"))
    assisted = load(gguf("exaone4"), assistant_model=str(perturbed_weights))
    settings = assisted.default_settings(do_sample=True, temperature=1.5, top_k=3, top_p=1.0,
                                         repetition_penalty=1.3, max_new_tokens=3, num_return_sequences=64,
                                         num_assistant_tokens=2, speculative="on")
    counts: Counter[tuple[int, ...]] = Counter()
    n_drafted = n_kept = 0
    for seed in range(30):
        result = assisted.generate(PLAIN_PROMPT, settings.replace(seed=seed))
        counts.update(tuple(c.token_ids) for c in result.generated)
        n_drafted, n_kept = n_drafted + drafted(result)[0], n_kept + drafted(result)[1]
    assert 0 < n_kept < n_drafted
    ids = target.tokenize_prompt(PLAIN_PROMPT, settings)[1]
    expected = exact_distribution(target, ids, settings, 3)
    assert set(counts) <= set(expected)
    cells = sorted(expected, key=lambda k: -expected[k])
    exp = np.array([expected[c] for c in cells])
    obs = np.array([counts.get(c, 0) for c in cells], dtype=float)
    big = exp * obs.sum() >= 5
    if exp[~big].sum() > 0:
        obs, exp = np.append(obs[big], obs[~big].sum()), np.append(exp[big], exp[~big].sum())
    else:
        obs, exp = obs[big], exp[big]
    pvalue = float(chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)
    assert pvalue > 1e-3, (pvalue, obs, exp * obs.sum())
    # the draft model's own distribution is far from the model's (a draft that is not the model itself)
    draft = load(perturbed_weights)
    q = exact_distribution(draft, ids, settings, 1)
    p = exact_distribution(target, ids, settings, 1)
    assert sum(abs(q.get(k, 0.0) - p.get(k, 0.0)) for k in set(p) | set(q)) / 2 > 0.2


def exact_distribution(gen: LocalGenerator, prompt_ids: list[int], settings: GenerationSettings,
                       n: int) -> dict[tuple[int, ...], float]:
    """P(first n tokens, or fewer ending with an end token) under ``gen``'s processed distribution (the
    sampler's probabilities, step by step)."""
    out: dict[tuple[int, ...], float] = {}

    ends = set(gen.model_info.eos_token_ids)

    def walk(prefix: list[int], prob: float) -> None:
        if len(prefix) == n or (prefix and prefix[-1] in ends):  # an end token ends the reply early
            out[tuple(prefix)] = prob
            return
        logits = gen._cache().evaluate([*prompt_ids, *prefix], None, None)
        assert logits is not None
        logits = logits.copy()
        with TokenSampler(settings, gen.n_vocab, history_size=gen.n_ctx) as sampler:
            sampler.start(prompt_ids)
            for t in prefix:
                sampler.accept(t)
            p = sampler.probabilities(logits)
        for token in np.flatnonzero(p > 0).tolist():
            walk([*prefix, token], prob * float(p[token]))

    walk([], 1.0)
    return out


def test_a_draft_model_with_another_tokenizer_is_refused(gguf: Any) -> None:
    with pytest.raises(GenerationError) as err:
        LocalGenerator(gguf("exaone4"), n_threads=2, assistant_model=gguf("exaone3_untied"))
    message = str(err.value)
    assert "\n" not in message and "another tokenizer" in message and "exaone3_untied" in message
    with pytest.raises(GenerationError, match="assistant_model file not found"):
        LocalGenerator(gguf("exaone4"), n_threads=2, assistant_model="/nonexistent/draft.gguf")


# -- settings and the adaptive length ------------------------------------------------------------------

def test_settings_rows_validate() -> None:
    GenerationSettings(speculative="auto", prompt_lookup_num_tokens=10, num_assistant_tokens=5)
    with pytest.raises(SettingsError, match="speculative must be one of"):
        GenerationSettings(speculative="fast")
    with pytest.raises(SettingsError, match="prompt_lookup_num_tokens must be an integer in"):
        GenerationSettings(prompt_lookup_num_tokens=0)


def cpu_costs() -> DecodeCosts:
    costs = DecodeCosts()
    costs.record(1, 0.030)
    for m, ratio in ((2, 1.52), (4, 2.29), (6, 3.25), (8, 4.24)):  # a 2-core CPU, per the figures
        costs.record(m, 0.030 * ratio)
    return costs


def measured(costs: DecodeCosts, kind: str, kept: float, refused: float, long_match: bool = False) -> DecodeCosts:
    record = costs.accepted(kind, long_match)
    record.kept, record.refused = kept, refused
    return costs


def test_auto_length_follows_acceptance_and_costs() -> None:
    gpu = DecodeCosts()
    gpu.record(1, 0.005)
    gpu.record(9, 0.0055)
    good = DraftLength("auto", 8, measured(cpu_costs(), "x", 50.0, 1.0), "x")
    poor = DraftLength("auto", 8, measured(cpu_costs(), "x", 5.0, 20.0), "x")
    assert good.next() >= 3
    assert [poor.next() for _ in range(63)] == [0] * 63 and poor.next() == 1  # off, with a probe now and then
    assert DraftLength("auto", 8, measured(gpu, "x", 5.0, 20.0), "x").next() >= 1  # cheap batches: poor drafts pay
    assert DraftLength("on", 6, measured(cpu_costs(), "x", 0.0, 50.0), "x").next() == 6


def test_acceptance_is_carried_across_replies_per_source_and_match() -> None:
    """What a reply measured is where the next reply of the same source starts (counted as a few tokens, so
    the new reply's own drafts soon decide); another source, and lookup's long matches, keep their own."""
    costs = cpu_costs()
    first = DraftLength("auto", 8, costs, "lookup")
    assert first.acceptance() == pytest.approx(0.6) and first.acceptance(long_match=True) == pytest.approx(0.8)
    assert first.next(long_match=True) >= 1  # a long match drafts on the very first reply ...
    for _ in range(20):  # ... while chance matches are refused at once
        first.update(3, 0)
    second = DraftLength("auto", 8, costs, "lookup")
    assert second.acceptance() < 0.1 and second.next() == 0
    assert second.acceptance(long_match=True) == pytest.approx(0.8) and second.next(long_match=True) >= 1
    assert DraftLength("auto", 8, costs, "model").acceptance() == pytest.approx(0.6)
    for _ in range(3):  # the new reply repeats its prompt: a few kept drafts outweigh what was carried
        second.update(4, 4)
    assert DraftLength("auto", 8, costs, "lookup").next() >= 2


def test_auto_probes_cheaply_while_the_acceptance_is_unknown() -> None:
    """A source never measured on this model (the prior only): no length pays on these costs, so a short draft
    is checked every few steps until the evidence is confident; then, now and then, a short draft again while
    the cost of its batch was never measured (so that a cost curve known only at two tokens cannot keep drafting
    off for good), and one token once it was."""
    costs = DecodeCosts()
    costs.record(1, 0.285)
    for m, ratio in ((2, 1.63), (3, 2.08), (5, 2.55), (9, 6.13)):  # one loaded thread (bench/README.md)
        costs.record(m, 0.285 * ratio)
    length = DraftLength("auto", 8, costs, "new")
    assert [length.next() for _ in range(4)] == [0, 0, 0, 3]
    for _ in range(6):
        length.update(1, 0)  # refused probes: the evidence grows, and says drafting does not pay
    assert [length.next() for _ in range(63)] == [0] * 63 and length.next() == 3  # a batch of 4: not measured
    costs.record(4, 0.285 * 2.3)
    length.update(3, 0)
    assert [length.next() for _ in range(63)] == [0] * 63 and length.next() == 1


class PinnedCosts(DecodeCosts):
    """A 2-core CPU's decode costs (the issue's figures), not moved by this run's timings, so what "auto" does
    depends on the text alone."""

    def __init__(self) -> None:
        super().__init__()
        for m, ratio in ((1, 1.0), (2, 1.52), (4, 2.29), (6, 3.25), (8, 4.24)):
            super().record(m, 0.030 * ratio)

    def record(self, m: int, seconds: float) -> None:
        pass


def test_auto_drafts_the_first_reply_that_repeats_text_and_carries_what_it_measured(gguf: Any) -> None:
    """speculative auto on a fresh model: the reply repeats text (long lookup matches), so it drafts at once
    (greedy: the same tokens as without drafts); what it measured is where the next reply starts."""
    gen = load(gguf("exaone4"))
    saved, gen.decode_costs = gen.decode_costs, PinnedCosts()
    try:
        plain = run(gen, LOOKUP_PROMPT, speculative="off", max_new_tokens=N_LONG)
        auto = run(gen, LOOKUP_PROMPT, speculative="auto", max_new_tokens=N_LONG)
        assert auto.generated[0].token_ids == plain.generated[0].token_ids
        assert drafted(auto)[0] > 0
        long_match = gen.decode_costs.accepted("lookup", long_match=True)
        assert (long_match.kept, long_match.refused) != pytest.approx((0.8 * 4, 0.2 * 4))  # measured, not the prior
        again = run(gen, LOOKUP_PROMPT, speculative="auto", max_new_tokens=N_LONG)
        assert again.generated[0].token_ids == plain.generated[0].token_ids
    finally:
        gen.decode_costs = saved


def test_lookup_reports_how_long_its_match_is() -> None:
    passage = np.arange(100, 130, dtype=np.int32)
    copied = np.concatenate([passage, np.array([7, 8], dtype=np.int32), passage[:12]])
    found, match = lookup_match(copied, 5)
    assert found.tolist() == passage[12:17].tolist() and match == 12
    chance = np.array([5, 6, 1, 2, 9, 9, 9, 3, 1, 2], dtype=np.int32)  # "1 2" seen once, after other tokens
    found, match = lookup_match(chance, 3)
    assert found.tolist() == [9, 9, 9] and match == 2
    assert lookup_match(np.array([1, 2, 3], dtype=np.int32), 3) == (pytest.approx([]), 0)


# -- the command line ---------------------------------------------------------------------------------

def test_cli_drafts_and_refuses_another_tokenizer_in_one_line(gguf: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """exaone-generate: prompt lookup through the flags gives the same tokens and reports its drafts in --json;
    an assistant model with another tokenizer ends in one line and exit code 1."""
    import json

    from exaone_desktop.cli import generate as cli

    base = ["--model", str(gguf("exaone4")), "--prompt", LOOKUP_PROMPT, "--max-new-tokens", "48", "--json",
            "--threads", "1"]
    assert cli.main([*base, "--speculative", "off"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli.main([*base, "--speculative", "on", "--prompt-lookup-num-tokens", "6"]) == 0
    looked = json.loads(capsys.readouterr().out)
    assert looked["generated"][0]["token_ids"] == plain["generated"][0]["token_ids"]
    assert looked["timings"]["draft_tokens"] >= looked["timings"]["draft_tokens_accepted"] > 0
    assert cli.main([*base, "--assistant-model", str(gguf("exaone3_untied"))]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another tokenizer" in err and "Traceback" not in err


class SlowEmptyLookup:
    """A prompt lookup that never finds anything and takes ``seconds`` to say so, on ``clock`` (a stand-in for
    ``time.perf_counter`` that only the lookup advances: the test does not depend on the machine's load)."""

    kind, cheap = "lookup", True

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls, self.now = seconds, 0, 0.0

    def clock(self) -> float:
        return self.now

    def begin(self, *_: Any) -> None:
        pass

    def propose(self, reply_tokens: Sequence[int], n: int) -> Draft:
        self.calls += 1
        self.now += self.seconds
        return Draft([])


@pytest.mark.parametrize(("decode_s", "looks"), [(1.0, 40), (0.0005, 2)])
def test_auto_looks_less_often_when_looking_costs_more_than_a_sliver_of_decoding(
        decode_s: float, looks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup that drafts nothing costs at most ~1 % of the decoding: on a slow model every step looks; where
    one lookup costs as much as several decode steps (a tiny model), the next steps decode without looking."""
    from types import SimpleNamespace

    costs = DecodeCosts()
    costs.record(1, decode_s)
    source = SlowEmptyLookup(0.002)
    monkeypatch.setattr(speculative, "time", SimpleNamespace(perf_counter=source.clock))
    with TokenSampler(GenerationSettings(do_sample=False), 64, history_size=256) as sampler:
        speculation = Speculation(source, DraftLength("auto", 8, costs, "lookup"), sampler)  # type: ignore[arg-type]
        reply = SimpleNamespace(tokens=[1, 2, 3])
        drafts = [speculation.propose(reply, 512, 1000) for _ in range(40)]  # type: ignore[arg-type]
    assert all(d.tokens == [] for d in drafts) and source.calls == looks


def test_stop_ends_the_draft_models_prompt_evaluation(gguf: Any) -> None:
    """Stop pressed as the draft model starts on a long prompt: it evaluates none of it (it ran the whole prompt
    before the reply could end), the reply ends cancelled, and the next reply drafts from the same context."""
    model = gguf("exaone4")
    assisted = LocalGenerator(model, n_threads=2, assistant_model=str(model))
    try:
        draft = assisted.assistant_model
        assert draft is not None
        prompt = " ".join([PLAIN_PROMPT] * 40)
        assert len(assisted.tokenize_prompt(prompt, assisted.default_settings())[1]) > draft.n_batch
        cancel = threading.Event()
        real_catch_up = draft._catch_up

        def stop_as_it_starts(context: list[int], *args: Any) -> Any:
            cancel.set()
            return real_catch_up(context, *args)

        draft._catch_up = stop_as_it_starts  # type: ignore[method-assign]
        settings = assisted.default_settings(max_new_tokens=8, num_assistant_tokens=4, speculative="on")
        result = assisted.generate(prompt, settings, cancel=cancel)
        assert [c.finish_reason for c in result.generated] == ["cancelled"]
        assert draft._held == []  # not one batch of the prompt after Stop
        draft._catch_up = real_catch_up  # type: ignore[method-assign]
        plain = run(load(model), prompt, max_new_tokens=8, speculative="off").generated[0]
        again = assisted.generate(prompt, settings)
        assert again.generated[0].token_ids == plain.token_ids and drafted(again)[0] > 0
    finally:
        assisted.close()
