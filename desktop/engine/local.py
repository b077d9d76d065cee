"""The local generator: a GGUF run by llama.cpp (llama-cpp-python), sampled in transformers' order.

llama-cpp-python's ``Llama`` object loads the model, owns the context and tokenizes; decoding goes
through ``llama_decode`` and every token is drawn by ``sampling.TokenSampler`` (never ``Llama.sample``).
The prompt is evaluated once per request; extra ``num_return_sequences`` roll the KV cache back to
the end of the prompt (``llama_memory_seq_rm``, or a saved sequence state on sliding-window models).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from .backend import detect_backend
from .chat import prompt_opens_reasoning, reasoning_tags, render_chat
from .gguf_check import ModelInfo, inspect_gguf
from .llama_load import chat_templates_not_compiled
from .sampling import TokenSampler
from .settings import GenerationSettings, model_defaults, resolve_settings
from .textstream import TextAssembler
from .types import (
    Backend,
    Completion,
    FinishReason,
    GenerationError,
    GenerationResult,
    Prompt,
    StreamCallback,
    StreamEvent,
)
from .vision import IMAGE_MARKER, Image, VisionEncoder, load_image, split_image_parts

DEFAULT_MAX_CTX = 8192  # context allocated when the caller does not choose (the model may allow more)


@dataclass
class DecodeStats:
    """What llama_decode was asked to do (tests check the prompt is evaluated once per request)."""

    prompt_evals: int = 0
    tokens_decoded: int = 0


class LocalGenerator:
    """A loaded GGUF model; ``generate`` is thread-safe (one request at a time per instance)."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        verbose: bool = False,
        mmproj: str | Path | None = None,
    ) -> None:
        self.model_info: ModelInfo = inspect_gguf(model_path)  # malformed files never reach llama.cpp
        info = self.model_info
        if n_ctx is not None and not 1 <= n_ctx <= info.context_length:
            raise GenerationError(f"n_ctx must be between 1 and the model's context length "
                                  f"{info.context_length}, got {n_ctx}")
        self.n_ctx = n_ctx or min(info.context_length, DEFAULT_MAX_CTX)
        offload = n_gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        try:
            with chat_templates_not_compiled():  # the file's template is rendered by render_chat, with limits
                self._llm: llama_cpp.Llama | None = llama_cpp.Llama(
                    str(info.path), n_ctx=self.n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                    n_gpu_layers=offload, logits_all=False, verbose=verbose,
                )
        except (ValueError, RuntimeError, OSError) as err:
            raise GenerationError(f"llama.cpp could not load {info.path.name} ({err}); "
                                  "convert the model again with exaone-convert") from None
        self._backend: Backend = detect_backend(offload)
        self._ctx = self._llm._ctx.ctx
        self._vocab = self._llm._model.vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self.n_batch = int(llama_cpp.llama_n_batch(self._ctx))
        self._swa = int(llama_cpp.llama_model_n_swa(self._llm._model.model)) > 0
        self._lock = threading.Lock()
        self._pieces: dict[int, bytes] = {}
        self._tags = reasoning_tags(info.architecture, info.chat_template)
        self._tag_ids = self._single_token_ids(self._tags or ())
        self.stats = DecodeStats()
        self._eog: set[int] | None = None
        self._mmproj = mmproj
        self._vision: VisionEncoder | None = None

    # -- public ----------------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return self._backend

    def default_settings(self, **user_values: Any) -> GenerationSettings:
        """Pipeline defaults < the GGUF's general.sampling.* < ``user_values`` (None = unset)."""
        return resolve_settings(model_defaults(self.model_info), **user_values)

    def tokenize_prompt(self, prompt: Prompt, settings: GenerationSettings, *,
                        tools: list[Any] | None = None) -> tuple[str, list[int]]:
        """(prompt text, token ids) as transformers' text-generation pipeline would make them."""
        if isinstance(prompt, str):
            return prompt, self._tokenize(prompt, add_special=True)
        text = self.render(prompt, settings, tools=tools)
        return text, self._tokenize(text, add_special=False)

    def render(self, messages: Sequence[Mapping[str, Any]], settings: GenerationSettings, *,
               tools: list[Any] | None = None) -> str:
        """Chat messages rendered with the GGUF's own template (a final assistant turn is a prefill)."""
        info = self.model_info
        if not info.chat_template:
            raise GenerationError(f"{info.path.name} has no chat template; use a plain --prompt instead")
        if not messages:
            raise GenerationError("the message list is empty; give at least one message")
        prefill = messages[-1].get("role") == "assistant"
        text = render_chat(info.chat_template, messages, add_generation_prompt=not prefill,
                           enable_thinking=settings.enable_thinking, tools=tools,
                           bos_token=info.bos_token, eos_token=info.eos_token)
        if prefill:  # transformers' continue_final_message: cut after the final message's content
            final = str(messages[-1].get("content", "")).strip()
            at = text.rfind(final)
            if final and at >= 0:
                text = text[: at + len(final)]
        return text

    def generate(
        self,
        prompt: Prompt,
        settings: GenerationSettings | None = None,
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
        tools: list[Any] | None = None,
        grammar: str | None = None,
        images: Sequence[str | Path | bytes] = (),
    ) -> GenerationResult:
        """``tools``: OpenAI-style tool definitions, rendered by the chat template (chat prompts only);
        ``grammar``: GBNF text (root rule ``root``) the reply must follow (e.g. made from a JSON schema);
        ``images``: PNG/JPEG/WebP files or bytes, read by the model's vision projector (an mmproj beside it)
        where the prompt has ``vision.IMAGE_MARKER`` (at the start when it has none). Chat messages may also
        carry them as OpenAI-style ``image_url`` content parts."""
        settings = settings or self.default_settings()
        with self._lock:
            if images or _has_image_parts(prompt):
                return self._generate_with_images(prompt, settings, on_event, cancel, tools, grammar, images)
            return self._generate(prompt, settings, on_event, cancel, tools, grammar)

    def close(self) -> None:
        vision, self._vision = getattr(self, "_vision", None), None
        if vision is not None:
            vision.close()
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()

    def __enter__(self) -> LocalGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generation ------------------------------------------------------------------------------

    def _generate_with_images(self, prompt: Prompt, settings: GenerationSettings, on_event: StreamCallback | None,
                              cancel: threading.Event | None, tools: list[Any] | None, grammar: str | None,
                              images: Sequence[str | Path | bytes]) -> GenerationResult:
        sources: list[str | Path | bytes] = list(images)
        if isinstance(prompt, str):
            text = prompt if IMAGE_MARKER in prompt else IMAGE_MARKER * len(sources) + prompt
        else:
            messages, in_parts = split_image_parts([dict(m) for m in prompt])
            sources = [*in_parts, *sources]
            if images:  # images given beside chat messages go at the start of the last user turn
                last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
                if last is None:
                    raise GenerationError("images need a user message to go with; add one")
                messages[last]["content"] = IMAGE_MARKER * len(images) + str(messages[last].get("content", ""))
            text = self.render(messages, settings, tools=tools)
        if self._vision is None:
            self._vision = VisionEncoder(self.model_info, self._loaded()._model.model, self._mmproj)
        pictures = [load_image(s) for s in sources]
        return self._generate(text, settings, on_event, cancel, tools, grammar, images=pictures,
                              chat=not isinstance(prompt, str))

    def _generate(self, prompt: Prompt, settings: GenerationSettings, on_event: StreamCallback | None,
                  cancel: threading.Event | None, tools: list[Any] | None = None,
                  grammar: str | None = None, *, images: Sequence[Image] = (), chat: bool = False
                  ) -> GenerationResult:
        self._loaded()
        t0 = time.perf_counter()
        llama_cpp.llama_memory_clear(self._memory(), True)
        if images and self._vision is not None and isinstance(prompt, str):
            prompt_text = prompt
            image_id = self.model_info.image_token_id
            ids, _ = self._vision.evaluate(self._ctx, prompt_text, images, -1 if image_id is None else image_id,
                                           self.n_batch, add_special=not chat)
            self._check_length(len(ids), settings.max_new_tokens)
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, -1), shape=(self.n_vocab,)).copy()
        else:
            prompt_text, ids = self.tokenize_prompt(prompt, settings, tools=tools)
            self._check_length(len(ids), settings.max_new_tokens)
            logits = self._decode(ids).copy()
        starts_inside = prompt_opens_reasoning(prompt_text, self._tags)
        self.stats.prompt_evals += 1
        snapshot = self._save_sequence() if settings.num_return_sequences > 1 and self._swa else None
        t1 = time.perf_counter()

        completions: list[Completion] = []
        n_generated = 0
        constrain: dict[str, Any] = {} if grammar is None else {"grammar": grammar, "vocab": self._vocab}
        with TokenSampler(settings, self.n_vocab, history_size=self.n_ctx, **constrain) as sampler:
            for index in range(settings.num_return_sequences):
                if index:
                    self._rewind(len(ids), snapshot)
                emit = None if on_event is None else _emitter(on_event, index)
                completion = self._sequence(ids, logits, sampler, settings, starts_inside, emit, cancel,
                                            ends=self._end_of_generation_ids() if grammar is not None else None)
                completions.append(completion)
                n_generated += len(completion.token_ids)
                if completion.finish_reason == "cancelled":
                    break
        t2 = time.perf_counter()
        return GenerationResult(
            prompt_text=prompt_text,
            prompt_token_ids=ids,
            generated=completions,
            backend=self._backend,
            timings={
                "prompt_tokens_per_s": len(ids) / (t1 - t0) if t1 > t0 else 0.0,
                "generated_tokens_per_s": n_generated / (t2 - t1) if t2 > t1 else 0.0,
                "prompt_tokens": float(len(ids)),
                "generated_tokens": float(n_generated),
                "seed": float(sampler.seed),
            },
            model=self.model_info.name,
            seed=sampler.seed if settings.do_sample else None,
        )

    def _sequence(self, prompt_ids: list[int], logits: np.ndarray, sampler: TokenSampler,
                  settings: GenerationSettings, starts_inside: bool, emit: Any,
                  cancel: threading.Event | None, ends: set[int] | None = None) -> Completion:
        sampler.start(prompt_ids)
        text = TextAssembler(settings.stop, self._tags, starts_inside=starts_inside, emit=emit,
                             clean_up_spaces=self.model_info.clean_up_spaces)
        eos = set(self.model_info.eos_token_ids) | (ends or set())
        tokens: list[int] = []
        reason: FinishReason = "length"
        while len(tokens) < settings.max_new_tokens:
            if cancel is not None and cancel.is_set():
                reason = "cancelled"
                break
            token = sampler.sample(logits)
            sampler.accept(token)
            tokens.append(token)
            if token in eos:
                reason = "stop"
                break
            if text.add(self._piece(token)):
                reason = "stop"
                break
            if len(tokens) < settings.max_new_tokens:
                logits = self._decode([token])
        text.finish()
        return Completion(text=text.answer, token_ids=tokens, finish_reason=reason, reasoning=text.reasoning)

    # -- llama.cpp plumbing ----------------------------------------------------------------------

    def _loaded(self) -> llama_cpp.Llama:
        if self._llm is None:
            raise GenerationError("the model was closed; load it again")
        return self._llm

    def _memory(self) -> Any:
        return llama_cpp.llama_get_memory(self._ctx)

    def _decode(self, tokens: list[int]) -> np.ndarray:
        """Evaluate ``tokens`` after what is cached; the logits of the last one (a view, valid until the
        next decode)."""
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start: start + self.n_batch]
            arr = (llama_cpp.llama_token * len(chunk))(*chunk)
            rc = llama_cpp.llama_decode(self._ctx, llama_cpp.llama_batch_get_one(arr, len(chunk)))
            if rc != 0:
                raise GenerationError(f"llama.cpp failed to evaluate the tokens (llama_decode returned {rc}); "
                                      "try a shorter prompt or a larger context")
            self.stats.tokens_decoded += len(chunk)
        ptr = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _save_sequence(self) -> bytes:
        size = llama_cpp.llama_state_seq_get_size(self._ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._ctx, buf, size, 0)
        return bytes(buf[:written])

    def _rewind(self, n_prompt: int, snapshot: bytes | None) -> None:
        """Back to the state right after the prompt, without evaluating it again."""
        mem = self._memory()
        if snapshot is None and llama_cpp.llama_memory_seq_rm(mem, 0, n_prompt, -1):
            return
        if snapshot is None:
            raise GenerationError("cannot roll the model's cache back; use num_return_sequences=1")
        llama_cpp.llama_memory_seq_rm(mem, 0, -1, -1)
        buf = (ctypes.c_uint8 * len(snapshot)).from_buffer_copy(snapshot)
        if llama_cpp.llama_state_seq_set_data(self._ctx, buf, len(snapshot), 0) == 0:
            raise GenerationError("cannot restore the prompt's cache; use num_return_sequences=1")

    def _check_length(self, n_prompt: int, max_new_tokens: int) -> None:
        if n_prompt == 0:
            raise GenerationError("the prompt is empty; give some text to continue")
        if n_prompt + max_new_tokens > self.n_ctx:
            room = self.n_ctx - n_prompt
            fix = (f"lower max_new_tokens to {room}" if room > 0 else "shorten the prompt")
            if self.n_ctx < self.model_info.context_length:
                fix += f", or load the model with a larger context (n_ctx / --n-ctx, up to " \
                       f"{self.model_info.context_length})"
            raise GenerationError(f"the prompt ({n_prompt} tokens) plus max_new_tokens ({max_new_tokens}) "
                                  f"does not fit the {self.n_ctx}-token context; {fix}")

    def _tokenize(self, text: str, *, add_special: bool) -> list[int]:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise GenerationError("the prompt is not valid UTF-8 text; fix its encoding") from None
        return list(self._loaded().tokenize(data, add_bos=add_special, special=True))

    def _end_of_generation_ids(self) -> set[int]:
        """Every token llama.cpp counts as an end (EOS, EOT, PAD ...): once a grammar is complete it allows
        only these, so any of them ends a constrained reply."""
        if self._eog is None:
            self._eog = {i for i in range(self.n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, i)}
        return self._eog

    def _single_token_ids(self, texts: Sequence[str]) -> set[int]:
        """Ids of tags that are single (possibly control) tokens: rendered even though special."""
        ids = set()
        for t in texts:
            toks = self._loaded().tokenize(t.encode("utf-8"), add_bos=False, special=True)
            if len(toks) == 1:
                ids.add(toks[0])
        return ids

    def _piece(self, token: int) -> bytes:
        """The token's bytes as transformers' decode(skip_special_tokens=True) shows them."""
        piece = self._pieces.get(token)
        if piece is None:
            special = token in self._tag_ids
            buf = ctypes.create_string_buffer(64)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, special)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, special)
            piece = self._pieces[token] = buf.raw[:n]
        return piece


def _has_image_parts(prompt: Prompt) -> bool:
    return not isinstance(prompt, str) and any(
        isinstance(m.get("content"), list) and any(isinstance(p, dict) and p.get("type") == "image_url"
                                                   for p in m["content"])
        for m in prompt
    )


def _emitter(on_event: StreamCallback, index: int) -> Any:
    def emit(kind: Any, text: str) -> None:
        on_event(StreamEvent(index=index, text=text, kind=kind))

    return emit
