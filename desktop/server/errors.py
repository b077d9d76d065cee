"""Every failure as an OpenAI error object: ``{"error": {"message", "type", "param", "code"}}``.

Validation errors from pydantic become one sentence that names the field and its valid range; the
request body's JSON errors name the line and column. The server keeps serving after any of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import annotated_types
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .schemas import ErrorBody, ErrorDetail

# HTTP status -> OpenAI error type.
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    503: "server_error",
    500: "server_error",
    504: "server_error",
}
# HTTP status -> the error's code when the raiser names none (an error object's code is never null).
DEFAULT_CODES: Mapping[int, str] = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "unavailable",
    504: "request_timeout",
}


def json_text(data: Any) -> str:
    """``data`` as compact JSON text that encodes as UTF-8 whatever it holds: text that cannot (a lone
    surrogate from a request's ``"\\ud800"``, quoted back in an error) is written with \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text


class ErrorResponse(JSONResponse):
    """A JSON response that cannot fail to render (see ``json_text``)."""

    def render(self, content: Any) -> bytes:
        return json_text(content).encode("utf-8")


class APIError(Exception):
    """An HTTP error with an OpenAI error object; ``message`` is one line that says what to do."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code or DEFAULT_CODES.get(status, "error")
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        detail = ErrorDetail(message=self.message, type=ERROR_TYPES.get(self.status, "invalid_request_error"),
                             param=self.param, code=self.code)
        return ErrorBody(error=detail).model_dump()

    def response(self) -> JSONResponse:
        return ErrorResponse(self.body(), status_code=self.status, headers=self.headers)


def param_path(loc: Sequence[Any]) -> str:
    """``("body", "messages", 0, "role")`` -> ``"messages[0].role"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _bounds(model: type[BaseModel] | None, name: str) -> str | None:
    """The valid range of ``model``'s field ``name`` from its Field(ge=..., le=...) constraints."""
    field = model.model_fields.get(name) if model is not None else None
    if field is None:
        return None
    low = high = ""
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = f"[{meta.ge}"
        elif isinstance(meta, annotated_types.Gt):
            low = f"({meta.gt}"
        elif isinstance(meta, annotated_types.Le):
            high = f"{meta.le}]"
        elif isinstance(meta, annotated_types.Lt):
            high = f"{meta.lt})"
    if low and high:
        return f"in {low}, {high}"
    if low:
        return (">= " if low[0] == "[" else "> ") + low[1:]
    if high:
        return ("<= " if high[-1] == "]" else "< ") + high[:-1]
    return None


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "\u2026"


def from_validation(exc: RequestValidationError, model: type[BaseModel] | None) -> APIError:
    """The first pydantic error of a request as a 400 that names the field and what it accepts."""
    errors = exc.errors()
    first = errors[0] if errors else {"type": "missing", "loc": ("body",), "msg": "missing"}
    kind, loc = first.get("type", ""), tuple(first.get("loc", ()))
    if kind == "json_invalid":
        ctx = dict(first.get("ctx") or {})  # type: ignore[arg-type]
        return APIError(400, f"the request body is not valid JSON ({ctx.get('error', 'parse error')} at "
                             f"character {loc[-1] if len(loc) > 1 else 0}); send one JSON object",
                        code="invalid_json")
    path = param_path(loc[1:] if loc and loc[0] == "body" else loc)
    if not path:
        return APIError(400, "the request body must be a JSON object with the fields of the OpenAI API "
                             "(send Content-Type: application/json)", code="invalid_request_body")
    if kind == "extra_forbidden":
        return APIError(400, f"unrecognized request argument supplied: {path}; remove it (see the README for "
                             "the parameters this server accepts)", param=path, code="unknown_parameter")
    if kind == "missing":
        return APIError(400, f"missing required parameter: {path}", param=path, code="missing_required_parameter")
    top = str(loc[1]) if len(loc) > 1 and loc[0] == "body" else path
    bounds = _bounds(model, top) if len(loc) == 2 else None
    got = f", got {_shown(first.get('input'))}" if "input" in first else ""
    if bounds is not None:
        return APIError(400, f"{path} must be {bounds}{got}", param=path, code="invalid_value")
    msg = str(first.get("msg", "invalid value")).rstrip(".")
    return APIError(400, f"{path}: {msg[0].lower() + msg[1:] if msg else msg}{got}", param=path,
                    code="invalid_value")
