"""The OpenAI-compatible HTTP API over one loaded model (FastAPI; served by uvicorn, see ``cli``).

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions`` (both streamed as Server-Sent Events
with ``stream: true``, see ``streaming``), ``GET /v1/models``, ``GET /health``, ``GET /openapi.json``. Every
error is an OpenAI error object. In front of the routes (``middleware``): the Host allow-list, CORS when asked
for, JSON-only bodies of bounded size and nesting, and the request's cheap size checks (``bounds``); a chat
request's plan (schemas to grammars under a time limit, image sizes) is made off the event loop by the
``service``, and every request ends within ``--request-timeout``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from .errors import APIError
from .middleware import install_error_handlers, install_guards, key_check
from .schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    CompletionRequest,
    ModelCard,
    ModelList,
    TextChoice,
    TextCompletion,
)
from .service import ServerConfig, Service, usage
from .streaming import ChatStream, TextStream, complete, stream


def dump_completion(body: ChatCompletion) -> dict[str, Any]:
    """A chat completion as OpenAI sends it: ``tool_calls`` and ``reasoning_content`` only when there are some."""
    data = body.model_dump()
    for choice in data["choices"]:
        for name in ("tool_calls", "reasoning_content"):
            if choice["message"].get(name) is None:
                choice["message"].pop(name, None)
    return data


def create_app(generator: Any, config: ServerConfig) -> FastAPI:
    """The API over ``generator`` (a LocalGenerator, or anything with its ``generate``/``default_settings``)."""
    service = Service(generator, config)
    limits = config.limits
    app = FastAPI(title="exaone-serve", summary="OpenAI-compatible API for a local EXAONE model",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.service = service

    install_guards(app, generator, config)
    check_key = key_check(config)

    def openapi() -> dict[str, Any]:
        """FastAPI's OpenAPI schema, with the one model id this server accepts in each request's ``model``."""
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            for name in ("ChatCompletionRequest", "CompletionRequest"):
                if config.model_names is not None:
                    schema["components"]["schemas"][name]["properties"]["model"]["enum"] = [config.model_id,
                                                                                            *config.model_names]
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    install_error_handlers(app)

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
        if not config.answers(model_id):
            raise APIError(404, f"the model {model_id!r} does not exist on this server; it serves "
                                f"{config.model_id!r}", param="model", code="model_not_found")
        return ModelCard(id=config.model_id, created=service.created).model_dump()

    @app.post("/v1/chat/completions", dependencies=[Depends(check_key)])
    async def chat(req: ChatCompletionRequest, request: Request) -> Response:
        deadline = time.monotonic() + limits.request_timeout
        plan = await asyncio.to_thread(service.chat_plan, req)  # schemas become grammars, images are checked
        if plan.stream:
            shaper = ChatStream(service, plan, config.model_id)
            return await stream(request, service, [plan], req, lambda k, ev: shaper.event(ev), shaper.finish,
                                 deadline)
        results = await complete(request, service, [plan], req, deadline)
        if results is None:
            return Response(status_code=499)
        [result] = results
        body = ChatCompletion(id="chatcmpl-" + secrets.token_hex(12), created=int(time.time()),
                              model=config.model_id,
                              choices=[service.chat_choice(i, c, plan.tools_on)
                                       for i, c in enumerate(result.generated)],
                              usage=usage(results))
        return JSONResponse(dump_completion(body))

    @app.post("/v1/completions", dependencies=[Depends(check_key)])
    async def completions(req: CompletionRequest, request: Request) -> Response:
        deadline = time.monotonic() + limits.request_timeout
        plans = service.completion_plans(req)
        if req.stream:
            shaper = TextStream(plans, config.model_id)
            return await stream(request, service, plans, req, shaper.event, shaper.finish, deadline)
        results = await complete(request, service, plans, req, deadline)
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
