"""The KV cache kept between requests: prefix reuse, kept conversations, Stop during prefill, context control.

Every reuse is checked against a cold evaluation of the same prompt in a fresh generator (real
llama.cpp, tiny EXAONE 3 / EXAONE 4 / 64-layer sliding-window GGUFs).
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import pytest
from exaone_desktop.engine.chat.history import cut_points, drop_oldest, fit_history
from exaone_desktop.engine.llama.context import default_n_ctx, kv_cache_bytes, prefill_batch
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.prompt_cache import Checkpoint, SavedState, StateCache, common_prefix
from exaone_desktop.engine.settings import SettingsError
from exaone_desktop.engine.types import GenerationError
from exaone_desktop.pipeline import pipeline

from tests.support.generation_models import tiny_gguf

KINDS = ("exaone3_untied", "exaone4", "exaone4_hybrid64")
SYSTEM = {"role": "system", "content": "You are EXAONE, a helpful assistant."}
QUESTIONS = [
    "안녕하세요! 오늘 서울 날씨는 어떤가요? Tell me about the weather in Seoul today, please.",
    "그럼 내일은요? And what about tomorrow, will it rain in the afternoon or stay dry?",
    "우산을 가져가야 할까요? Should I take an umbrella when I go out in the morning?",
    "부산은 어때요? How is Busan compared with Seoul at this time of the year?",
    "고마워요. Can you summarise everything you told me in two short sentences?",
    "마지막 질문: what is the capital of Korea, and how many people live there?",
]
N_NEW = 12
# Logits of the same prompt evaluated in other batch splits differ by float rounding (f16 KV cache).
LOGIT_TOL = 2e-3


def load(path: Path, **kwargs: Any) -> LocalGenerator:
    kwargs.setdefault("n_threads", 1)  # two threads wait on each other on a busy machine
    kwargs.setdefault("n_batch", 32)  # small batches: the sliding-window cache holds 256 cells
    return LocalGenerator(path, **kwargs)


@pytest.fixture
def gguf(tiny_checkpoint: Any):
    return lambda kind: tiny_gguf(kind, tiny_checkpoint)


_wide: dict[str, Path] = {}


@pytest.fixture
def wide_heads_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny EXAONE 4 GGUF with 32-wide attention heads: quantized KV caches store whole 32-element blocks."""
    if "gguf" not in _wide:
        from exaone_convert.convert import convert_checkpoint

        from tests.support import tiny_checkpoints as tc

        spec = dataclasses.replace(tc.KINDS["exaone4"], hidden=64, heads=2, kv_heads=1, head_dim=32)
        tok = tc.train_tokenizer(spec.family)
        out = tmp_path_factory.mktemp("wide")
        ckpt = tc.write_checkpoint(out / "ckpt", spec, tok, tc.random_weights(spec, tok.get_vocab_size(True), 0))
        _wide["gguf"] = convert_checkpoint(ckpt, out / "wide-f32.gguf", outtype="f32")
    return _wide["gguf"]


def assert_same_logits(reused: np.ndarray, cold: np.ndarray) -> None:
    assert reused.shape == cold.shape
    scale = float(np.abs(cold).max())
    assert float(np.abs(reused - cold).max()) <= LOGIT_TOL * scale
    assert int(np.argmax(reused)) == int(np.argmax(cold))


def cold(path: Path, prompt: Any, settings: Any) -> tuple[np.ndarray, list[int], str]:
    """(next-token logits, generated ids, text) from a fresh generator: a cold evaluation."""
    with load(path) as fresh:
        logits = fresh.next_token_logits(prompt, settings)
        assert fresh.stats.prompt_tokens_reused == 0
        c = fresh.generate(prompt, settings).generated[0]
    return logits, c.token_ids, c.text


