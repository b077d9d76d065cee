"""``pipeline()``: a local GGUF behind the call shape of transformers' text-generation pipeline.

    from exaone_desktop.pipeline import pipeline
    pipe = pipeline("EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf")
    pipe("The capital of Korea is", max_new_tokens=20)
    # [{"generated_text": "The capital of Korea is Seoul..."}]
    pipe([{"role": "user", "content": "안녕하세요"}], max_new_tokens=64)
    # [{"generated_text": [{"role": "user", ...}, {"role": "assistant", "content": "..."}]}]

Inputs and outputs follow transformers 5.x ``TextGenerationPipeline``: a string gives the full text
(prompt + continuation) unless ``return_full_text=False``; a chat gives the messages plus the new
assistant message (or only the reply string with ``return_full_text=False``); a chat ending with an
assistant message is continued in place (prefill). A list of inputs gives a list of results.
Reasoning models also get ``reasoning_content`` on the assistant message (``reasoning`` for strings).
Documents go in user messages as OpenAI ``file`` content parts (``exaone_desktop.engine.documents.file_part``):
whole when they fit the context, else the passages that match each question; the returned messages keep
the parts as given, so the conversation can be sent again with the next question.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine.llama.local import LocalGenerator
from .engine.settings import LOAD_NAMES, LoadSettings
from .engine.types import Completion, Message, StreamCallback

if TYPE_CHECKING:
    from .engine.llama.worker import WorkerGenerator

Record = dict[str, Any]
TASK = "text-generation"
# transformers generate() names that mean one of our settings.
ALIASES: Mapping[str, str] = {"stop_strings": "stop"}


def _is_chat(value: object) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
            and all(isinstance(m, Mapping) and "role" in m for m in value))


class TextGenerationPipeline:
    """Callable like ``transformers.pipeline("text-generation")``; runs a local GGUF."""

    task = TASK

    def __init__(self, generator: LocalGenerator | WorkerGenerator) -> None:
        self.generator = generator

    @property
    def model_info(self) -> Any:
        return self.generator.model_info

    def __call__(
        self,
        text_inputs: str | Sequence[Message] | Sequence[str] | Sequence[Sequence[Message]],
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: list[Any] | None = None,
        **generate_kwargs: Any,
    ) -> list[Record] | list[list[Record]]:
        """``response_format`` (OpenAI's: ``{"type": "json_schema", "json_schema": {"schema": ...}}`` or
        ``{"type": "json_object"}``) constrains the reply; ``tools`` are rendered by the chat template."""
        from .engine.sampling.grammar import grammar_for_response_format

        kwargs = {ALIASES.get(k, k): v for k, v in generate_kwargs.items()}
        settings = self.generator.default_settings(**kwargs)
        grammar = grammar_for_response_format(response_format)
        extra = {k: v for k, v in (("grammar", grammar), ("tools", tools)) if v is not None}
        if isinstance(text_inputs, str) or _is_chat(text_inputs):
            return self._one(text_inputs, settings, on_event, cancel, extra)
        if isinstance(text_inputs, Sequence) and all(isinstance(x, str) or _is_chat(x) for x in text_inputs):
            return [self._one(x, settings, on_event, cancel, extra) for x in text_inputs]
        raise TypeError("text_inputs must be a string, a list of {'role', 'content'} messages, "
                        "or a list of those")

    def _one(self, prompt: Any, settings: Any, on_event: StreamCallback | None,
             cancel: threading.Event | None, extra: Mapping[str, Any]) -> list[Record]:
        from .engine.documents import prepare  # documents (``file`` parts) become text or passages

        model_prompt = prepare(prompt, self.generator, settings, cancel=cancel)
        result = self.generator.generate(model_prompt, settings, on_event=on_event, cancel=cancel, **extra)
        full = settings.return_full_text
        if isinstance(prompt, str):
            return [_string_record(prompt, c, full) for c in result.generated]
        return [_chat_record(list(prompt), c, full) for c in result.generated]


def _string_record(prompt: str, c: Completion, full: bool) -> Record:
    record: Record = {"generated_text": prompt + c.text if full else c.text}
    if c.reasoning is not None:
        record["reasoning"] = c.reasoning
    return record


def _chat_record(messages: list[Mapping[str, Any]], c: Completion, full: bool) -> Record:
    if not full:
        return {"generated_text": c.text}
    if messages[-1].get("role") == "assistant":  # prefill: the reply continues the final message
        last = dict(messages[-1])
        last["content"] = str(last.get("content", "")) + c.text
        return {"generated_text": [*(dict(m) for m in messages[:-1]), last]}
    reply: dict[str, Any] = {"role": "assistant", "content": c.text}
    if c.reasoning is not None:
        reply["reasoning_content"] = c.reasoning
    return {"generated_text": [*(dict(m) for m in messages), reply]}


def pipeline(
    task_or_model: str | Path | None = None,
    model: str | Path | None = None,
    *,
    isolated: bool = False,
    **load_kwargs: Any,
) -> TextGenerationPipeline:
    """Load a GGUF for text generation: ``pipeline(path)`` or ``pipeline("text-generation", model=path)``.

    ``load_kwargs`` go to LocalGenerator (the load settings ``n_ctx``, ``n_threads``, ``n_gpu_layers``,
    ``kv_cache_type``, ``state_cache_mb``, ``assistant_model`` (a draft GGUF for speculative decoding), and
    ``verbose``); a load setting out of its range raises
    ``SettingsError`` naming the range before anything is loaded.
    ``isolated=True`` runs llama.cpp in a worker process (``WorkerGenerator``): a model that crashes
    llama.cpp raises GenerationError instead of ending the script; the default runs it in this process.
    """
    if task_or_model is not None and str(task_or_model) != TASK:
        if model is not None:
            raise ValueError(f"only the {TASK!r} task is supported, got {task_or_model!r}")
        model = task_or_model
    if model is None:
        raise ValueError("pass the path of a .gguf model: pipeline('model.gguf')")
    LoadSettings(**{k: v for k, v in load_kwargs.items() if k in LOAD_NAMES and v is not None})
    if isolated:
        from .engine.llama.worker import WorkerGenerator

        return TextGenerationPipeline(WorkerGenerator(model, **load_kwargs))
    return TextGenerationPipeline(LocalGenerator(model, **load_kwargs))
