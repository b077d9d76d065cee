"""The model behind the API: requests become plans (settings, tools, grammar), plans become jobs on the
scheduler, and generation results become OpenAI objects; ``failure`` turns any error into an OpenAI one.

Generation runs on the scheduler's worker thread (``submit``); ``streaming`` waits for it and shapes chunks.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from ..engine.chat.image_parts import check_image_size
from ..engine.llama.crash import WorkerCrashed
from ..engine.sampling.grammar import JSON_OBJECT_GRAMMAR
from ..engine.settings import GenerationSettings, SettingsError
from ..engine.types import Completion, DamagedModel, GenerationError, GenerationResult, StreamEvent
from .bounds import check_depth, check_grammar
from .errors import APIError
from .limits import ServerLimits, TimeLimit, run_with_deadline
from .mapping import request_settings, sets_max_tokens, setting_param
from .request_log import RequestRecord
from .scheduler import DEFAULT_MAX_WAITING, Job, QueueFull, Scheduler
from .schemas import (
    ChatChoice,
    ChatCompletionRequest,
    CompletionRequest,
    ResponseMessage,
    SamplingRequest,
    ToolCall,
    Usage,
)
from .structured import response_format_grammar
from .tools import (
    call_grammar,
    forced_tools,
    has_images,
    parse_tool_calls,
    template_messages,
    template_tools,
    tool_arguments_as_text,
)
from .vocab import SpecialText

DEFAULT_MAX_BODY_BYTES = 4 * 2**20
# OpenAI's SDKs retry every 5xx unless told not to: a request that ran out of time, or crashed or met a damaged
# model, would only repeat the model's work (or its crash) when sent again.
NO_RETRY = {"x-should-retry": "false"}



@dataclass
class ServerConfig:
    """What ``exaone-serve`` was started with (besides the model)."""

    model_id: str
    api_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_waiting: int = DEFAULT_MAX_WAITING
    defaults: Mapping[str, Any] = field(default_factory=dict)  # server-wide settings (exaone-serve flags)
    parallel: int = 1  # requests generating at once (more than 1 needs a batched generator)
    limits: ServerLimits = field(default_factory=ServerLimits)
    bound_host: str | None = None  # the address the server listens on (its Host is always served)
    allowed_hosts: tuple[str, ...] | None = ()  # more Host names to serve; None: every Host (--allowed-host '*')
    cors_origins: tuple[str, ...] = ()  # web origins that get CORS headers (none: CORS is off)
    model_names: tuple[str, ...] | None = ()  # more names answered by the model; None: any name (one model)
    on_request: Callable[[RequestRecord], None] | None = None  # told of each request answered (metadata only)

    def answers(self, name: str) -> bool:
        """Whether ``name`` (a request's ``model``) is this server's model; replies always name ``model_id``."""
        return name == self.model_id or self.model_names is None or name in self.model_names



@dataclass
class Plan:
    """One generation request, resolved: what to run and how to shape its answer."""

    prompt: Any
    settings: GenerationSettings
    fill_context: bool  # no max_tokens: the reply may use the rest of the context
    extra: dict[str, Any]  # keyword arguments for generate() (tools, grammar)
    tools_on: bool = False
    stream: bool = False
    include_usage: bool = False
    echo: bool = False


class Service:
    """The model behind the API: requests become plans (settings, tools, grammar), plans become jobs on the
    scheduler, and generation results become OpenAI objects."""

    def __init__(self, generator: Any, config: ServerConfig) -> None:
        self.generator = generator
        self.config = config
        self.scheduler = Scheduler(config.max_waiting, workers=config.parallel)
        self.created = int(time.time())
        self._accepts = set(generator.capabilities.keywords())  # the optional keywords its generate takes
        info = generator.model_info
        self._special = SpecialText(info.path) if info is not None else None
        self._arguments_as_text = tool_arguments_as_text(info)

    def close(self) -> None:
        self.scheduler.close()

    # -- requests -> plans ----------------------------------------------------------------------------

    def _check_common(self, req: SamplingRequest) -> None:
        if not self.config.answers(req.model):
            raise APIError(404, f"the model {req.model!r} does not exist on this server; it serves "
                                f"{self.config.model_id!r} (GET /v1/models lists it)", param="model",
                           code="model_not_found")
        if req.stream_options is not None and not req.stream:
            raise APIError(400, "stream_options is only allowed with stream: true; remove stream_options or set "
                                "stream", param="stream_options", code="invalid_value")
        if req.logprobs:
            raise APIError(400, "logprobs are not supported by this server; remove logprobs from the request",
                           param="logprobs", code="unsupported_parameter")

    def _settings(self, req: SamplingRequest, template: BaseModel | None = None) -> GenerationSettings:
        values = request_settings(req, self.config.defaults, template)
        try:
            return self.generator.default_settings(**values)  # type: ignore[no-any-return]
        except SettingsError as err:
            raise APIError(400, str(err), param=setting_param(str(err)), code="invalid_value") from None

    def _need(self, name: str, what: str) -> None:
        if name not in self._accepts:
            raise APIError(400, f"{what} is not available with this model's engine; remove it from the request",
                           param=name, code="unsupported_parameter")

    def chat_plan(self, req: ChatCompletionRequest) -> Plan:
        self._check_common(req)
        settings = self._settings(req, req.chat_template_kwargs)
        extra: dict[str, Any] = {}
        tools_on = bool(req.tools) and req.tool_choice != "none"
        if req.tool_choice not in (None, "none", "auto") and not req.tools:
            raise APIError(400, "tool_choice needs tools; send the tools the model may call", param="tool_choice",
                           code="invalid_value")
        grammar = self._grammar(lambda: response_format_grammar(req.response_format), "response_format")
        if tools_on and req.tools:
            self._need("tools", "tools")
            extra["tools"] = template_tools(req.tools)
            forced = forced_tools(req.tools, req.tool_choice)
            if forced:
                if grammar is not None:
                    raise APIError(400, "a forced tool call and response_format cannot both constrain the reply; "
                                        "drop one of them", param="response_format", code="invalid_value")
                grammar = self._grammar(lambda: call_grammar(forced), "tools")
        if grammar is not None:
            self._need("grammar", "response_format (structured output)")
            extra["grammar"] = grammar
        for i, m in enumerate(req.messages):  # checked again here: a Python caller may skip the body's checks
            for j, call in enumerate(m.tool_calls or []):
                where = f"messages[{i}].tool_calls[{j}].function.arguments"
                check_depth(call.function.arguments, self.config.limits, where, where)
        messages = template_messages(req.messages, arguments_as_text=self._arguments_as_text)
        if has_images(messages):
            self._need("images", "image input")
            check_images(messages)
        return Plan(prompt=messages, settings=settings,
                     fill_context=not sets_max_tokens(req, self.config.defaults), extra=extra, tools_on=tools_on,
                     stream=req.stream, include_usage=bool(req.stream_options and req.stream_options.include_usage))

    def _grammar(self, make: Callable[[], str | None], param: str) -> str | None:
        """A grammar made by ``make`` (a schema's conversion) under the schema time limit, its size checked."""
        limits = self.config.limits
        try:
            grammar = run_with_deadline(make, limits.schema_timeout)
        except TimeLimit:
            raise APIError(400, f"{param} took longer than this server's limit of {limits.phrase('schema_timeout')} "
                                "to become a grammar; send a simpler schema", param=param,
                           code="schema_too_complex") from None
        except RecursionError:
            raise APIError(400, f"{param} nests too deeply to become a grammar; send a flatter schema", param=param,
                           code="schema_too_complex") from None
        if grammar is not None and grammar is not JSON_OBJECT_GRAMMAR:
            check_grammar(grammar, limits, param)
        return grammar

    def completion_plans(self, req: CompletionRequest) -> list[Plan]:
        self._check_common(req)
        settings = self._settings(req)
        prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
        if not prompts:
            raise APIError(400, "prompt is an empty list; send a string or a list of strings", param="prompt",
                           code="invalid_value")
        return [Plan(prompt=p, settings=settings, fill_context=not sets_max_tokens(req, self.config.defaults),
                      extra={}, stream=req.stream, echo=req.echo,
                      include_usage=bool(req.stream_options and req.stream_options.include_usage))
                for p in prompts]

    # -- running -------------------------------------------------------------------------------------

    def _run(self, plan: Plan, cancel: threading.Event, on_event: Any) -> GenerationResult:
        from ..engine.documents import prepare  # file parts: read in a bounded child, put in whole or searched

        settings = plan.settings
        plan = replace(plan, prompt=prepare(plan.prompt, self.generator, settings, allow_paths=False, cancel=cancel))
        caps = self.generator.capabilities
        tools = plan.extra.get("tools")
        images = not isinstance(plan.prompt, str) and has_images(plan.prompt)
        if plan.fill_context and caps.tokenize and not images and (tools is None or caps.tokenize_tools):
            # a generator that cannot count the tools' tokens (or an image's, before it is encoded) keeps its
            # default max_new_tokens instead
            _, ids = self.generator.tokenize_prompt(plan.prompt, settings,
                                                    **({} if tools is None else {"tools": tools}))
            room = int(self.generator.n_ctx) - len(ids)
            if room >= 1:
                settings = settings.replace(max_new_tokens=room)
        return self.generator.generate(  # type: ignore[no-any-return]
            plan.prompt, settings, on_event=on_event, cancel=cancel, **plan.extra)

    def submit(self, client: str, plans: Sequence[Plan], on_event: Callable[[int, StreamEvent], None] | None
               ) -> Job:
        """One job running ``plans`` in turn (a list of completion prompts shares its place in the queue)."""

        def run(cancel: threading.Event) -> list[GenerationResult]:
            results = []
            for k, plan in enumerate(plans):
                emit = None if on_event is None else (lambda ev, k=k: on_event(k, ev))
                results.append(self._run(plan, cancel, emit))
                if cancel.is_set():
                    break
            return results

        try:
            return self.scheduler.submit(client, run)
        except RuntimeError:
            raise failure(concurrent.futures.CancelledError()) from None
        except QueueFull as full:
            raise APIError(503, f"the server is busy: {full.waiting} requests are already waiting for the model; "
                                f"retry after {full.retry_after} s", code="queue_full",
                           headers={"Retry-After": str(full.retry_after)}) from None

    # -- results -> OpenAI objects -------------------------------------------------------------------

    def answer_with_calls(self, completion: Completion) -> tuple[str | None, list[ToolCall]]:
        """The answer's text and tool calls, read from its tokens with control tokens shown."""
        if self._special is None:
            return parse_tool_calls(completion.text)
        raw = self._special.text(completion.token_ids)
        if completion.reasoning is not None:
            raw = raw.rsplit("</think>", 1)[-1]
        content, calls = parse_tool_calls(raw)
        return (completion.text or None, []) if not calls else (content, calls)

    def chat_choice(self, index: int, completion: Completion, tools_on: bool) -> ChatChoice:
        content: str | None = completion.text
        calls: list[ToolCall] = []
        if tools_on:
            content, calls = self.answer_with_calls(completion)
        finish = "tool_calls" if calls else ("length" if completion.finish_reason == "length" else "stop")
        message = ResponseMessage(content=content, reasoning_content=completion.reasoning, tool_calls=calls or None)
        return ChatChoice(index=index, message=message, finish_reason=finish)  # type: ignore[arg-type]


def check_images(messages: Sequence[dict[str, Any]]) -> None:
    """Each inline image's declared size against the pixel limit, read from its header (nothing is decoded)."""
    for i, m in enumerate(messages):
        content = m.get("content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            url = part.get("image_url", {}).get("url", "") if part.get("type") == "image_url" else ""
            if not url.startswith("data:"):
                continue
            where = f"messages[{i}].content[{j}].image_url.url"
            try:
                data = base64.b64decode(url.partition(",")[2], validate=False)
            except ValueError:
                raise APIError(400, f"{where} is not valid base64; send the image as a data:image/...;base64 URL",
                               param=where, code="invalid_value") from None
            try:
                check_image_size(data, "the image")
            except GenerationError as err:
                raise APIError(400, f"{where}: {err}", param=where, code="image_too_large") from None


def usage(results: Sequence[GenerationResult]) -> Usage:
    prompt = sum(len(r.prompt_token_ids) for r in results)
    completion = sum(len(c.token_ids) for r in results for c in r.generated)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def timed_out(limits: ServerLimits) -> APIError:
    return APIError(504, f"the request ran past this server's time limit of {limits.phrase('request_timeout')} and "
                         "was stopped; ask for fewer tokens (max_tokens), or start exaone-serve with a larger "
                         "--request-timeout", code="request_timeout", headers=NO_RETRY)


def failure(err: BaseException) -> APIError:
    if isinstance(err, APIError):
        return err
    if isinstance(err, (asyncio.CancelledError, concurrent.futures.CancelledError)):
        return APIError(503, "the server is shutting down; send the request again when it is back",
                        code="shutting_down")
    if isinstance(err, SettingsError):
        return APIError(400, str(err), param=setting_param(str(err)), code="invalid_value")
    if isinstance(err, WorkerCrashed):  # the model's process died; the next request starts a new one
        return APIError(500, str(err), code="model_crashed", headers=NO_RETRY)  # sent again, it may crash again
    if isinstance(err, DamagedModel):  # the model file, not the request: the same request fails again
        return APIError(500, str(err), code="model_damaged", headers=NO_RETRY)
    if isinstance(err, GenerationError):
        return APIError(400, str(err), code="generation_failed")
    return APIError(500, f"the server failed to generate ({type(err).__name__}: {err}); this is a bug",
                    code="internal_error")
