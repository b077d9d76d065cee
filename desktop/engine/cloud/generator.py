"""The optional OpenAI cloud generator: same ``Generator`` interface as the local llama.cpp one.

Prompts: chat messages are sent as they are; a plain string is sent as one ``user`` message (the
cloud has no raw-completion endpoint for chat models). OpenAI-style ``image_url`` content parts pass as
they are, except that a local file path becomes a ``data:`` URL (``image_parts``). As with the local generator, each
``Completion.text`` is the reply alone: ``return_full_text`` is applied by the caller (``pipeline``, CLI).

Settings (``map_settings``) follow each row's OpenAI mapping in ``settings_table``: ``do_sample=False``
becomes ``temperature=0``; ``top_p`` is sent only when sampling; ``max_new_tokens`` ->
``max_completion_tokens``; ``num_return_sequences`` -> ``n``; ``seed``, ``stop`` and the presence/frequency
penalties pass through. The API has no ``top_k``, ``repetition_penalty``, ``min_p`` nor ``enable_thinking``:
each is listed in ``GenerationResult.not_applied`` whenever the local engine would have applied it (it
differs from its neutral value and, for the sampling filters, ``do_sample`` is on). ``top_k``'s neutral
value is 0, so sampling with the default ``top_k=50`` reports it. Nothing is dropped silently.

Reasoning models (o-series, most gpt-5 models) reject ``temperature``/``top_p``; the request is not
special-cased by model name: the API's 400 comes back as a one-line message naming the parameter.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import openai

from ..chat.image_parts import for_api, with_images
from ..settings import GenerationSettings
from ..settings_table import GENERATION_ROWS, NotApplied, OpenAIParam
from ..types import (
    Backend,
    Capabilities,
    Completion,
    FinishReason,
    GenerationError,
    GenerationResult,
    Prompt,
    StreamCallback,
    StreamEvent,
)
from . import keys
from .endpoint import DEFAULT_BASE_URL, DEFAULT_MODEL, resolve_base_url, safe_url

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 1

NO_KEY = ("no OpenAI API key: set OPENAI_API_KEY, or enter a key in Settings > Cloud "
          "(it is kept in the OS keychain)")

# API parameter -> value from the settings (None: leave the parameter out of the request), from the table.
PARAMS: tuple[OpenAIParam, ...] = tuple(row.openai for row in GENERATION_ROWS if isinstance(row.openai, OpenAIParam))
SUPPORTED: tuple[tuple[str, Callable[[GenerationSettings], Any]], ...] = tuple((p.param, p.convert) for p in PARAMS)

# Settings the API lacks -> "the local engine would have applied this value".
UNSUPPORTED: tuple[tuple[str, Callable[[GenerationSettings], bool]], ...] = tuple(
    (row.name, row.openai.applies) for row in GENERATION_ROWS if isinstance(row.openai, NotApplied))

FINISH_REASONS: dict[str | None, FinishReason] = {"length": "length"}  # everything else ends as "stop"


class CloudError(GenerationError):
    """A failed cloud request. ``kind`` is one of the ``ERRORS`` kinds; the text never holds the key."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# Exception type -> (kind, one-line message); the first isinstance match wins (subclasses first).
ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (openai.AuthenticationError, "auth",
     "the cloud API rejected the API key (HTTP 401): enter a valid key in Settings > Cloud or set OPENAI_API_KEY"),
    (openai.PermissionDeniedError, "auth",
     "the API key may not use model {model} (HTTP 403): pick another model or check the key's project"),
    (openai.RateLimitError, "rate_limit",
     "the cloud API is rate-limiting this key or its quota is used up (HTTP 429): "
     "wait a minute, check the account's billing, or use the local model"),
    (openai.NotFoundError, "not_found",
     "the cloud API does not know model {model} (HTTP 404): check the model id in Settings > Cloud"),
    (openai.BadRequestError, "bad_request", "the cloud API refused the request (HTTP 400{param}): {detail}"),
    (openai.InternalServerError, "server",
     "the cloud API had a server error (HTTP {status}): try again later, or use the local model"),
    (openai.APIStatusError, "http", "the cloud API answered HTTP {status}: try again later, or use the local model"),
    (openai.APITimeoutError, "timeout",
     "the cloud API did not answer within {timeout:g} s: check the connection, or raise the timeout"),
    (openai.APIConnectionError, "connection",
     "could not reach the cloud API at {host}: check the internet connection or the base URL"),
    (openai.OpenAIError, "other", "the cloud request failed ({name}): try again, or use the local model"),
)

