"""Several requests decoded together: one llama.cpp context with ``n_seq`` sequences, one ``llama_decode`` per step.

On a memory-bound CPU a decode step costs about the same for one token as for four (the weights are read
once per step either way), so serving four clients in one batch multiplies the aggregate tokens/s.

``BatchGenerator`` wraps a loaded ``LocalGenerator`` (which keeps tokenizing and rendering prompts, and
owns the settings defaults) and opens a second context on the same GGUF (llama.cpp maps the file, so the
weights' pages are shared) with ``n_seq_max = n_seq`` and a KV cache of ``n_ctx`` tokens per sequence.
``generate`` has LocalGenerator's signature and may be called from many threads at once: each call takes
a free sequence slot (waiting for one when all are busy) and a single engine thread runs every step:

1. a newly admitted sequence evaluates its prompt alone (its cache cleared first);
2. then each step decodes one token for every active sequence in one batch, and each sequence samples
   its next token from its own logits with its own ``TokenSampler`` (transformers' order, its own seed).

Every sequence is a ``reply.Reply``, as in LocalGenerator (the same sampler, text assembly and stop rules:
only when its drawn token is evaluated differs); ``num_return_sequences`` runs the sequences of one request
in turn in its slot.

Drafting (speculative decoding) is not applied here: a step is one token for every sequence, which is what
makes batching pay on a memory-bound machine; verifying k drafts per sequence would make each step k + 1
tokens per sequence (several sequences already fill the batch that drafting would use). The drafting settings
a request sets are listed in its result's ``not_applied`` (``drafting_settings``); the text is the same either
way, since drafting never changes it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

from ..chat.reasoning import prompt_opens_reasoning
from ..sampling.sampler import TokenSampler
from ..settings import GenerationSettings
from ..types import Capabilities, Completion, FinishReason, GenerationError, GenerationResult, Prompt, StreamCallback
from .context import does_not_fit
from .reply import Reply, ReplyVocabulary
from .speculative import drafting_settings
from .vision import Image, VisionEncoder, has_image_parts, projector_path

DEFAULT_SEQUENCES = 4


@dataclass(eq=False)
class _Request:
    prompt_text: str
    prompt_ids: list[int]
    settings: GenerationSettings
    on_event: StreamCallback | None
    cancel: threading.Event | None
    grammar: str | None
    images: list[Image] = field(default_factory=list)  # read where prompt_text has IMAGE_MARKER (ids after)
    chat: bool = False
    future: Future[GenerationResult] = field(default_factory=Future)
    completions: list[Completion] = field(default_factory=list)
    started: float = 0.0
    prompt_done: float = 0.0


@dataclass(eq=False)
class _Slot:
    """One sequence of the context and the request running in it."""

    seq: int
    request: _Request | None = None
    sampler: TokenSampler | None = None
    reply: Reply | None = None
    pending: int | None = None  # sampled, to be decoded in the next step
    n_past: int = 0
    index: int = 0  # which of the request's num_return_sequences


class BatchGenerator:
    """``LocalGenerator``'s interface over a context that decodes up to ``n_seq`` requests per step."""

    def __init__(self, generator: Any, *, n_seq: int = DEFAULT_SEQUENCES, n_ctx: int | None = None,
                 n_threads: int | None = None, n_gpu_layers: int = -1, owns_generator: bool = False) -> None:
        """``owns_generator``: ``close`` closes ``generator`` too."""
        if n_seq < 1:
            raise GenerationError(f"n_seq must be 1 or more, got {n_seq}")
        self.generator = generator
        self._owns_generator = owns_generator
        self.model_info = generator.model_info
        self.n_seq = n_seq
        self.n_ctx = int(n_ctx or generator.n_ctx)  # per sequence
        offload = n_gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = offload
        self._model = llama_cpp.llama_model_load_from_file(str(self.model_info.path).encode("utf-8"), mparams)
        if not self._model:
            raise GenerationError(f"llama.cpp could not load {self.model_info.path.name} a second time "
                                  "for batched serving; serve one request at a time instead")
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = self.n_ctx * n_seq
        cparams.n_batch = cparams.n_ubatch = max(512, n_seq)
        cparams.n_seq_max = n_seq
        cparams.kv_unified = False  # each sequence its own cache stream: no attention over the others' cells
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as LocalGenerator's context: same numbers
        if n_threads:
            cparams.n_threads = cparams.n_threads_batch = n_threads
        self._ctx = llama_cpp.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            llama_cpp.llama_model_free(self._model)
            raise GenerationError(f"llama.cpp could not make a {n_seq}-sequence context of {self.n_ctx} tokens "
                                  "each; lower the context size or the number of parallel requests")
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self.n_batch = int(llama_cpp.llama_n_batch(self._ctx))
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._words = ReplyVocabulary(self._vocab, self.model_info)
        self._vision: VisionEncoder | None = None  # loaded by the engine thread at the first image
        self._slots = [_Slot(seq=i) for i in range(n_seq)]
        self._waiting: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.steps = 0  # llama_decode calls for generated tokens (tests: several sequences share a step)
        self.max_batch = 0
        self._thread = threading.Thread(target=self._loop, name="exaone-batch", daemon=True)
        self._thread.start()

    # -- LocalGenerator's face -----------------------------------------------------------------------

    capabilities = Capabilities(images=True, tools=True, grammar=True, tokenize=True, tokenize_tools=True,
                                batching=True)

    @property
    def backend(self) -> Any:
        return self.generator.backend

    def default_settings(self, **user_values: Any) -> GenerationSettings:
        return self.generator.default_settings(**user_values)  # type: ignore[no-any-return]

    def tokenize_prompt(self, prompt: Prompt, settings: GenerationSettings, **kwargs: Any) -> tuple[str, list[int]]:
        return self.generator.tokenize_prompt(prompt, settings, **kwargs)  # type: ignore[no-any-return]

    def generate(self, prompt: Prompt, settings: GenerationSettings | None = None, *,
                 on_event: StreamCallback | None = None, cancel: threading.Event | None = None,
                 tools: list[Any] | None = None, grammar: str | None = None,
                 images: Sequence[str | Path | bytes] = ()) -> GenerationResult:
        """As ``LocalGenerator.generate`` (without ``conversation``: a sequence slot keeps nothing between
        requests). Images are read by the model's vision projector in the request's own sequence."""
        settings = settings or self.default_settings()
        kwargs = {"tools": tools} if tools is not None else {}
        chat = not isinstance(prompt, str)
        if images or has_image_parts(prompt):
            projector_path(self.model_info, self.generator.mmproj)  # a model without one says so first
            text, pictures = self.generator.image_prompt(prompt, settings, images, tools)
            request = _Request(text, [], settings, on_event, cancel, grammar, pictures, chat)
        else:
            text, ids = self.generator.tokenize_prompt(prompt, settings, **kwargs)
            if not ids:
                raise GenerationError("the prompt is empty; give some text to continue")
            if len(ids) + settings.max_new_tokens > self.n_ctx:
                raise does_not_fit(len(ids), settings.max_new_tokens, self.n_ctx, self.model_info.context_length,
                                   chat=chat)
            request = _Request(text, ids, settings, on_event, cancel, grammar)
        with self._cond:
            if self._closed:
                raise GenerationError("the model was closed; load it again")
            self._waiting.append(request)
            self._cond.notify_all()
        return request.future.result()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(30)
        if self._vision is not None:
            self._vision.close()
        if self._ctx:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ctx)
            llama_cpp.llama_model_free(self._model)
            self._ctx = None
        if self._owns_generator:
            self.generator.close()

    # -- the engine thread ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._waiting and not self._active():
                    self._cond.wait()
                if self._closed:
                    for slot in self._active():
                        self._fail(slot, GenerationError("the model was closed while generating"))
                    while self._waiting:
                        self._waiting.popleft().future.set_exception(GenerationError("the model was closed"))
                    return
                self._drop_cancelled_waiting()
                admit = []
                for slot in self._slots:
                    if slot.request is None and self._waiting:
                        slot.request = self._waiting.popleft()
                        admit.append(slot)
            for slot in admit:
                self._begin(slot)
            if self._active():
                self._step()

    def _drop_cancelled_waiting(self) -> None:
        """Requests stopped before a slot was free end now, as cancelled (called with ``_cond`` held): waiting
        for a slot would keep their caller past its stop."""
        for request in [r for r in self._waiting if _stopped(r)]:
            self._waiting.remove(request)
            if not request.future.done():
                request.started = request.prompt_done = time.perf_counter()
                request.completions.append(Completion(text="", token_ids=[], finish_reason="cancelled"))
                request.future.set_result(self._result(request, seed=request.settings.seed or 0))

    def _active(self) -> list[_Slot]:
        return [s for s in self._slots if s.request is not None]

    def _fail(self, slot: _Slot, err: BaseException) -> None:
        request = slot.request
        self._release(slot)
        if request is not None and not request.future.done():
            request.future.set_exception(err)

    def _release(self, slot: _Slot) -> None:
        if slot.sampler is not None:
            slot.sampler.close()
        slot.request, slot.sampler, slot.reply, slot.pending = None, None, None, None

    def _begin(self, slot: _Slot) -> None:
        """A new request in ``slot``: its sampler, then its first sequence."""
        request = slot.request
        assert request is not None
        request.started = time.perf_counter()
        try:
            constrain: dict[str, Any] = ({} if request.grammar is None
                                         else {"grammar": request.grammar, "vocab": self._vocab})
            slot.sampler = TokenSampler(request.settings, self.n_vocab, history_size=self.n_ctx, **constrain)
            slot.index = 0
            self._start_sequence(slot)
        except BaseException as err:  # a request's failure is its own; the engine keeps serving the others
            self._fail(slot, err)

    def _start_sequence(self, slot: _Slot) -> None:
        """Evaluate the prompt in the slot's sequence and draw the first token."""
        request, sampler = slot.request, slot.sampler
        assert request is not None and sampler is not None
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(self._ctx), slot.seq, -1, -1)
        if request.images:
            ids, logits = self._evaluate_images(request, slot.seq)
        else:
            ids = request.prompt_ids
            for start in range(0, len(ids), self.n_batch):
                if _stopped(request):  # stopped mid-prompt: the request ends here, the other slots go on
                    request.completions.append(Completion(text="", token_ids=[], finish_reason="cancelled"))
                    self._finish(slot)
                    return
                chunk = ids[start: start + self.n_batch]
                self._fill([(t, start + i, slot.seq, start + i == len(ids) - 1) for i, t in enumerate(chunk)])
                self._decode()
            logits = self._logits(self._batch.n_tokens - 1)
        request.prompt_done = request.prompt_done or time.perf_counter()
        slot.n_past = len(ids)
        starts_inside = prompt_opens_reasoning(request.prompt_text, self._words.tags)
        slot.reply = self._words.reply(self.model_info, ids, sampler, request.settings, starts_inside=starts_inside,
                                       on_event=request.on_event, index=slot.index,
                                       constrained=request.grammar is not None)
        self._advance(slot, logits)

    def _evaluate_images(self, request: _Request, seq: int) -> tuple[list[int], np.ndarray]:
        """The prompt with its images through the vision projector into sequence ``seq``: (ids as transformers
        sees them, the last position's logits)."""
        if self._vision is None:
            self._vision = VisionEncoder(self.model_info, self._model, self.generator.mmproj,
                                         n_threads=int(llama_cpp.llama_n_threads_batch(self._ctx)),
                                         verbose=bool(self.generator.verbose))
        ids, n_past = self._vision.evaluate(self._ctx, request.prompt_text, request.images, self.n_batch,
                                            add_special=not request.chat, seq_id=seq)
        if n_past + request.settings.max_new_tokens > self.n_ctx:
            raise does_not_fit(n_past, request.settings.max_new_tokens, self.n_ctx, self.model_info.context_length,
                               chat=request.chat)
        request.prompt_ids = ids
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, -1), shape=(self.n_vocab,))
        return ids, logits.copy()

    def _advance(self, slot: _Slot, logits: np.ndarray) -> None:
        """Draw the slot's next token from ``logits``; finish the sequence when it ends."""
        request, reply = slot.request, slot.reply
        assert request is not None and reply is not None
        reason: FinishReason | None
        if _stopped(request):
            reason = "cancelled"
        else:
            reason = reply.take(logits) if reply.room else "length"
            if reason is None:
                slot.pending = reply.tokens[-1]
                return
        slot.pending = None
        request.completions.append(reply.finish(reason))
        slot.index += 1
        if reason != "cancelled" and slot.index < request.settings.num_return_sequences:
            self._start_sequence(slot)
            return
        self._finish(slot)

    def _finish(self, slot: _Slot) -> None:
        request = slot.request
        assert request is not None and slot.sampler is not None
        seed = slot.sampler.seed
        self._release(slot)
        request.prompt_done = request.prompt_done or time.perf_counter()
        request.future.set_result(self._result(request, seed))

    def _result(self, request: _Request, seed: int) -> GenerationResult:
        end = time.perf_counter()
        n_generated = sum(len(c.token_ids) for c in request.completions)
        prefill = request.prompt_done - request.started
        decode = end - request.prompt_done
        return GenerationResult(
            prompt_text=request.prompt_text, prompt_token_ids=request.prompt_ids, generated=request.completions,
            backend=self.backend, model=self.model_info.name, not_applied=drafting_settings(request.settings),
            timings={"prompt_tokens_per_s": len(request.prompt_ids) / prefill if prefill > 0 else 0.0,
                     "generated_tokens_per_s": n_generated / decode if decode > 0 else 0.0,
                     "prompt_tokens": float(len(request.prompt_ids)), "generated_tokens": float(n_generated),
                     "seed": float(seed)})

    def _step(self) -> None:
        """One batch: the pending token of every active sequence; then each samples its next."""
        running = [s for s in self._active() if s.pending is not None]
        if not running:
            return
        self._fill([(s.pending, s.n_past, s.seq, True) for s in running])  # type: ignore[misc]
        try:
            self._decode()
        except GenerationError as err:
            for slot in running:
                self._fail(slot, err)
            return
        self.steps += 1
        self.max_batch = max(self.max_batch, len(running))
        for i, slot in enumerate(running):
            slot.n_past += 1
            try:
                self._advance(slot, self._logits(i))
            except BaseException as err:  # this request fails; the others go on
                self._fail(slot, err)

    # -- llama.cpp plumbing --------------------------------------------------------------------------

    def _fill(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """Put (token, position, sequence, wants logits) entries into the batch."""
        batch = self._batch
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(entries)

    def _decode(self) -> None:
        rc = llama_cpp.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise GenerationError(f"llama.cpp failed to evaluate the tokens (llama_decode returned {rc}); "
                                  "try a shorter prompt or a larger context")

    def _logits(self, i: int) -> np.ndarray:
        ptr = llama_cpp.llama_get_logits_ith(self._ctx, i)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()


def _stopped(request: _Request) -> bool:
    return request.cancel is not None and request.cancel.is_set()


def load_batch_generator(model_path: Any, n_seq: int, **load: Any) -> BatchGenerator:
    """A BatchGenerator of ``n_seq`` sequences on ``model_path``; ``load`` as LocalGenerator's keywords, with
    ``n_ctx`` the context of each sequence (default: the model's trained length up to DEFAULT_MAX_CTX).

    The LocalGenerator beside it only renders and tokenizes prompts, so it gets a small context.
    """
    from .local import DEFAULT_MAX_CTX, LocalGenerator

    if load.pop("assistant_model", None) is not None:
        raise GenerationError("an assistant_model drafts for one request at a time; load it with one sequence")
    per_sequence = load.pop("n_ctx", None)
    prompts = LocalGenerator(model_path, **{**load, "n_ctx": 64})
    try:
        return BatchGenerator(prompts, n_seq=n_seq,
                              n_ctx=per_sequence or min(prompts.model_info.context_length, DEFAULT_MAX_CTX),
                              n_threads=load.get("n_threads"), n_gpu_layers=load.get("n_gpu_layers", -1),
                              owns_generator=True)
    except BaseException:
        prompts.close()
        raise
