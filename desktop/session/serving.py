"""The loaded model served to other programs on this computer (Settings > Model, "Serve on localhost").

An OpenAI-compatible server (``exaone_desktop.server``) on the loopback address only, on port 8800
(``exaone-serve``'s default) or, when that is taken, any free port. It answers with the same generator
as the chat, one request at a time alongside it. Switching models restarts it on the new one. It has
``exaone-serve``'s protections and limits (only its own Host names, JSON bodies, no CORS, bounded
requests); an API key is off until asked for (``set_key``): then a new random key is required.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..engine import GenerationError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8800


class LocalServing:
    def __init__(self, port: int = DEFAULT_PORT) -> None:
        self.port = port
        self.handle: Any = None
        self.generator: Any = None
        self.api_key: str | None = None  # the key clients must send; None: any program on this computer may ask

    @property
    def url(self) -> str | None:
        """The base URL clients use (``.../v1``), or None when not serving."""
        return None if self.handle is None else str(self.handle.url) + "/v1"

    def start(self, generator: Any) -> str:
        """Serve ``generator``; returns the base URL. GenerationError (one line) when it cannot start."""
        from ..server import start_background  # fastapi and uvicorn: imported only when switched on

        self.stop()
        try:
            handle = start_background(generator, LOOPBACK, self.port, api_key=self.api_key)
        except GenerationError:
            if not self.port:
                raise
            handle = start_background(generator, LOOPBACK, 0, api_key=self.api_key)  # the usual port is taken
        self.handle, self.generator = handle, generator
        url = self.url
        assert url is not None
        return url

    def set_key(self, on: bool) -> str | None:
        """Require a new random API key (``on``) or none; a running server restarts with it. Returns the key."""
        self.api_key = "sk-local-" + secrets.token_hex(16) if on else None
        if self.handle is not None:
            self.start(self.generator)
        return self.api_key

    def stop(self) -> None:
        handle, self.handle, self.generator = self.handle, None, None
        if handle is not None:
            handle.stop()

    def follow(self, generator: Any) -> str | None:
        """The chat's model changed: serve the new one (or stop, with no model). Returns the new URL."""
        if self.handle is None or generator is self.generator:
            return self.url
        if generator is None:
            self.stop()
            return None
        return self.start(generator)