# -- prefix reuse --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_six_turn_chat_reuses_the_prefix_exactly(kind: str, gguf: Any) -> None:
    path = gguf(kind)
    gen = load(path)
    greedy = gen.default_settings(max_new_tokens=N_NEW, do_sample=False, repetition_penalty=1.0)
    sampled = gen.default_settings(max_new_tokens=N_NEW, do_sample=True, seed=7)
    messages: list[dict[str, str]] = [SYSTEM]
    held: list[int] = []
    previous_prompt = 0
    for turn, question in enumerate(QUESTIONS):
        messages.append({"role": "user", "content": question})
        settings = sampled if turn % 2 else greedy
        before = gen.stats.tokens_decoded
        logits = gen.next_token_logits(messages, settings, conversation="chat")
        reused, evaluated = gen.stats.prompt_tokens_reused, gen.stats.prompt_tokens_evaluated
        result = gen.generate(messages, settings, conversation="chat")
        ids, reply = result.prompt_token_ids, result.generated[0]
        # generate found the whole prompt (and its logits) cached: nothing evaluated twice
        assert (result.timings["prompt_tokens_reused"], result.timings["prompt_tokens_evaluated"]) == (len(ids), 0)
        assert gen.stats.tokens_decoded - before == evaluated + len(reply.token_ids) - 1
        # only what follows the previous prompt and reply is evaluated
        assert reused == common_prefix(held, ids) and evaluated == len(ids) - reused
        assert reused >= previous_prompt
        cold_logits, cold_tokens, cold_text = cold(path, messages, settings)
        assert_same_logits(logits, cold_logits)
        assert (reply.token_ids, reply.text) == (cold_tokens, cold_text)
        held = ids + reply.token_ids[:-1]
        previous_prompt = len(ids)
        messages.append({"role": "assistant", "content": reply.text})
    gen.close()


def chat(n_turns: int, system: dict[str, str] = SYSTEM) -> list[dict[str, str]]:
    messages = [system]
    for i in range(n_turns):
        messages.append({"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]})
        if i < n_turns - 1:
            messages.append({"role": "assistant", "content": f"답변 {i}: the weather is fine, about {20 + i} degrees."})
    return messages


@pytest.mark.parametrize("kind", ["exaone4", "exaone4_hybrid64"])
def test_regenerate_and_editing_the_last_message_reuse_the_history(kind: str, gguf: Any) -> None:
    path = gguf(kind)
    with load(path) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW, do_sample=False)
        messages = chat(4)
        first = gen.generate(messages, settings, conversation="c")
        before = gen.stats.tokens_decoded
        again = gen.generate(messages, settings, conversation="c")  # Regenerate
        assert again.timings["prompt_tokens_evaluated"] == 0
        assert again.generated[0].token_ids == first.generated[0].token_ids
        assert gen.stats.tokens_decoded - before == len(again.generated[0].token_ids) - 1
        edited = [*messages[:-1], {"role": "user", "content": "질문을 바꿀게요. What is the capital of Korea?"}]
        history = len(gen.tokenize_prompt(messages[:-1], settings)[1])  # ends with the last reply's turn
        logits = gen.next_token_logits(edited, settings, conversation="c")
        assert gen.stats.prompt_tokens_reused >= history
        n_ids = len(gen.tokenize_prompt(edited, settings)[1])
        assert gen.stats.prompt_tokens_evaluated == n_ids - gen.stats.prompt_tokens_reused
        assert_same_logits(logits, cold(path, edited, settings)[0])


def test_sliding_window_rollback_past_the_window_restores_a_checkpoint(gguf: Any) -> None:
    path = gguf("exaone4_hybrid64")
    head = "서울은 한국의 수도입니다. The capital of Korea is Seoul.\n"
    long_tail = " ".join(f"word{i}" for i in range(70)) + "\n"
    other_tail = "부산은 두 번째로 큰 도시입니다. Busan is the second city."
    with load(path) as gen:
        settings = gen.default_settings(max_new_tokens=4)
        head_ids = gen.tokenize_prompt(head, settings)[1]
        long_ids = gen.tokenize_prompt(head + long_tail, settings)[1]
        other_ids = gen.tokenize_prompt(head + other_tail, settings)[1]
        assert long_ids[: len(head_ids)] == other_ids[: len(head_ids)] == head_ids
        assert len(long_ids) - len(head_ids) > 300  # further back than the 256-cell window cache reaches
        gen.next_token_logits(head, settings)  # leaves a checkpoint at the end of head
        gen.next_token_logits(head + long_tail, settings)
        logits = gen.next_token_logits(head + other_tail, settings)
        assert gen.stats.prompt_tokens_reused == len(head_ids)
        assert_same_logits(logits, cold(path, head + other_tail, settings)[0])
    with load(path) as gen:  # no checkpoint before the point of difference: a cold evaluation
        gen.next_token_logits(head + long_tail, settings)
        logits = gen.next_token_logits(head + other_tail, settings)
        assert gen.stats.prompt_tokens_reused == 0
        assert_same_logits(logits, cold(path, head + other_tail, settings)[0])


def test_a_plain_prompt_that_extends_the_previous_one_reuses_it(gguf: Any) -> None:
    with load(gguf("exaone3_untied")) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW)
        first = gen.generate("서울은 한국의 수도입니다.", settings)
        gen.generate("서울은 한국의 수도입니다. 부산은 항구 도시입니다.", settings)
        assert gen.stats.prompt_tokens_reused >= len(first.prompt_token_ids) - 1
        gen.generate("The capital of Korea is", settings)  # nothing in common but [BOS]
        assert gen.stats.prompt_tokens_reused <= 1


