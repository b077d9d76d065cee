"""The OpenAI-compatible HTTP API over one loaded model (FastAPI; served by uvicorn, see ``cli``).

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions`` (both streamed as Server-Sent Events
with ``stream: true``), ``GET /v1/models``, ``GET /health``, ``GET /openapi.json``. Every error is an OpenAI
error object. In front of the routes (``guard``): the Host allow-list, CORS when asked for, JSON-only
bodies of bounded size and nesting, and the request's cheap size checks (``bounds``); a chat request's plan
(schemas to grammars under a time limit, image sizes) is made off the event loop, and every request ends
within ``--request-timeout``.
Generation runs on the scheduler's worker thread; a streaming request's response starts once its
generation has started, so a request the model refuses (a prompt over the context ...) still gets
its HTTP error status rather than an error inside a 200 stream.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hmac
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..engine.chat.image_parts import check_image_size
from ..engine.llama.worker import WorkerCrashed
from ..engine.sampling.grammar import JSON_OBJECT_GRAMMAR
from ..engine.settings import GenerationSettings, SettingsError
from ..engine.types import Completion, DamagedModel, GenerationError, GenerationResult, StreamEvent
from .bounds import check_depth, check_grammar, check_request
from .errors import APIError, from_validation
from .guard import BodyGuard, HostGuard
from .limits import ServerLimits, TimeLimit, run_with_deadline
from .mapping import request_settings, sets_max_tokens
from .scheduler import DEFAULT_MAX_WAITING, Job, QueueFull, Scheduler
from .schemas import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    CompletionRequest,
    Delta,
    ModelCard,
    ModelList,
    ResponseMessage,
    SamplingRequest,
    TextChoice,
    TextCompletion,
    ToolCall,
    ToolCallDelta,
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
_POLL_S = 0.1  # how often a waiting handler checks whether its client went away


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


# ---------------------------------------------------------------------------------------------------
# Plumbing: SSE


def sse(data: Any) -> str:
    return "data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n\n"


SSE_DONE = "data: [DONE]\n\n"
_END = object()


def _dump_chunk(chunk: ChatCompletionChunk | TextCompletion, include_usage: bool) -> dict[str, Any]:
    """A chunk as OpenAI sends it: deltas without their unset fields; ``usage`` (null but in the last chunk)
    only when the client asked for it with ``stream_options.include_usage``."""
    data = chunk.model_dump()
    if isinstance(chunk, ChatCompletionChunk):
        for out, choice in zip(data["choices"], chunk.choices, strict=True):
            out["delta"] = choice.delta.model_dump(exclude_none=True)
    if not include_usage:
        data.pop("usage", None)
    return data


def _dump_completion(body: ChatCompletion) -> dict[str, Any]:
    """A chat completion as OpenAI sends it: ``tool_calls`` and ``reasoning_content`` only when there are some."""
    data = body.model_dump()
    for choice in data["choices"]:
        for name in ("tool_calls", "reasoning_content"):
            if choice["message"].get(name) is None:
                choice["message"].pop(name, None)
    return data


# ---------------------------------------------------------------------------------------------------
# The service: one model, requests -> jobs -> OpenAI objects


@dataclass
class _Plan:
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
        if req.model != self.config.model_id:
            raise APIError(404, f"the model {req.model!r} does not exist on this server; it serves "
                                f"{self.config.model_id!r} (GET /v1/models lists it)", param="model",
                           code="model_not_found")
        if req.logprobs:
            raise APIError(400, "logprobs are not supported by this server; remove logprobs from the request",
                           param="logprobs", code="unsupported_parameter")

    def _settings(self, req: SamplingRequest, enable_thinking: bool | None = None) -> GenerationSettings:
        values = request_settings(req, self.config.defaults, enable_thinking)
        try:
            return self.generator.default_settings(**values)  # type: ignore[no-any-return]
        except SettingsError as err:
            raise APIError(400, str(err), param=_settings_param(str(err)), code="invalid_value") from None

    def _need(self, name: str, what: str) -> None:
        if name not in self._accepts and "**" not in self._accepts:
            raise APIError(400, f"{what} is not available with this model's engine; remove it from the request",
                           param=name, code="unsupported_parameter")

    def chat_plan(self, req: ChatCompletionRequest) -> _Plan:
        self._check_common(req)
        thinking = req.chat_template_kwargs.enable_thinking if req.chat_template_kwargs else None
        settings = self._settings(req, thinking)
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
            _check_images(messages)
        return _Plan(prompt=messages, settings=settings,
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

    def completion_plans(self, req: CompletionRequest) -> list[_Plan]:
        self._check_common(req)
        settings = self._settings(req)
        prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
        if not prompts:
            raise APIError(400, "prompt is an empty list; send a string or a list of strings", param="prompt",
                           code="invalid_value")
        return [_Plan(prompt=p, settings=settings, fill_context=not sets_max_tokens(req, self.config.defaults),
                      extra={}, stream=req.stream, echo=req.echo,
                      include_usage=bool(req.stream_options and req.stream_options.include_usage))
                for p in prompts]

    # -- running -------------------------------------------------------------------------------------

    def _run(self, plan: _Plan, cancel: threading.Event, on_event: Any) -> GenerationResult:
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

    def submit(self, client: str, plans: Sequence[_Plan], on_event: Callable[[int, StreamEvent], None] | None
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
            raise _failure(concurrent.futures.CancelledError()) from None
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


def _check_images(messages: Sequence[dict[str, Any]]) -> None:
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


def _settings_param(message: str) -> str | None:
    """The request field a GenerationSettings error is about (its message starts with the setting's name)."""
    names = {"max_new_tokens": "max_completion_tokens", "num_return_sequences": "n", "temperature": "temperature",
             "top_p": "top_p", "top_k": "top_k", "min_p": "min_p", "repetition_penalty": "repetition_penalty",
             "seed": "seed", "stop": "stop", "presence_penalty": "presence_penalty",
             "frequency_penalty": "frequency_penalty"}
    first = message.split(" ", 1)[0]
    return names.get(first)


def _client(request: Request, req: SamplingRequest) -> str:
    """Whose turn a request is: the OpenAI ``user`` field when sent, else the client's address."""
    if req.user:
        return "user:" + req.user
    return "host:" + (request.client.host if request.client else "?")


async def _wait(request: Request, job: Job, service: Service, deadline: float,
                items: asyncio.Queue[Any] | None = None) -> Any:
    """The first streamed item (or _END) / the finished future, unless the client goes away first (None).

    Past ``deadline`` the job is cancelled (the model is free at its next token) and the request gets 504."""
    fut = asyncio.wrap_future(job.future)
    while True:
        wait = max(0.0, min(_POLL_S, deadline - time.monotonic()))
        if items is not None:
            try:
                return await asyncio.wait_for(items.get(), wait)
            except TimeoutError:
                pass
        else:
            done, _ = await asyncio.wait({fut}, timeout=wait)
            if done:
                return fut
        if await request.is_disconnected():
            service.scheduler.cancel(job)
            return None
        if time.monotonic() >= deadline:
            service.scheduler.cancel(job)
            raise _timed_out(service.config.limits)


def _timed_out(limits: ServerLimits) -> APIError:
    return APIError(504, f"the request ran past this server's time limit of {limits.phrase('request_timeout')} and "
                         "was stopped; ask for fewer tokens (max_tokens), or start exaone-serve with a larger "
                         "--request-timeout", code="request_timeout")


def _failure(err: BaseException) -> APIError:
    if isinstance(err, APIError):
        return err
    if isinstance(err, (asyncio.CancelledError, concurrent.futures.CancelledError)):
        return APIError(503, "the server is shutting down; send the request again when it is back",
                        code="shutting_down")
    if isinstance(err, SettingsError):
        return APIError(400, str(err), param=_settings_param(str(err)), code="invalid_value")
    if isinstance(err, WorkerCrashed):  # the model's process died; the next request starts a new one
        return APIError(500, str(err), code="model_crashed")
    if isinstance(err, DamagedModel):  # the model file, not the request: the same request fails again
        return APIError(500, str(err), code="model_damaged", headers={"x-should-retry": "false"})
    if isinstance(err, GenerationError):
        return APIError(400, str(err), code="generation_failed")
    return APIError(500, f"the server failed to generate ({type(err).__name__}: {err}); this is a bug",
                    code="internal_error")


# ---------------------------------------------------------------------------------------------------
# Streaming shapes


class _ChatStream:
    """Events of one chat request -> chat.completion.chunk objects, OpenAI's order and fields."""

    def __init__(self, service: Service, plan: _Plan, model: str) -> None:
        self.service, self.plan = service, plan
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.opened: set[int] = set()

    def _chunk(self, index: int, delta: Delta, finish: str | None = None) -> str:
        chunk = ChatCompletionChunk(id=self.id, created=self.created, model=self.model,
                                    choices=[ChunkChoice(index=index, delta=delta, finish_reason=finish)])  # type: ignore[arg-type]
        return sse(_dump_chunk(chunk, self.plan.include_usage))

    def _open(self, index: int) -> list[str]:
        if index in self.opened:
            return []
        self.opened.add(index)
        return [self._chunk(index, Delta(role="assistant", content=""))]

    def event(self, ev: StreamEvent) -> list[str]:
        out = self._open(ev.index)
        if ev.kind == "reasoning":
            out.append(self._chunk(ev.index, Delta(reasoning_content=ev.text)))
        elif not self.plan.tools_on:  # with tools, the answer may be a call: sent whole at the end
            out.append(self._chunk(ev.index, Delta(content=ev.text)))
        return out

    def finish(self, results: list[GenerationResult]) -> list[str]:
        out: list[str] = []
        for i, completion in enumerate(results[0].generated if results else []):
            out += self._open(i)
            choice = self.service.chat_choice(i, completion, self.plan.tools_on)
            message = choice.message
            if self.plan.tools_on and message.tool_calls:
                if message.content:
                    out.append(self._chunk(i, Delta(content=message.content)))
                deltas = [ToolCallDelta(index=j, id=c.id, type="function", function=c.function)
                          for j, c in enumerate(message.tool_calls)]
                out.append(self._chunk(i, Delta(tool_calls=deltas)))
            elif self.plan.tools_on and message.content:
                out.append(self._chunk(i, Delta(content=message.content)))
            out.append(self._chunk(i, Delta(), choice.finish_reason))
        if self.plan.include_usage:
            chunk = ChatCompletionChunk(id=self.id, created=self.created, model=self.model, choices=[],
                                        usage=usage(results))
            out.append(sse(_dump_chunk(chunk, True)))
        return out


class _TextStream:
    """Events of a completions request -> text_completion chunks (choice index = prompt * n + sequence)."""

    def __init__(self, plans: list[_Plan], model: str) -> None:
        self.plans = plans
        self.n = plans[0].settings.num_return_sequences
        self.id = "cmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.opened: set[int] = set()

    def _chunk(self, index: int, text: str, finish: str | None = None) -> str:
        chunk = TextCompletion(id=self.id, created=self.created, model=self.model,
                               choices=[TextChoice(index=index, text=text, finish_reason=finish)])  # type: ignore[arg-type]
        return sse(_dump_chunk(chunk, self.plans[0].include_usage))

    def _open(self, k: int, index: int) -> list[str]:
        if index in self.opened:
            return []
        self.opened.add(index)
        return [self._chunk(index, self.plans[k].prompt)] if self.plans[k].echo else []

    def event(self, k: int, ev: StreamEvent) -> list[str]:
        index = k * self.n + ev.index
        out = self._open(k, index)
        if ev.kind == "answer":
            out.append(self._chunk(index, ev.text))
        return out

    def finish(self, results: list[GenerationResult]) -> list[str]:
        out: list[str] = []
        for k, result in enumerate(results):
            for i, completion in enumerate(result.generated):
                index = k * self.n + i
                out += self._open(k, index)
                out.append(self._chunk(index, "", "length" if completion.finish_reason == "length" else "stop"))
        if self.plans[0].include_usage:
            chunk = TextCompletion(id=self.id, created=self.created, model=self.model, choices=[],
                                   usage=usage(results))
            out.append(sse(_dump_chunk(chunk, True)))
        return out


# ---------------------------------------------------------------------------------------------------
# The app


def create_app(generator: Any, config: ServerConfig) -> FastAPI:
    """The API over ``generator`` (a LocalGenerator, or anything with its ``generate``/``default_settings``)."""
    service = Service(generator, config)
    limits = config.limits
    app = FastAPI(title="exaone-serve", summary="OpenAI-compatible API for a local EXAONE model",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.service = service

    def precheck(path: str, body: bytes) -> None:  # before FastAPI parses the body (off the event loop if large)
        check_depth(body, limits, "the request body")
        if path in ("/v1/chat/completions", "/v1/completions"):
            try:
                data = json.loads(body)
            except ValueError:
                return  # the request's validation names the position
            check_request(path, data, limits, int(generator.n_ctx or 0))

    # Middleware runs outermost last-added: the Host check, then CORS (when asked for), then the body's checks.
    app.add_middleware(BodyGuard, limit=config.max_body_bytes, check=precheck)  # type: ignore[arg-type]
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),  # type: ignore[arg-type]
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                           max_age=600)
    app.add_middleware(HostGuard, allowed=config.allowed_hosts, bound=config.bound_host)  # type: ignore[arg-type]

    def openapi() -> dict[str, Any]:
        """FastAPI's OpenAPI schema, with the one model id this server accepts in each request's ``model``."""
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            for name in ("ChatCompletionRequest", "CompletionRequest"):
                schema["components"]["schemas"][name]["properties"]["model"]["enum"] = [config.model_id]
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(APIError)
    async def on_api_error(_: Request, err: APIError) -> JSONResponse:
        return err.response()

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        models: dict[str, type[SamplingRequest]] = {"/v1/chat/completions": ChatCompletionRequest,
                                                     "/v1/completions": CompletionRequest}
        model = models.get(request.url.path)
        return from_validation(exc, model).response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "no such route; this server offers POST /v1/chat/completions, POST /v1/completions, "
                        "GET /v1/models, GET /health and GET /openapi.json",
                   405: "this route does not take that HTTP method",
                   400: "the request body could not be read as JSON; send one JSON object"}.get(
                       exc.status_code, str(exc.detail))
        return APIError(exc.status_code, message, code="invalid_json" if exc.status_code == 400 else None,
                        headers=exc.headers).response()

    @app.exception_handler(Exception)
    async def on_bug(_: Request, exc: Exception) -> JSONResponse:
        return _failure(exc).response()

    def check_key(request: Request) -> None:
        key = config.api_key
        if not key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise APIError(401, "no API key: send it as the header 'Authorization: Bearer KEY' (the key exaone-serve "
                                "was started with)", code="missing_api_key")
        if not hmac.compare_digest(token.strip().encode(), key.encode()):
            raise APIError(401, "incorrect API key provided; use the key exaone-serve was started with",
                           code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "model": config.model_id, "queue": service.scheduler.status()}
        if generator.capabilities.batching and generator.n_seq > 1:  # how much its sequences shared decode steps
            body["batch"] = {"sequences": generator.n_seq, "decode_steps": generator.steps,
                             "largest_batch": generator.max_batch}
        return body

    @app.get("/v1/models", dependencies=[Depends(check_key)])
    async def models() -> dict[str, Any]:
        return ModelList(data=[ModelCard(id=config.model_id, created=service.created)]).model_dump()

    @app.get("/v1/models/{model_id}", dependencies=[Depends(check_key)])
    async def model(model_id: str) -> dict[str, Any]:
        if model_id != config.model_id:
            raise APIError(404, f"the model {model_id!r} does not exist on this server; it serves "
                                f"{config.model_id!r}", param="model", code="model_not_found")
        return ModelCard(id=config.model_id, created=service.created).model_dump()

    @app.post("/v1/chat/completions", dependencies=[Depends(check_key)])
    async def chat(req: ChatCompletionRequest, request: Request) -> Response:
        deadline = time.monotonic() + limits.request_timeout
        plan = await asyncio.to_thread(service.chat_plan, req)  # schemas become grammars, images are checked
        if plan.stream:
            shaper = _ChatStream(service, plan, config.model_id)
            return await _stream(request, service, [plan], req, lambda k, ev: shaper.event(ev), shaper.finish,
                                 deadline)
        results = await _complete(request, service, [plan], req, deadline)
        if results is None:
            return Response(status_code=499)
        [result] = results
        body = ChatCompletion(id="chatcmpl-" + secrets.token_hex(12), created=int(time.time()),
                              model=config.model_id,
                              choices=[service.chat_choice(i, c, plan.tools_on)
                                       for i, c in enumerate(result.generated)],
                              usage=usage(results))
        return JSONResponse(_dump_completion(body))

    @app.post("/v1/completions", dependencies=[Depends(check_key)])
    async def completions(req: CompletionRequest, request: Request) -> Response:
        deadline = time.monotonic() + limits.request_timeout
        plans = service.completion_plans(req)
        if req.stream:
            shaper = _TextStream(plans, config.model_id)
            return await _stream(request, service, plans, req, shaper.event, shaper.finish, deadline)
        results = await _complete(request, service, plans, req, deadline)
        if results is None:
            return Response(status_code=499)
        n = plans[0].settings.num_return_sequences
        choices = [TextChoice(index=k * n + i, text=(plans[k].prompt if plans[k].echo else "") + c.text,
                              finish_reason="length" if c.finish_reason == "length" else "stop")
                   for k, r in enumerate(results) for i, c in enumerate(r.generated)]
        body = TextCompletion(id="cmpl-" + secrets.token_hex(12), created=int(time.time()), model=config.model_id,
                              choices=choices, usage=usage(results))
        return JSONResponse(body.model_dump())

    return app


