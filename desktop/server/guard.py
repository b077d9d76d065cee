"""ASGI middleware in front of the API: who may ask (the Host header) and what a body may be (JSON, bounded).

``HostGuard`` answers only requests whose ``Host`` names this server: ``localhost``, ``127.0.0.1``,
``[::1]``, the address it is bound to, and names given with ``--allowed-host``. A web page whose domain
an attacker points at 127.0.0.1 (DNS rebinding) sends its own domain as the Host, so it gets 403 before
any other work. A server bound to every interface (``0.0.0.0``, ``::``) also answers any IP address, which
no rebinding can produce. Starlette's ``TrustedHostMiddleware`` does the same check but answers with a
plain-text 400; clients of this API expect an OpenAI error object, hence this small one.

``BodyGuard`` makes a POST say ``Content-Type: application/json`` (415 otherwise, whatever FastAPI
version parses the body: a page's ``fetch(..., {mode: "no-cors"})`` cannot send that header without a
CORS preflight), refuses a body over the size limit (413), then reads it and runs the request's cheap
checks (nesting, sizes; see ``bounds``) off the event loop before FastAPI parses it.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError

__all__ = ["ALWAYS_ALLOWED", "BodyGuard", "HostGuard", "host_name", "normal_host"]

ALWAYS_ALLOWED = ("localhost", "127.0.0.1", "[::1]")
INLINE_BYTES = 65536  # bodies up to this size are checked on the event loop (less than a millisecond)


def host_name(header: str) -> str | None:
    """The host of a ``Host`` header without its port, lower case (IPv6 in brackets); None when malformed."""
    h = header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        rest = h[end + 1:] if end > 0 else "?"
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return None
        return h[: end + 1]
    if h.count(":") > 1:
        return None  # an IPv6 address must be in brackets
    name, sep, port = h.partition(":")
    if not name or (sep and not port.isdigit()):
        return None
    return name


def normal_host(name: str) -> str:
    """A host as ``host_name`` returns it: lower case, a bare IPv6 address put in brackets, any port dropped."""
    name = name.strip().lower()
    try:
        if ipaddress.ip_address(name).version == 6:
            return f"[{name}]"
    except ValueError:
        pass
    return host_name(name) or name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class HostGuard:
    """403 for a request whose Host is not this server's (``allowed`` None: every Host is served)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] | None, bound: str | None = None) -> None:
        self.app = app
        self.allowed = None if allowed is None else frozenset(normal_host(h) for h in (*ALWAYS_ALLOWED, *allowed))
        if self.allowed is not None and bound:
            self.allowed = self.allowed | {normal_host(bound)}
        self.any_ip = bound is not None and _is_ip(bound) and ipaddress.ip_address(bound.strip("[]")).is_unspecified

    def allows(self, header: str | None) -> bool:
        if self.allowed is None:
            return True
        name = host_name(header) if header else None
        return name is not None and (name in self.allowed or (self.any_ip and _is_ip(name)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allowed is None:
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", ()) if k == b"host"), None)
        header = raw.decode("latin-1") if raw is not None else None
        if self.allows(header):
            await self.app(scope, receive, send)
            return
        shown = repr(header[:80]) if header is not None else "(none)"
        await APIError(403, f"the Host header {shown} does not name this server, so the request is refused (a web "
                            "page's domain pointed at this computer sends its own name); use http://127.0.0.1:PORT, "
                            "or start exaone-serve with --allowed-host NAME for a name of yours",
                       code="host_not_allowed").response()(scope, receive, send)


class BodyGuard:
    """415 for a POST that is not JSON, 413 for a body over ``limit`` bytes, and ``check(path, body)`` (raising
    APIError) before the app sees the body; the app then reads the same bytes."""

    def __init__(self, app: ASGIApp, limit: int, check: Callable[[str, bytes], None] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.check = check

    def _too_large(self) -> APIError:
        return APIError(413, f"the request body is larger than this server's limit of {self.limit} bytes; send a "
                             "shorter conversation or start exaone-serve with a larger --max-body-mb",
                        code="request_too_large")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._too_large().response()(scope, receive, send)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        media = headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()
        if media != "application/json":
            got = f"'{media[:60]}'" if media else "none"
            await APIError(415, f"the request body must be JSON sent with the header 'Content-Type: application/json' "
                                f"(got {got})", code="unsupported_media_type").response()(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._too_large().response()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if self.check is not None:
            try:
                if len(body) <= INLINE_BYTES:
                    self.check(scope["path"], body)
                else:
                    await asyncio.to_thread(self.check, scope["path"], body)
            except APIError as err:
                await err.response()(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the client's disconnect, as before

        await self.app(scope, replay, send)