# -- conversations you come back to --------------------------------------------------------------

SYSTEM_B = {"role": "system", "content": "당신은 요리사입니다. You are a chef who answers briefly."}


def test_switching_conversations_restores_the_kept_state(gguf: Any) -> None:
    path = gguf("exaone4")
    with load(path) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW, do_sample=False)
        a = chat(3)
        first_a = gen.generate(a, settings, conversation="A")
        assert gen.state_cache.usage().entries == 0
        again = gen.generate(a, settings, conversation="A")
        assert again.timings["state_switch_seconds"] == 0.0  # same conversation: nothing saved or restored
        b_result = gen.generate(chat(2, SYSTEM_B), settings, conversation="B")
        assert b_result.timings["state_switch_seconds"] > 0.0  # A's state was saved
        usage = gen.state_cache.usage()
        assert usage.entries == 1 and 0 < usage.bytes <= usage.budget_bytes
        a_next = [*a, {"role": "assistant", "content": first_a.generated[0].text},
                  {"role": "user", "content": QUESTIONS[4]}]
        before = gen.stats.tokens_decoded
        logits = gen.next_token_logits(a_next, settings, conversation="A")
        held_a = first_a.prompt_token_ids + first_a.generated[0].token_ids[:-1]
        ids = gen.tokenize_prompt(a_next, settings)[1]
        assert gen.stats.prompt_tokens_reused == common_prefix(held_a, ids) >= len(first_a.prompt_token_ids)
        assert gen.stats.tokens_decoded - before == len(ids) - gen.stats.prompt_tokens_reused
        assert_same_logits(logits, cold(path, a_next, settings)[0])
        assert "B" in gen.state_cache and "A" not in gen.state_cache  # A is live, B kept
        gen.set_state_cache_mb(0)  # nothing kept any more
        assert gen.state_cache.usage().entries == 0
        gen.generate(chat(2, SYSTEM_B), settings, conversation="B")
        gen.next_token_logits(a_next, settings, conversation="A")
        assert gen.stats.prompt_tokens_reused < 8  # only the template's first tokens are shared


def test_kept_states_spill_to_disk_and_outlive_the_process(gguf: Any, tmp_path: Path) -> None:
    path = gguf("exaone4")
    folder = tmp_path / "kv"
    a, b = chat(3), chat(2, SYSTEM_B)
    with load(path, state_cache_mb=0, state_cache_dir=folder) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW, do_sample=False)
        gen.generate(a, settings, conversation="A")
        gen.generate(b, settings, conversation="B")  # A goes straight to disk (memory budget 0)
        usage = gen.state_cache.usage()
        assert (usage.entries, usage.disk_entries) == (0, 1) and usage.disk_bytes > 0
        gen.next_token_logits(a, settings, conversation="A")
        assert gen.stats.prompt_tokens_evaluated == 0  # restored from the file, checkpoint included
        files = list(folder.rglob("*"))
        assert [p.suffix for p in files if p.is_file()] == [".kvstate"]  # B's; A's was taken, no temp files
    with load(path, state_cache_mb=0, state_cache_dir=folder) as again:  # A was written at close
        assert again.state_cache.usage().disk_entries == 2
        logits = again.next_token_logits(a, settings, conversation="A")
        assert again.stats.prompt_tokens_evaluated == 0
        assert_same_logits(logits, cold(path, a, settings)[0])


def _state(n: int, key: int = 0) -> SavedState:
    window = bytes([key]) * 8
    return SavedState(list(range(n)), bytes([key]) * (1000 - 4 * n),
                      [Checkpoint(n, np.full(4, key, dtype=np.float32), window)])


