"""LocalGenerator on real llama.cpp with tiny converted EXAONE models, checked against transformers."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import llama_cpp
import pytest
from exaone_desktop.engine.chat.reasoning import reasoning_tags, split_reasoning
from exaone_desktop.engine.chat.textstream import TextAssembler
from exaone_desktop.engine.llama.backend import detect_backend, gpu_backend, gpu_registries
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.types import GenerationError, StreamEvent

from tests.support.generation_models import (
    KINDS,
    MESSAGES,
    PLAIN_PROMPT,
    greedy_gaps,
    hf_generate,
    reference,
    tiny_gguf,
)

N_NEW = 24
_generators: dict[str, LocalGenerator] = {}


@pytest.fixture
def local(tiny_checkpoint: Any):
    """Factory: local("exaone4") -> a LocalGenerator on that tiny GGUF (loaded once per session)."""

    def make(kind: str) -> LocalGenerator:
        if kind not in _generators:
            _generators[kind] = LocalGenerator(tiny_gguf(kind, tiny_checkpoint), n_threads=2)
        return _generators[kind]

    return make


def expected_parts(gen: LocalGenerator, hf_text: str, starts_inside: bool) -> tuple[str | None, str]:
    tags = reasoning_tags(gen.model_info.architecture, gen.model_info.chat_template)
    return split_reasoning(hf_text, tags, starts_inside=starts_inside)


def assert_greedy_parity(gen: LocalGenerator, kind: str, prompt: Any, result: Any, tiny_checkpoint: Any) -> None:
    """Token ids equal transformers' greedy generate(); a float32 near-tie (the two engines' logits differ
    by ~1e-5 relative) may flip one choice, after which ours must still be the reference's argmax path."""
    model, tok = reference(kind, tiny_checkpoint)
    hf_prompt_ids, hf_new, hf_text = hf_generate(model, tok, prompt, len(result.generated[0].token_ids))
    c = result.generated[0]
    assert result.prompt_token_ids == hf_prompt_ids
    penalty = model.generation_config.repetition_penalty or 1.0
    gaps = greedy_gaps(model, hf_prompt_ids, c.token_ids, penalty)
    assert max(gaps) < 1e-3
    tie = next((i for i, g in enumerate(gaps) if g > 0), len(gaps))
    assert c.token_ids[:tie] == hf_new[:tie]
    if tie == len(gaps):
        assert c.token_ids == hf_new
    else:
        hf_text = tok.decode(c.token_ids, skip_special_tokens=True)  # still check decoding matches
    starts_inside = result.prompt_text.rstrip().endswith(("<thought>", "<think>"))
    assert (c.reasoning, c.text) == expected_parts(gen, hf_text, starts_inside)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("prompt", [PLAIN_PROMPT, MESSAGES], ids=["plain", "chat"])
def test_greedy_matches_transformers(kind: str, prompt: Any, local: Any, tiny_checkpoint: Any) -> None:
    gen = local(kind)
    result = gen.generate(prompt, gen.default_settings(max_new_tokens=N_NEW))
    assert_greedy_parity(gen, kind, prompt, result, tiny_checkpoint)
    c = result.generated[0]
    assert c.finish_reason == ("stop" if c.token_ids[-1] in gen.model_info.eos_token_ids else "length")
    assert result.backend == detect_backend(-1)


def test_enable_thinking_streams_reasoning(local: Any, tiny_checkpoint: Any) -> None:
    gen = local("exaone4")
    settings = gen.default_settings(max_new_tokens=N_NEW, enable_thinking=True)
    events: list[StreamEvent] = []
    result = gen.generate(MESSAGES, settings, on_event=events.append)
    assert result.prompt_text.endswith("<think>\n")
    c = result.generated[0]
    model, tok = reference("exaone4", tiny_checkpoint)
    enc = tok.apply_chat_template(MESSAGES, add_generation_prompt=True, enable_thinking=True,
                                  return_dict=True, return_tensors="pt")
    assert result.prompt_token_ids == enc["input_ids"][0].tolist()
    hf_new = model.generate(**enc, do_sample=False, max_new_tokens=N_NEW)[0, enc["input_ids"].shape[1]:].tolist()
    assert c.token_ids == hf_new
    reasoning, answer = split_reasoning(tok.decode(hf_new, skip_special_tokens=True), ("<think>", "</think>"),
                                        starts_inside=True)
    assert c.reasoning == reasoning and c.text == answer
    assert "".join(e.text for e in events if e.kind == "reasoning") == c.reasoning
    assert "".join(e.text for e in events if e.kind == "answer") == c.text


