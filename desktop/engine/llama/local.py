"""The local generator: a GGUF run by llama.cpp (llama-cpp-python), sampled in transformers' order.

llama-cpp-python's ``Llama`` object loads the model, owns the context and tokenizes; decoding goes
through ``llama_decode`` and every token is drawn by ``sampling.TokenSampler`` (never ``Llama.sample``).
The KV cache is kept between requests: a request evaluates only what follows the longest prefix it
shares with what the cache holds (``kv_cache.KVCache``; its table lists every case), conversations
named with ``conversation=`` keep their state in ``state_cache`` while another one runs, and Stop
ends a prompt evaluation within milliseconds (llama.cpp's abort callback polls it inside each batch).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import llama_cpp
import numpy as np

from ..chat.history import HistoryCuts, drop_oldest
from ..chat.reasoning import prompt_opens_reasoning
from ..chat.templates import render_prompt
from ..documents.parts import has_file_parts
from ..sampling.sampler import TokenSampler
from ..settings import GenerationSettings, model_defaults, resolve_settings
from ..types import (
    Backend,
    Capabilities,
    Completion,
    FinishReason,
    GenerationError,
    GenerationResult,
    Prompt,
    StateCacheUsage,
    StreamCallback,
)
from .backend import detect_backend
from .context import check_kv_cache_type, default_n_ctx, does_not_fit, kv_cache_bytes, prefill_batch
from .draft_length import DecodeCosts, DraftLength
from .draft_sources import DEFAULT_LOOKUP_TOKENS, DraftModel, DraftSource, PromptLookup
from .gguf_check import ModelInfo, inspect_gguf
from .kv_cache import DecodeStats, KVCache, Stopped
from .load import chat_templates_not_compiled
from .prompt_cache import StateCache, budget_bytes, model_key
from .reply import Reply, ReplyVocabulary
from .speculative import Speculation, decode_reply
from .vision import (
    Image,
    VisionEncoder,
    has_image_parts,
    image_prompt,
)

DEFAULT_MAX_CTX = 8192  # a context for callers that size their own (the batch server, per sequence)
DEFAULT_STATE_CACHE_MB = 1024  # conversations kept in memory (KV states) when the caller does not say
DEFAULT_STATE_DISK_MB = 4096  # the same on disk, when a cache folder is given


class LocalGenerator:
    """A loaded GGUF model; ``generate`` is thread-safe (one request at a time per instance)."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        kv_cache_type: str = "f16",
        state_cache_mb: float = DEFAULT_STATE_CACHE_MB,
        state_cache_dir: str | Path | None = None,
        state_cache_disk_mb: float = DEFAULT_STATE_DISK_MB,
        n_batch: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        verbose: bool = False,
        mmproj: str | Path | None = None,
        assistant_model: str | Path | None = None,
    ) -> None:
        self.model_info: ModelInfo = inspect_gguf(model_path)  # malformed files never reach llama.cpp
        info = self.model_info
        kind = check_kv_cache_type(info, kv_cache_type)
        if n_ctx is not None and not (_is_int(n_ctx) and 0 <= n_ctx <= info.context_length):
            raise GenerationError(f"n_ctx must be an integer between 1 and {info.context_length} (the model's "
                                  f"trained context), or 0 for automatic; got {n_ctx!r}")
        if n_batch is not None and not (_is_int(n_batch) and n_batch >= 1):
            raise GenerationError(f"n_batch must be an integer >= 1, got {n_batch!r}")
        budget = budget_bytes("state_cache_mb", state_cache_mb)
        disk_budget = budget_bytes("state_cache_disk_mb", state_cache_disk_mb)
        offload = n_gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        self.kv_cache_type = kind.name
        self.verbose = verbose
        self.n_ctx = n_ctx or default_n_ctx(info, kind.name)
        self.n_batch = min(n_batch or prefill_batch(info, gpu=offload != 0), self.n_ctx)
        self.kv_cache_bytes = kv_cache_bytes(info, self.n_ctx, kind.name, n_ubatch=self.n_batch)
        try:
            with chat_templates_not_compiled():  # the file's template is rendered by render_chat, with limits
                self._llm: llama_cpp.Llama | None = llama_cpp.Llama(
                    str(info.path), n_ctx=self.n_ctx, n_batch=self.n_batch, n_ubatch=self.n_batch,
                    n_threads=n_threads, n_threads_batch=n_threads, n_gpu_layers=offload, logits_all=False,
                    swa_full=False, flash_attn=kind.flash_attention, type_k=kind.ggml_type,
                    type_v=kind.ggml_type, verbose=verbose,
                )
        except (ValueError, RuntimeError, OSError) as err:
            raise GenerationError(f"llama.cpp could not load {info.path.name} ({err}); "
                                  "convert the model again with exaone-convert, or try kv_cache_type f16 "
                                  "or a smaller n_ctx") from None
        self._backend: Backend = detect_backend(offload)
        self._ctx = self._llm._ctx.ctx
        self._vocab = self._llm._model.vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._n_swa = int(llama_cpp.llama_model_n_swa(self._llm._model.model))
        self._lock = threading.Lock()
        self._words = ReplyVocabulary(self._vocab, info)
        self.stats = DecodeStats()
        self._cuts = HistoryCuts()  # where each chat was cut to fit (``truncate="oldest"``)
        key = model_key(info.path, self.kv_cache_type, self.n_batch, self._n_swa)  # saved states fit nothing else
        folder = None if state_cache_dir is None else Path(state_cache_dir) / key
        self.state_cache = StateCache(budget, folder, disk_budget)
        self._kv: KVCache | None = KVCache(self._ctx, n_vocab=self.n_vocab, n_batch=self.n_batch,
                                           n_swa=self._n_swa, state_cache=self.state_cache, stats=self.stats)
        self._mmproj = mmproj
        self._vision: VisionEncoder | None = None
        self.decode_costs = DecodeCosts()  # this machine's measured decode times, for drafting's "auto"
        self.assistant_model: DraftModel | None = None
        if assistant_model is not None:
            try:
                self.assistant_model = DraftModel(assistant_model, self._vocab, info, n_ctx=self.n_ctx,
                                                  n_batch=self.n_batch, n_threads=n_threads, n_gpu_layers=offload,
                                                  verbose=verbose)
            except GenerationError:
                self.close()
                raise

    # -- public ----------------------------------------------------------------------------------

    capabilities = Capabilities(images=True, tools=True, grammar=True, conversation=True, drafting=True,
                                tokenize=True, tokenize_tools=True, state_cache=True, decode_stats=True)

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
        return render_prompt(info.chat_template, messages, model_name=info.path.name,
                             enable_thinking=settings.enable_thinking, tools=tools, bos_token=info.bos_token,
                             eos_token=info.eos_token)

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
        conversation: str | None = None,
        draft_source: DraftSource | None = None,
    ) -> GenerationResult:
        """``tools``: OpenAI-style tool definitions, rendered by the chat template (chat prompts only);
        ``grammar``: GBNF text (root rule ``root``) the reply must follow (e.g. made from a JSON schema);
        ``images``: PNG/JPEG/WebP files or bytes, read by the model's vision projector (an mmproj beside it)
        where the prompt has ``vision.IMAGE_MARKER`` (at the start when it has none). Chat messages may also
        carry them as OpenAI-style ``image_url`` content parts.
        ``conversation`` names the chat the prompt belongs to: its KV state is kept (``state_cache``) while
        another conversation runs, and restored when it comes back; None keeps nothing.
        ``draft_source``: proposes tokens for speculative decoding in place of prompt lookup or the assistant
        model (benchmarks and tests); the ``speculative`` setting still decides whether and how much to draft.
        Documents go in user messages as OpenAI-style ``file`` content parts and are resolved as the pipeline,
        the CLI and the server resolve them (``documents.prepare``: whole when they fit this context, else the
        passages that match each question); a file that cannot be read raises ``DocumentError``, one line."""
        settings = settings or self.default_settings()
        if conversation is not None and not isinstance(conversation, str):
            raise GenerationError(f"conversation must be a string id or None, got {conversation!r}")
        if has_file_parts(prompt):  # read outside the lock: extraction runs in a child process
            from ..documents import prepare

            prompt = prepare(prompt, self, settings, cancel=cancel)
        with self._lock:
            if images or has_image_parts(prompt):
                return self._generate_with_images(prompt, settings, on_event, cancel, tools, grammar, images,
                                                  draft_source)
            return self._generate(prompt, settings, on_event, cancel, tools, grammar, conversation=conversation,
                                  draft_source=draft_source)

    def next_token_logits(self, prompt: Prompt, settings: GenerationSettings | None = None, *,
                          conversation: str | None = None, tools: list[Any] | None = None) -> np.ndarray:
        """The model's logits for the token after ``prompt`` (a copy), through the same cache as ``generate``."""
        settings = settings or self.default_settings()
        with self._lock:
            self._loaded()
            _text, ids, _dropped = self._fit_prompt(prompt, settings, conversation, tools)
            self._check_length(len(ids), 1, chat=not isinstance(prompt, str))
            logits = self._cache().evaluate(ids, None, conversation)
            assert logits is not None
            return logits.copy()

    def state_cache_usage(self) -> StateCacheUsage:
        """The kept conversation states' figures (``state_cache.usage()``)."""
        return self.state_cache.usage()

    def set_state_cache_mb(self, megabytes: float, disk_megabytes: float | None = None) -> None:
        """Change the memory (and disk) budget for kept conversations now; the least recently used go first."""
        disk = None if disk_megabytes is None else budget_bytes("state_cache_disk_mb", disk_megabytes)
        self.state_cache.set_budget(budget_bytes("state_cache_mb", megabytes), disk)

    def close(self) -> None:
        """Free the model; a reply running on another thread ends first (what it uses is freed after it)."""
        lock = getattr(self, "_lock", None)  # (absent when loading failed early)
        with lock if lock is not None else contextlib.nullcontext():
            vision, self._vision = getattr(self, "_vision", None), None
            if vision is not None:
                vision.close()
            draft, self.assistant_model = getattr(self, "assistant_model", None), None
            if draft is not None:
                draft.close()
            kv, self._kv = getattr(self, "_kv", None), None
            llm = getattr(self, "_llm", None)
            if kv is not None:
                kv.close()
            if llm is not None:
                if kv is not None and self.state_cache.has_folder:  # the live and the kept conversations, for
                    kv.keep_live()  # the next session
                    self.state_cache.spill()
                self._llm = None
                llm.close()

    def __enter__(self) -> LocalGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generation ------------------------------------------------------------------------------

    @property
    def mmproj(self) -> str | Path | None:
        """The vision projector named at load (None: the one found beside the model, if any)."""
        return self._mmproj

    def image_prompt(self, prompt: Prompt, settings: GenerationSettings, images: Sequence[str | Path | bytes] = (),
                     tools: list[Any] | None = None) -> tuple[str, list[Image]]:
        """(the prompt text with one ``IMAGE_MARKER`` per image, the images read): ``vision.image_prompt``."""
        return image_prompt(self.model_info, prompt, images, lambda messages: self.render(messages, settings,
                                                                                            tools=tools))

    def _generate_with_images(self, prompt: Prompt, settings: GenerationSettings, on_event: StreamCallback | None,
                              cancel: threading.Event | None, tools: list[Any] | None, grammar: str | None,
                              images: Sequence[str | Path | bytes],
                              draft_source: DraftSource | None = None) -> GenerationResult:
        if self._vision is None:  # first: a model without a projector says so whatever the images are
            llm = self._loaded()  # the encoder is a batch computation: the prompt's threads (mtmd's default is 4)
            self._vision = VisionEncoder(self.model_info, llm._model.model, self._mmproj, n_threads=llm.n_threads_batch,
                                         verbose=self.verbose)
        text, pictures = self.image_prompt(prompt, settings, images, tools)
        return self._generate(text, settings, on_event, cancel, tools, grammar, images=pictures,
                              chat=not isinstance(prompt, str), draft_source=draft_source)

    def _generate(self, prompt: Prompt, settings: GenerationSettings, on_event: StreamCallback | None,
                  cancel: threading.Event | None, tools: list[Any] | None = None,
                  grammar: str | None = None, *, images: Sequence[Image] = (), chat: bool = False,
                  conversation: str | None = None, draft_source: DraftSource | None = None) -> GenerationResult:
        self._loaded()
        t0 = time.perf_counter()
        dropped = 0
        logits: np.ndarray | None
        if images and self._vision is not None and isinstance(prompt, str):
            prompt_text, kv = prompt, self._cache()
            ids, logits = self._vision.evaluate_into(kv, self._ctx, prompt_text, images, self.n_batch, cancel,
                                                     add_special=not chat)
            if logits is not None:
                self._check_length(len(ids), settings.max_new_tokens)
            cached = kv.held_opaque(logits)  # matches no prompt
        else:
            prompt_text, ids, dropped = self._fit_prompt(prompt, settings, conversation, tools)
            self._check_length(len(ids), settings.max_new_tokens, chat=not isinstance(prompt, str))
            cached = ids
            logits = self._cache().evaluate(ids, cancel, conversation)
        reused = self.stats.prompt_tokens_reused
        starts_inside = prompt_opens_reasoning(prompt_text, self._words.tags)
        t1 = time.perf_counter()

        completions: list[Completion] = []
        n_generated = n_drafted = n_accepted = 0
        sampler_seed: int | None = None
        if logits is None:  # stopped while the prompt was being evaluated
            completions.append(Completion(text="", token_ids=[], finish_reason="cancelled"))
        else:
            constrain: dict[str, Any] = {} if grammar is None else {"grammar": grammar, "vocab": self._vocab}
            with TokenSampler(settings, self.n_vocab, history_size=self.n_ctx, **constrain) as sampler:
                sampler_seed = sampler.seed
                for index in range(settings.num_return_sequences):
                    if index:
                        logits = self._cache().rewind(cached)
                    reply = self._words.reply(self.model_info, ids, sampler, settings, starts_inside=starts_inside,
                                              on_event=on_event, index=index, constrained=grammar is not None)
                    speculation = self._speculation(settings, ids, sampler, grammar, draft_source)
                    if speculation is None:
                        completion = self._decode_reply(reply, logits, cancel)
                    else:
                        completion = reply.finish(decode_reply(
                            _Target(self._cache(), cancel), reply, logits, cancel, speculation, n_batch=self.n_batch,
                            max_new_tokens=settings.max_new_tokens))
                        n_drafted += speculation.counts.drafted
                        n_accepted += speculation.counts.accepted
                    completions.append(completion)
                    n_generated += len(completion.token_ids)
                    if completion.finish_reason == "cancelled":
                        break
        t2 = time.perf_counter()
        self.stats.tokens_drafted += n_drafted
        self.stats.tokens_accepted += n_accepted
        evaluated = self.stats.prompt_tokens_evaluated
        return GenerationResult(
            prompt_text=prompt_text,
            prompt_token_ids=ids,
            generated=completions,
            backend=self._backend,
            timings={
                "prompt_tokens_per_s": evaluated / (t1 - t0) if t1 > t0 and evaluated else 0.0,
                "generated_tokens_per_s": n_generated / (t2 - t1) if t2 > t1 else 0.0,
                "prompt_tokens": float(len(ids)),
                "prompt_tokens_reused": float(reused),
                "prompt_tokens_evaluated": float(evaluated),
                "state_switch_seconds": self.stats.state_switch_seconds,
                "generated_tokens": float(n_generated),
                "messages_dropped": float(dropped),
                "seed": float(sampler_seed if sampler_seed is not None else settings.seed or 0),
                "draft_tokens": float(n_drafted),
                "draft_tokens_accepted": float(n_accepted),
            },
            model=self.model_info.name,
            seed=sampler_seed if settings.do_sample else None,
        )

    def _fit_prompt(self, prompt: Prompt, settings: GenerationSettings, conversation: str | None,
                    tools: list[Any] | None = None) -> tuple[str, list[int], int]:
        """(prompt text, ids, messages dropped): with ``truncate="oldest"`` a chat loses its oldest turns
        until it fits with ``max_new_tokens`` (the system prompt and the last user message always stay)."""
        if isinstance(prompt, str) or settings.truncate != "oldest":
            return (*self.tokenize_prompt(prompt, settings, tools=tools), 0)
        messages = list(prompt)

        def length(kept: list[Mapping[str, Any]]) -> int:
            return len(self.tokenize_prompt(cast(Prompt, kept), settings, tools=tools)[1])

        dropped = self._cuts.fit(messages, length, self.n_ctx - settings.max_new_tokens, conversation)
        text, ids = self.tokenize_prompt(cast(Prompt, drop_oldest(messages, dropped)), settings, tools=tools)
        return text, ids, dropped

    def _decode_reply(self, reply: Reply, logits: np.ndarray, cancel: threading.Event | None) -> Completion:
        """Draw, evaluate, draw ... until the reply ends; the last token drawn is not evaluated."""
        reason: FinishReason = "length"
        while reply.room:
            if cancel is not None and cancel.is_set():
                reason = "cancelled"
                break
            ended = reply.take(logits)
            if ended is not None:
                reason = ended
                break
            logits = self._cache().eval([reply.tokens[-1]])
        return reply.finish(reason)

    def _speculation(self, settings: GenerationSettings, prompt_ids: list[int], sampler: TokenSampler,
                     grammar: str | None, source: DraftSource | None) -> Speculation | None:
        """How this reply drafts (None: it does not).

        ``speculative`` unset: as transformers, drafting when ``prompt_lookup_num_tokens`` is set or an
        assistant model is loaded, that many tokens each step. "on": always, the assistant model or else
        prompt lookup (``prompt_lookup_num_tokens``, 10 when unset), a fixed length. "auto": the same source,
        the length adapted to the measured acceptance and costs (``DraftLength``). "off": never. With a
        grammar the assistant model is not used (its own draws would need the grammar's state at every
        drafted position); prompt lookup is, since each verified token is drawn by the constrained sampler.
        """
        mode = settings.speculative
        if mode == "off" or self._cache().refused:  # a cache refused to drop refused drafts exactly
            return None
        model = self.assistant_model if grammar is None else None
        if source is None:
            if model is not None and (mode is not None or settings.prompt_lookup_num_tokens is None):
                source = model
            elif mode is not None or settings.prompt_lookup_num_tokens is not None:
                source = PromptLookup(frozenset(self.model_info.eos_token_ids))
            else:
                return None
        if isinstance(source, DraftModel):
            limit = settings.num_assistant_tokens
        else:
            limit = settings.prompt_lookup_num_tokens or DEFAULT_LOOKUP_TOKENS
        length = DraftLength("auto" if mode == "auto" else "on", limit, self.decode_costs, source.kind)
        source.begin(prompt_ids, settings, sampler.seed, max(sampler.sequence_index, 0))
        return Speculation(source, length, sampler)

    # -- llama.cpp plumbing ----------------------------------------------------------------------

    def _loaded(self) -> llama_cpp.Llama:
        if self._llm is None:
            raise GenerationError("the model was closed; load it again")
        return self._llm

    def _cache(self) -> KVCache:
        if self._kv is None:
            raise GenerationError("the model was closed; load it again")
        return self._kv

    def _check_length(self, n_prompt: int, max_new_tokens: int, *, chat: bool = False) -> None:
        if n_prompt == 0:
            raise GenerationError("the prompt is empty; give some text to continue")
        if n_prompt + max_new_tokens > self.n_ctx:
            raise does_not_fit(n_prompt, max_new_tokens, self.n_ctx, self.model_info.context_length, chat=chat)

    def _tokenize(self, text: str, *, add_special: bool) -> list[int]:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise GenerationError("the prompt is not valid UTF-8 text; fix its encoding") from None
        return list(self._loaded().tokenize(data, add_bos=add_special, special=True))


class _Target:
    """A LocalGenerator's KV cache as speculative decoding's ``DecodeTarget``; Stop (``cancel``) aborts a
    verification batch inside llama.cpp (a batch of drafts costs several one-token decodes on a CPU)."""

    def __init__(self, kv: KVCache, cancel: threading.Event | None) -> None:
        self._kv, self._cancel = kv, cancel

    def eval_one(self, token: int) -> np.ndarray:
        return self._kv.eval([token])

    def eval_run(self, tokens: list[int]) -> np.ndarray | None:
        try:
            with self._kv.stoppable(self._cancel):
                return self._kv.eval_run(tokens)
        except Stopped:  # llama.cpp removed the batch's positions; the cache still names what it holds
            return None

    def held(self) -> int:
        return len(self._kv.held)

    def keep(self, n: int) -> None:
        self._kv.keep(n)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