DROPPED = ("the connection to the cloud API at {host} dropped before the answer was complete: "
           "check the connection and retry, or use the local model")


def map_settings(settings: GenerationSettings) -> tuple[dict[str, Any], list[str]]:
    """The chat-completions parameters for ``settings``, and the settings the API cannot apply."""
    params: dict[str, Any] = {}
    for p in PARAMS:
        value = p.convert(settings)
        if value is None:
            continue
        if (p.minimum is not None and value < p.minimum) or (p.maximum is not None and value > p.maximum):
            low = "" if p.minimum is None else f"{p.minimum:g} "
            high = "upwards" if p.maximum is None else f"to {p.maximum:g}"
            raise CloudError(f"the cloud API accepts {p.param} {low}{high}, got {value:g}: "
                             "change it, or use the local engine", "settings")
        params[p.param] = value
    return params, [name for name, applies in UNSUPPORTED if applies(settings)]


def to_messages(prompt: Prompt, images: Sequence[str | Path] = ()) -> list[dict[str, Any]]:
    """Chat messages as they are (content parts included; image files become data: URLs); a plain string
    becomes a single user message. ``images`` (files) go at the start of the last user message."""
    return for_api(cast(Prompt, with_images(prompt, images)) if images else prompt)


def _one_line(text: str, secret: str, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", text.replace(secret, "***") if secret else text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _server_detail(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return "check the settings this model accepts"


@dataclass
class _Collected:
    """What came back for one request, per choice index."""

    texts: dict[int, list[str]] = field(default_factory=dict)
    reasoning: dict[int, list[str]] = field(default_factory=dict)
    finish: dict[int, str | None] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_at: float | None = None
    model: str = ""
    cancelled: bool = False


class CloudGenerator:
    """``Generator`` over an OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        api_key: str,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        if not api_key:
            raise GenerationError(NO_KEY)
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout,
                                     max_retries=max_retries)

    def __repr__(self) -> str:
        return f"CloudGenerator(model={self.model!r}, base_url={safe_url(self.base_url)!r})"

    capabilities = Capabilities(images=True)
    model_info = None  # no local model
    n_ctx = 0  # the endpoint does not say

    @property
    def backend(self) -> Backend:
        return "openai"

    def translate(self, err: openai.OpenAIError, *, streamed: bool = False) -> CloudError:
        """One-line ``CloudError`` for an SDK exception (``ERRORS`` table); the key is scrubbed."""
        host = urlsplit(self.base_url).hostname or self.base_url
        if streamed and isinstance(err, openai.APIConnectionError) and not isinstance(err, openai.APITimeoutError):
            return CloudError(DROPPED.format(host=host), "connection")
        kind, template = next((k, t) for typ, k, t in ERRORS if isinstance(err, typ))
        status = getattr(err, "status_code", "")
        param = getattr(err, "param", None)
        detail = _server_detail(err) if isinstance(err, openai.APIStatusError) else ""
        message = template.format(model=self.model, status=status, host=host, timeout=self.timeout,
                                  name=type(err).__name__, param=f", parameter {param}" if param else "",
                                  detail=detail)
        return CloudError(_one_line(message, str(self._client.api_key)), kind)

    def close(self) -> None:
        """Close its HTTP connections; it sends nothing after this."""
        self._client.close()

    def _open(self) -> openai.OpenAI:
        if self._client.is_closed():
            raise CloudError(f"this connection to {safe_url(self.base_url)} was closed; make a new CloudGenerator",
                             "connection")
        return self._client

    def list_models(self) -> list[str]:
        """Model ids the endpoint offers (a cheap "test connection" for the settings panel)."""
        try:
            return sorted(m.id for m in self._open().models.list())
        except openai.OpenAIError as err:
            raise self.translate(err) from None

    def generate(
        self,
        prompt: Prompt,
        settings: GenerationSettings | None = None,
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
        images: Sequence[str | Path] = (),
    ) -> GenerationResult:
        """Send ``prompt``; streams (``stream=True``) when ``on_event`` or ``cancel`` is given. ``images``: PNG,
        JPEG or WebP files for the last user message (chat messages may also carry ``image_url`` parts)."""
        s = settings or GenerationSettings()
        params, not_applied = map_settings(s)
        request: dict[str, Any] = {"model": self.model, "messages": to_messages(prompt, images), **params}
        n = s.num_return_sequences
        start = time.perf_counter()
        got = _Collected(model=self.model)
        if cancel is not None and cancel.is_set():
            got.cancelled = True
        elif on_event is None and cancel is None:
            self._complete(request, got)
        else:
            self._stream(request, got, on_event, cancel)
        end = time.perf_counter()
        generated = [self._completion(got, i) for i in range(n)]
        return GenerationResult(
            prompt_text=prompt if isinstance(prompt, str) else json.dumps(list(prompt), ensure_ascii=False),
            prompt_token_ids=[], generated=generated, backend="openai",
            timings=_timings(got, start, end), not_applied=not_applied, model=got.model)

    def _complete(self, request: dict[str, Any], got: _Collected) -> None:
        create: Any = self._open().chat.completions.create
        try:
            response = create(**request)
        except openai.OpenAIError as err:
            raise self.translate(err) from None
        got.model = response.model or got.model
        for choice in response.choices:
            got.texts[choice.index] = [choice.message.content or ""]
            got.reasoning[choice.index] = [getattr(choice.message, "reasoning_content", None) or ""]
            got.finish[choice.index] = choice.finish_reason
        if response.usage is not None:
            got.prompt_tokens = response.usage.prompt_tokens
            got.completion_tokens = response.usage.completion_tokens

    def _stream(self, request: dict[str, Any], got: _Collected, on_event: StreamCallback | None,
                cancel: threading.Event | None) -> None:
        create: Any = self._open().chat.completions.create
        started = False
        try:
            stream = create(**request, stream=True, stream_options={"include_usage": True})
            started = True
            with stream:
                for chunk in stream:
                    self._take_chunk(chunk, got, on_event)
                    if cancel is not None and cancel.is_set():
                        got.cancelled = True
                        break
        except openai.OpenAIError as err:
            raise self.translate(err, streamed=started) from None
        if not got.cancelled and len(got.finish) < request.get("n", 1):
            host = urlsplit(self.base_url).hostname or self.base_url
            raise CloudError(DROPPED.format(host=host), "connection")

    @staticmethod
    def _take_chunk(chunk: Any, got: _Collected, on_event: StreamCallback | None) -> None:
        got.model = chunk.model or got.model
        if chunk.usage is not None:
            got.prompt_tokens = chunk.usage.prompt_tokens
            got.completion_tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            i = choice.index
            parts: tuple[tuple[Literal["reasoning", "answer"], dict[int, list[str]], str | None], ...] = (
                ("reasoning", got.reasoning, getattr(choice.delta, "reasoning_content", None)),
                ("answer", got.texts, choice.delta.content))
            for kind, store, text in parts:
                if text:
                    if got.first_token_at is None:
                        got.first_token_at = time.perf_counter()
                    store.setdefault(i, []).append(text)
                    if on_event is not None:
                        on_event(StreamEvent(index=i, text=text, kind=kind))
            if choice.finish_reason is not None:
                got.finish[i] = choice.finish_reason

    @staticmethod
    def _completion(got: _Collected, i: int) -> Completion:
        finish: FinishReason = "cancelled" if got.cancelled and i not in got.finish else \
            FINISH_REASONS.get(got.finish.get(i), "stop")
        reasoning = "".join(got.reasoning.get(i, []))
        return Completion(text="".join(got.texts.get(i, [])), token_ids=[], finish_reason=finish,
                          reasoning=reasoning or None)


def _timings(got: _Collected, start: float, end: float) -> dict[str, float]:
    """Rates from the wall clock and the server's ``usage`` (0 when it sends none)."""
    first = (got.first_token_at or end) - start
    decode = end - (got.first_token_at or start)
    return {
        "prompt_tokens_per_s": got.prompt_tokens / first if first > 0 else 0.0,
        "generated_tokens_per_s": got.completion_tokens / decode if decode > 0 else 0.0,
        "wall_s": end - start,
        "first_token_s": first,
        "prompt_tokens": float(got.prompt_tokens),
        "generated_tokens": float(got.completion_tokens),
    }


def cloud_generator_from_env(
    model: str | None = None,
    base_url: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> CloudGenerator:
    """A generator using ``OPENAI_API_KEY`` (else the keychain's key) and the resolved base URL."""
    key = keys.get_api_key()
    if not key:
        raise GenerationError(NO_KEY)
    return CloudGenerator(key, model=(model or "").strip() or DEFAULT_MODEL, base_url=resolve_base_url(base_url),
                          timeout=timeout, max_retries=max_retries)


def describe_not_applied(names: Sequence[str]) -> str:
    """One line for the UI/CLI, e.g. "not applied by the cloud engine: top_k, repetition_penalty"."""
    return f"not applied by the cloud engine: {', '.join(names)}" if names else ""