def test_same_seed_same_text_and_seeds_differ(local: Any) -> None:
    gen = local("exaone3_untied")

    def run(seed: int) -> list[int]:
        s = gen.default_settings(max_new_tokens=20, do_sample=True, top_k=0, seed=seed)
        return gen.generate(PLAIN_PROMPT, s).generated[0].token_ids

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_drawn_seed_is_reported_and_sequence_zero_uses_it(local: Any) -> None:
    gen = local("exaone3_untied")
    s = gen.default_settings(max_new_tokens=12, do_sample=True, top_k=0, temperature=1.5, repetition_penalty=1.0)
    drawn = gen.generate(PLAIN_PROMPT, s)
    assert drawn.seed is not None and drawn.to_json()["seed"] == drawn.seed
    again = gen.generate(PLAIN_PROMPT, s.replace(seed=drawn.seed))
    assert again.generated[0].token_ids == drawn.generated[0].token_ids
    three = gen.generate(PLAIN_PROMPT, s.replace(seed=drawn.seed, num_return_sequences=3))
    assert three.generated[0].token_ids == drawn.generated[0].token_ids  # n=1 is the first of n
    greedy = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=2, do_sample=False))
    assert greedy.seed is None and "seed" not in greedy.to_json()


@pytest.mark.parametrize("kind", ["exaone3_untied", "exaone4_hybrid64"])
def test_num_return_sequences_evaluates_the_prompt_once(kind: str, local: Any) -> None:
    gen = local(kind)
    sampled = gen.default_settings(max_new_tokens=12, do_sample=True, temperature=1.5, top_k=0, top_p=1.0,
                                   seed=3, num_return_sequences=3, repetition_penalty=1.0)
    before = dataclasses.replace(gen.stats)
    result = gen.generate(PLAIN_PROMPT, sampled)
    assert len(result.generated) == 3
    n_prompt = len(result.prompt_token_ids)
    evaluated = gen.stats.prompt_tokens_evaluated
    assert evaluated == result.timings["prompt_tokens_evaluated"]
    assert evaluated + gen.stats.prompt_tokens_reused == n_prompt
    # what the cache lacked of the prompt once, then every sampled token but the last of each sequence
    expected = evaluated + sum(len(c.token_ids) - 1 for c in result.generated)
    assert gen.stats.tokens_decoded - before.tokens_decoded == expected
    assert len({tuple(c.token_ids) for c in result.generated}) > 1
    # top_k=1 sampling is argmax: every rewound sequence must equal the greedy continuation.
    greedy = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=12, repetition_penalty=1.0))
    argmax = gen.generate(PLAIN_PROMPT, sampled.replace(top_k=1))
    assert [c.token_ids for c in argmax.generated] == [greedy.generated[0].token_ids] * 3


def test_stop_string_cuts_text_and_is_never_streamed(local: Any) -> None:
    gen = local("exaone3_untied")
    settings = gen.default_settings(max_new_tokens=N_NEW)
    full = gen.generate(PLAIN_PROMPT, settings).generated[0]
    stop = full.text[4:7]
    assert len(stop) == 3 and full.text.find(stop) >= 0
    events: list[StreamEvent] = []
    c = gen.generate(PLAIN_PROMPT, settings.replace(stop=(stop, "never-appears")), on_event=events.append).generated[0]
    assert c.finish_reason == "stop"
    assert c.text == full.text[: full.text.find(stop)]
    assert "".join(e.text for e in events) == c.text
    assert c.token_ids == full.token_ids[: len(c.token_ids)]


def test_max_new_tokens_gives_length(local: Any) -> None:
    gen = local("exaone4")
    c = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=5)).generated[0]
    assert c.finish_reason == "length" and len(c.token_ids) == 5


def test_eos_stops_with_reason_stop(local: Any) -> None:
    gen = LocalGenerator(local("exaone3_untied").model_info.path, n_threads=1)
    first = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=3)).generated[0].token_ids[0]
    gen.model_info = dataclasses.replace(gen.model_info, eos_token_ids=[first])  # pretend it is an EOS id
    c = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=10)).generated[0]
    assert (c.finish_reason, c.token_ids, c.text) == ("stop", [first], "")
    gen.close()


def test_prompt_too_long_is_a_clean_error(local: Any) -> None:
    gen = LocalGenerator(local("exaone3_untied").model_info.path, n_ctx=32, n_threads=1)
    with pytest.raises(GenerationError, match="max_new_tokens") as err:
        gen.generate(PLAIN_PROMPT * 3, gen.default_settings(max_new_tokens=20))
    assert "\n" not in str(err.value)
    gen.close()


