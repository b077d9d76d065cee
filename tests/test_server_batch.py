"""BatchGenerator: several requests in one llama.cpp context, one decode per step, each exactly as LocalGenerator."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.llama.batch import BatchGenerator
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.types import GenerationError, StreamEvent
from generation_models import MESSAGES, PLAIN_PROMPT, tiny_gguf

QUESTIONS = [[{"role": "user", "content": q}] for q in ("안녕?", "What is 2+2?", "서울 날씨", "Tell me a joke")]


@pytest.fixture(scope="module")
def engines(tiny_checkpoint: Any) -> Any:
    path: Path = tiny_gguf("exaone4", tiny_checkpoint)
    local = LocalGenerator(path, n_threads=1)
    batch = BatchGenerator(local, n_seq=4, n_threads=1)
    yield local, batch
    batch.close()
    local.close()


def run_together(batch: BatchGenerator, prompts: list[Any], settings: Any, **kwargs: Any) -> list[Any]:
    results: list[Any] = [None] * len(prompts)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            results[i] = batch.generate(prompts[i], settings, **kwargs)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    return results


def test_greedy_together_equals_each_alone(engines: Any) -> None:
    local, batch = engines
    settings = local.default_settings(max_new_tokens=40, do_sample=False)
    alone = [local.generate(q, settings).generated[0] for q in QUESTIONS]
    steps_before = batch.steps
    together = run_together(batch, QUESTIONS, settings)
    for a, r in zip(alone, together, strict=True):
        [c] = r.generated
        assert (c.token_ids, c.text, c.finish_reason) == (a.token_ids, a.text, a.finish_reason)
    assert batch.max_batch >= 2  # sequences shared decode steps
    assert batch.steps - steps_before < sum(len(a.token_ids) for a in alone)


def test_sampling_streaming_and_plain_prompts_match(engines: Any) -> None:
    local, batch = engines
    settings = local.default_settings(max_new_tokens=20, do_sample=True, seed=5, num_return_sequences=3,
                                      top_k=7, repetition_penalty=1.2)
    expected = local.generate(MESSAGES, settings)
    events: list[StreamEvent] = []
    got = batch.generate(MESSAGES, settings, on_event=events.append)
    assert [c.token_ids for c in got.generated] == [c.token_ids for c in expected.generated]
    assert [c.text for c in got.generated] == [c.text for c in expected.generated]
    for i, c in enumerate(got.generated):
        assert "".join(e.text for e in events if e.index == i and e.kind == "answer") == c.text
    assert got.prompt_token_ids == expected.prompt_token_ids
    plain = local.default_settings(max_new_tokens=12, do_sample=False)
    assert batch.generate(PLAIN_PROMPT, plain).generated[0].token_ids == \
        local.generate(PLAIN_PROMPT, plain).generated[0].token_ids


def test_reasoning_is_split_as_locally(engines: Any) -> None:
    local, batch = engines
    settings = local.default_settings(max_new_tokens=16, do_sample=False, enable_thinking=True)
    expected = local.generate(MESSAGES, settings).generated[0]
    got = batch.generate(MESSAGES, settings).generated[0]
    assert expected.reasoning and (got.reasoning, got.text) == (expected.reasoning, expected.text)


def test_cancel_stops_one_request_only(engines: Any) -> None:
    local, batch = engines
    settings = local.default_settings(max_new_tokens=300, do_sample=False)
    cancel = threading.Event()
    seen: list[int] = []

    def on_event(event: StreamEvent) -> None:
        seen.append(1)
        if len(seen) == 3:
            cancel.set()

    short = local.default_settings(max_new_tokens=30, do_sample=False)
    expected = local.generate(QUESTIONS[1], short).generated[0]
    results: dict[str, Any] = {}
    t1 = threading.Thread(target=lambda: results.update(
        stopped=batch.generate(QUESTIONS[0], settings, on_event=on_event, cancel=cancel)))
    t2 = threading.Thread(target=lambda: results.update(other=batch.generate(QUESTIONS[1], short)))
    t1.start()
    t2.start()
    t1.join(120)
    t2.join(120)
    stopped = results["stopped"].generated[0]
    assert stopped.finish_reason == "cancelled" and len(stopped.token_ids) < 300
    assert results["other"].generated[0].token_ids == expected.token_ids


def test_prompt_over_the_context_is_the_same_sentence(engines: Any) -> None:
    local, batch = engines
    settings = local.default_settings(max_new_tokens=1020)
    with pytest.raises(GenerationError) as ours:
        batch.generate(MESSAGES, settings)
    with pytest.raises(GenerationError) as theirs:
        local.generate(MESSAGES, settings)
    assert str(ours.value) == str(theirs.value)
    assert batch.generate(MESSAGES, local.default_settings(max_new_tokens=2)).generated  # still serving