def test_state_cache_drops_the_least_recently_used_within_its_budgets(tmp_path: Path) -> None:
    cache = StateCache(3 * 1024)  # each state: 960 data + 40 token + 16 logit + 8 window bytes
    for key in "abc":
        cache.put(key, _state(10, ord(key)))
    assert cache.usage().entries == 3 and cache.usage().bytes == 3 * 1024
    assert cache.take("a") is not None  # a is taken (live again); b is now the oldest
    cache.put("d", _state(10, 4))
    cache.put("e", _state(10, 5))
    assert [k in cache for k in "bcde"] == [False, True, True, True]
    cache.set_budget(1100)
    assert [k in cache for k in "cde"] == [False, False, True]

    disk = StateCache(1024, tmp_path, disk_budget_bytes=2 * 1200)
    for key in "abcd":
        disk.put(key, _state(10, ord(key)))
    usage = disk.usage()
    assert (usage.entries, usage.disk_entries) == (1, 2)  # a dropped from disk, b and c there, d in memory
    assert "a" not in disk and "b" in disk
    restored = disk.take("b")
    assert restored is not None and restored.tokens == list(range(10))
    assert restored.data == bytes([ord("b")]) * 960 and restored.checkpoints[0].window == bytes([ord("b")]) * 8
    assert restored.checkpoints[0].pos == 10 and restored.checkpoints[0].logits.tolist() == [ord("b")] * 4
    damaged = next(tmp_path.glob("*.kvstate"))
    damaged.write_bytes(damaged.read_bytes()[:40])
    assert disk.take("c") is None  # a damaged file is dropped, never restored
    assert not list(tmp_path.glob("*.tmp"))


# -- Stop during prefill ------------------------------------------------------------------------


def word_pairs(n: int) -> str:
    """A prompt of ``n`` Korean and English word pairs: long enough to take several prefill batches."""
    return " ".join(f"단어{i} word{i}" for i in range(n))