def test_cancel_keeps_partial_text(local: Any) -> None:
    gen = local("exaone3_untied")
    settings = gen.default_settings(max_new_tokens=N_NEW)
    full = gen.generate(PLAIN_PROMPT, settings).generated[0]
    cancel = threading.Event()
    streamed: list[str] = []

    def on_event(e: StreamEvent) -> None:
        streamed.append(e.text)
        if len(streamed) == 3:
            cancel.set()

    c = gen.generate(PLAIN_PROMPT, settings, on_event=on_event, cancel=cancel).generated[0]
    assert c.finish_reason == "cancelled"
    assert 0 < len(c.token_ids) < N_NEW
    assert c.text and full.text.startswith(c.text)
    assert "".join(streamed) == c.text


def test_streaming_reassembles_without_broken_characters(local: Any, tiny_checkpoint: Any) -> None:
    gen = local("exaone4")
    settings = gen.default_settings(max_new_tokens=40, do_sample=True, seed=11)
    events: list[StreamEvent] = []
    result = gen.generate("한국어 문장을 계속 써 주세요: 안녕하세요, 반갑습니다", settings, on_event=events.append)
    c = result.generated[0]
    assert "".join(e.text for e in events) == c.text
    _, tok = reference("exaone4", tiny_checkpoint)
    # a stream never adds U+FFFD: only bytes the model itself made invalid become one (as in transformers)
    assert c.text.count("\ufffd") == tok.decode(c.token_ids, skip_special_tokens=True).count("\ufffd")


def test_text_assembler_keeps_korean_whole_at_any_split() -> None:
    text = "안녕하세요, 세계! 한국어 🙂 테스트"
    data = text.encode("utf-8")
    pieces: list[str] = []
    asm = TextAssembler(emit=lambda kind, t: pieces.append(t))
    for i in range(len(data)):
        asm.add(data[i: i + 1])
    asm.finish()
    assert asm.answer == text == "".join(pieces)
    assert all("\ufffd" not in p for p in pieces)


def test_text_assembler_stop_spanning_tokens() -> None:
    pieces: list[str] = []
    asm = TextAssembler(stops=["[끝]"], emit=lambda kind, t: pieces.append(t))
    hits = [asm.add(ch.encode()) for ch in ["답은 ", "42", "입니다[", "끝"]]
    assert "".join(pieces) == "답은 42입니다"  # "[" and "[끝" wait: they may start the stop string
    hits.append(asm.add("] 더".encode()))
    asm.finish()
    assert hits == [False, False, False, False, True]
    assert asm.answer == "".join(pieces) == "답은 42입니다"


def test_malformed_file_never_reaches_llama_cpp(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(GenerationError) as err:
        LocalGenerator(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(GenerationError, match="not found"):
        LocalGenerator(tmp_path / "missing.gguf")


def test_concurrent_generates_are_serialised(local: Any) -> None:
    gen = local("exaone3_untied")
    settings = gen.default_settings(max_new_tokens=16)
    expected = gen.generate(PLAIN_PROMPT, settings).generated[0].token_ids
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda: results.append(
        gen.generate(PLAIN_PROMPT, settings).generated[0].token_ids)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 3


def test_backend_reports_what_the_build_offloads_to(local: Any) -> None:
    gen = local("exaone3_untied")
    registries = gpu_registries()
    if not llama_cpp.llama_supports_gpu_offload():
        assert gen.backend == gpu_backend() == "cpu"
    else:
        assert registries and gen.backend in ("cuda", "metal")
    assert detect_backend(0) == "cpu"


def test_model_sampling_defaults_apply_and_user_values_win(local: Any) -> None:
    gen = local("exaone4")
    s = gen.default_settings()
    assert (s.temperature, s.top_k, s.top_p, s.repetition_penalty) == (0.7, 40, 0.9, 1.05)
    assert gen.default_settings(top_k=0, temperature=None).top_k == 0


CLOSE_DURING_REPLY = """
import sys, threading
from exaone_desktop.engine.llama.local import LocalGenerator
gen = LocalGenerator(sys.argv[1], n_threads=1, assistant_model=sys.argv[1])
started, order = threading.Event(), []
settings = gen.default_settings(max_new_tokens=300, num_assistant_tokens=4, speculative="on")

def reply():
    result = gen.generate(sys.argv[2], settings, grammar="root ::= [a-z ] root", on_event=lambda _e: started.set())
    order.append("reply " + result.generated[0].finish_reason)

thread = threading.Thread(target=reply)
thread.start()
started.wait(60)
gen.close()
order.append("closed")
thread.join(60)
print(order)
"""


def test_close_while_a_reply_runs_waits_for_it(tiny_checkpoint: Any) -> None:
    """close() on another thread frees the draft model, the KV cache's batch and the model only once the reply
    that uses them has ended (they were freed under it: a crash). In a child process: that crash would end it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CLOSE_DURING_REPLY, str(tiny_gguf("exaone4", tiny_checkpoint)),
                           PLAIN_PROMPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "['reply length', 'closed']"