async def _complete(request: Request, service: Service, plans: list[_Plan], req: SamplingRequest, deadline: float
                    ) -> list[GenerationResult] | None:
    job = service.submit(_client(request, req), plans, None)
    fut = await _wait(request, job, service, deadline)
    if fut is None:
        return None
    try:
        return fut.result()  # type: ignore[no-any-return]
    except BaseException as err:
        raise _failure(err) from None


async def _stream(request: Request, service: Service, plans: list[_Plan], req: SamplingRequest,
                  on_event: Callable[[int, StreamEvent], list[str]],
                  finish: Callable[[list[GenerationResult]], list[str]], deadline: float) -> Response:
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[Any] = asyncio.Queue()

    def push(k: int, ev: StreamEvent) -> None:
        loop.call_soon_threadsafe(items.put_nowait, (k, ev))

    job = service.submit(_client(request, req), plans, push)
    job.future.add_done_callback(lambda _: loop.call_soon_threadsafe(items.put_nowait, _END))
    first = await _wait(request, job, service, deadline, items)
    if first is None:
        return Response(status_code=499)
    if first is _END and (job.future.cancelled() or job.future.exception() is not None):
        raise _failure(concurrent.futures.CancelledError() if job.future.cancelled()
                       else job.future.exception()) from None  # type: ignore[arg-type]

    async def body() -> AsyncIterator[str]:
        item = first
        try:
            while item is not _END:
                for text in on_event(*item):
                    yield text
                try:
                    item = await asyncio.wait_for(items.get(), max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    service.scheduler.cancel(job)
                    yield sse(_timed_out(service.config.limits).body())
                    return
            try:
                results = job.future.result()
            except BaseException as err:
                yield sse(_failure(err).body())
                return
            for text in finish(results):
                yield text
            yield SSE_DONE
        finally:
            service.scheduler.cancel(job)  # a client that left stops its generation (no-op when finished)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
