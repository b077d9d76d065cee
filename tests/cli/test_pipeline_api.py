"""exaone_desktop.pipeline returns what transformers' text-generation pipeline returns, on the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.types import StreamEvent
from exaone_desktop.pipeline import TextGenerationPipeline, pipeline
from transformers import pipeline as hf_pipeline

from tests.support.generation_models import MESSAGES, PLAIN_PROMPT, reference, tiny_gguf

KIND = "exaone3_untied"
N_NEW = 12
_pipes: dict[str, Any] = {}


@pytest.fixture
def pipes(tiny_checkpoint: Any) -> tuple[TextGenerationPipeline, Any]:
    """(ours, transformers') on the same tiny model."""
    if not _pipes:
        model, tok = reference(KIND, tiny_checkpoint)
        _pipes["ours"] = pipeline("text-generation", model=tiny_gguf(KIND, tiny_checkpoint), n_threads=1)
        _pipes["hf"] = hf_pipeline("text-generation", model=model, tokenizer=tok)
    return _pipes["ours"], _pipes["hf"]


CASES = {
    "string": PLAIN_PROMPT,
    "chat": MESSAGES,
    "prefill": [*MESSAGES, {"role": "assistant", "content": "네, 오늘은"}],
    "batch": [PLAIN_PROMPT, "한국어"],
    "chat_batch": [MESSAGES, MESSAGES[1:]],
}


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_transformers(case: str, full: bool, pipes: Any) -> None:
    ours, hf = pipes
    inputs = CASES[case]
    expected = hf(inputs, max_new_tokens=N_NEW, do_sample=False, return_full_text=full)
    assert ours(inputs, max_new_tokens=N_NEW, return_full_text=full) == expected


def test_default_is_full_text(pipes: Any) -> None:
    ours, _ = pipes
    [record] = ours(PLAIN_PROMPT, max_new_tokens=4)
    assert record["generated_text"].startswith(PLAIN_PROMPT)
    [chat] = ours(MESSAGES, max_new_tokens=4)
    assert chat["generated_text"][:-1] == MESSAGES and chat["generated_text"][-1]["role"] == "assistant"


def test_num_return_sequences_and_streaming(pipes: Any) -> None:
    ours, _ = pipes
    events: list[StreamEvent] = []
    records = ours(PLAIN_PROMPT, max_new_tokens=6, do_sample=True, seed=1, num_return_sequences=3,
                   return_full_text=False, on_event=events.append)
    assert len(records) == 3
    for i, r in enumerate(records):
        assert "".join(e.text for e in events if e.index == i) == r["generated_text"]


def test_stop_strings_alias_and_bad_inputs(pipes: Any) -> None:
    ours, _ = pipes
    [plain] = ours(PLAIN_PROMPT, max_new_tokens=N_NEW, return_full_text=False)
    stop = plain["generated_text"][2:5]
    [cut] = ours(PLAIN_PROMPT, max_new_tokens=N_NEW, return_full_text=False, stop_strings=[stop])
    assert cut["generated_text"] == plain["generated_text"][: plain["generated_text"].find(stop)]
    with pytest.raises(TypeError):
        ours(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="task"):
        pipeline("summarization", model=Path("x.gguf"))