class CancelAfter(threading.Event):
    """A cancel event that reads as set from its ``polls + 1``-th check on (llama.cpp's abort callback polls
    it too, hundreds of times a batch)."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.left = polls
        self.polls = 0

    def is_set(self) -> bool:
        self.polls += 1
        self.left -= 1
        return self.left < 0


def test_stop_ends_a_prefill_inside_its_one_batch(gguf: Any) -> None:
    """The whole prompt in one batch: Stop still ends it, inside llama_decode, and leaves no half batch."""
    path = gguf("exaone4")
    prompt = word_pairs(40)
    with load(path, n_batch=512) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW, do_sample=False)
        assert len(gen.tokenize_prompt(prompt, settings)[1]) < gen.n_batch
        before = gen.stats.tokens_decoded
        cancel = CancelAfter(5)  # the check before the batch, then four polls inside it
        result = gen.generate(prompt, settings, cancel=cancel)
        c = result.generated[0]
        assert (c.finish_reason, c.token_ids, c.text) == ("cancelled", [], "")
        assert cancel.polls == 6  # llama.cpp stopped at its next poll
        assert result.timings["prompt_tokens_evaluated"] == 0 == gen.stats.tokens_decoded - before
        finished = gen.generate(prompt, settings)  # nothing stale is left in the cache
        assert finished.timings["prompt_tokens_reused"] == 0
        assert finished.generated[0].token_ids == cold(path, prompt, settings)[1]
        polled = CancelAfter(10**9)  # never set: a finished prefill polls, a decode step does not
        gen.generate(prompt + " 더", settings.replace(max_new_tokens=1), cancel=polled)
        one_prefill = polled.polls
        gen.generate(prompt + " 더 많이", settings.replace(max_new_tokens=N_NEW), cancel=polled)
        assert one_prefill > 10 and polled.polls - one_prefill < 2 * one_prefill + N_NEW + 2


def test_stop_during_prefill_keeps_the_batches_that_finished(gguf: Any) -> None:
    path = gguf("exaone4")
    prompt = word_pairs(40)
    with load(path, n_batch=8) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW, do_sample=False)
        n_ids = len(gen.tokenize_prompt(prompt, settings)[1])
        per_batch = CancelAfter(10**9)
        gen.generate(prompt[:10], settings.replace(max_new_tokens=1), cancel=per_batch)
        gen.generate(prompt, settings.replace(max_new_tokens=1))  # cold again below: a different start
        before = gen.stats.tokens_decoded
        cancel = CancelAfter(3 * per_batch.polls)  # about three batches' worth of polls
        result = gen.generate("x " + prompt, settings, cancel=cancel)
        c = result.generated[0]
        evaluated = int(result.timings["prompt_tokens_evaluated"])
        assert (c.finish_reason, c.token_ids) == ("cancelled", [])
        assert 0 < evaluated < n_ids and evaluated % 8 == 0 and evaluated == gen.stats.tokens_decoded - before
        finished = gen.generate("x " + prompt, settings)
        assert finished.timings["prompt_tokens_reused"] == evaluated
        assert finished.generated[0].token_ids == cold(path, "x " + prompt, settings)[1]


def test_stop_from_another_thread_during_a_long_prefill(gguf: Any) -> None:
    path = gguf("exaone4_hybrid64")
    prompt = word_pairs(90)
    with load(path, n_batch=4) as gen:
        settings = gen.default_settings(max_new_tokens=N_NEW, do_sample=False)
        n_ids = len(gen.tokenize_prompt(prompt, settings)[1])
        cancel = threading.Event()
        decoded = gen.stats.tokens_decoded
        watcher = threading.Thread(target=lambda: _set_when(cancel, lambda: gen.stats.tokens_decoded > decoded + 8))
        watcher.start()
        result = gen.generate(prompt, settings, cancel=cancel)
        watcher.join()
        evaluated = int(result.timings["prompt_tokens_evaluated"])
        assert result.generated[0].finish_reason == "cancelled"
        assert 8 < evaluated < n_ids and evaluated % 4 == 0
        again = gen.generate(prompt, settings)  # the generator stays usable and reuses those batches
        assert again.timings["prompt_tokens_reused"] == evaluated
        assert again.generated[0].token_ids == cold(path, prompt, settings)[1]


def _set_when(event: threading.Event, condition: Any) -> None:
    while not condition():
        threading.Event().wait(0.001)
    event.set()


# -- context control ----------------------------------------------------------------------------


def test_truncate_oldest_drops_turns_and_keeps_system_and_last_question(gguf: Any) -> None:
    path = gguf("exaone4")
    messages = chat(8)
    with load(path, n_ctx=200) as gen:
        settings = gen.default_settings(max_new_tokens=16)
        with pytest.raises(GenerationError, match="truncate") as err:
            gen.generate(messages, settings)
        assert "\n" not in str(err.value)
        result = gen.generate(messages, settings.replace(truncate="oldest"), conversation="long")
        dropped = int(result.timings["messages_dropped"])
        assert dropped > 0 and dropped % 2 == 0  # whole turns: a user message and its reply
        assert len(result.prompt_token_ids) + 16 <= 200
        assert SYSTEM["content"] in result.prompt_text and QUESTIONS[7 % 6] in result.prompt_text
        assert result.prompt_text.count("[|user|]") == 8 - dropped // 2
        reply = result.generated[0].text
        longer = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": "네."}]
        nxt = gen.generate(longer, settings.replace(truncate="oldest"), conversation="long")
        assert int(nxt.timings["messages_dropped"]) >= dropped
        if int(nxt.timings["messages_dropped"]) == dropped:  # the same cut: the cache is reused
            assert nxt.timings["prompt_tokens_reused"] >= len(result.prompt_token_ids)
        only_question = [SYSTEM, {"role": "user", "content": "긴 질문 " * 200}]
        with pytest.raises(GenerationError, match="does not fit"):
            gen.generate(only_question, settings.replace(truncate="oldest"))
    out = pipeline(path, n_ctx=200, n_threads=1)(messages, truncate="oldest", max_new_tokens=16)
    assert out[0]["generated_text"][:-1] == messages  # the caller's history stays whole


def test_fit_history_cuts_only_before_user_messages_and_keeps_its_cut() -> None:
    messages = chat(5)  # system, then u a u a u a u a u
    assert cut_points(messages) == [0, 2, 4, 6, 8]
    kept = drop_oldest(messages, 4)
    assert kept[0] == SYSTEM and kept[1]["role"] == "user" and kept[-1] == messages[-1]

    def length(msgs: list[Any]) -> int:
        return 10 * len(msgs)

    assert fit_history(messages, length, room=100) == 0  # 10 messages fit
    assert fit_history(messages, length, room=80) == 4  # 60 <= 0.75 * 80: room for the next turns
    assert fit_history(messages, length, room=80, refill_share=1.0) == 2  # the fewest
    assert fit_history(messages, length, room=80, previous=2) == 2  # still fits: keep the same cut
    assert fit_history(messages, length, room=30) == 8  # the most it may drop
    assert fit_history(messages, length, room=10) == 8  # nothing fits: the caller reports the error


@pytest.mark.parametrize("kwargs, message", [
    ({"n_ctx": 1025}, "between 1 and 1024"),
    ({"n_ctx": -1}, "between 1 and 1024"),
    ({"kv_cache_type": "q5_1"}, "f16, q8_0, q4_0"),
    ({"state_cache_mb": -1}, "state_cache_mb must be a number of megabytes >= 0"),
    ({"n_batch": 0}, "n_batch must be an integer >= 1"),
])
def test_bad_context_settings_are_one_line_errors(kwargs: dict[str, Any], message: str, gguf: Any) -> None:
    with pytest.raises(GenerationError, match=message) as err:
        load(gguf("exaone4"), **kwargs)
    assert "\n" not in str(err.value)


def test_bad_runtime_values_are_one_line_errors(gguf: Any) -> None:
    with pytest.raises(GenerationError, match="multiple of 32.*use kv_cache_type f16"):
        load(gguf("exaone4_hybrid64"), kv_cache_type="q4_0")  # 16-wide heads cannot be stored in q4_0 blocks
    with load(gguf("exaone4")) as gen:
        with pytest.raises(GenerationError, match=">= 0"):
            gen.set_state_cache_mb(-5)
        with pytest.raises(GenerationError, match="conversation must be a string"):
            gen.generate("hi", conversation=5)  # type: ignore[arg-type]
        with pytest.raises(SettingsError, match="truncate must be one of 'error', 'oldest'"):
            gen.default_settings(truncate="newest")


def test_kv_cache_bytes_is_what_llama_cpp_allocates(gguf: Any, wide_heads_gguf: Path) -> None:
    path = wide_heads_gguf
    with load(path) as gen:
        info = gen.model_info
    for kind, ggml_type in (("f16", llama_cpp.GGML_TYPE_F16), ("q8_0", llama_cpp.GGML_TYPE_Q8_0)):
        llm = llama_cpp.Llama(str(path), n_ctx=256, n_threads=1, verbose=False, flash_attn=kind != "f16",
                              type_k=ggml_type, type_v=ggml_type)
        llm.eval(list(range(10, 265)))
        state = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)  # 255 cells and their metadata
        llm.close()
        data = kv_cache_bytes(info, 256, kind) * 255 // 256
        assert data <= state <= data + 16 * 256 + 64 * info.n_layers
    assert kv_cache_bytes(info, 2048, "q8_0") * 64 == kv_cache_bytes(info, 2048, "f16") * 34
    assert kv_cache_bytes(info, 2048, "q4_0") * 64 == kv_cache_bytes(info, 2048, "f16") * 18
    with load(gguf("exaone4_hybrid64")) as gen:
        hybrid = gen.model_info
    per_cell = hybrid.head_count_kv * (hybrid.key_length + hybrid.value_length) * 2
    # 16 of the 64 layers attend to the whole context; the 48 sliding-window layers do not grow with it
    assert kv_cache_bytes(hybrid, 4096) - kv_cache_bytes(hybrid, 2048) == 16 * 2048 * per_cell


def test_q8_0_cache_runs_with_flash_attention(wide_heads_gguf: Path) -> None:
    path = wide_heads_gguf
    with load(path, kv_cache_type="q8_0") as q8, load(path) as f16:
        assert q8.kv_cache_bytes < f16.kv_cache_bytes
        settings = f16.default_settings(max_new_tokens=4)
        a = q8.next_token_logits(chat(2), settings)
        b = f16.next_token_logits(chat(2), settings)
        assert np.corrcoef(a, b)[0, 1] > 0.99
        assert q8.generate(chat(2), settings).generated[0].finish_reason in ("stop", "length")


def test_default_context_follows_free_memory(gguf: Any) -> None:
    with load(gguf("exaone4")) as gen:
        info = dataclasses.replace(gen.model_info, context_length=131072, file_size=1 << 30)
    assert default_n_ctx(info, free_bytes=1 << 40) == 16384
    budget_4k = kv_cache_bytes(info, 4096) * 4 + info.file_size
    assert default_n_ctx(info, free_bytes=budget_4k) == 4096
    assert default_n_ctx(info, "q4_0", free_bytes=budget_4k) == 8192  # a smaller cache type fits more
    assert default_n_ctx(info, free_bytes=0) == 2048
    assert default_n_ctx(dataclasses.replace(info, context_length=1000), free_bytes=1 << 40) == 1000
    assert prefill_batch(dataclasses.replace(info, parameter_count=1_200_000_000)) == 256
    assert prefill_batch(dataclasses.replace(info, parameter_count=7_800_000_000)) == 256
    assert prefill_batch(dataclasses.replace(info, parameter_count=32_000_000_000)) == 128
    assert prefill_batch(info, gpu=True) == 512
