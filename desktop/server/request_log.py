"""A log of the requests a server answered, for whoever started it (the app's server panel): when each came,
from which client, for which model name, how many tokens, how long it took and its HTTP status.

Metadata only: nothing of a prompt or a reply is kept. ``RequestLogger`` is an ASGI middleware that sees
every request (those refused before the model included) and calls ``on_request`` once the response is sent,
streamed ones at their end. The generation routes note their token counts with ``note_usage``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["RequestLogger", "RequestRecord", "note_usage"]

PEEK_BYTES = 64 << 10  # how much of a request body is read for its "model" (the name is near its start)
_MODEL = re.compile(rb'"model"\s*:\s*"((?:[^"\\]|\\.){0,200})"')


@dataclass(frozen=True)
class RequestRecord:
    at: float  # when it came (seconds since the epoch)
    client: str  # the client's address, and its program when it says (User-Agent)
    method: str
    path: str
    model: str  # the model name the client asked for ("" when none)
    prompt_tokens: int | None  # None: no generation (or it did not finish)
    completion_tokens: int | None
    seconds: float
    status: int  # 0: the connection ended before a response


R = TypeVar("R", bound=Sequence[Any])


def note_usage(request: Any, results: R) -> R:
    """Note the token counts of a generation route's results for the log (returns ``results``)."""
    request.state.log_tokens = (sum(len(r.prompt_token_ids) for r in results),
                                sum(len(c.token_ids) for r in results for c in r.generated))
    return results


def _model_name(body: bytes) -> str:
    m = _MODEL.search(body)
    if m is None:
        return ""
    try:
        return str(json.loads(b'"' + m.group(1) + b'"'))
    except ValueError:
        return m.group(1).decode("utf-8", "replace")


class RequestLogger:
    def __init__(self, app: Any, on_request: Callable[[RequestRecord], None]) -> None:
        self.app = app
        self.on_request = on_request

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        at, start = time.time(), time.monotonic()
        body = bytearray()
        status = 0
        state = scope.setdefault("state", {})

        async def peek() -> Any:
            message = await receive()
            if message.get("type") == "http.request" and len(body) < PEEK_BYTES:
                body.extend(message.get("body", b"")[: PEEK_BYTES - len(body)])
            return message

        async def sent(message: Any) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, peek, sent)
        finally:
            tokens = state.get("log_tokens") or (None, None)
            host, port = (scope.get("client") or ("?", 0))[:2]
            agent = dict(scope.get("headers") or []).get(b"user-agent", b"").decode("latin-1")[:60]
            record = RequestRecord(at, f"{host}:{port}" + (f" ({agent})" if agent else ""), scope.get("method", ""),
                                   scope.get("path", ""), _model_name(bytes(body)), tokens[0], tokens[1],
                                   time.monotonic() - start, status)
            try:
                self.on_request(record)
            except Exception:  # noqa: BLE001 - a broken listener must not break the server
                pass
