"""What stands in front of the routes: the Host allow-list, CORS when asked for, JSON-only bodies of bounded
size and nesting with the request's cheap size checks (``guard``, ``bounds``), the API key, and the handlers
that turn every error into an OpenAI error object.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .bounds import check_depth, check_request
from .errors import APIError, from_validation
from .guard import BodyGuard, HostGuard
from .request_log import RequestLogger
from .schemas import ChatCompletionRequest, CompletionRequest, SamplingRequest
from .service import ServerConfig, failure


def install_guards(app: FastAPI, generator: Any, config: ServerConfig) -> None:
    """The Host check, then CORS (when ``config`` names origins), then the body's checks, in that order."""
    limits = config.limits

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
        # Any request header the allowed origins ask for: OpenAI's JavaScript SDK sends its own (x-stainless-os,
        # -lang, -retry-count, ... and more in each release, openai-organization, idempotency-key), so a fixed
        # list breaks it. A header grants nothing here: the origins stay restricted, and the Host check and the
        # API key still apply to every request.
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),  # type: ignore[arg-type]
                           allow_methods=["GET", "POST"], allow_headers=["*"], max_age=600)
    app.add_middleware(HostGuard, allowed=config.allowed_hosts, bound=config.bound_host)  # type: ignore[arg-type]
    if config.on_request is not None:  # outermost: refused requests are logged too
        app.add_middleware(RequestLogger, on_request=config.on_request)  # type: ignore[arg-type]


def install_error_handlers(app: FastAPI) -> None:
    """Every error as an OpenAI error object: ours, pydantic's (naming the field and its range), Starlette's
    (404, 405, unreadable JSON) and any other (a 500 that says it is a bug)."""

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
        return failure(exc).response()


def key_check(config: ServerConfig) -> Callable[[Request], None]:
    """The dependency that refuses a request without ``config``'s API key (none set: every request passes)."""

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

    return check_key
